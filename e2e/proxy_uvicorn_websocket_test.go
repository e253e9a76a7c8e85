package e2e

// WebSocket openings as browsers send them, through edge to real uvicorn.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// browserUpgrades are the request fields of a WebSocket opening as the
// browsers send them (Host, Origin and the key added per request).
var browserUpgrades = map[string][]string{
	"chrome": {
		"Connection: Upgrade", "Pragma: no-cache", "Cache-Control: no-cache",
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Upgrade: websocket", "Sec-WebSocket-Version: 13", "Accept-Encoding: gzip, deflate, br, zstd",
		"Accept-Language: en-US,en;q=0.9", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
	},
	"firefox": {
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Accept: */*", "Accept-Language: en-US,en;q=0.5", "Accept-Encoding: gzip, deflate, br, zstd",
		"Sec-WebSocket-Version: 13", "Sec-WebSocket-Extensions: permessage-deflate",
		"Connection: keep-alive, Upgrade", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: websocket",
		"Sec-Fetch-Site: same-origin", "Pragma: no-cache", "Cache-Control: no-cache", "Upgrade: websocket",
	},
	"safari": {
		"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Extensions: permessage-deflate", "Accept-Encoding: gzip, deflate",
		"User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Accept-Language: en-GB,en;q=0.9", "Pragma: no-cache", "Cache-Control: no-cache",
	},
}

// testWebSocketBrowsers: the openings of Chrome, Firefox (Connection:
// keep-alive, Upgrade, on a connection that already carried a request) and
// Safari get 101 with the extension uvicorn agreed to passed through, and
// messages (compressed by uvicorn when it agreed to) come back intact.
func testWebSocketBrowsers(t *testing.T, e *Edge) {
	for _, name := range []string{"chrome", "firefox", "safari"} {
		t.Run(name, func(t *testing.T) {
			conn := e.DialSite(t)
			_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
			br := bufio.NewReader(conn)
			authority := domain + ":" + e.HTTPSPort
			if name == "firefox" {
				fmt.Fprintf(conn, "GET /api/health HTTP/1.1\r\nHost: %s\r\n\r\n", authority)
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("GET before the upgrade: %v, %v", resp, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
			}
			ext := browserUpgrade(t, conn, br, authority, browserUpgrades[name])
			t.Logf("Sec-WebSocket-Extensions: %q", ext)
			z := &wsInflater{reset: strings.Contains(ext, "server_no_context_takeover")}
			for _, m := range []struct {
				op  byte
				msg string
			}{{wsText, "hello from " + name}, {wsBinary, strings.Repeat("edge ", 20000)}, {wsText, "again"}} {
				if err := wsWrite(conn, m.op, []byte(m.msg)); err != nil {
					t.Fatalf("write: %v", err)
				}
				op, got, err := wsReadMessage(br, ext, z)
				if err != nil || op != m.op || string(got) != m.msg {
					t.Fatalf("echo of %d bytes: op %d, %d bytes, %v; want op %d and the same bytes", len(m.msg), op, len(got), err, m.op)
				}
			}
			if err := wsWrite(conn, wsClose, []byte{0x03, 0xe8}); err != nil {
				t.Fatal(err)
			}
			if op, _, err := wsRead(br); err != nil || op != wsClose {
				t.Errorf("close handshake: op %d, %v; want a close frame", op, err)
			}
		})
	}
}

// browserUpgrade sends an opening with the fields of a browser, checks
// the 101 and its Sec-WebSocket-Accept, and returns the extensions agreed.
func browserUpgrade(t *testing.T, conn io.Writer, br *bufio.Reader, authority string, fields []string) string {
	t.Helper()
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	var req strings.Builder
	fmt.Fprintf(&req, "GET /api/ws HTTP/1.1\r\nHost: %s\r\nOrigin: https://%s\r\nSec-WebSocket-Key: %s\r\n", authority, authority, key)
	for _, l := range fields {
		req.WriteString(l + "\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	return wsUpgraded(t, br, key).Header.Get("Sec-WebSocket-Extensions")
}

// wsReadMessage reads one unfragmented message, inflating it when its
// RSV1 bit says it was compressed.
func wsReadMessage(br *bufio.Reader, ext string, z *wsInflater) (byte, []byte, error) {
	compressed := false
	if b, err := br.Peek(1); err == nil {
		compressed = b[0]&0x40 != 0
	}
	op, got, err := wsRead(br)
	if err != nil || !compressed {
		return op, got, err
	}
	if !strings.Contains(ext, "permessage-deflate") {
		return op, got, fmt.Errorf("a compressed frame without permessage-deflate agreed (%q)", ext)
	}
	got, err = z.message(got)
	return op, got, err
}

// wsInflater undoes permessage-deflate (RFC 7692). With context takeover
// a message may refer to earlier ones: the whole stream is inflated again
// and the new bytes returned (the messages here are few and small).
type wsInflater struct {
	reset  bool // server_no_context_takeover: each message stands alone
	stream []byte
	out    int
}

func (z *wsInflater) message(payload []byte) ([]byte, error) {
	if z.reset {
		z.stream, z.out = nil, 0
	}
	z.stream = append(append(z.stream, payload...), 0, 0, 0xff, 0xff)
	all, err := io.ReadAll(flate.NewReader(bytes.NewReader(z.stream)))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	msg := all[z.out:]
	z.out = len(all)
	return msg, nil
}

// testNoExtendedConnect: edge's HTTP/2 listener does not offer WebSocket
// over HTTP/2 (RFC 8441 SETTINGS_ENABLE_CONNECT_PROTOCOL): the proxy
// answers such a CONNECT with 400. So browsers on an HTTP/2 connection
// open their WebSockets over HTTP/1.1, the path websocket-browsers checks.
// (Go offers it only with GODEBUG=http2xconnect=1 in edge's environment.)
func testNoExtendedConnect(t *testing.T, e *Edge) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second},
		Config: &tls.Config{ServerName: domain, RootCAs: e.RootCAs(), NextProtos: []string{"h2"}}}
	nc, err := d.Dial("tcp", e.SiteAddr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(nc, nc)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read frame: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if v, ok := sf.Value(http2.SettingEnableConnectProtocol); ok && v != 0 {
				t.Errorf("edge offers extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL = %d): browsers would "+
					"send WebSockets as HTTP/2 CONNECT requests, which the proxy answers with 400", v)
			}
			return
		}
	}
	t.Fatal("no SETTINGS frame from edge")
}
