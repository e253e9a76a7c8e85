package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/release"
)

// releaseCmd installs a built frontend: "edge release DIR" (SPEC §6).
func releaseCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("release", "[-config FILE] [-root DIR] [-keep N] [-no-carry] DIR", out)
	loc := releaseFlags(fs)
	keep := fs.Int("keep", release.DefaultKeep, "how many releases to keep (the current and the previous one always stay)")
	noCarry := fs.Bool("no-carry", false, "do not hard-link the replaced release's assets into the new one")
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one build directory, such as dist/ (run \"edge release -h\")")
	}
	if *keep < 1 {
		return usagef("-keep must be at least 1")
	}
	root, sock, err := loc()
	if err != nil {
		return err
	}
	t0 := time.Now()
	res, err := release.Install(ctx, fs.Arg(0), release.Options{Root: root, Keep: *keep, NoCarry: *noCarry})
	if err != nil {
		return err
	}
	c := res.Copy
	fmt.Fprintf(out, "release %s: %d file(s), %s, in %s\n", res.ID, c.Files, sizeString(c.Bytes), time.Since(t0).Round(time.Millisecond))
	if c.Compressible > 0 {
		fmt.Fprintf(out, "precompressed: %d .br (%s), %d .gz (%s) from %s of text\n",
			c.Brotli, sizeString(c.BrotliBytes), c.Gzip, sizeString(c.GzipBytes), sizeString(c.Compressible))
	}
	printSwitch(out, res, root)
	tellEdge(ctx, sock, out, errOut)
	return shareRelease(ctx, fs, res.ID, fs.Arg(0), out, errOut)
}

// printSwitch reports the symlink switch, the carried files and the prune.
func printSwitch(out io.Writer, res *release.Result, root string) {
	if res.Carried > 0 {
		fmt.Fprintf(out, "kept %d file(s) of %s reachable for pages loaded before the switch\n", res.Carried, res.Previous)
	}
	was := res.Previous
	if was == "" {
		was = "nothing"
	}
	fmt.Fprintf(out, "%s -> releases/%s (was %s)\n", root, res.ID, was)
	if len(res.Pruned) > 0 {
		fmt.Fprintf(out, "deleted old release(s): %s\n", strings.Join(res.Pruned, ", "))
	}
}

// releaseFlags adds -config and -root; the returned func resolves the
// site root and the admin socket.
func releaseFlags(fs *flag.FlagSet) func() (root, sock string, err error) {
	cfgPath := configFlag(fs)
	rootFlag := fs.String("root", "", "site root `DIR` (the current symlink; default: site.root from the config)")
	return func() (string, string, error) {
		path, explicit := cfgPath()
		root, sock, err := readReleaseConfig(path, explicit)
		if err != nil && *rootFlag == "" {
			return "", "", err
		}
		if *rootFlag != "" {
			root = *rootFlag
		}
		return root, sock, nil
	}
}

// readReleaseConfig reads only site.root and server.admin_socket from the
// config: like edge status, edge release runs from a deploy user's shell
// without the unit's secrets, so nothing else is expanded or validated
// (site.root may not exist before the first release).
func readReleaseConfig(path string, explicit bool) (root, sock string, err error) {
	v, err := config.ReadShellView(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return "", v.AdminSocket, fmt.Errorf("no config at %s (fix: pass -config FILE or -root DIR)", path)
	}
	var fe *config.FieldError
	if err != nil && (!errors.As(err, &fe) || v.SiteRoot == "") {
		return "", v.AdminSocket, err // unreadable, or site.root not expandable
	}
	if v.SiteRoot == "" {
		return "", v.AdminSocket, fmt.Errorf("%s: site.root is not set (fix: set it, or pass -root DIR)", path)
	}
	return v.SiteRoot, v.AdminSocket, nil
}

// tellEdge asks a running edge to drop its static caches. None of its
// failures is an error: the switch is done, and edge notices the new
// symlink target within a second by itself.
func tellEdge(ctx context.Context, sock string, out, errOut io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	code, body, err := postControl(ctx, sock, "/invalidate")
	switch {
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(out, "edge is not running (no admin socket at %s): nothing to invalidate; it serves the new release when it starts\n", sock)
	case errors.Is(err, syscall.EACCES):
		fmt.Fprintf(errOut, "warning: may not open %s (permission denied): edge picks up the new release within a second by itself (fix: run as root or a member of group edge)\n", sock)
	case err != nil:
		fmt.Fprintf(errOut, "warning: could not reach edge on %s: %v; it picks up the new release within a second by itself\n", sock, err)
	case code == http.StatusOK:
		fmt.Fprintln(out, "edge: static caches dropped; new requests see the switch")
	case code == http.StatusNotFound || code == http.StatusNotImplemented:
		fmt.Fprintln(out, "edge: this edge version has no /invalidate; it notices the switch within a second")
	default:
		fmt.Fprintf(errOut, "warning: edge refused to invalidate (%d): %s\n", code, strings.TrimSpace(body))
	}
}

// postControl sends a POST to the admin socket and returns the status
// code and body.
func postControl(ctx context.Context, sock, path string) (int, string, error) {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://edge"+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body), err
}

// sizeString formats a byte count in SI units, as operators read df -H.
func sizeString(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%d B", n)
	}
}
