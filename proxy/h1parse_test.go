package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// FuzzH1Response feeds arbitrary upstream bytes to the response parser.
// Whatever it accepts, net/http accepts too, with the same status and the
// same body (after a 101, the status only): edge is never more lenient
// than net/http.
func FuzzH1Response(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhelloPOISONED",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX: y\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, body, err := parseAll(data)
		if err != nil {
			return
		}
		ref, rerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(skip1xx(data))), nil)
		if rerr != nil {
			t.Fatalf("edge accepted %q (status %d), net/http refused it: %v", data, res.StatusCode, rerr)
		}
		refBody, rerr := io.ReadAll(ref.Body)
		if rerr != nil {
			t.Fatalf("edge read the body of %q whole, net/http failed: %v", data, rerr)
		}
		// After a 101 the bytes that follow belong to the switched
		// protocol: edge hands them on as the upgraded stream, while
		// ReadResponse gives a 1xx no body. Only the status is compared.
		if res.StatusCode == http.StatusSwitchingProtocols && ref.StatusCode == res.StatusCode {
			return
		}
		if ref.StatusCode != res.StatusCode || string(refBody) != body {
			t.Fatalf("%q: edge %d %q, net/http %d %q", data, res.StatusCode, body, ref.StatusCode, refBody)
		}
	})
}

// parseAll runs the client's response reading over data as the bytes of
// one connection.
func parseAll(data []byte) (*http.Response, string, error) {
	pc := &h1Conn{nc: nopConn{}, br: bufio.NewReaderSize(bytes.NewReader(data), headBufSize),
		pool: &connPool{}, client: &h1Client{}}
	req, _ := http.NewRequest("GET", "http://upstream/x", nil)
	res, err := pc.readResponse(req, &exchange{})
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

// skip1xx drops the informational responses edge skips, so that
// net/http's ReadResponse sees the final one.
func skip1xx(data []byte) []byte {
	for bytes.HasPrefix(data, []byte("HTTP/1.1 1")) || bytes.HasPrefix(data, []byte("HTTP/1.0 1")) {
		i := bytes.Index(data, []byte("\r\n\r\n"))
		if i < 0 || bytes.HasPrefix(data, []byte("HTTP/1.1 101")) || bytes.HasPrefix(data, []byte("HTTP/1.0 101")) {
			return data
		}
		data = data[i+4:]
	}
	return data
}

// nopConn stands for the connection in parseAll.
type nopConn struct{ net.Conn }

func (nopConn) Close() error                     { return nil }
func (nopConn) SetDeadline(time.Time) error      { return nil }
func (nopConn) SetReadDeadline(time.Time) error  { return nil }
func (nopConn) SetWriteDeadline(time.Time) error { return nil }
