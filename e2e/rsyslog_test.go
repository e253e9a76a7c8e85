package e2e

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/gitcourse/edge/internal/testutil"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCA is a throwaway certificate authority made with crypto/x509.
type testCA struct {
	dir  string
	name string
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	File string // the CA certificate, PEM
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{dir: dir, name: name, key: key, cert: cert, File: filepath.Join(dir, name+"-ca.pem")}
	writePEM(t, ca.File, "CERTIFICATE", der)
	return ca
}

// issue writes a leaf certificate and key for 127.0.0.1/localhost (server)
// or a client, and returns their paths.
func (ca *testCA) issue(t *testing.T, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(ca.dir, name+".pem"), filepath.Join(ca.dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rsyslog is a private rsyslogd: TLS (gtls) on a loopback port, every
// message written as one JSON object to Out.
type rsyslog struct {
	t    *testing.T
	bin  string
	conf string
	pid  string
	Out  string
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// rsyslogTemplate writes the RFC 5424 fields as JSON (RECIPES.md §11).
const rsyslogTemplate = `template(name="j" type="list" option.jsonf="on") {
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf" datatype="number")
  property(outname="facility" name="syslogfacility" format="jsonf" datatype="number")
  property(outname="msg" name="msg" format="jsonf")
}
`

// startRsyslog configures and starts rsyslogd; authMode is "anon" or
// "x509/certvalid" (clients need a certificate from ca).
func startRsyslog(t *testing.T, ca *testCA, authMode string) *rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/rsyslogd"); serr == nil {
			bin, err = "/usr/sbin/rsyslogd", nil
		}
	}
	testutil.RequireOrSkip(t, "rsyslogd (apt-get install rsyslog rsyslog-gnutls)", err)
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so"); err != nil {
		matches, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so")
		if len(matches) == 0 {
			testutil.RequireOrSkip(t, "rsyslog's gtls driver (apt-get install rsyslog-gnutls)", err)
		}
	}
	dir := shortTempDir(t)
	cert, key := ca.issue(t, "collector", true)
	r := &rsyslog{t: t, bin: bin, conf: filepath.Join(dir, "rsyslog.conf"), pid: filepath.Join(dir, "rsyslog.pid"),
		Out: filepath.Join(dir, "out.log"), Addr: "127.0.0.1:" + freePort(t)}
	_, port, _ := net.SplitHostPort(r.Addr)
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k"
  defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile=%q
  defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode=%q)
input(type="imtcp" address="127.0.0.1" port=%q ruleset="r")
%s
ruleset(name="r") { action(type="omfile" file=%q template="j" flushOnTXEnd="on" asyncWriting="off") }
`, dir, ca.File, cert, key, authMode, port, rsyslogTemplate, r.Out)
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start runs rsyslogd and waits until its port accepts connections.
func (r *rsyslog) Start() {
	r.t.Helper()
	_ = os.Remove(r.pid) // a stale pid file stops rsyslogd from starting
	var out bytes.Buffer
	r.cmd = exec.Command(r.bin, "-n", "-f", r.conf, "-i", r.pid)
	r.cmd.Stdout, r.cmd.Stderr = &out, &out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start rsyslogd: %v", err)
	}
	r.done = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	if !waitTCP(r.Addr, r.done, 10*time.Second) {
		r.Stop()
		r.t.Fatalf("rsyslogd did not listen on %s: %s", r.Addr, out.String())
	}
}

// Stop ends rsyslogd by its PID (SIGTERM, then SIGKILL) and waits.
func (r *rsyslog) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// syslogMsg is one message as rsyslog parsed it.
type syslogMsg struct {
	Version  string `json:"version"`
	Hostname string `json:"hostname"`
	App      string `json:"app"`
	ProcID   string `json:"procid"`
	MsgID    string `json:"msgid"`
	SD       string `json:"sd"`
	Severity int    `json:"severity"`
	Facility int    `json:"facility"`
	Msg      string `json:"msg"`
}

// JSON decodes the message's JSON log line.
func (m syslogMsg) JSON() map[string]any {
	var v map[string]any
	_ = json.Unmarshal([]byte(strings.TrimSpace(m.Msg)), &v)
	return v
}

// Messages reads everything received so far.
func (r *rsyslog) Messages() []syslogMsg {
	r.t.Helper()
	f, err := os.Open(r.Out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	var out []syslogMsg
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 256<<10), 1<<20)
	for sc.Scan() {
		var m syslogMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			r.t.Fatalf("rsyslog output line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// accessPaths lists the paths of the access lines received, in order.
func (r *rsyslog) accessPaths(prefix string) []string {
	var out []string
	for _, m := range r.Messages() {
		if m.MsgID != "access" {
			continue
		}
		if p, _ := m.JSON()["path"].(string); strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	return out
}

// waitPaths waits until n access lines under prefix arrived.
func (r *rsyslog) waitPaths(prefix string, n int, d time.Duration) []string {
	var got []string
	eventually(d, func() bool {
		got = r.accessPaths(prefix)
		return len(got) >= n
	})
	return got
}
