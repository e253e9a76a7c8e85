package proxy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestProxyErrors(t *testing.T) {
	slow := newBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers in time
	})
	counted := newBackend(t, "counted", nil)
	tests := []struct {
		name     string
		upstream string
		tune     func(rcTimeouts *routeTune)
		req      func(t *testing.T, url string) *http.Request
		code     int
		message  string
		within   time.Duration
	}{
		{
			name: "refused: 502 within the connect timeout", upstream: deadAddr(t),
			req:  func(t *testing.T, url string) *http.Request { return newRequest(t, http.MethodGet, url, nil) },
			code: http.StatusBadGateway, message: "upstream unavailable", within: time.Second,
		},
		{
			name: "no response header in time: 504", upstream: slow.addr(),
			tune: func(rc *routeTune) { rc.responseHeader = 200 * time.Millisecond },
			req:  func(t *testing.T, url string) *http.Request { return newRequest(t, http.MethodGet, url, nil) },
			code: http.StatusGatewayTimeout, message: "upstream timeout", within: 3 * time.Second,
		},
		{
			name: "declared body above max_body: 413", upstream: counted.addr(),
			tune: func(rc *routeTune) { rc.maxBody = 1000 },
			req: func(t *testing.T, url string) *http.Request {
				return newRequest(t, http.MethodPost, url, bytes.NewReader(make([]byte, 1001)))
			},
			code: http.StatusRequestEntityTooLarge, message: "request body too large", within: time.Second,
		},
		{
			name: "chunked body above max_body: 413", upstream: counted.addr(),
			tune: func(rc *routeTune) { rc.maxBody = 1000 },
			req: func(t *testing.T, url string) *http.Request {
				// io.MultiReader hides the length: the body goes chunked.
				return newRequest(t, http.MethodPost, url, io.MultiReader(strings.NewReader(strings.Repeat("x", 5000))))
			},
			code: http.StatusRequestEntityTooLarge, message: "request body too large", within: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := routeConfig(tt.upstream)
			tune := routeTune{responseHeader: rc.Timeouts.ResponseHeader.Duration, maxBody: rc.MaxBody.Bytes}
			if tt.tune != nil {
				tt.tune(&tune)
			}
			rc.Timeouts.ResponseHeader = dur(tune.responseHeader)
			rc.MaxBody.Bytes = tune.maxBody
			f := newFront(t, rc, nil)
			before := counted.hits.Load()
			start := time.Now()
			res, body := f.do(t, tt.req(t, f.srv.URL+"/api/x"))
			if took := time.Since(start); took > tt.within {
				t.Errorf("answered after %s, want within %s", took, tt.within)
			}
			if res.StatusCode != tt.code {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.code, body)
			}
			e := decodeError(t, body)
			if e.Error != tt.message || e.RequestID == "" || e.RequestID != res.Header.Get("X-Request-Id") {
				t.Errorf("body %s, want error %q and the response's request id %q", body, tt.message, res.Header.Get("X-Request-Id"))
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tt.name == "declared body above max_body: 413" && counted.hits.Load() != before {
				t.Error("the upstream was contacted for a body declared too large")
			}
		})
	}
}

// routeTune holds the knobs TestProxyErrors turns.
type routeTune struct {
	responseHeader time.Duration
	maxBody        int64
}

// TestProxyClassifyTimeouts: a connect timeout means the upstream is
// unreachable (502); a timeout after connecting means it is slow (504).
func TestProxyClassifyTimeouts(t *testing.T) {
	err := &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}
	if got := classify(t.Context(), err); got != http.StatusBadGateway {
		t.Errorf("dial timeout classified %d, want 502", got)
	}
	if got := classify(t.Context(), timeoutErr{}); got != http.StatusGatewayTimeout {
		t.Errorf("response header timeout classified %d, want 504", got)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestProxyAnswersCounted: the statuses the proxy answers with are the
// ones the access log's recorder (and so the metrics) sees.
func TestProxyAnswersCounted(t *testing.T) {
	up := newBackend(t, "up", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/missing" {
			http.NotFound(w, r)
			return
		}
		echoHandler("up")(w, r)
	})
	f := newFront(t, routeConfig(up.addr()), nil)
	for _, p := range []string{"/api/a", "/api/b", "/api/missing"} {
		f.get(t, p)
	}
	if ok, missing := f.answered(200), f.answered(404); ok != 2 || missing != 1 {
		t.Errorf("answered 200 %d times and 404 %d times, want 2 and 1", ok, missing)
	}
	us := f.rt.Upstreams()
	if len(us) != 1 || us[0].Addr != up.addr() || !us[0].Up || us[0].Requests != 3 || us[0].LastError != "" {
		t.Errorf("upstreams %+v, want %s up with 3 requests", us, up.addr())
	}
}

func TestProxyNewRejects(t *testing.T) {
	for _, ups := range [][]string{nil, {"127.0.0.1:8000", "127.0.0.1:8000"}, {"127.0.0.1:8000/x"}} {
		if _, err := New(routeConfig(ups...), Options{}); err == nil {
			t.Errorf("New accepted upstreams %q", ups)
		}
	}
}
