package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// adminToken is the bearer token of the configs that set admin.token.
const adminToken = "e2e-token-0123456789abcdef"

// tokenOptions turn on admin.token = ${EDGE_ADMIN_TOKEN}.
func tokenOptions(o Options) Options {
	o.AdminExtra += "token = \"${EDGE_ADMIN_TOKEN}\"\n"
	o.Env = append(o.Env, "EDGE_ADMIN_TOKEN="+adminToken)
	return o
}

func bearer(token string) reqOpt { return header("Authorization", "Bearer "+token) }

// wantAdminHeaders checks what every admin answer carries.
func wantAdminHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", resp.Request.URL.Path, cc)
	}
	csp := resp.Header.Values("Content-Security-Policy")
	if len(csp) != 1 || !strings.HasPrefix(csp[0], "default-src 'none'") {
		t.Errorf("%s: Content-Security-Policy %q, want one admin policy starting with default-src 'none'", resp.Request.URL.Path, csp)
	}
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{})
	c := e.Client()
	statusJSON := e.HTTPS("/admin/status.json")

	t.Run("no-credentials-401", func(t *testing.T) {
		resp, body := get(t, c, statusJSON)
		wantStatus(t, resp, body, http.StatusUnauthorized)
		if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
			t.Errorf("WWW-Authenticate %q, want a Basic challenge", got)
		}
		if strings.Contains(string(body), "domains") {
			t.Errorf("401 body shows the status: %q", body)
		}
		wantAdminHeaders(t, resp)
	})

	t.Run("wrong-credentials-401", func(t *testing.T) {
		for _, cred := range [][2]string{{adminUser, "wrong"}, {"root", adminPassword}, {adminUser, ""}} {
			resp, body := get(t, c, statusJSON, basicAuth(cred[0], cred[1]))
			wantStatus(t, resp, body, http.StatusUnauthorized)
		}
		// No admin.token in this config: no bearer token is accepted.
		resp, body := get(t, c, statusJSON, bearer(adminToken))
		wantStatus(t, resp, body, http.StatusUnauthorized)
	})

	t.Run("correct-credentials-200", func(t *testing.T) {
		resp, body := get(t, c, statusJSON, basicAuth(adminUser, adminPassword))
		wantStatus(t, resp, body, http.StatusOK)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		wantAdminHeaders(t, resp)
		var st struct {
			Schema       int      `json:"schema"`
			State        string   `json:"state"`
			Domains      []string `json:"domains"`
			Version      string   `json:"version"`
			Certificates []struct {
				Domain   string  `json:"domain"`
				Source   string  `json:"source"`
				Issuer   string  `json:"issuer"`
				NotAfter *string `json:"not_after"`
			} `json:"certificates"`
			Routes []struct {
				Name string `json:"name"`
			} `json:"routes"`
			Backup struct {
				Configured bool `json:"configured"`
			} `json:"backup"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("status.json %q: %v", body, err)
		}
		if !slices.Equal(st.Domains, []string{domain, wwwDomain}) {
			t.Errorf("status.json domains %q, want [%s %s]", st.Domains, domain, wwwDomain)
		}
		if st.Schema != 1 || st.Version != Version || !slices.Contains([]string{"green", "amber", "red"}, st.State) {
			t.Errorf("status.json schema %d version %q state %q", st.Schema, st.Version, st.State)
		}
		if len(st.Certificates) != 2 || st.Certificates[0].Source != "internal" || st.Certificates[0].NotAfter == nil ||
			!strings.HasPrefix(st.Certificates[0].Issuer, "edge local CA") {
			t.Errorf("status.json certificates %+v, want both domains from the internal CA", st.Certificates)
		}
		if len(st.Routes) != 2 || st.Routes[0].Name != "static" || st.Routes[1].Name != "admin" || st.Backup.Configured {
			t.Errorf("status.json routes %+v backup %+v: want static and admin, no backup", st.Routes, st.Backup)
		}

		resp, body = get(t, c, e.HTTPS("/admin/status"), basicAuth(adminUser, adminPassword))
		wantStatus(t, resp, body, http.StatusOK)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("/admin/status Content-Type %q, want text/html", ct)
		}
		if !strings.Contains(string(body), domain) {
			t.Errorf("/admin/status does not list %s", domain)
		}
		wantAdminHeaders(t, resp)
		if csp := resp.Header.Get("Content-Security-Policy"); !regexp.MustCompile(`style-src 'sha256-[A-Za-z0-9+/]+=*'`).MatchString(csp) {
			t.Errorf("page CSP %q does not allow its style by hash", csp)
		}
	})
}

func TestAdminAllow(t *testing.T) {
	t.Parallel()
	// The test client is 127.0.0.1, outside 10.0.0.0/8 (no traffic goes there).
	e := startEdge(t, tokenOptions(Options{AdminAllow: []string{"10.0.0.0/8"}}))
	c := e.Client()
	for _, path := range []string{"/admin/status.json", "/admin/status", "/admin/metrics"} {
		for _, opts := range [][]reqOpt{{basicAuth(adminUser, adminPassword)}, {bearer(adminToken)}, nil} {
			resp, body := get(t, c, e.HTTPS(path), opts...)
			wantStatus(t, resp, body, http.StatusForbidden)
			if strings.Contains(string(body), "domains") || strings.Contains(string(body), "edge_") {
				t.Errorf("403 body shows the status: %q", body)
			}
			if resp.Header.Get("WWW-Authenticate") != "" {
				t.Errorf("403 carries a login challenge: the allow-list comes first")
			}
			wantAdminHeaders(t, resp)
		}
	}
	resp, body := get(t, c, e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
}

func TestAdminToken(t *testing.T) {
	t.Parallel()
	e := startEdge(t, tokenOptions(Options{}))
	c := e.Client()
	tests := []struct {
		name string
		opt  reqOpt
		want int
	}{
		{"token", bearer(adminToken), http.StatusOK},
		{"password", basicAuth(adminUser, adminPassword), http.StatusOK},
		{"wrong token", bearer(strings.Repeat("x", len(adminToken))), http.StatusUnauthorized},
		{"token as a password", basicAuth(adminUser, adminToken), http.StatusUnauthorized},
		{"nothing", func(*http.Request) {}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		for _, path := range []string{"/admin/status.json", "/admin/metrics", "/admin/status"} {
			resp, body := get(t, c, e.HTTPS(path), tt.opt)
			if resp.StatusCode != tt.want {
				t.Errorf("%s on %s: status %d, want %d", tt.name, path, resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusUnauthorized && len(resp.Header.Values("WWW-Authenticate")) != 2 {
				t.Errorf("%s on %s: challenges %q, want Basic and Bearer", tt.name, path, resp.Header.Values("WWW-Authenticate"))
			}
			_ = body
			wantAdminHeaders(t, resp)
		}
	}
}

func TestAdminRateLimit(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{})
	c := e.Client()
	url := e.HTTPS("/admin/status.json")
	for i := range 10 {
		resp, body := get(t, c, url, basicAuth(adminUser, "guess"))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed attempt %d: status %d, want 401; body %q", i+1, resp.StatusCode, body)
		}
	}
	resp, body := get(t, c, url, basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	wantAdminHeaders(t, resp)
	// The site itself is not affected.
	resp, body = get(t, c, e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
}
