package e2e

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The default security headers of SPEC §2 [headers].
var wantSecurityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "strict-origin-when-cross-origin",
	"Permissions-Policy":      "camera=(), microphone=(), geolocation=()",
	"X-Content-Type-Options":  "nosniff",
}

const wantHSTS = "max-age=63072000; includeSubDomains"

var digits = regexp.MustCompile(`[0-9]`)

// checkSecurityHeaders asserts the security headers of every response:
// each default header once, HSTS only over HTTPS, "Server: edge" alone and
// no version anywhere in the header.
func checkSecurityHeaders(t *testing.T, what string, resp *http.Response, overHTTPS bool) {
	t.Helper()
	for k, want := range wantSecurityHeaders {
		got := resp.Header.Values(k)
		if k == "Content-Security-Policy" && len(got) == 1 && isAdmin(resp) && strings.HasPrefix(got[0], "default-src 'none'") {
			continue // the admin pages send their own, stricter policy
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s = %q, want [%q]", what, k, got, want)
		}
	}
	hsts := resp.Header.Values("Strict-Transport-Security")
	switch {
	case overHTTPS && (len(hsts) != 1 || hsts[0] != wantHSTS):
		t.Errorf("%s over HTTPS: Strict-Transport-Security = %q, want [%q]", what, hsts, wantHSTS)
	case !overHTTPS && len(hsts) != 0:
		t.Errorf("%s over plain HTTP: Strict-Transport-Security = %q, want none (RFC 6797)", what, hsts)
	}
	if got := resp.Header.Values("Server"); len(got) != 1 || got[0] != "edge" || digits.MatchString(got[0]) {
		t.Errorf("%s: Server = %q, want [\"edge\"] (no version, nothing from the upstream)", what, got)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			if strings.Contains(v, strings.TrimPrefix(Version, "v")) {
				t.Errorf("%s: header %s reveals the version: %q", what, k, v)
			}
		}
	}
}

// isAdmin reports whether resp answers a request under the default
// admin.path.
func isAdmin(resp *http.Response) bool {
	return resp.Request != nil && strings.HasPrefix(resp.Request.URL.Path, "/admin/")
}

func TestSecurityHeadersEveryResponse(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "uvicorn/0.17.6 Python/3.11")
		w.Header().Set("X-Powered-By", "FastAPI 0.92")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(upstream.Close)
	closed := "127.0.0.1:" + freePort(t)

	e := startEdge(t, Options{Routes: []Route{
		{Path: "/api/", Upstreams: []string{upstreamAddr(upstream)}},
		{Path: "/down/", Upstreams: []string{closed}, Timeouts: `connect = "1s"`, RetryWindow: "0s"},
	}})
	c := e.Client()
	resp, _ := get(t, c, e.HTTPS("/"))
	etag := resp.Header.Get("ETag")

	cases := []struct {
		name   string
		url    string
		method string
		opts   []reqOpt
		status int
		https  bool
	}{
		{"static 200", e.HTTPS("/"), "GET", nil, 200, true},
		{"immutable asset", e.HTTPS(assetPath), "GET", []reqOpt{header("Accept-Encoding", "br")}, 200, true},
		{"SPA fallback", e.HTTPS("/courses/1"), "GET", nil, 200, true},
		{"304", e.HTTPS("/"), "GET", []reqOpt{header("If-None-Match", etag)}, 304, true},
		{"206", e.HTTPS(assetPath), "GET", []reqOpt{header("Range", "bytes=0-9")}, 206, true},
		{"static 404", e.HTTPS("/assets/nope.js"), "GET", nil, 404, true},
		{"dotfile 404", e.HTTPS("/.env"), "GET", nil, 404, true},
		{"405", e.HTTPS("/"), "DELETE", nil, 405, true},
		{"unknown Host on HTTPS 404", e.HTTPS("/"), "GET", []reqOpt{host("evil.test")}, 404, true},
		{"proxy 200", e.HTTPS("/api/x"), "GET", nil, 200, true},
		{"proxy 502", e.HTTPS("/down/x"), "GET", nil, 502, true},
		{"healthz HTTPS", e.HTTPS("/healthz"), "GET", nil, 200, true},
		{"admin 401", e.HTTPS("/admin/status.json"), "GET", nil, 401, true},
		{"admin 200", e.HTTPS("/admin/status.json"), "GET", []reqOpt{basicAuth(adminUser, adminPassword)}, 200, true},
		{"port 80 308", e.HTTP("/courses/1?x=1"), "GET", nil, 308, false},
		{"port 80 unknown Host 404", e.HTTP("/"), "GET", []reqOpt{host("evil.test")}, 404, false},
		{"healthz HTTP", e.HTTP("/healthz"), "GET", nil, 200, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, c, tc.method, tc.url, nil, tc.opts...)
			wantStatus(t, resp, body, tc.status)
			checkSecurityHeaders(t, tc.name, resp, tc.https)
		})
	}

	t.Run("plain-http-site", func(t *testing.T) {
		p := startEdge(t, Options{NoHTTPS: true, Routes: []Route{
			{Path: "/api/", Upstreams: []string{upstreamAddr(upstream)}},
			{Path: "/down/", Upstreams: []string{closed}, Timeouts: `connect = "1s"`, RetryWindow: "0s"},
		}})
		pc := p.Client()
		for _, tc := range []struct {
			name   string
			path   string
			opts   []reqOpt
			status int
		}{
			{"static 200", "/", nil, 200},
			{"SPA fallback", "/courses/1", nil, 200},
			{"static 404", "/assets/nope.js", nil, 404},
			{"unknown Host 404", "/", []reqOpt{host("evil.test")}, 404},
			{"proxy 200", "/api/x", nil, 200},
			{"proxy 502", "/down/x", nil, 502},
			{"healthz", "/healthz", nil, 200},
			{"admin 401", "/admin/status.json", nil, 401},
		} {
			resp, body := get(t, pc, p.HTTP(tc.path), tc.opts...)
			wantStatus(t, resp, body, tc.status)
			checkSecurityHeaders(t, "plain HTTP "+tc.name, resp, false)
		}
	})
}

func upstreamAddr(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// TestUpstreamHSTSOverPlainHTTP: an upstream that sends its own
// Strict-Transport-Security must not make edge send HSTS over plain HTTP
// (SPEC §3, RFC 6797 7.2); over HTTPS exactly one HSTS header is sent.
func TestUpstreamHSTSOverPlainHTTP(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(upstream.Close)
	for _, mode := range listenerModes {
		t.Run(mode.name, func(t *testing.T) {
			e := startEdge(t, Options{NoHTTPS: mode.noHTTPS, Routes: []Route{{Path: "/api/", Upstreams: []string{upstreamAddr(upstream)}}}})
			resp, body := get(t, e.Client(), e.URL("/api/x"))
			wantStatus(t, resp, body, http.StatusOK)
			hsts := resp.Header.Values("Strict-Transport-Security")
			if mode.noHTTPS && len(hsts) != 0 {
				t.Errorf("proxied response over plain HTTP carries Strict-Transport-Security %q from the upstream, want none", hsts)
			}
			if !mode.noHTTPS && len(hsts) != 1 {
				t.Errorf("proxied response over HTTPS: Strict-Transport-Security %q, want exactly one", hsts)
			}
		})
	}
}
