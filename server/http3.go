package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/sysd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/sync/errgroup"
)

// altSvcMaxAge is how long browsers may remember that HTTP/3 answers
// (Alt-Svc ma=, seconds): a day, as Caddy and nginx examples use.
const altSvcMaxAge = 86400

// h3Listener is the HTTP/3 side of the HTTPS port: the UDP socket (passed
// by systemd as "h3", or bound by edge at the HTTPS address) and the
// HTTP/3 server that Run starts on it. A reload keeps both: requests go
// through dispatch to the current site, and certificates come from the
// current tlsmgr.Manager.
type h3Listener struct {
	pc      *net.UDPConn
	zeroRTT bool     // early data accepted by QUIC; fixed at start
	altSvc  []string // the Alt-Svc value, `h3=":PORT"; ma=86400`
	up      atomic.Bool
	active  atomic.Int64 // requests in handlers
	srv     *http3.Server
}

// h3Settle is how long the drain waits with no request in a handler
// before it closes the QUIC connections that clients keep open after
// GOAWAY (covers a request accepted just before GOAWAY whose handler has
// not started yet).
const h3Settle = 200 * time.Millisecond

// listenH3 takes the UDP socket systemd passed as "h3", or binds UDP at
// the HTTPS listener's address, when HTTP/3 is on. Under socket activation
// without edge-h3.socket a failed bind (port 443 needs privileges) turns
// HTTP/3 off with a warning instead of failing the start.
func (s *Server) listenH3(cfg *config.Config, passed map[string]net.PacketConn) error {
	pc := passed[sysd.DatagramName]
	if !cfg.Server.HTTP3Enabled() || s.httpsLn == nil {
		if pc != nil {
			s.log.Warn("ignoring the UDP socket passed by systemd: HTTP/3 is off", "name", sysd.DatagramName,
				"addr", pc.LocalAddr().String(), "fix", "set server.http3 = true (with server.https), or disable edge-h3.socket")
			_ = pc.Close()
		}
		return nil
	}
	h := &h3Listener{zeroRTT: cfg.Server.HTTP30RTT}
	if pc != nil {
		h.pc = pc.(*net.UDPConn)
		s.activated[sysd.DatagramName] = true
		s.log.Info("using socket from systemd", "name", sysd.DatagramName, "addr", pc.LocalAddr().String())
	} else {
		addr := s.httpsLn.Addr().String()
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			if s.activated["https"] {
				w := fmt.Sprintf("HTTP/3 is off: cannot bind UDP %s: %v (fix: enable edge-h3.socket, or set server.http3 = false)", addr, err)
				s.warnings = append(s.warnings, w)
				s.log.Warn("self-check: " + w)
				return nil
			}
			return fmt.Errorf("listen on UDP %s for HTTP/3: %w (fix: free the UDP port, or set server.http3 = false)", addr, err)
		}
		h.pc = udp.(*net.UDPConn)
	}
	h.altSvc = []string{fmt.Sprintf(`h3=":%d"; ma=%d`, h.pc.LocalAddr().(*net.UDPAddr).Port, altSvcMaxAge)}
	if w := checkUDPBuffers(h.pc); w != "" {
		s.warnings = append(s.warnings, w)
		s.log.Warn("self-check: " + w)
	}
	s.h3 = h
	return nil
}

// warnH3Change logs what a reload cannot apply to HTTP/3: the UDP
// listener is bound at start, and so is the QUIC layer's acceptance of
// early data. Turning http3_0rtt off does apply at once: tooEarly then
// answers every early request 425.
func (s *Server) warnH3Change(old, cur config.Server) {
	if old.HTTP3Enabled() != cur.HTTP3Enabled() {
		s.log.Warn("server.http3 changed; the UDP listener follows at the next restart")
	}
	if !old.HTTP30RTT && cur.HTTP30RTT {
		s.log.Warn("server.http3_0rtt turned on; early data is accepted from the next restart")
	}
}

// closeH3 closes the UDP socket when Run never served it.
func (s *Server) closeH3() {
	if s.h3 != nil {
		_ = s.h3.pc.Close()
	}
}

// H3Addr is the UDP address serving HTTP/3, or "" when HTTP/3 is off or
// its listener is down.
func (s *Server) H3Addr() string {
	if s.h3 == nil || !s.h3.up.Load() {
		return ""
	}
	return s.h3.pc.LocalAddr().String()
}

// serveH3 starts the HTTP/3 server on the UDP socket with the HTTPS
// listener's TLS policy and handler, and hands it to the drainer. A
// failure of the UDP socket is logged and turns HTTP/3 (and its Alt-Svc)
// off; the TCP listeners keep serving.
func (s *Server) serveH3(g *errgroup.Group, d *drainer, tlsCfg *tls.Config, h http.Handler) {
	h3 := s.h3
	if h3 == nil {
		return
	}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h3.active.Add(1)
		defer h3.active.Add(-1)
		h.ServeHTTP(w, r)
	})
	h3.srv = &http3.Server{
		Handler:        counted,
		TLSConfig:      tlsCfg,
		QUICConfig:     &quic.Config{Allow0RTT: h3.zeroRTT},
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		Logger:         slog.New(s.log.Handler()).With("component", "http3"),
	}
	d.servers = append(d.servers, h3)
	h3.up.Store(true)
	g.Go(func() error {
		err := h3.srv.Serve(h3.pc)
		h3.up.Store(false)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !d.draining.Load() {
			s.log.Error("HTTP/3 stopped; HTTPS keeps serving over TCP without Alt-Svc", "addr", h3.pc.LocalAddr().String(), "error", err)
		}
		return nil
	})
}

// Shutdown stops advertising HTTP/3, sends GOAWAY on every QUIC
// connection and waits within ctx until clients closed them or no request
// has been in a handler for h3Settle; then it closes what is left (like
// net/http closing idle connections) and the UDP socket (with socket
// activation, systemd keeps its own).
func (h *h3Listener) Shutdown(ctx context.Context) error {
	h.up.Store(false)
	done := make(chan error, 1)
	go func() { done <- h.srv.Shutdown(ctx) }()
	defer h.pc.Close()
	tick := time.NewTicker(h3Settle / 4)
	defer tick.Stop()
	var idleSince time.Time
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
		if h.active.Load() > 0 {
			idleSince = time.Time{}
			continue
		}
		if idleSince.IsZero() {
			idleSince = time.Now()
		}
		if time.Since(idleSince) >= h3Settle {
			_ = h.srv.Close()
			<-done
			return nil
		}
	}
}

// Close closes every QUIC connection and the UDP socket at once.
func (h *h3Listener) Close() error {
	h.up.Store(false)
	err := h.srv.Close()
	_ = h.pc.Close()
	return err
}

var _ graceful = (*h3Listener)(nil)

// frontDoor is the outermost handler of every listener: it counts
// requests by protocol and, on HTTPS responses (TCP or QUIC) while the
// HTTP/3 listener serves, advertises it with Alt-Svc. Plain HTTP never
// carries Alt-Svc.
func (s *Server) frontDoor(next http.Handler, byProto *prometheus.CounterVec) http.Handler {
	// The children are resolved once: WithLabelValues hashes its labels.
	var counters [len(protoLabels)]prometheus.Counter
	for i, l := range protoLabels {
		counters[i] = byProto.WithLabelValues(l)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counters[protoIndex(r)].Inc()
		if r.TLS != nil && s.h3 != nil && s.h3.up.Load() {
			w.Header()["Alt-Svc"] = s.h3.altSvc
		}
		next.ServeHTTP(w, r)
	})
}

// newProtoCounter registers edge_http_requests_by_proto_total{proto}.
func newProtoCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edge_http_requests_by_proto_total",
		Help: "Requests received, by HTTP version (HTTP/1.1, HTTP/2.0, HTTP/3.0), /healthz included.",
	}, []string{"proto"})
	reg.MustRegister(c)
	return c
}

// protoLabels are the bounded label values of
// edge_http_requests_by_proto_total, indexed by protoIndex.
var protoLabels = [...]string{"HTTP/1.1", "HTTP/2.0", "HTTP/3.0", "HTTP/1.0", "other"}

// protoIndex maps a request's version to its index in protoLabels.
func protoIndex(r *http.Request) int {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return 3
	case r.ProtoMajor == 1:
		return 0
	case r.ProtoMajor == 2:
		return 1
	case r.ProtoMajor == 3:
		return 2
	}
	return 4
}

// tooEarly guards requests that arrived in TLS early data (0-RTT), which
// an attacker can replay: they are recognised by a handshake that has not
// completed yet (only QUIC serves requests that early). With 0-RTT on,
// GET, HEAD and OPTIONS are served and marked "Early-Data: 1" for the
// upstream (RFC 8470); every other method, and every request when 0-RTT
// is off, gets 425 Too Early, which clients retry after the handshake.
func tooEarly(allow bool) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil || r.TLS.HandshakeComplete {
				next.ServeHTTP(w, r)
				return
			}
			if allow && safeMethod(r.Method) {
				r.Header.Set("Early-Data", "1")
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusTooEarly)
			_, _ = w.Write([]byte("425 too early: retry after the TLS handshake\n"))
		})
	}
}

// safeMethod reports whether m is safe to serve from replayable data.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// quicBufferSize is the UDP buffer size quic-go asks the kernel for
// (desiredBufferSize in quic-go's sys_conn_buffers).
const quicBufferSize = 7 << 20

// checkUDPBuffers raises the socket's receive and send buffers to what
// quic-go wants, as far as the kernel limits (net.core.rmem_max and
// wmem_max) let an unprivileged process, and returns a self-check warning
// with the sysctl that fixes a shortfall, or "". quic-go would log the
// same shortfall as an unstructured line; edge reports it itself.
func checkUDPBuffers(c *net.UDPConn) string {
	if os.Getenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING") == "" {
		_ = os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	}
	rcv, err := raiseBuffer(c, true)
	if err != nil {
		return "HTTP/3: cannot read the UDP receive buffer size: " + err.Error()
	}
	snd, err := raiseBuffer(c, false)
	if err != nil {
		return "HTTP/3: cannot read the UDP send buffer size: " + err.Error()
	}
	return bufferAdvice(rcv, snd, readSysctl("/proc/sys/net/core/rmem_max"), readSysctl("/proc/sys/net/core/wmem_max"))
}

// bufferAdvice judges the buffer sizes the kernel reports (getsockopt,
// which Linux doubles) against quic-go's wish; rmemMax and wmemMax are the
// kernel limits (-1: unknown).
func bufferAdvice(rcv, snd, rmemMax, wmemMax int) string {
	if rcv >= quicBufferSize && snd >= quicBufferSize {
		return ""
	}
	return fmt.Sprintf("HTTP/3: UDP buffers are %d KiB (receive) and %d KiB (send), QUIC wants %d KiB: "+
		"the kernel limits net.core.rmem_max=%s and net.core.wmem_max=%s are too low, so throughput suffers "+
		"(fix: sysctl -w net.core.rmem_max=7500000 net.core.wmem_max=7500000, and keep them in /etc/sysctl.d/60-edge.conf)",
		rcv/1024, snd/1024, quicBufferSize/1024, sysctlText(rmemMax), sysctlText(wmemMax))
}

func sysctlText(n int) string {
	if n < 0 {
		return "unknown"
	}
	return strconv.Itoa(n)
}
