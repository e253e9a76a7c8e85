package e2e

// HTTP/3: edge answers QUIC on UDP at the HTTPS port with the same chain,
// certificates and SNI rule, advertises it with Alt-Svc on HTTPS only,
// guards 0-RTT, takes its UDP socket from systemd and keeps serving HTTP/3
// across reloads and restarts.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// h3Transport is an HTTP/3 client that trusts e's internal CA and sends
// every request to 127.0.0.1 at e's HTTPS port (UDP), whatever the URL's
// host; serverName overrides the SNI ("" keeps the URL's host).
func h3Transport(e *Edge, serverName string, cache tls.ClientSessionCache) *http3.Transport {
	return &http3.Transport{
		TLSClientConfig:    &tls.Config{RootCAs: e.RootCAs(), ServerName: serverName, ClientSessionCache: cache},
		QUICConfig:         &quic.Config{HandshakeIdleTimeout: 3 * time.Second},
		DisableCompression: true,
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			if tlsCfg.ServerName == "" || tlsCfg.ServerName == "127.0.0.1" {
				tlsCfg.ServerName = domain
			}
			return quic.DialAddrEarly(ctx, "127.0.0.1:"+e.HTTPSPort, tlsCfg, cfg)
		},
	}
}

// h3Client wraps h3Transport like newClient: no redirects followed.
func h3Client(tr *http3.Transport) *http.Client {
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// newH3Client returns an HTTP/3 client for e, closed at the end of the test.
func newH3Client(t *testing.T, e *Edge) *http.Client {
	tr := h3Transport(e, "", nil)
	t.Cleanup(func() { _ = tr.Close() })
	return h3Client(tr)
}

func wantAltSvc(t *testing.T, resp *http.Response, port string) {
	t.Helper()
	if got, want := resp.Header.Get("Alt-Svc"), `h3=":`+port+`"; ma=86400`; got != want {
		t.Errorf("%s %s over %s: Alt-Svc %q, want %q", resp.Request.Method, resp.Request.URL, resp.Proto, got, want)
	}
}

// TestHTTP3Site: the SPA, a brotli asset, the security headers with HSTS
// and a proxied answer from the real API (uvicorn on PostgreSQL), all over
// HTTP/3; Alt-Svc on HTTP/2 and HTTP/3 responses, never over plain HTTP;
// the access log and the metrics show the protocol.
func TestHTTP3Site(t *testing.T) {
	t.Parallel()
	_, dbURL := apiDatabase(t)
	api := startAPIServer(t, dbURL, "a")
	e := startEdgeWith(t, Options{Routes: []Route{apiRoute(api.Addr())}}, apiHealth, "")
	h3 := newH3Client(t, e)

	resp, body := get(t, h3, e.HTTPS("/courses/7"))
	wantStatus(t, resp, body, http.StatusOK)
	if resp.Proto != "HTTP/3.0" || !strings.Contains(string(body), "<title>GitCourse e2e</title>") {
		t.Errorf("GET /courses/7: %s, body %.80q; want HTTP/3.0 and the SPA index", resp.Proto, body)
	}
	for k, want := range map[string]string{
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		"X-Frame-Options":           "DENY",
		"X-Content-Type-Options":    "nosniff",
		"Server":                    "edge",
		"Cache-Control":             "no-cache",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("HTTP/3 %s = %q, want %q", k, got, want)
		}
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("HTTP/3 response without Content-Security-Policy")
	}
	wantAltSvc(t, resp, e.HTTPSPort)

	resp, body = get(t, h3, e.HTTPS(assetPath), header("Accept-Encoding", "br"))
	wantStatus(t, resp, body, http.StatusOK)
	if resp.Header.Get("Content-Encoding") != "br" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("asset over HTTP/3: Content-Encoding %q, Cache-Control %q; want br, immutable",
			resp.Header.Get("Content-Encoding"), resp.Header.Get("Cache-Control"))
	}

	resp, body = get(t, h3, e.HTTPS("/api/echo"))
	wantStatus(t, resp, body, http.StatusOK)
	echo := decodeAPIEcho(t, body)
	if echo.Scheme != "https" || len(echo.Headers["x-request-id"]) != 1 || echo.Headers["x-forwarded-proto"][0] != "https" {
		t.Errorf("/api/echo over HTTP/3: scheme %q, headers %v", echo.Scheme, echo.Headers)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("proxied HTTP/3 response without X-Request-Id")
	}

	resp, body = get(t, e.Client(), e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
	if resp.ProtoMajor != 2 {
		t.Fatalf("HTTPS client spoke %s, want HTTP/2", resp.Proto)
	}
	wantAltSvc(t, resp, e.HTTPSPort)
	resp, body = get(t, e.Client1(), e.HTTP("/"))
	wantStatus(t, resp, body, http.StatusPermanentRedirect)
	if v := resp.Header.Get("Alt-Svc"); v != "" {
		t.Errorf("plain HTTP response carries Alt-Svc %q", v)
	}

	if !e.WaitOutput(`"proto":"HTTP/3.0"`, 2*time.Second) {
		t.Errorf("no access log line with proto HTTP/3.0:\n%s", e.Output())
	}
	resp, body = get(t, h3, e.HTTPS("/admin/metrics"), basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), `edge_http_requests_by_proto_total{proto="HTTP/3.0"}`) {
		t.Errorf("metrics lack the HTTP/3 request counter:\n%s", grepLines(string(body), "by_proto"))
	}
	resp, body = get(t, h3, e.HTTPS("/admin/status.json"), basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusOK)
	var st struct {
		Listeners map[string]string `json:"listeners"`
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Listeners["h3"] != "127.0.0.1:"+e.HTTPSPort {
		t.Errorf("status.json listeners %v (%v); want h3 at 127.0.0.1:%s", st.Listeners, err, e.HTTPSPort)
	}
}

// TestHTTP3UnknownSNI: a QUIC handshake for a name edge does not serve
// fails, like the TCP one.
func TestHTTP3UnknownSNI(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{})
	tr := h3Transport(e, "unknown.test", nil)
	defer tr.Close()
	req, _ := http.NewRequest(http.MethodGet, "https://unknown.test:"+e.HTTPSPort+"/", nil)
	resp, err := h3Client(tr).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("HTTP/3 request with SNI unknown.test answered %s; want a failed handshake", resp.Status)
	}
	if !strings.Contains(err.Error(), "CRYPTO_ERROR") && !strings.Contains(err.Error(), "tls") {
		t.Errorf("unknown SNI failed, but not in the TLS handshake: %v", err)
	}
	resp, body := get(t, newH3Client(t, e), e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK) // the listener itself is fine
}

// TestHTTP3Off: with http3 = false edge binds no UDP socket and sends no
// Alt-Svc.
func TestHTTP3Off(t *testing.T) {
	t.Parallel()
	e := startEdgeWith(t, Options{}, "", "http3 = false")
	resp, body := get(t, e.Client(), e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
	if v := resp.Header.Get("Alt-Svc"); v != "" {
		t.Errorf("http3 = false, yet Alt-Svc %q", v)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+e.HTTPSPort)
	if err != nil {
		t.Fatalf("UDP port %s is taken although http3 = false: %v", e.HTTPSPort, err)
	}
	pc.Close()
}

// TestHTTP3EarlyData: with http3_0rtt = true a resumed connection may
// carry requests in early data: GET is served, POST gets 425 Too Early.
// The relay holds the client's handshake completion back, so the
// requests really are processed while only early data has arrived.
func TestHTTP3EarlyData(t *testing.T) {
	t.Parallel()
	e := startEdgeWith(t, Options{}, "", "http3_0rtt = true")
	cache := tls.NewLRUClientSessionCache(4)
	first := h3Transport(e, "", cache)
	resp, body := get(t, h3Client(first), e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
	first.Close() // the session ticket arrived with the response

	relay := newEarlyRelay(t, "127.0.0.1:"+e.HTTPSPort, 400*time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tlsCfg := &tls.Config{RootCAs: e.RootCAs(), ServerName: domain, ClientSessionCache: cache, NextProtos: []string{http3.NextProtoH3}}
	conn, err := quic.DialAddrEarly(ctx, relay.Addr(), tlsCfg, &quic.Config{})
	if err != nil {
		t.Fatalf("dial with 0-RTT: %v", err)
	}
	defer conn.CloseWithError(0, "")
	cc := (&http3.Transport{}).NewClientConn(conn)
	// Both requests go out before the handshake can complete; then the
	// answers are read.
	send := func(method string) *http3.RequestStream {
		str, err := cc.OpenRequestStream(ctx)
		if err != nil {
			t.Fatalf("open request stream: %v", err)
		}
		req, _ := http.NewRequestWithContext(ctx, method, e.HTTPS("/robots.txt"), nil)
		if err := str.SendRequestHeader(req); err != nil {
			t.Fatalf("send %s: %v", method, err)
		}
		str.Close()
		return str
	}
	read := func(method string, str *http3.RequestStream) (int, string) {
		resp, err := str.ReadResponse()
		if err != nil {
			t.Fatalf("%s in early data: %v", method, err)
		}
		b, _ := io.ReadAll(str)
		return resp.StatusCode, string(b)
	}
	post, get := send(http.MethodPost), send(http.MethodGet)
	if code, body := read("POST", post); code != http.StatusTooEarly {
		t.Errorf("POST in early data: %d %q, want 425", code, body)
	}
	if code, body := read("GET", get); code != http.StatusOK || !strings.Contains(body, "User-agent") {
		t.Errorf("GET in early data: %d %q, want 200 with robots.txt", code, body)
	}
	if !e.WaitOutput(`"status":200,"bytes":24`, 2*time.Second) {
		t.Error("the early GET is not in the access log")
	}
	select {
	case <-conn.HandshakeComplete():
	case <-ctx.Done():
		t.Fatal("handshake did not complete")
	}
	if !conn.ConnectionState().Used0RTT {
		t.Fatal("the server did not accept 0-RTT: the requests above were not early data")
	}
	if !eventually(2*time.Second, func() bool { return relay.held() > 0 }) {
		t.Error("the relay held nothing back: the handshake was not delayed")
	}
	if !e.WaitOutput(`"status":425`, 2*time.Second) {
		t.Errorf("the 425 is not in the access log:\n%s", e.Output())
	}
}

// TestHTTP3EarlyDataOffByDefault: without http3_0rtt a resumed
// connection (the same steps that use 0-RTT in TestHTTP3EarlyData) gets
// no early data.
func TestHTTP3EarlyDataOffByDefault(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{})
	cache := tls.NewLRUClientSessionCache(4)
	first := h3Transport(e, "", cache)
	resp, body := get(t, h3Client(first), e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
	first.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tlsCfg := &tls.Config{RootCAs: e.RootCAs(), ServerName: domain, ClientSessionCache: cache, NextProtos: []string{http3.NextProtoH3}}
	conn, err := quic.DialAddrEarly(ctx, "127.0.0.1:"+e.HTTPSPort, tlsCfg, &quic.Config{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.CloseWithError(0, "")
	select {
	case <-conn.HandshakeComplete():
	case <-ctx.Done():
		t.Fatal("handshake did not complete")
	}
	if st := conn.ConnectionState(); st.Used0RTT || !st.TLS.DidResume {
		t.Errorf("resumed %v, 0-RTT %v; want a resumption without 0-RTT", st.TLS.DidResume, st.Used0RTT)
	}
}

// earlyRelay forwards UDP between one QUIC client and edge, passing the
// client's Initial and 0-RTT packets at once and holding every other
// client datagram (the one finishing the handshake) back for delay.
type earlyRelay struct {
	t       *testing.T
	pc      net.PacketConn
	up      *net.UDPConn
	delay   time.Duration
	mu      sync.Mutex
	client  net.Addr
	delayed int
}

func newEarlyRelay(t *testing.T, server string, delay time.Duration) *earlyRelay {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raddr, _ := net.ResolveUDPAddr("udp", server)
	up, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	r := &earlyRelay{t: t, pc: pc, up: up, delay: delay}
	var wg sync.WaitGroup
	t.Cleanup(func() { pc.Close(); up.Close(); wg.Wait() })
	wg.Go(r.fromClient)
	wg.Go(r.fromServer)
	return r
}

func (r *earlyRelay) Addr() string { return r.pc.LocalAddr().String() }

func (r *earlyRelay) held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delayed
}

func (r *earlyRelay) fromClient() {
	buf := make([]byte, 2048)
	for {
		n, addr, err := r.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		r.client = addr
		r.mu.Unlock()
		pkt := append([]byte(nil), buf[:n]...)
		if onlyEarlyPackets(pkt) {
			_, _ = r.up.Write(pkt)
			continue
		}
		r.mu.Lock()
		r.delayed++
		r.mu.Unlock()
		time.AfterFunc(r.delay, func() { _, _ = r.up.Write(pkt) })
	}
}

func (r *earlyRelay) fromServer() {
	buf := make([]byte, 2048)
	for {
		n, err := r.up.Read(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		client := r.client
		r.mu.Unlock()
		if client != nil {
			_, _ = r.pc.WriteTo(buf[:n], client)
		}
	}
}

// onlyEarlyPackets reports whether a datagram holds only QUIC v1 Initial
// and 0-RTT long-header packets (coalesced packets are walked by their
// Length fields).
func onlyEarlyPackets(b []byte) bool {
	for len(b) > 0 {
		if b[0]&0x80 == 0 {
			return false // short header: 1-RTT
		}
		typ := (b[0] >> 4) & 0x3
		if typ != 0 && typ != 1 { // Initial, 0-RTT
			return false
		}
		p := 5
		for range 2 { // destination and source connection IDs
			if p >= len(b) {
				return false
			}
			p += 1 + int(b[p])
		}
		if typ == 0 { // token
			l, n, err := readVarint(b[p:])
			if err != nil {
				return false
			}
			p += n + int(l)
		}
		l, n, err := readVarint(b[min(p, len(b)):])
		if err != nil {
			return false
		}
		p += n + int(l)
		if p > len(b) {
			return false
		}
		b = b[p:]
	}
	return true
}

func readVarint(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, errors.New("short")
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, errors.New("short")
	}
	v := uint64(b[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n, nil
}
