package tlsmgr

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gitcourse/edge/config"
)

// fileRecheck is how often certificate files are checked for changes.
const fileRecheck = 30 * time.Second

// fileCerts holds bring-your-own certificates, re-read when a file changes.
type fileCerts struct {
	specs []config.CertFile

	mu      sync.Mutex
	byName  map[string]*tls.Certificate
	mtimes  []time.Time
	checked time.Time
}

func loadFileCerts(specs []config.CertFile) (*fileCerts, error) {
	fc := &fileCerts{specs: specs, byName: map[string]*tls.Certificate{}}
	if err := fc.load(); err != nil {
		return nil, err
	}
	return fc, nil
}

func (fc *fileCerts) load() error {
	byName := map[string]*tls.Certificate{}
	mtimes := make([]time.Time, 0, len(fc.specs))
	for _, s := range fc.specs {
		pair, err := tls.LoadX509KeyPair(s.Cert, s.Key)
		if err != nil {
			return fmt.Errorf("load certificate %s with key %s: %w", s.Cert, s.Key, err)
		}
		for _, n := range pair.Leaf.DNSNames {
			byName[strings.ToLower(n)] = &pair
		}
		for _, ip := range pair.Leaf.IPAddresses {
			byName[ip.String()] = &pair
		}
		mtimes = append(mtimes, modTime(s.Cert), modTime(s.Key))
	}
	fc.byName, fc.mtimes, fc.checked = byName, mtimes, time.Now()
	return nil
}

func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// changed reports whether a file's modification time moved.
func (fc *fileCerts) changed() bool {
	for i, s := range fc.specs {
		if !modTime(s.Cert).Equal(fc.mtimes[2*i]) || !modTime(s.Key).Equal(fc.mtimes[2*i+1]) {
			return true
		}
	}
	return false
}

// lookup returns the certificate covering name (exactly or by wildcard).
func (fc *fileCerts) lookup(name string) *tls.Certificate {
	if fc == nil || len(fc.specs) == 0 {
		return nil
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if time.Since(fc.checked) > fileRecheck {
		fc.checked = time.Now()
		if fc.changed() {
			_ = fc.load() // on error the previous certificates stay in use
		}
	}
	if c := fc.byName[name]; c != nil {
		return c
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		return fc.byName["*"+name[i:]]
	}
	return nil
}
