package reqid

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTrusting(t *testing.T) {
	fromProxy := func(r *http.Request) bool { return r.RemoteAddr == "10.0.0.1:1234" }
	tests := []struct {
		name    string
		trusted func(*http.Request) bool
		remote  string
		sent    string
		keep    bool
	}{
		{"no trust: replaced", nil, "10.0.0.1:1234", "lb-123", false},
		{"untrusted peer: replaced", fromProxy, "203.0.113.9:1", "lb-123", false},
		{"trusted peer: kept", fromProxy, "10.0.0.1:1234", "lb-123", true},
		{"trusted peer, invalid id: replaced", fromProxy, "10.0.0.1:1234", "bad id\x00", false},
		{"trusted peer, no id: generated", fromProxy, "10.0.0.1:1234", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seenCtx, seenHeader string
			h := Trusting(tt.trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seenCtx, seenHeader = From(r.Context()), r.Header.Get(Header)
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			if tt.sent != "" {
				req.Header.Set(Header, tt.sent)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(Header)
			if got != seenCtx || got != seenHeader || !Valid(got) {
				t.Fatalf("response %q, context %q, request header %q: want one valid id everywhere", got, seenCtx, seenHeader)
			}
			if kept := got == tt.sent; kept != tt.keep {
				t.Errorf("id %q for sent %q: kept = %v, want %v", got, tt.sent, kept, tt.keep)
			}
		})
	}
}
