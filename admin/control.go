package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Control is the admin socket: a unix socket (mode 0660) serving
// "GET /status", "POST /reload", "POST /invalidate" and "POST /unban" to local tools. File permissions guard
// it, so it needs no HTTP authentication.
type Control struct {
	Path   string
	Reload func(context.Context) error
	Status Snapshot
	// Invalidate drops the static file caches ("POST /invalidate", sent
	// by edge release and edge rollback); nil answers 501.
	Invalidate func(context.Context) error
	// Unban lifts a temporary ban ("POST /unban?ip=IP", sent by edge
	// unban) and returns a line for the operator; nil answers 501.
	Unban func(ctx context.Context, ip string) (string, error)
	// Upstream drains or enables an upstream ("POST /upstream/drain?addr=",
	// "POST /upstream/enable?addr=", sent by edge upstream) and returns
	// the line to print; nil answers 501.
	Upstream func(ctx context.Context, action, addr string) (string, error)
	// Pending lists the settings changed since start that wait for a
	// restart; "POST /reload" prints them after "reloaded". nil: none.
	Pending func() []string

	srv *http.Server
	ln  net.Listener
}

// Listen creates the socket, replacing a stale one left by a crash.
func (c *Control) Listen() error {
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o750); err != nil {
		return fmt.Errorf("create admin socket dir: %w", err)
	}
	if conn, err := net.DialTimeout("unix", c.Path, time.Second); err == nil {
		conn.Close()
		return fmt.Errorf("admin socket %s is in use: is edge already running?", c.Path)
	}
	_ = os.Remove(c.Path)
	ln, err := net.Listen("unix", c.Path)
	if err != nil {
		return fmt.Errorf("listen on admin socket %s: %w", c.Path, err)
	}
	if err := os.Chmod(c.Path, 0o660); err != nil {
		ln.Close()
		return fmt.Errorf("chmod admin socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, c.Status())
	})
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		if err := c.Reload(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		_, _ = io.WriteString(w, "reloaded\n")
		if c.Pending != nil {
			for _, line := range c.Pending() {
				_, _ = io.WriteString(w, line+"\n")
			}
		}
	})
	mux.HandleFunc("POST /invalidate", func(w http.ResponseWriter, r *http.Request) {
		if c.Invalidate == nil {
			http.Error(w, "invalidate not supported", http.StatusNotImplemented)
			return
		}
		if err := c.Invalidate(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		_, _ = io.WriteString(w, "invalidated\n")
	})
	mux.HandleFunc("POST /unban", func(w http.ResponseWriter, r *http.Request) {
		if c.Unban == nil {
			http.Error(w, "unban not supported", http.StatusNotImplemented)
			return
		}
		msg, err := c.Unban(r.Context(), r.URL.Query().Get("ip"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		_, _ = io.WriteString(w, msg)
	})
	mux.HandleFunc("POST /upstream/{action}", c.serveUpstream)
	c.ln = ln
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return nil
}

// Serve answers on the socket until Shutdown.
func (c *Control) Serve() error {
	if err := c.srv.Serve(c.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve admin socket: %w", err)
	}
	return nil
}

// Shutdown stops the socket and removes its file.
func (c *Control) Shutdown(ctx context.Context) error {
	if c.srv == nil {
		return nil
	}
	err := c.srv.Shutdown(ctx)
	_ = os.Remove(c.Path)
	return err
}

// Client talks to a running edge over its admin socket.
type Client struct{ hc *http.Client }

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Do sends a request to the running edge and returns the body.
func (c *Client) Do(ctx context.Context, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://edge"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("%s", body)
	}
	return body, nil
}
