package tlsmgr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/gitcourse/edge/config"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Obtain retry backoff while the CA is unreachable or refuses.
const (
	obtainBackoffMin = 5 * time.Second
	obtainBackoffMax = 10 * time.Minute
)

// acme manages certificates for the configured names with certmagic:
// storage under {state_dir}/certs, renewal ahead of expiry (ARI where the
// CA offers it), OCSP stapling, HTTP-01 and TLS-ALPN-01. Only configured
// names are ever managed: there is no on-demand issuance.
type acme struct {
	names   []string
	storage certmagic.Storage
	issuer  *certmagic.ACMEIssuer
	cfg     *certmagic.Config
	cache   *certmagic.Cache
	renew   time.Duration
	log     *slog.Logger

	// loops are the goroutines Start runs (per-name manage loops, the
	// storage cleaning, the readiness waiter); Stop waits for them, so
	// after a reload no loop of the old manager runs beside the new ones.
	loops sync.WaitGroup

	mu      sync.Mutex
	pending map[string]string // name -> last error, until obtained
	ready   chan struct{}     // closed when every name has a certificate
}

func newACME(c *config.Config, names []string, storage certmagic.Storage, log *slog.Logger, zl *zap.Logger) (*acme, error) {
	if storage == nil {
		storage = &certmagic.FileStorage{Path: filepath.Join(c.Server.StateDir, "certs")}
	}
	a := &acme{
		names:   names,
		storage: storage,
		renew:   c.TLS.RenewInterval.Duration,
		log:     log,
		pending: map[string]string{},
		ready:   make(chan struct{}),
	}
	for _, n := range names {
		a.pending[n] = "not obtained yet"
	}
	roots, err := trustedRoots(c.TLS.ACMECARoot)
	if err != nil {
		return nil, err
	}
	tmpl := certmagic.Config{
		Storage:            a.storage,
		Logger:             zl,
		RenewalWindowRatio: c.TLS.RenewalWindowRatio,
		OnEvent:            a.onEvent,
	}
	// certmagic's cache runs the renewal (and OCSP) maintenance goroutine
	// from here on; Stop ends it.
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return a.cfg, nil },
		RenewCheckInterval: a.renew,
		OCSPCheckInterval:  time.Hour,
		Logger:             zl,
	})
	a.cfg = certmagic.New(a.cache, tmpl)
	a.issuer = certmagic.NewACMEIssuer(a.cfg, certmagic.ACMEIssuer{
		CA:                      c.TLS.ACMECA,
		Email:                   c.TLS.Email,
		Agreed:                  true,
		TrustedRoots:            roots,
		DisableHTTPChallenge:    !contains(c.TLS.Challenges, "http-01") || c.Server.HTTP == "",
		DisableTLSALPNChallenge: !contains(c.TLS.Challenges, "tls-alpn-01"),
		ListenHost:              "127.0.0.1",
		AltHTTPPort:             portNumber(c.Server.HTTP, 80),
		AltTLSALPNPort:          portNumber(c.Server.HTTPS, 443),
		Logger:                  zl,
	})
	a.cfg.Issuers = []certmagic.Issuer{a.issuer}
	a.loadStored()
	return a, nil
}

// storedLoadTimeout bounds how long building the manager waits for the
// storage (a file tree, or the cluster's database) to hand back the
// stored certificates.
const storedLoadTimeout = 10 * time.Second

// loadStored puts the certificates already in storage into the cache, so
// the first handshake is answered with them: it runs while the manager is
// built, before the listener serves (or a reload swaps it in), and never
// contacts the CA. The manage loops of Start then renew or obtain as
// needed; a name with nothing stored waits for them.
func (a *acme) loadStored() {
	ctx, cancel := context.WithTimeout(context.Background(), storedLoadTimeout)
	defer cancel()
	for _, name := range a.names {
		_, err := a.cfg.CacheManagedCertificate(ctx, name)
		switch {
		case err == nil:
			a.mu.Lock()
			delete(a.pending, name)
			a.mu.Unlock()
		case !errors.Is(err, fs.ErrNotExist):
			a.log.Warn("stored certificate not loaded; it is obtained or loaded again in the background",
				"identifier", name, "error", err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func portNumber(addr string, def int) int {
	_, p, err := net.SplitHostPort(addr)
	if n, convErr := strconv.Atoi(p); err == nil && convErr == nil && n > 0 {
		return n
	}
	return def
}

// trustedRoots is the system pool plus the PEM file of acme_ca_root.
func trustedRoots(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tls.acme_ca_root: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls.acme_ca_root %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// zapLogger sends certmagic's own logs as JSON lines to w.
func zapLogger(w io.Writer) *zap.Logger {
	ec := zap.NewProductionEncoderConfig()
	ec.TimeKey, ec.MessageKey, ec.LevelKey = "time", "msg", "level"
	ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	ec.EncodeLevel = zapcore.CapitalLevelEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(ec), zapcore.AddSync(w), zap.WarnLevel)
	return zap.New(core).With(zap.String("component", "certmagic"))
}

// onEvent logs each obtain, renewal and failure with the CA's error.
func (a *acme) onEvent(_ context.Context, event string, data map[string]any) error {
	switch event {
	case "cert_obtaining":
		a.log.Info("obtaining certificate", "identifier", data["identifier"], "renewal", data["renewal"])
	case "cert_obtained":
		a.log.Info("certificate obtained", "identifier", data["identifier"], "renewal", data["renewal"], "issuer", data["issuer"])
	case "cert_failed":
		a.log.Error("certificate request failed", "identifier", data["identifier"], "renewal", data["renewal"],
			"remaining", data["remaining"], "error", fmt.Sprint(data["error"]))
	}
	return nil
}

// Start obtains (or renews) in the background the certificates that
// loadStored did not find in storage, retrying with capped exponential backoff until ctx ends.
// Every goroutine it starts is in a.loops; Stop waits for them.
func (a *acme) Start(ctx context.Context) {
	if len(a.names) == 0 {
		close(a.ready)
		return
	}
	a.loops.Go(func() { a.cleanLoop(ctx) })
	var managed sync.WaitGroup
	for _, name := range a.names {
		managed.Go(func() { a.manage(ctx, name) })
	}
	a.loops.Go(func() {
		managed.Wait()
		if ctx.Err() == nil {
			close(a.ready)
		}
	})
}

func (a *acme) manage(ctx context.Context, name string) {
	backoff := obtainBackoffMin
	for {
		err := a.cfg.ManageSync(ctx, []string{name})
		if _, cached := a.expiry(name); err == nil || cached {
			if err != nil {
				// A stored certificate is served; certmagic's maintenance
				// keeps retrying the renewal.
				a.log.Warn("renewal failed; serving the stored certificate meanwhile", "identifier", name, "error", err)
			}
			a.mu.Lock()
			delete(a.pending, name)
			a.mu.Unlock()
			return
		}
		a.mu.Lock()
		a.pending[name] = err.Error()
		a.mu.Unlock()
		a.log.Error("no certificate yet; HTTPS for this name fails until one is obtained",
			"identifier", name, "retry_in", backoff.String(), "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, obtainBackoffMax)
	}
}

// cleanInterval is how often expired certificates (including those of
// names no longer configured, which are not renewed) are pruned.
const cleanInterval = 24 * time.Hour

// cleanLoop prunes storage: certificates expired for more than a week and
// stale OCSP staples. Names removed from the config are no longer managed,
// so their certificates stop renewing and go with this cleaning.
func (a *acme) cleanLoop(ctx context.Context) {
	for {
		err := certmagic.CleanStorage(ctx, a.storage, certmagic.CleanStorageOptions{
			Logger: a.cfg.Logger, Interval: cleanInterval, OCSPStaples: true,
			ExpiredCerts: true, ExpiredCertGracePeriod: 7 * 24 * time.Hour,
		})
		if err != nil && ctx.Err() == nil {
			a.log.Warn("clean certificate storage", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(cleanInterval):
		}
	}
}

// Ready is closed once every name has a certificate.
func (a *acme) Ready() <-chan struct{} { return a.ready }

// Pending returns the names still without a certificate and why.
func (a *acme) Pending() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]string, len(a.pending))
	for k, v := range a.pending {
		out[k] = v
	}
	return out
}

// Stop ends certmagic's maintenance and waits for it and for the loops of
// Start, whose context the caller has cancelled.
func (a *acme) Stop() {
	a.cache.Stop()
	a.loops.Wait()
}

// getCertificate answers handshakes (and TLS-ALPN-01 challenges).
func (a *acme) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return a.cfg.GetCertificate(hello)
}

// httpHandler answers HTTP-01 challenges, passing other requests to next.
func (a *acme) httpHandler(next http.Handler) http.Handler {
	return a.issuer.HTTPChallengeHandler(next)
}

// expiry returns the expiry of the managed certificate for name.
func (a *acme) expiry(name string) (time.Time, bool) {
	var latest time.Time
	for _, c := range a.cache.AllMatchingCertificates(name) {
		if c.Leaf != nil && c.Leaf.NotAfter.After(latest) {
			latest = c.Leaf.NotAfter
		}
	}
	return latest, !latest.IsZero()
}
