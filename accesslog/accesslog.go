// Package accesslog writes one JSON object per request (log/slog) and sets
// up where logs go: stdout (journald), nowhere, or a file that edge rotates
// itself with lumberjack.
package accesslog

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/gitcourse/edge/clientaddr"
	"github.com/gitcourse/edge/reqid"
	"gopkg.in/natefinch/lumberjack.v2"
)

// Open returns the writer for an access_log setting: "stdout", "off" or
// an absolute file path rotated at 100 MB, keeping 10 compressed files.
// The closer is nil for stdout and off.
func Open(setting string, stdout io.Writer) (io.Writer, io.Closer, error) {
	switch setting {
	case "stdout", "":
		return stdout, nil, nil
	case "off":
		return nil, nil, nil
	}
	f, err := os.OpenFile(setting, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("open access log %s: %w", setting, err)
	}
	_ = f.Close()
	lj := &lumberjack.Logger{Filename: setting, MaxSize: 100, MaxBackups: 10, Compress: true}
	return lj, lj, nil
}

// SetRoute records the route name ("static", "/api/", "admin"...) that
// serves a request, for the log and metrics, on the Recorder under w.
// It costs no allocation: no context value is needed.
func SetRoute(w http.ResponseWriter, name string) {
	for {
		if rec, ok := w.(*Recorder); ok {
			rec.Route = name
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// SetLimited marks the request as rejected by the [[limit]] rule name;
// the access log line then carries "limited":name.
func SetLimited(w http.ResponseWriter, name string) {
	if rec := recorderOf(w); rec != nil {
		rec.Limited = name
	}
}

func recorderOf(w http.ResponseWriter) *Recorder {
	for {
		if rec, ok := w.(*Recorder); ok {
			return rec
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}

// Recorder wraps a ResponseWriter to see the status and byte count.
// Unwrap lets http.ResponseController reach Flush and Hijack.
type Recorder struct {
	http.ResponseWriter
	Status int
	Bytes  int64
	Route  string // set through SetRoute
	// Limited is the [[limit]] rule that rejected the request, set
	// through SetLimited.
	Limited string
}

// WriteHeader records the status.
func (rec *Recorder) WriteHeader(code int) {
	if rec.Status == 0 {
		rec.Status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes.
func (rec *Recorder) Write(b []byte) (int, error) {
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.Bytes += int64(n)
	return n, err
}

// Flush passes a flush through, for streaming responses.
func (rec *Recorder) Flush() {
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the wrapped writer.
func (rec *Recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// Hijack takes over the connection (http.ResponseController finds it
// before Unwrap). A hijacked connection whose status was not written
// through the recorder is an upgrade the proxy answered on the connection
// itself: it is recorded as 101 Switching Protocols.
func (rec *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(rec.ResponseWriter).Hijack()
	if err == nil && rec.Status == 0 {
		rec.Status = http.StatusSwitchingProtocols
	}
	return c, brw, err
}

// Observer is told about every finished request (metrics).
type Observer func(route string, status int, d time.Duration)

// Middleware logs each request to log (nil: no log) and calls observe
// (nil: none). Fields: time, request_id, client_ip, method, host, path,
// status, bytes, duration_ms, route, proto, user_agent; limited (the
// [[limit]] rule) on a request a limit rejected; and peer_ip when the
// request came through a trusted proxy. client_ip is the client address
// of package clientaddr (the peer when that middleware did not run);
// peer_ip the TCP peer.
func Middleware(log *slog.Logger, observe Observer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &Recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.Status == 0 {
				rec.Status = http.StatusOK
			}
			d := time.Since(start)
			if observe != nil {
				observe(rec.Route, rec.Status, d)
			}
			if log == nil {
				return
			}
			peer := clientaddr.PeerOf(r)
			client := clientaddr.From(r.Context())
			if !client.IsValid() {
				client = peer
			}
			// A fixed array: the optional fields need no allocation.
			attrs := [13]slog.Attr{
				slog.String("request_id", reqid.From(r.Context())),
				slog.String("client_ip", addrText(client, r.RemoteAddr)),
				slog.String("method", r.Method),
				slog.String("host", r.Host),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.Status),
				slog.Int64("bytes", rec.Bytes),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("route", rec.Route),
				slog.String("proto", r.Proto),
				slog.String("user_agent", r.UserAgent()),
			}
			n := 11
			if rec.Limited != "" {
				attrs[n] = slog.String("limited", rec.Limited)
				n++
			}
			if peer != client {
				attrs[n] = slog.String("peer_ip", addrText(peer, r.RemoteAddr))
				n++
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs[:n]...)
		})
	}
}

// addrText is a as text, or remote as it came when a is not an address
// (a peer on a unix socket).
func addrText(a netip.Addr, remote string) string {
	if !a.IsValid() {
		return remote
	}
	return a.String()
}
