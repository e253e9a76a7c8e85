package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gitcourse/edge/reqid"
)

// TestDirectMatchesReverseProxy sends the same requests through the
// route's direct handler and through the httputil.ReverseProxy it replaced
// on the non-upgrade path, and asserts that the upstream sees the same
// request (target, Host, fields) and the client the same response fields.
func TestDirectMatchesReverseProxy(t *testing.T) {
	up := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Server", "uvicorn")
		h.Set("X-Request-Id", "from-app")
		h.Set("Strict-Transport-Security", "max-age=1")
		h.Set("Connection", "X-Hop")
		h.Set("X-Hop", "dropped")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Add("Set-Cookie", "a=1")
		h.Add("Set-Cookie", "b=2")
		h.Set("Content-Type", "application/json")
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(echo{"a", r.Method, r.Host, r.URL.RequestURI(), string(body), r.Header})
	})
	for _, tc := range []struct {
		name     string
		trusted  []string
		passHost bool
	}{{"untrusted", nil, false}, {"trusted", []string{"127.0.0.1"}, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rc := routeConfig(up.addr())
			rc.PassHost = &tc.passHost
			trusted := mustTrusted(t, tc.trusted...)
			rt, err := New(rc, Options{Trusted: trusted})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(rt.Close)
			security := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Frame-Options", "DENY")
					next.ServeHTTP(w, r)
				})
			}
			direct := httptest.NewServer(reqid.Trusting(trusted.Peer)(security(rt)))
			t.Cleanup(direct.Close)
			viaRP := httptest.NewServer(reqid.Trusting(trusted.Peer)(security(http.HandlerFunc(
				func(w http.ResponseWriter, r *http.Request) {
					rt.proxy.ServeHTTP(&responseWriter{ResponseWriter: w}, r)
				}))))
			t.Cleanup(viaRP.Close)
			for _, path := range []string{"/api/x?a=1&b=2", "/api/x?a=1;b=2", "/api/x?c=%zz&d=1"} {
				for _, method := range []string{"GET", "POST"} {
					d, dres := sendForCompare(t, direct.URL, method, path)
					r, rres := sendForCompare(t, viaRP.URL, method, path)
					d.Host = strings.ReplaceAll(d.Host, direct.Listener.Addr().String(), "FRONT")
					r.Host = strings.ReplaceAll(r.Host, viaRP.Listener.Addr().String(), "FRONT")
					normalize(d.Header, direct.Listener.Addr().String())
					normalize(r.Header, viaRP.Listener.Addr().String())
					normalize(dres, direct.Listener.Addr().String())
					normalize(rres, viaRP.Listener.Addr().String())
					if !reflect.DeepEqual(d, r) {
						t.Errorf("%s %s: upstream saw\n direct %+v\n     RP %+v", method, path, d, r)
					}
					if !reflect.DeepEqual(dres, rres) {
						t.Errorf("%s %s: client got\n direct %v\n     RP %v", method, path, dres, rres)
					}
				}
			}
		})
	}
}

// sendForCompare sends a request with the fields a proxy must rewrite or
// drop and returns what the upstream saw and the response's fields.
func sendForCompare(t *testing.T, base, method, path string) (echo, http.Header) {
	t.Helper()
	req := newRequest(t, method, base+path, strings.NewReader("body"))
	h := req.Header
	h.Set("X-Forwarded-For", "203.0.113.7")
	h.Set("X-Forwarded-Proto", "https")
	h.Set("X-Forwarded-Host", "example.org")
	h.Set("X-Real-Ip", "198.51.100.1")
	h.Set("Forwarded", "for=1.2.3.4")
	h.Set("X-Request-Id", "client-id-1")
	h.Set("Connection", "X-Client-Hop, keep-alive")
	h.Set("X-Client-Hop", "dropped")
	h.Set("Proxy-Authorization", "Basic Zm9vOmJhcg==")
	h.Set("Te", "trailers, deflate")
	h.Set("User-Agent", "")
	h.Set("X-App", "kept")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, path, res.Status, body)
	}
	var e echo
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return e, res.Header
}

// normalize replaces what differs between two fronts by design: the
// request id, the front's own address, the date and the body length.
func normalize(h http.Header, front string) {
	for _, k := range []string{"X-Request-Id", "Date", "Content-Length"} {
		if len(h[k]) > 0 {
			h[k] = []string{"SET"}
		}
	}
	for k, vv := range h {
		for i, v := range vv {
			vv[i] = strings.ReplaceAll(v, front, "FRONT")
		}
		h[k] = vv
	}
}
