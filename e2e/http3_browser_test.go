package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHTTP3Chromium: headless Chromium told to use QUIC for edge's origin
// loads the site over HTTP/3: the navigation's nextHopProtocol is "h3".
func TestHTTP3Chromium(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e := startEdge(t, Options{})
	// The page reports its own protocol from an external script (the
	// default CSP forbids inline ones).
	for name, body := range map[string]string{
		"h3check.html": `<!doctype html><html><head><title>h3</title><script src="/h3check.js" defer></script></head><body><p id="out">pending</p></body></html>`,
		"h3check.js": `const nav = performance.getEntriesByType("navigation")[0];
const js = performance.getEntriesByType("resource").find((r) => r.name.endsWith("/h3check.js"));
document.getElementById("out").textContent = "nav=" + nav.nextHopProtocol + " js=" + (js ? js.nextHopProtocol : "none");`,
	} {
		if err := os.WriteFile(filepath.Join(e.Site, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Chromium's QUIC ignores --ignore-certificate-errors for a CA it does
	// not know; it accepts a certificate whose key is listed by its hash.
	conn, err := tls.Dial("tcp", "127.0.0.1:"+e.HTTPSPort, &tls.Config{ServerName: domain, RootCAs: e.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	origin := domain + ":" + e.HTTPSPort
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--ignore-certificate-errors",
		"--ignore-certificate-errors-spki-list="+base64.StdEncoding.EncodeToString(spki[:]),
		"--host-resolver-rules=MAP * 127.0.0.1", "--enable-quic", "--origin-to-force-quic-on="+origin,
		"--enable-logging=stderr", "--v=0", "--dump-dom", "https://"+origin+"/h3check.html")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || ctx.Err() != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "nav=h3 js=h3") {
		t.Errorf("page not loaded over HTTP/3 (want nav=h3 js=h3):\n%s\n--- chromium log ---\n%s", out.String(), errb.String())
	}
	if !e.WaitOutput(`"path":"/h3check.js"`, 2*time.Second) || !strings.Contains(e.Output(), `"proto":"HTTP/3.0","user_agent":"Mozilla`) {
		t.Errorf("edge's access log has no HTTP/3 request from Chromium:\n%s", e.Output())
	}
}
