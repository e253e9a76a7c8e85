package tlsmgr

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

func TestCertificatesOfTheInternalCA(t *testing.T) {
	cfg := config.Local()
	cfg.Server.StateDir = t.TempDir()
	m, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	got := m.Certificates()
	if len(got) != len(cfg.Site.Domains) {
		t.Fatalf("%d certificates, want one per domain %q", len(got), cfg.Site.Domains)
	}
	for _, ci := range got {
		if ci.Source != SourceInternal || ci.Error != "" {
			t.Errorf("%s: source %q error %q, want internal and no error", ci.Domain, ci.Source, ci.Error)
		}
		if len(ci.Issuer) < len("edge local CA") || ci.Issuer[:13] != "edge local CA" {
			t.Errorf("%s: issuer %q, want the edge local CA", ci.Domain, ci.Issuer)
		}
		if left := time.Until(ci.NotAfter); left < 6*24*time.Hour || left > 8*24*time.Hour {
			t.Errorf("%s: expires in %s, want about a week", ci.Domain, left)
		}
		if want := ci.NotAfter.Add(-leafRenewLeft); !ci.NextRenewal.Equal(want) {
			t.Errorf("%s: next renewal %s, want %s", ci.Domain, ci.NextRenewal, want)
		}
	}
}

func TestRenewalStart(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	leaf := &x509.Certificate{NotBefore: nb, NotAfter: nb.Add(90 * 24 * time.Hour)}
	if got, want := renewalStart(leaf, 1.0/3), nb.Add(60*24*time.Hour); got.Sub(want).Abs() > time.Second {
		t.Errorf("renewal of a 90-day certificate at ratio 1/3: %s, want %s", got, want)
	}
	if got := renewalStart(leaf, 0); got.Sub(nb.Add(60*24*time.Hour)).Abs() > time.Second {
		t.Errorf("ratio 0 must mean certmagic's default 1/3: got %s", got)
	}
}
