package proxy

import (
	"encoding/json"
	"github.com/gitcourse/edge/clientaddr"
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
			rt, err := New(rc, Options{})
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
			direct := httptest.NewServer(reqid.Trusting(trusted.Peer)(clientaddr.Middleware(trusted)(security(rt))))
			t.Cleanup(direct.Close)
			viaRP := httptest.NewServer(reqid.Trusting(trusted.Peer)(clientaddr.Middleware(trusted)(security(http.HandlerFunc(
				func(w http.ResponseWriter, r *http.Request) {
					rt.proxy.ServeHTTP(&responseWriter{ResponseWriter: w}, r)
				})))))
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

// TestDirectTrailers passes the upstream's announced trailer to the
// client after the chunked body.
func TestDirectTrailers(t *testing.T) {
	up := newRawUpstream(t, true, "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n")
	f := newFront(t, routeConfig(up.addr()), nil)
	res, body := f.get(t, "/api/t")
	if body != "hello" || res.Trailer.Get("X-Sum") != "42" {
		t.Fatalf("body %q trailers %v", body, res.Trailer)
	}
}

// TestDirectBodyCut: an upstream that closes before the end of the body
// it announced makes edge cut the client's connection; the client never
// gets the short body as a whole response.
func TestDirectBodyCut(t *testing.T) {
	up := newRawUpstream(t, true, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
	f := newFront(t, routeConfig(up.addr()), nil)
	res, err := f.srv.Client().Get(f.srv.URL + "/api/cut")
	if err != nil {
		return // cut before the header: also not a whole response
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err == nil {
		t.Fatalf("status %d, body %q read without error: a cut body was presented as whole", res.StatusCode, body)
	}
}

// TestDirectSwitchWithoutUpgrade: a 101 to a request that asked for no
// upgrade is the upstream's error, answered 502.
func TestDirectSwitchWithoutUpgrade(t *testing.T) {
	up := newRawUpstream(t, true, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	f := newFront(t, routeConfig(up.addr()), nil)
	res, body := f.get(t, "/api/x")
	if res.StatusCode != http.StatusBadGateway || decodeError(t, body).Error != "upstream unavailable" {
		t.Fatalf("%s %q", res.Status, body)
	}
}

// TestStreaming decides which responses are flushed as they arrive.
func TestStreaming(t *testing.T) {
	for _, tc := range []struct {
		ct   string
		n    int64
		want bool
	}{
		{"text/event-stream", 10, true},
		{"Text/Event-Stream; charset=utf-8", 10, true},
		{" text/event-stream ;x=1", 10, true},
		{"text/event-streamx", 10, false},
		{"application/json", 10, false},
		{"application/json", -1, true},
		{"", 0, false},
	} {
		res := &http.Response{Header: http.Header{"Content-Type": {tc.ct}}, ContentLength: tc.n}
		if got := streaming(res); got != tc.want {
			t.Errorf("streaming(%q, %d) = %v, want %v", tc.ct, tc.n, got, tc.want)
		}
	}
}
