// Package tlsmgr provides the certificates and TLS policy of the HTTPS
// listener, and the port-80 handler.
//
// Certificates come, per name, from bring-your-own files
// ([tls] certificates, reloaded when they change) or from edge's internal CA
// ([tls] internal = true, and the local defaults). A handshake for a name
// that is not configured fails: no certificate is ever obtained for it.
//
// Every other configured name gets its certificate over ACME
// (github.com/caddyserver/certmagic): certificates already in storage are
// served at once, missing ones are obtained in the background while port
// 80 answers challenges and redirects.
package tlsmgr

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/gitcourse/edge/config"
)

// Manager answers TLS handshakes for the configured domains.
type Manager struct {
	names    map[string]bool
	ipNames  bool // an IP address is configured: handshakes without SNI are allowed
	files    *fileCerts
	ca       *InternalCA
	acme     *acme // nil when no name needs ACME
	minVer   uint16
	log      *slog.Logger
	stateDir string
	cancel   context.CancelFunc
}

// Options are the manager's outputs.
type Options struct {
	// Logger receives obtain/renew/failure lines.
	Logger *slog.Logger
	// LogWriter receives certmagic's own warnings as JSON lines.
	LogWriter io.Writer
	// Storage holds the ACME account, certificates, OCSP staples and
	// locks; instances sharing one Storage are one cluster. nil: a
	// certmagic.FileStorage in {state_dir}/certs.
	Storage certmagic.Storage
}

// New builds the manager for cfg. With ACME names it creates certmagic's
// cache (and its maintenance goroutine) and loads the certificates already
// in storage into it, so they are served from the first handshake; Start
// begins obtaining the missing ones.
func New(cfg *config.Config, opts Options) (*Manager, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.LogWriter == nil {
		opts.LogWriter = os.Stderr
	}
	m := &Manager{names: map[string]bool{}, log: log.With("component", "tlsmgr"), stateDir: cfg.Server.StateDir, minVer: tls.VersionTLS12}
	if cfg.TLS.MinVersion == "1.3" {
		m.minVer = tls.VersionTLS13
	}
	for _, d := range cfg.Site.Domains {
		m.names[strings.ToLower(d)] = true
		if net.ParseIP(d) != nil {
			m.ipNames = true
		}
	}
	files, err := loadFileCerts(cfg.TLS.Certificates)
	if err != nil {
		return nil, err
	}
	m.files = files
	uncovered := m.uncovered(cfg.Site.Domains)
	switch {
	case cfg.TLS.Internal:
		ca, err := OpenInternalCA(filepath.Join(cfg.Server.StateDir, "ca"), append([]string(nil), cfg.Site.Domains...))
		if err != nil {
			return nil, err
		}
		if _, err := ca.Leaf(); err != nil {
			return nil, err
		}
		m.ca = ca
	case len(uncovered) > 0:
		a, err := newACME(cfg, uncovered, opts.Storage, m.log, zapLogger(opts.LogWriter))
		if err != nil {
			return nil, err
		}
		m.acme = a
	}
	return m, nil
}

// Start begins obtaining missing ACME certificates in the background
// (stored ones were loaded by New and are served meanwhile). Stop ends it.
func (m *Manager) Start(ctx context.Context) {
	ctx, m.cancel = context.WithCancel(ctx)
	if m.acme != nil {
		m.acme.Start(ctx)
	}
}

// Stop ends background work and certificate maintenance, and returns once
// every goroutine the manager started has returned.
func (m *Manager) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
	if m.acme != nil {
		m.acme.Stop()
	}
}

// Ready is closed when every configured name has a certificate.
func (m *Manager) Ready() <-chan struct{} {
	if m.acme != nil {
		return m.acme.Ready()
	}
	done := make(chan struct{})
	close(done)
	return done
}

// Pending lists the names still waiting for a certificate, with the last
// error.
func (m *Manager) Pending() map[string]string {
	if m.acme == nil {
		return nil
	}
	return m.acme.Pending()
}

// HTTPHandler answers ACME HTTP-01 challenges on port 80 and passes every
// other request to next.
func (m *Manager) HTTPHandler(next http.Handler) http.Handler {
	if m.acme == nil {
		return next
	}
	return m.acme.httpHandler(next)
}

// uncovered lists the domains no certificate file covers.
func (m *Manager) uncovered(domains []string) []string {
	var out []string
	for _, d := range domains {
		if m.files.lookup(d) == nil {
			out = append(out, d)
		}
	}
	return out
}

// InternalCA returns the internal CA, or nil when it is not used.
func (m *Manager) InternalCA() *InternalCA { return m.ca }

// TLSConfig is the policy of the HTTPS listener: TLS 1.2+ (1.3 preferred),
// AEAD ciphers only, X25519 first, HTTP/2 and HTTP/1.1 over ALPN.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       m.minVer,
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos:     m.nextProtos(),
		GetCertificate: m.GetCertificate,
	}
}

// nextProtos offers acme-tls/1 only when TLS-ALPN-01 may be answered.
func (m *Manager) nextProtos() []string {
	if m.acme != nil {
		return []string{"h2", "http/1.1", "acme-tls/1"}
	}
	return []string{"h2", "http/1.1"}
}

// GetCertificate picks the certificate for the SNI name and refuses names
// that are not configured.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name == "" && m.ipNames {
		if host, _, err := net.SplitHostPort(hello.Conn.LocalAddr().String()); err == nil {
			name = host
		}
	}
	if !m.names[name] {
		return nil, fmt.Errorf("no certificate for %q: not a configured domain", hello.ServerName)
	}
	if c := m.files.lookup(name); c != nil {
		return c, nil
	}
	if m.ca != nil {
		return m.ca.Leaf()
	}
	if m.acme != nil && slices.Contains(m.acme.names, name) {
		return m.acme.getCertificate(hello)
	}
	return nil, fmt.Errorf("no certificate for %q", name)
}

// Expiry returns when the certificate served for each domain expires.
func (m *Manager) Expiry() map[string]time.Time {
	out := map[string]time.Time{}
	for name := range m.names {
		if c := m.files.lookup(name); c != nil && c.Leaf != nil {
			out[name] = c.Leaf.NotAfter
		} else if m.ca != nil {
			if leaf, err := m.ca.Leaf(); err == nil {
				out[name] = leaf.Leaf.NotAfter
			}
		} else if m.acme != nil {
			if t, ok := m.acme.expiry(name); ok {
				out[name] = t
			}
		}
	}
	return out
}
