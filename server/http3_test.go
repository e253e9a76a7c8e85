package server

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestTooEarly(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Early", r.Header.Get("Early-Data"))
		w.WriteHeader(http.StatusOK)
	})
	tests := []struct {
		name      string
		allow     bool
		tls       *tls.ConnectionState
		method    string
		wantCode  int
		wantEarly string
	}{
		{"plain HTTP", false, nil, http.MethodPost, 200, ""},
		{"handshake done", false, &tls.ConnectionState{HandshakeComplete: true}, http.MethodPost, 200, ""},
		{"early POST, 0-RTT on", true, &tls.ConnectionState{}, http.MethodPost, 425, ""},
		{"early DELETE, 0-RTT on", true, &tls.ConnectionState{}, http.MethodDelete, 425, ""},
		{"early GET, 0-RTT on", true, &tls.ConnectionState{}, http.MethodGet, 200, "1"},
		{"early HEAD, 0-RTT on", true, &tls.ConnectionState{}, http.MethodHead, 200, "1"},
		{"early GET, 0-RTT turned off by a reload", false, &tls.ConnectionState{}, http.MethodGet, 425, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "https://example.com/x", nil)
			r.TLS = tt.tls
			w := httptest.NewRecorder()
			tooEarly(tt.allow)(ok).ServeHTTP(w, r)
			if w.Code != tt.wantCode || w.Header().Get("X-Early") != tt.wantEarly {
				t.Errorf("got %d Early-Data %q, want %d %q", w.Code, w.Header().Get("X-Early"), tt.wantCode, tt.wantEarly)
			}
		})
	}
}

func TestFrontDoorAltSvc(t *testing.T) {
	s := &Server{h3: &h3Listener{altSvc: []string{`h3=":8443"; ma=86400`}}}
	counter := newProtoCounter(prometheus.NewRegistry())
	h := s.frontDoor(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), counter)
	serve := func(tlsOn bool, major int) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.ProtoMajor = major
		if tlsOn {
			r.TLS = &tls.ConnectionState{HandshakeComplete: true}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Header().Get("Alt-Svc")
	}
	if got := serve(true, 2); got != "" {
		t.Errorf("listener down: Alt-Svc %q, want none", got)
	}
	s.h3.up.Store(true)
	if got := serve(true, 2); got != `h3=":8443"; ma=86400` {
		t.Errorf("HTTPS with HTTP/3 up: Alt-Svc %q", got)
	}
	if got := serve(false, 1); got != "" {
		t.Errorf("plain HTTP: Alt-Svc %q, want none", got)
	}
	serve(true, 3)
	if n := counterValue(t, counter, "HTTP/3.0"); n != 1 {
		t.Errorf("HTTP/3.0 requests counted %v, want 1", n)
	}
	if n := counterValue(t, counter, "HTTP/2.0"); n != 2 {
		t.Errorf("HTTP/2.0 requests counted %v, want 2", n)
	}
}

func counterValue(t *testing.T, c *prometheus.CounterVec, label string) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.WithLabelValues(label).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestBufferAdvice(t *testing.T) {
	if got := bufferAdvice(14<<20, 14<<20, 7500000, 7500000); got != "" {
		t.Errorf("enough buffer: %q, want no warning", got)
	}
	got := bufferAdvice(425984, 425984, 212992, 212992)
	for _, want := range []string{"416 KiB (receive)", "7168 KiB", "net.core.rmem_max=212992", "sysctl -w net.core.rmem_max=7500000"} {
		if !strings.Contains(got, want) {
			t.Errorf("advice %q lacks %q", got, want)
		}
	}
	if got := bufferAdvice(425984, 14<<20, -1, 7500000); !strings.Contains(got, "rmem_max=unknown") {
		t.Errorf("unknown limit: %q", got)
	}
}
