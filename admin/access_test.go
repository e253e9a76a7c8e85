package admin

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitcourse/edge/clientaddr"
	"golang.org/x/crypto/bcrypt"
)

const (
	testUser     = "admin"
	testPassword = "correct-horse"
	testToken    = "0123456789abcdef0123456789abcdef"
)

var (
	hashOnce sync.Once
	testHash string
)

func hash(t testing.TB) string {
	t.Helper()
	hashOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		testHash = string(h)
	})
	return testHash
}

func newTestGuard(t *testing.T, token string) *Guard {
	t.Helper()
	g, err := NewGuard([]string{"127.0.0.1/32", "::1/128", "10.1.0.0/16"}, map[string]string{testUser: hash(t)}, token)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("secret status")) })

// request builds a request from remote with an optional Authorization.
func request(remote, auth string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://edge.test/admin/status.json", nil)
	r.RemoteAddr = remote
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func basic(user, pass string) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestGuardMatrix(t *testing.T) {
	tests := []struct {
		name      string
		token     string // configured admin.token
		remote    string
		auth      string
		want      int
		challenge bool // WWW-Authenticate expected
	}{
		{"allowed, right password", "", "127.0.0.1:5000", basic(testUser, testPassword), 200, false},
		{"allowed IPv6, right password", "", "[::1]:5000", basic(testUser, testPassword), 200, false},
		{"allowed IPv4-mapped IPv6", "", "[::ffff:127.0.0.1]:5000", basic(testUser, testPassword), 200, false},
		{"allowed network", "", "10.1.200.3:5000", basic(testUser, testPassword), 200, false},
		{"allowed, no credentials", "", "127.0.0.1:5000", "", 401, true},
		{"allowed, wrong password", "", "127.0.0.1:5000", basic(testUser, "wrong"), 401, true},
		{"allowed, empty password", "", "127.0.0.1:5000", basic(testUser, ""), 401, true},
		{"allowed, unknown user", "", "127.0.0.1:5000", basic("root", testPassword), 401, true},
		{"allowed, garbage header", "", "127.0.0.1:5000", "Basic !!!", 401, true},
		{"not allowed, right password", "", "192.0.2.7:5000", basic(testUser, testPassword), 403, false},
		{"not allowed, no credentials", "", "192.0.2.7:5000", "", 403, false},
		{"not allowed, right token", testToken, "192.0.2.7:5000", "Bearer " + testToken, 403, false},
		{"neighbouring network", "", "10.2.0.1:5000", basic(testUser, testPassword), 403, false},
		{"right token", testToken, "127.0.0.1:5000", "Bearer " + testToken, 200, false},
		{"right token, lower-case scheme", testToken, "127.0.0.1:5000", "bearer " + testToken, 200, false},
		{"password still works with a token", testToken, "127.0.0.1:5000", basic(testUser, testPassword), 200, false},
		{"wrong token", testToken, "127.0.0.1:5000", "Bearer " + strings.Repeat("x", len(testToken)), 401, true},
		{"token prefix", testToken, "127.0.0.1:5000", "Bearer " + testToken[:16], 401, true},
		{"empty token", testToken, "127.0.0.1:5000", "Bearer ", 401, true},
		{"token when none is configured", "", "127.0.0.1:5000", "Bearer " + testToken, 401, true},
		{"password as a token", testToken, "127.0.0.1:5000", "Bearer " + testPassword, 401, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestGuard(t, tt.token).Wrap(okHandler)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, request(tt.remote, tt.auth))
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %q", rec.Code, tt.want, rec.Body)
			}
			if tt.want != 200 && strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("a %d answer shows the protected body", rec.Code)
			}
			challenges := rec.Header().Values("WWW-Authenticate")
			if tt.challenge != (len(challenges) > 0) {
				t.Errorf("WWW-Authenticate %q, want a challenge: %v", challenges, tt.challenge)
			}
			if tt.challenge && !strings.HasPrefix(challenges[0], "Basic ") {
				t.Errorf("first challenge %q, want Basic (browsers)", challenges[0])
			}
			if tt.challenge && tt.token != "" && (len(challenges) != 2 || !strings.HasPrefix(challenges[1], "Bearer ")) {
				t.Errorf("challenges %q, want Basic and Bearer when a token is configured", challenges)
			}
			assertAdminHeaders(t, rec.Header())
		})
	}
}

// assertAdminHeaders checks what every admin answer carries.
func assertAdminHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if got := h.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q, want one starting with default-src 'none'", got)
	}
	if got := h.Get("Content-Security-Policy-Report-Only"); got != "" {
		t.Errorf("the site's report-only CSP %q leaks onto an admin answer", got)
	}
}

func TestGuardReplacesTheSiteCSP(t *testing.T) {
	g := newTestGuard(t, "")
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Security-Policy", "default-src 'self'")
	rec.Header().Set("Content-Security-Policy-Report-Only", "default-src 'self'")
	g.Wrap(okHandler).ServeHTTP(rec, request("127.0.0.1:1", basic(testUser, testPassword)))
	assertAdminHeaders(t, rec.Header())
}

func TestGuardRateLimitsFailures(t *testing.T) {
	g := newTestGuard(t, testToken)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	h := g.Wrap(okHandler)
	serve := func(remote, auth string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, request(remote, auth))
		return rec
	}
	for i := range maxFailures {
		auth := basic(testUser, "guess")
		if i%2 == 1 {
			auth = "Bearer guess-guess-guess-guess"
		}
		if rec := serve("127.0.0.1:1", auth); rec.Code != 401 {
			t.Fatalf("failure %d: status %d, want 401", i+1, rec.Code)
		}
	}
	rec := serve("127.0.0.1:1", basic(testUser, testPassword))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("after %d failures, right credentials got %d (Retry-After %q), want 429 with Retry-After",
			maxFailures, rec.Code, rec.Header().Get("Retry-After"))
	}
	assertAdminHeaders(t, rec.Header())
	if rec := serve("[::1]:1", basic(testUser, testPassword)); rec.Code != 200 {
		t.Errorf("another client address got %d, want 200: the limit is per address", rec.Code)
	}
	if rec := serve("192.0.2.1:1", basic(testUser, "guess")); rec.Code != 403 {
		t.Errorf("a client outside admin.allow got %d, want 403 before any rate limit", rec.Code)
	}
	now = now.Add(lockout + time.Second)
	if rec := serve("127.0.0.1:1", basic(testUser, testPassword)); rec.Code != 200 {
		t.Errorf("after the lockout, right credentials got %d, want 200", rec.Code)
	}
}

func TestNewGuardRejectsBadCIDR(t *testing.T) {
	if _, err := NewGuard([]string{"127.0.0.1/33"}, nil, ""); err == nil || !strings.Contains(err.Error(), "admin.allow") {
		t.Errorf("NewGuard with a bad CIDR: %v, want an error naming admin.allow", err)
	}
}

// TestGuardBehindTrustedProxy: the allow-list judges the TCP peer (the
// proxy), never X-Forwarded-For; failed logins are counted per forwarded
// client, so one guessing client behind the proxy does not lock out another.
func TestGuardBehindTrustedProxy(t *testing.T) {
	g := newTestGuard(t, "")
	lb := clientaddr.NewTrusted([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	h := clientaddr.Middleware(lb)(g.Wrap(okHandler))
	serve := func(peer, xff, auth string) int {
		r := request(peer, auth)
		r.Header.Set("X-Forwarded-For", xff)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	if code := serve("192.0.2.7:1", "127.0.0.1", basic(testUser, testPassword)); code != 403 {
		t.Errorf("a peer outside admin.allow claiming 127.0.0.1 got %d, want 403", code)
	}
	for i := range maxFailures {
		if code := serve("127.0.0.1:1", "198.51.100.1", basic(testUser, "guess")); code != 401 {
			t.Fatalf("failure %d: status %d, want 401", i+1, code)
		}
	}
	if code := serve("127.0.0.1:1", "198.51.100.1", basic(testUser, testPassword)); code != 429 {
		t.Errorf("the guessing client got %d, want 429", code)
	}
	if code := serve("127.0.0.1:1", "198.51.100.2", basic(testUser, testPassword)); code != 200 {
		t.Errorf("another client behind the same proxy got %d, want 200", code)
	}
}
