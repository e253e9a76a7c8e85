package tlsmgr

import (
	"crypto/x509"
	"sort"
	"time"

	"github.com/caddyserver/certmagic"
)

// Certificate sources, as CertInfo.Source reports them.
const (
	SourceFile     = "file"
	SourceInternal = "internal"
	SourceACME     = "acme"
)

// CertInfo describes the certificate served for one configured domain,
// for the status page, metrics and alerts.
type CertInfo struct {
	// Domain is the configured name.
	Domain string
	// Source is SourceFile, SourceInternal or SourceACME.
	Source string
	// Issuer names the issuing CA (its common name or organization);
	// "" while there is no certificate.
	Issuer string
	// NotAfter is when the certificate expires; zero while there is none.
	NotAfter time.Time
	// NextRenewal is when edge will renew it: for ACME the start of the
	// renewal window (tls.renewal_window_ratio of the lifetime before
	// expiry; the CA may suggest earlier through ARI), for the internal
	// CA two days before expiry. Zero for files (replace them yourself)
	// and while there is no certificate.
	NextRenewal time.Time
	// Error is why there is no certificate yet ("" when there is one).
	Error string
}

// Certificates describes the certificate of every configured domain,
// sorted by domain. It only reads: nothing is obtained or renewed.
func (m *Manager) Certificates() []CertInfo {
	pending := m.Pending()
	out := make([]CertInfo, 0, len(m.names))
	for name := range m.names {
		ci := CertInfo{Domain: name}
		file := m.files.lookup(name)
		switch {
		case file != nil:
			ci.Source = SourceFile
			ci.fill(file.Leaf)
		case m.ca != nil:
			ci.Source = SourceInternal
			if leaf, err := m.ca.Leaf(); err != nil {
				ci.Error = err.Error()
			} else {
				ci.fill(leaf.Leaf)
				ci.NextRenewal = ci.NotAfter.Add(-leafRenewLeft)
			}
		case m.acme != nil:
			ci.Source = SourceACME
			if leaf := m.acme.leaf(name); leaf != nil {
				ci.fill(leaf)
				ci.NextRenewal = renewalStart(leaf, m.acme.cfg.RenewalWindowRatio)
			}
			ci.Error = pending[name]
		}
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

// fill copies the issuer and expiry of leaf (which may be nil).
func (ci *CertInfo) fill(leaf *x509.Certificate) {
	if leaf == nil {
		return
	}
	ci.NotAfter = leaf.NotAfter
	switch {
	case leaf.Issuer.CommonName != "":
		ci.Issuer = leaf.Issuer.CommonName
	case len(leaf.Issuer.Organization) > 0:
		ci.Issuer = leaf.Issuer.Organization[0]
	default:
		ci.Issuer = leaf.Issuer.String()
	}
}

// renewalStart is when certmagic's renewal window opens for leaf.
func renewalStart(leaf *x509.Certificate, ratio float64) time.Time {
	if ratio <= 0 {
		ratio = certmagic.DefaultRenewalWindowRatio
	}
	lifetime := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotAfter.Add(-time.Duration(float64(lifetime) * ratio))
}

// leaf returns the newest managed certificate for name, or nil.
func (a *acme) leaf(name string) *x509.Certificate {
	var newest *x509.Certificate
	for _, c := range a.cache.AllMatchingCertificates(name) {
		if c.Leaf != nil && (newest == nil || c.Leaf.NotAfter.After(newest.NotAfter)) {
			newest = c.Leaf
		}
	}
	return newest
}
