package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/gitcourse/edge/clientaddr"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/reqid"
)

func mustTrusted(t *testing.T, nets ...string) *clientaddr.Trusted {
	t.Helper()
	var ps []netip.Prefix
	for _, n := range nets {
		p, err := config.ParseNetwork(n)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return clientaddr.NewTrusted(ps)
}

func TestProxyForwardedHeaders(t *testing.T) {
	spoofed := map[string]string{
		"X-Forwarded-For":   "6.6.6.6",
		"X-Forwarded-Proto": "https",
		"X-Forwarded-Host":  "evil.example",
		"X-Real-Ip":         "6.6.6.6",
		"Forwarded":         "for=6.6.6.6",
		"X-Request-Id":      "from-the-front-proxy-42",
	}
	tests := []struct {
		name    string
		trusted *clientaddr.Trusted
		want    map[string]string // "" means absent; "*" any non-empty
	}{
		{"untrusted peer: replaced", nil, map[string]string{
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Real-Ip": "127.0.0.1",
			"Forwarded": "", "X-Request-Id": "*",
		}},
		{"trusted list without the peer: replaced", mustTrusted(t, "10.0.0.0/8"), map[string]string{
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Real-Ip": "127.0.0.1",
			"X-Request-Id": "*",
		}},
		{"trusted peer: kept and appended", mustTrusted(t, "127.0.0.1"), map[string]string{
			"X-Forwarded-For": "6.6.6.6, 127.0.0.1", "X-Forwarded-Proto": "https",
			"X-Forwarded-Host": "evil.example", "X-Real-Ip": "6.6.6.6", "Forwarded": "",
			"X-Request-Id": "from-the-front-proxy-42",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newBackend(t, "up", nil)
			f := newFront(t, routeConfig(up.addr()), tt.trusted)
			req := newRequest(t, http.MethodGet, f.srv.URL+"/api/echo", nil)
			for k, v := range spoofed {
				req.Header.Set(k, v)
			}
			res, body := f.do(t, req)
			got := decodeEcho(t, body).Header
			wantHost := strings.TrimPrefix(f.srv.URL, "http://")
			if tt.want["X-Forwarded-Host"] == "" {
				tt.want["X-Forwarded-Host"] = wantHost
			}
			for k, want := range tt.want {
				v := strings.Join(got[k], ",")
				if (want == "*" && v == "") || (want != "*" && v != want) {
					t.Errorf("upstream saw %s = %q, want %q", k, v, want)
				}
			}
			id := got.Get("X-Request-Id")
			if res.Header.Get("X-Request-Id") != id || !reqid.Valid(id) {
				t.Errorf("response X-Request-Id %q, upstream saw %q: want the same valid id", res.Header.Get("X-Request-Id"), id)
			}
			if tt.trusted == nil && id == spoofed["X-Request-Id"] {
				t.Error("a client-sent X-Request-ID was kept from an untrusted peer")
			}
		})
	}
}

func TestProxyPassHost(t *testing.T) {
	for _, pass := range []bool{true, false} {
		up := newBackend(t, "up", nil)
		rc := routeConfig(up.addr())
		rc.PassHost = &pass
		f := newFront(t, rc, nil)
		req := newRequest(t, http.MethodGet, f.srv.URL+"/api/x", nil)
		req.Host = "gitcourse.example.com"
		_, body := f.do(t, req)
		want := "gitcourse.example.com"
		if !pass {
			want = up.addr()
		}
		if got := decodeEcho(t, body).Host; got != want {
			t.Errorf("pass_host=%v: upstream saw Host %q, want %q", pass, got, want)
		}
	}
}

// TestProxyHopByHop sends hop-by-hop headers both ways over raw
// connections, so that no client library hides them.
func TestProxyHopByHop(t *testing.T) {
	up := newBackend(t, "up", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Connection", "X-Up-Hop")
		h.Set("X-Up-Hop", "secret")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("X-Up-End", "kept")
		echoHandler("up")(w, r)
	})
	f := newFront(t, routeConfig(up.addr()), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.Write([]byte("GET /api/x HTTP/1.1\r\nHost: example.com\r\n" +
		"Connection: keep-alive, X-Client-Hop\r\nX-Client-Hop: secret\r\nKeep-Alive: 300\r\n" +
		"Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic Zm9v\r\nTE: gzip\r\nX-Client-End: kept\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	seen := decodeEcho(t, string(raw)).Header
	for _, k := range []string{"X-Client-Hop", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te"} {
		if v := seen.Get(k); v != "" {
			t.Errorf("upstream got hop-by-hop %s: %q", k, v)
		}
	}
	if seen.Get("X-Client-End") != "kept" {
		t.Error("end-to-end request header X-Client-End was dropped")
	}
	for _, k := range []string{"X-Up-Hop", "Keep-Alive", "Proxy-Authenticate"} {
		if v := res.Header.Get(k); v != "" {
			t.Errorf("client got hop-by-hop %s: %q", k, v)
		}
	}
	if res.Header.Get("X-Up-End") != "kept" {
		t.Error("end-to-end response header X-Up-End was dropped")
	}
}

// TestProxyResponseHeaders: the upstream's Server and X-Request-ID are
// dropped; a security header set by both edge and the upstream is sent
// once, with the upstream's value.
func TestProxyResponseHeaders(t *testing.T) {
	up := newBackend(t, "up", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "uvicorn/0.17.6")
		w.Header().Set("X-Request-Id", "upstream-made-this")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("Strict-Transport-Security", "max-age=1")
		w.WriteHeader(http.StatusCreated)
	})
	rt, err := New(routeConfig(up.addr()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	chain := reqid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "edge")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		rt.ServeHTTP(w, r)
	}))
	srv := newHTTPTestServer(t, chain)
	res, err := srv.Client().Get(srv.URL + "/api/x")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	h := res.Header
	checks := []struct {
		key  string
		want []string
	}{
		{"Server", []string{"edge"}},
		{"X-Frame-Options", []string{"DENY"}}, // edge's configured value wins, sent once
		{"Referrer-Policy", []string{"no-referrer"}},
		{"Strict-Transport-Security", nil}, // plain HTTP: RFC 6797 7.2
	}
	for _, c := range checks {
		if got := h.Values(c.key); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s = %q, want %q", c.key, got, c.want)
		}
	}
	if ids := h.Values("X-Request-Id"); len(ids) != 1 || ids[0] == "upstream-made-this" {
		t.Errorf("X-Request-Id = %q, want edge's id once", ids)
	}
	if res.StatusCode != http.StatusCreated {
		t.Errorf("status %d, want 201", res.StatusCode)
	}
}
