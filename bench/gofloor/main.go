// Command gofloor is the floor for edge's request path in the benchmarks:
// the least a Go net/http server can do for the same answer, so that a run
// shows how much of edge's CPU per request is Go's server and runtime and
// how much is edge's own code.
//
//	gofloor -mode static -addr 127.0.0.1:9100
//	gofloor -mode proxy -addr 127.0.0.1:9100 -upstream 127.0.0.1:9001
//
// static answers every request with 2048 bytes from memory and the same 14
// header fields edge sends for its index.html (security headers, ETag,
// request id...), assigned from precomputed values. proxy forwards every
// request to one upstream over a LIFO pool of kept-alive HTTP/1.1
// connections, written and read on the handler's goroutine with no
// validation, no retries, no timeouts and no metrics: a floor, not a proxy
// to use. Both run without access log, limits or the request chain.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
)

func main() {
	mode := flag.String("mode", "static", "static or proxy")
	addr := flag.String("addr", "127.0.0.1:9100", "listen address")
	upstream := flag.String("upstream", "127.0.0.1:9001", "upstream address (proxy mode)")
	flag.Parse()
	var h http.Handler
	switch *mode {
	case "static":
		h = staticHandler()
	case "proxy":
		h = &proxy{addr: *upstream}
	default:
		fmt.Fprintln(os.Stderr, "gofloor: -mode must be static or proxy")
		os.Exit(2)
	}
	log.Fatal(http.ListenAndServe(*addr, h))
}

// securityHeaders are the fields edge adds to every answer by default.
var securityHeaders = map[string][]string{
	"Content-Security-Policy": {"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"},
	"Permissions-Policy":      {"camera=(), microphone=(), geolocation=()"},
	"Referrer-Policy":         {"strict-origin-when-cross-origin"},
	"X-Content-Type-Options":  {"nosniff"},
	"X-Frame-Options":         {"DENY"},
	"Server":                  {"edge"},
}

func staticHandler() http.Handler {
	body := bytes.Repeat([]byte("x"), 2048)
	fields := map[string][]string{
		"Accept-Ranges":  {"bytes"},
		"Cache-Control":  {"no-cache"},
		"Content-Length": {strconv.Itoa(len(body))},
		"Content-Type":   {"text/html; charset=utf-8"},
		"Etag":           {`"bf9c2cc41d48c63de2f7"`},
		"Last-Modified":  {"Sun, 06 Dec 2026 18:09:10 GMT"},
		"Vary":           {"Accept-Encoding"},
		"X-Request-Id":   {"0b78da4cd9ef73dc"},
	}
	for k, v := range securityHeaders {
		fields[k] = v
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range fields {
			h[k] = v
		}
		_, _ = w.Write(body)
	})
}

// proxy forwards to one upstream over a LIFO pool of connections.
type proxy struct {
	addr string
	mu   sync.Mutex
	idle []*upstreamConn
}

type upstreamConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func (p *proxy) get() (*upstreamConn, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	nc, err := net.Dial("tcp", p.addr)
	if err != nil {
		return nil, err
	}
	return &upstreamConn{nc: nc, br: bufio.NewReader(nc), bw: bufio.NewWriter(nc)}, nil
}

func (p *proxy) put(c *upstreamConn) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := p.get()
	if err != nil {
		http.Error(w, "502 upstream unreachable", http.StatusBadGateway)
		return
	}
	if err := p.exchange(c, w, r); err != nil {
		_ = c.nc.Close()
		http.Error(w, "502 "+err.Error(), http.StatusBadGateway)
		return
	}
	p.put(c)
}

// exchange writes a GET with the forwarding fields edge adds and copies
// back a response that has a Content-Length.
func (p *proxy) exchange(c *upstreamConn, w http.ResponseWriter, r *http.Request) error {
	bw := c.bw
	bw.WriteString(r.Method + " " + r.URL.RequestURI() + " HTTP/1.1\r\nHost: " + r.Host + "\r\n")
	for k, vv := range r.Header {
		for _, v := range vv {
			bw.WriteString(k + ": " + v + "\r\n")
		}
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	bw.WriteString("X-Forwarded-For: " + ip + "\r\nX-Real-Ip: " + ip + "\r\nX-Forwarded-Proto: http\r\n" +
		"X-Forwarded-Host: " + r.Host + "\r\nX-Request-Id: 0b78da4cd9ef73dc\r\n\r\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil || len(line) < 12 {
		return errors.New("bad status line")
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return err
	}
	h := w.Header()
	length := -1
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		k, v, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		if !ok {
			return errors.New("bad header line")
		}
		key, val := string(k), string(bytes.TrimSpace(v))
		if key == "Content-Length" {
			length, _ = strconv.Atoi(val)
		}
		h[key] = []string{val}
	}
	if length < 0 {
		return errors.New("response without Content-Length")
	}
	for k, v := range securityHeaders {
		h[k] = v
	}
	w.WriteHeader(status)
	_, err = io.CopyN(w, c.br, int64(length))
	return err
}
