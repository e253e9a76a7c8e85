package proxy

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// badRequestError is a request edge refuses to write as HTTP/1.1 because
// its method, target, host or a field could not be carried unchanged; the
// client gets 400.
type badRequestError struct{ reason string }

// Error implements error.
func (e *badRequestError) Error() string { return "request refused: " + e.reason }

// clientBodyError is a failure reading the client's request body while it
// was being sent upstream: the upstream connection is dropped mid-request,
// so that it never sees a complete request with another length.
type clientBodyError struct{ err error }

// Error implements error.
func (e *clientBodyError) Error() string { return "read request body: " + e.err.Error() }

// Unwrap returns the read error (a *http.MaxBytesError for max_body).
func (e *clientBodyError) Unwrap() error { return e.err }

// checkOutgoing refuses a request that HTTP/1.1 cannot carry as it is: a
// method that is not a token, a target with a space, control character or
// '#', an invalid Host, a field name that is not a token, a field value
// with a control character other than HTAB (CR, LF, NUL).
func checkOutgoing(req *http.Request) error {
	if req.Method != "" && !validToken(req.Method) {
		return &badRequestError{"method " + quoteShort(req.Method) + " is not a token"}
	}
	if !httpguts.ValidHostHeader(outgoingHost(req)) {
		return &badRequestError{"invalid Host " + quoteShort(outgoingHost(req))}
	}
	for k, vv := range req.Header {
		if !validToken(k) {
			return &badRequestError{"field name " + quoteShort(k) + " is not a token"}
		}
		for _, v := range vv {
			if !validValue(v) {
				return &badRequestError{"control character in field " + quoteShort(k)}
			}
		}
	}
	return nil
}

// validToken reports whether s is a non-empty token.
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return s != ""
}

// outgoingHost is the Host field of req.
func outgoingHost(req *http.Request) string {
	if req.Host != "" {
		return req.Host
	}
	return req.URL.Host
}

// requestTarget is req's origin-form target as written upstream: the path
// escaped by net/url, the query as received; a space, control character
// or '#' is refused, a byte above 0x7F is percent-encoded.
func requestTarget(req *http.Request) (string, error) {
	t := req.URL.RequestURI()
	encode := false
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c <= ' ' || c == 0x7f || c == '#':
			return "", &badRequestError{"request target " + quoteShort(t) + " holds a space, control character or '#'"}
		case c >= 0x80:
			encode = true
		}
	}
	if !encode {
		return t, nil
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if c := t[i]; c >= 0x80 {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// writeRequest writes req's head and body. Request framing is edge's: a
// body of known length is sent with Content-Length and exactly that many
// bytes, any other body chunked; the client's own framing fields are not
// copied.
func (pc *h1Conn) writeRequest(req *http.Request, target string, x *exchange) error {
	bw := pc.bw
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(target)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(outgoingHost(req))
	bw.WriteString("\r\n")
	for k, vv := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		for _, v := range vv {
			if v == "" && k == "User-Agent" {
				continue // ReverseProxy's marker for "send none"
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	switch {
	case hasBody && req.ContentLength > 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), req.ContentLength, 10))
		bw.WriteString("\r\n\r\n")
		return pc.writeFixedBody(req.Body, req.ContentLength, x)
	case hasBody:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		if len(req.Trailer) > 0 {
			bw.WriteString("Trailer: ")
			first := true
			for k := range req.Trailer {
				if validToken(k) {
					if !first {
						bw.WriteString(", ")
					}
					bw.WriteString(k)
					first = false
				}
			}
			bw.WriteString("\r\n")
		}
		bw.WriteString("\r\n")
		return pc.writeChunkedBody(req, x)
	case method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}

// writeFixedBody copies exactly n bytes of body; a body that ends early
// fails the exchange before the request is complete. A body that fits
// goes out with the head in one write; a larger one is copied through a
// pooled 32 KiB buffer straight to the connection.
func (pc *h1Conn) writeFixedBody(body io.Reader, n int64, x *exchange) error {
	bw := pc.bw
	var buf []byte
	if n > int64(bw.Available()) {
		if err := bw.Flush(); err != nil {
			return err
		}
		buf = buffers.Get()
		defer buffers.Put(buf)
	}
	for n > 0 {
		chunk := buf
		if chunk == nil {
			chunk = bw.AvailableBuffer()[:bw.Available()]
		}
		chunk = chunk[:min(int64(len(chunk)), n)]
		x.bodyRead = true
		m, err := body.Read(chunk)
		if m > 0 {
			n -= int64(m)
			if buf == nil {
				bw.Write(chunk[:m])
			} else if _, werr := pc.nc.Write(chunk[:m]); werr != nil {
				return werr
			}
		}
		switch {
		case err == io.EOF && n > 0:
			return &clientBodyError{errShortBody}
		case err == io.EOF:
		case err != nil:
			return &clientBodyError{err}
		}
	}
	if buf != nil {
		return nil
	}
	return bw.Flush()
}

// errShortBody is a request body shorter than its Content-Length.
var errShortBody = shortBodyError{}

type shortBodyError struct{}

func (shortBodyError) Error() string { return "request body shorter than its Content-Length" }

// writeChunkedBody sends the body in chunks as it arrives (each flushed,
// for streamed uploads), then the last chunk with the request's trailers.
func (pc *h1Conn) writeChunkedBody(req *http.Request, x *exchange) error {
	bw := pc.bw
	buf := buffers.Get()
	defer buffers.Put(buf)
	for {
		x.bodyRead = true
		m, err := req.Body.Read(buf)
		if m > 0 {
			bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(m), 16))
			bw.WriteString("\r\n")
			bw.Write(buf[:m])
			bw.WriteString("\r\n")
			if ferr := bw.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return &clientBodyError{err}
		}
	}
	bw.WriteString("0\r\n")
	for k, vv := range req.Trailer {
		for _, v := range vv {
			if validToken(k) && validValue(v) {
				bw.WriteString(k)
				bw.WriteString(": ")
				bw.WriteString(v)
				bw.WriteString("\r\n")
			}
		}
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}
