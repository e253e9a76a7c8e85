// Package tlsmgr provides the certificates and TLS policy of the HTTPS
// listener, and the port-80 handler.
//
// Certificates come, per name, from bring-your-own files
// ([tls] certificates, reloaded when they change) or from edge's internal CA
// ([tls] internal = true, and the local defaults). A handshake for a name
// that is not configured fails: no certificate is ever obtained for it.
//
// ACME issuance (certmagic) is not part of this build yet: a configuration
// that needs it is refused at start with a message that says so.
package tlsmgr

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitcourse/edge/config"
)

// ErrACMEUnavailable reports a configuration that needs ACME issuance.
var ErrACMEUnavailable = errors.New("ACME certificates are not available in this build yet (fix: set [tls] internal = true, list [tls] certificates, or set server.https = \"\")")

// Manager answers TLS handshakes for the configured domains.
type Manager struct {
	names    map[string]bool
	ipNames  bool // an IP address is configured: handshakes without SNI are allowed
	files    *fileCerts
	ca       *InternalCA
	minVer   uint16
	log      *slog.Logger
	stateDir string
}

// New builds the manager for cfg. It starts no goroutines.
func New(cfg *config.Config, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.Default()
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
		return nil, fmt.Errorf("no certificate for %s: %w", strings.Join(uncovered, ", "), ErrACMEUnavailable)
	}
	return m, nil
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
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: m.GetCertificate,
	}
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
		}
	}
	return out
}
