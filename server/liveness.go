package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// heartbeatEvery is how often the supervisor proves it is alive.
const heartbeatEvery = time.Second

// heartbeat runs inside the errgroup: when it stops advancing, the
// supervisor is wedged and the watchdog stops petting.
func (s *Server) heartbeat(ctx context.Context) error {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	s.beat.Store(time.Now().UnixNano())
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			s.beat.Store(now.UnixNano())
		}
	}
}

// alive checks that the supervisor beats and that a listener accepts a
// connection and answers GET /healthz through the whole serving path.
func (s *Server) alive(ctx context.Context) error {
	if since := time.Since(time.Unix(0, s.beat.Load())); since > 5*heartbeatEvery {
		return fmt.Errorf("supervisor heartbeat stale for %s", since.Round(time.Second))
	}
	ln, useTLS := s.httpLn, false
	if ln == nil {
		ln, useTLS = s.httpsLn, true
	}
	if ln == nil {
		return errors.New("no listener")
	}
	return probeHealthz(ctx, loopbackAddr(ln.Addr()), useTLS)
}

// loopbackAddr turns a wildcard listen address into one we can dial.
func loopbackAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// probeHealthz sends one GET /healthz over a fresh connection.
func probeHealthz(ctx context.Context, addr string, useTLS bool) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if useTLS {
		// Only liveness is checked here, not the certificate.
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}) //nolint:gosec
		conn = tc
	}
	if _, err := fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return fmt.Errorf("read probe answer: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", resp.StatusCode)
	}
	return nil
}

// statusLine is the one-line STATUS= summary for systemctl status.
func (s *Server) statusLine() string {
	cfg := s.site.Load().cfg
	parts := []string{fmt.Sprintf("serving %d domain(s)", len(cfg.Site.Domains))}
	if n := len(cfg.Routes); n > 0 {
		parts = append(parts, fmt.Sprintf("%d route(s)", n))
	}
	if n := s.reloads.Load(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d reload(s)", n))
	}
	if e, _ := s.lastErr.Load().(string); e != "" {
		parts = append(parts, "last reload failed")
	}
	return strings.Join(parts, ", ")
}
