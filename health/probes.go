package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Interface guards.
var (
	_ Checker = (*HTTP)(nil)
	_ Checker = (*TCP)(nil)
	_ Checker = (*Postgres)(nil)
	_ Checker = (*Disk)(nil)
	_ Checker = (*CertExpiry)(nil)
	_ Checker = (*BackupFreshness)(nil)
	_ Checker = (*Upstreams)(nil)
	_ Checker = (*Traffic)(nil)
	_ Checker = CheckFunc(nil)
)

// maxBody bounds how much of an HTTP check's answer is searched.
const maxBody = 1 << 20

// HTTP checks that a URL answers Status (any 2xx when 0) and, when
// Contains is set, that the body holds it. Certificates are verified.
type HTTP struct {
	// URL is requested with GET.
	URL string
	// Status is the status code expected; 0 accepts any 2xx.
	Status int
	// Contains is a substring the body must hold; "" skips the test.
	Contains string
	// Client sends the request; nil means NewHTTPClient().
	Client *http.Client
}

// NewHTTPClient returns the client HTTP checks use by default: no
// keep-alive (each run makes a fresh connection, as a visitor would), no
// proxy, verified TLS, redirects followed.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true, ForceAttemptHTTP2: true}}
}

// Check requests the URL.
func (h *HTTP) Check(ctx context.Context) error {
	c := h.Client
	if c == nil {
		c = NewHTTPClient()
	}
	shown := h.URL
	if u, err := url.Parse(h.URL); err == nil {
		shown = u.Redacted()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return fmt.Errorf("build request for %s: %w", shown, err)
	}
	req.Header.Set("User-Agent", "edge-health")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("GET %s: %w", shown, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("GET %s: read body: %w", shown, err)
	}
	ok := resp.StatusCode/100 == 2
	if h.Status != 0 {
		ok = resp.StatusCode == h.Status
	}
	if !ok {
		if excerpt := bodyExcerpt(body); excerpt != "" {
			return fmt.Errorf("GET %s: status %s: %s", shown, resp.Status, excerpt)
		}
		return fmt.Errorf("GET %s: status %s", shown, resp.Status)
	}
	if h.Contains != "" && !bytes.Contains(body, []byte(h.Contains)) {
		return fmt.Errorf("GET %s: body does not contain %q", shown, h.Contains)
	}
	return nil
}

// bodyExcerpt is the start of an error answer, on one line, for the alert.
func bodyExcerpt(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if !utf8.ValidString(s) {
		return ""
	}
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "") + "..."
	}
	return s
}

// TCP checks that Addr accepts a connection.
type TCP struct {
	// Addr is "host:port".
	Addr string
}

// Check dials the address and closes the connection.
func (t *TCP) Check(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", t.Addr, err)
	}
	return conn.Close()
}

// Postgres checks that a database accepts a connection and answers
// SELECT 1.
type Postgres struct {
	// URL is the database URL (a secret: never in errors).
	URL string
}

// Check connects, runs SELECT 1 and disconnects.
func (p *Postgres) Check(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("SELECT 1: %w", err)
	}
	return nil
}

// Disk checks the free space and free inodes of the file system holding
// Path.
type Disk struct {
	// Path is any path on the file system.
	Path string
	// MinFree is the number of free bytes (for unprivileged users) required.
	MinFree int64
	// MinFreeInodes is the number of free inodes required; file systems
	// that report no inode total are not judged on inodes.
	MinFreeInodes int64
}

// Check reads the file system's statistics.
func (d *Disk) Check(ctx context.Context) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.Path, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", d.Path, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < d.MinFree {
		return fmt.Errorf("%s has %s free, below min_free %s", d.Path, formatBytes(free), formatBytes(d.MinFree))
	}
	if st.Files > 0 && int64(st.Ffree) < d.MinFreeInodes {
		return fmt.Errorf("%s has %d free inodes of %d, below min_free_inodes %d", d.Path, st.Ffree, st.Files, d.MinFreeInodes)
	}
	return ctx.Err()
}

// formatBytes writes n in powers of 10 ("1.5GB"), as the config reads them.
func formatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%cB", float64(n)/float64(div), "KMGTP"[exp])
}
