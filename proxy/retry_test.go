package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// TestProxyRetryIdempotentOnly: with passive checks off the balancer keeps
// choosing the dead upstream every other time; only idempotent requests
// are retried on the live one.
func TestProxyRetryIdempotentOnly(t *testing.T) {
	tests := []struct {
		method    string
		header    string
		body      string
		wantRetry bool
	}{
		{http.MethodGet, "", "", true},
		{http.MethodHead, "", "", true},
		{http.MethodOptions, "", "", true},
		{http.MethodDelete, "", "", true},
		{http.MethodPut, "", `{"title":"put body survives the retry"}`, true},
		{http.MethodPost, "", `{"title":"x"}`, false},
		{http.MethodPatch, "", `{"title":"x"}`, false},
		{http.MethodPost, "Idempotency-Key", `{"title":"keyed"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.header, func(t *testing.T) {
			live := newBackend(t, "live", nil)
			rc := routeConfig(deadAddr(t), live.addr())
			rc.PassiveCooldown = dur(0)
			f := newFront(t, rc, nil)
			var ok, bad int
			for range 4 {
				req := newRequest(t, tt.method, f.srv.URL+"/api/x", strings.NewReader(tt.body))
				if tt.header != "" {
					req.Header.Set(tt.header, "k-1")
				}
				res, body := f.do(t, req)
				switch res.StatusCode {
				case http.StatusOK:
					ok++
					if tt.method != http.MethodHead && decodeEcho(t, body).Body != tt.body {
						t.Errorf("upstream got body %q, want %q", decodeEcho(t, body).Body, tt.body)
					}
				case http.StatusBadGateway:
					bad++
				default:
					t.Fatalf("status %d: %s", res.StatusCode, body)
				}
			}
			if tt.wantRetry && bad != 0 {
				t.Errorf("%d of 4 answered 502, want all retried on the live upstream", bad)
			}
			if !tt.wantRetry && bad != 2 {
				t.Errorf("%d of 4 answered 502, want 2 (every request sent to the dead one, not retried)", bad)
			}
			if got, want := live.hits.Load(), int64(ok); got != want {
				t.Errorf("live upstream hit %d times, want %d (no request sent twice)", got, want)
			}
		})
	}
}

// TestProxyRetryNeedsAnotherUpstream: a single dead upstream is not tried
// twice; the client gets 502 at once.
func TestProxyRetryNeedsAnotherUpstream(t *testing.T) {
	f := newFront(t, routeConfig(deadAddr(t)), nil)
	res, body := f.get(t, "/api/x")
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502: %s", res.StatusCode, body)
	}
	if n := f.rt.Upstreams()[0].Requests; n != 1 {
		t.Errorf("dead upstream tried %d times, want 1", n)
	}
}

// TestProxyRetryAfterUpstreamDies: an upstream that drops the connection
// without answering (killed while handling the request) gets an idempotent
// request retried on another upstream; a POST is not repeated.
func TestProxyRetryAfterUpstreamDies(t *testing.T) {
	dying := newBackend(t, "dying", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // no response at all
		}
	})
	live := newBackend(t, "live", nil)
	rc := routeConfig(dying.addr(), live.addr())
	rc.PassiveCooldown = dur(0)
	f := newFront(t, rc, nil)
	for range 4 {
		res, body := f.get(t, "/api/x")
		if res.StatusCode != http.StatusOK || decodeEcho(t, body).Upstream != "live" {
			t.Fatalf("GET: %d %s, want 200 from the live upstream", res.StatusCode, body)
		}
	}
	var bad int
	for range 4 {
		res, _ := f.do(t, newRequest(t, http.MethodPost, f.srv.URL+"/api/x", strings.NewReader("{}")))
		if res.StatusCode == http.StatusBadGateway {
			bad++
		}
	}
	if bad != 2 {
		t.Errorf("%d of 4 POSTs answered 502, want 2 (the ones sent to the dying upstream, not repeated)", bad)
	}
}
