package clientaddr

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func trusted(nets ...string) *Trusted {
	var ps []netip.Prefix
	for _, n := range nets {
		ps = append(ps, netip.MustParsePrefix(n))
	}
	return NewTrusted(ps)
}

func TestClient(t *testing.T) {
	tr := trusted("10.0.0.0/8", "127.0.0.1/32")
	tests := []struct {
		peer string
		xff  []string
		want string
	}{
		{"203.0.113.9", []string{"1.1.1.1"}, "203.0.113.9"},
		{"127.0.0.1", nil, "127.0.0.1"},
		{"127.0.0.1", []string{"1.1.1.1"}, "1.1.1.1"},
		{"127.0.0.1", []string{"1.1.1.1, 10.0.0.7"}, "1.1.1.1"},
		{"127.0.0.1", []string{"9.9.9.9, 1.1.1.1", "10.0.0.7"}, "1.1.1.1"},
		{"127.0.0.1", []string{"not-an-ip, 10.0.0.7"}, "10.0.0.7"},
		{"127.0.0.1", []string{"10.1.1.1"}, "10.1.1.1"},
		{"::ffff:127.0.0.1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"127.0.0.1", []string{"::ffff:192.0.2.1"}, "192.0.2.1"},
	}
	for _, tt := range tests {
		got := tr.Client(netip.MustParseAddr(tt.peer).Unmap(), tt.xff)
		if got.String() != tt.want {
			t.Errorf("Client(%s, %q) = %s, want %s", tt.peer, tt.xff, got, tt.want)
		}
	}
	var none *Trusted
	if none.Contains(netip.MustParseAddr("127.0.0.1")) || none.Peer(&http.Request{RemoteAddr: "127.0.0.1:1"}) {
		t.Error("a nil *Trusted trusts someone")
	}
}

// TestMiddleware checks what later handlers read from the context.
func TestMiddleware(t *testing.T) {
	tests := []struct {
		name        string
		trusted     *Trusted
		remote, xff string
		want        string
		via         bool
	}{
		{"no trusted proxies: the peer", nil, "203.0.113.9:4711", "1.1.1.1", "203.0.113.9", false},
		{"untrusted peer: the peer, header ignored", trusted("10.0.0.0/8"), "203.0.113.9:4711", "1.1.1.1", "203.0.113.9", false},
		{"trusted peer: from X-Forwarded-For", trusted("10.0.0.0/8"), "10.0.0.2:4711", "1.1.1.1, 10.0.0.3", "1.1.1.1", true},
		{"trusted peer without header: the peer", trusted("10.0.0.0/8"), "10.0.0.2:4711", "", "10.0.0.2", true},
		{"IPv6 peer", nil, "[2001:db8::7]:443", "", "2001:db8::7", false},
		{"mapped IPv4 peer", nil, "[::ffff:192.0.2.8]:443", "", "192.0.2.8", false},
		{"unix socket peer", trusted("10.0.0.0/8"), "@", "1.1.1.1", "invalid IP", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got netip.Addr
			var via bool
			h := Middleware(tt.trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, via = Client(r), ViaTrustedProxy(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got.String() != tt.want || via != tt.via {
				t.Errorf("Client = %s, ViaTrustedProxy = %v; want %s, %v", got, via, tt.want, tt.via)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.9:4711"
	if From(r.Context()).IsValid() || ViaTrustedProxy(r.Context()) || Client(r).String() != "203.0.113.9" {
		t.Error("without the middleware From must be the zero Addr, ViaTrustedProxy false and Client the peer")
	}
}

// TestMiddlewareLeavesUntrustedRequests checks that a request that did not
// come from a trusted proxy reaches the next handler as it is: no copy of
// the request, no allocation.
func TestMiddlewareLeavesUntrustedRequests(t *testing.T) {
	for _, tr := range []*Trusted{nil, trusted("10.0.0.0/8")} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "203.0.113.9:4711"
		var seen *http.Request
		h := Middleware(tr)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r }))
		w := httptest.NewRecorder()
		if allocs := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); allocs != 0 {
			t.Errorf("trusted %v: %v allocations per untrusted request, want 0", tr, allocs)
		}
		if seen != r {
			t.Errorf("trusted %v: the next handler got a copy of the request", tr)
		}
	}
}

// FuzzClient checks that any X-Forwarded-For yields either the peer or an
// address written in the header that is not trusted (or the last trusted
// one when the whole chain is trusted), and never panics.
func FuzzClient(f *testing.F) {
	f.Add("127.0.0.1", "1.1.1.1, 10.0.0.7")
	f.Add("10.0.0.1", "garbage,,, ::1")
	f.Add("127.0.0.1", "[::1]:80")
	tr := trusted("10.0.0.0/8", "127.0.0.1/32")
	f.Fuzz(func(t *testing.T, peerText, xff string) {
		peer, err := netip.ParseAddr(peerText)
		if err != nil {
			return
		}
		peer = peer.Unmap()
		got := tr.Client(peer, []string{xff})
		if !got.IsValid() {
			t.Fatalf("Client(%s, %q) is not a valid address", peer, xff)
		}
		if !tr.Contains(peer) && got != peer {
			t.Fatalf("untrusted peer %s: got %s from the header", peer, got)
		}
	})
}

// BenchmarkMiddleware is the cost per request of computing the client
// address once, from a trusted proxy with a two-hop X-Forwarded-For.
func BenchmarkMiddleware(b *testing.B) {
	tr := trusted("10.0.0.0/8")
	var sink netip.Addr
	h := Middleware(tr)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sink = From(r.Context()) }))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.2:4711"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 10.0.0.3")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if sink.String() != "203.0.113.9" {
		b.Fatalf("client %s", sink)
	}
}
