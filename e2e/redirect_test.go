package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPort80(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{})
	c := e.Client()

	t.Run("configured-host-308", func(t *testing.T) {
		const pathQuery = "/courses/1/lessons?tab=notes&q=a%20b"
		for _, tc := range []struct {
			hostHeader string
			wantHost   string
		}{
			{domain, domain},
			{domain + ":" + e.HTTPPort, domain},
			{"EDGE.test", domain},
			{wwwDomain, wwwDomain},
		} {
			for _, method := range []string{"GET", "HEAD", "POST"} {
				resp, body := do(t, c, method, e.HTTP(pathQuery), nil, host(tc.hostHeader))
				wantStatus(t, resp, body, http.StatusPermanentRedirect)
				want := "https://" + tc.wantHost + ":" + e.HTTPSPort + pathQuery
				if got := resp.Header.Get("Location"); got != want {
					t.Errorf("%s Host %q: Location %q, want %q", method, tc.hostHeader, got, want)
				}
			}
		}
	})

	t.Run("redirect-is-followed", func(t *testing.T) {
		resp, body := get(t, c, e.HTTP("/courses/2?x=1"))
		wantStatus(t, resp, body, http.StatusPermanentRedirect)
		resp, body = get(t, c, resp.Header.Get("Location"))
		wantStatus(t, resp, body, http.StatusOK)
		if string(body) != indexHTML {
			t.Errorf("following the redirect: body is not the SPA index")
		}
	})

	t.Run("unknown-host-404-no-location", func(t *testing.T) {
		for _, h := range []string{"evil.test", "evil.test:" + e.HTTPPort, "127.0.0.1:" + e.HTTPPort, "edge.test.evil.test", "xedge.test"} {
			resp, body := get(t, c, e.HTTP("/x?y=1"), host(h))
			wantStatus(t, resp, body, http.StatusNotFound)
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("Host %q: Location %q, want none (no open redirect)", h, loc)
			}
		}
	})

	t.Run("absolute-form-unknown-host", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+e.HTTPPort, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET http://evil.test/phish HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", domain)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if loc := resp.Header.Get("Location"); strings.Contains(loc, "evil.test") {
			t.Errorf("absolute-form request for evil.test: Location %q (open redirect)", loc)
		}
	})

	t.Run("tls-unknown-sni-fails", func(t *testing.T) {
		for _, sni := range []string{"evil.test", "", "sub.edge.test"} {
			// InsecureSkipVerify: the handshake must fail on the server's
			// side (no certificate for the name), not in our verification.
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", "127.0.0.1:"+e.HTTPSPort,
				&tls.Config{ServerName: sni, InsecureSkipVerify: true})
			if err == nil {
				names := conn.ConnectionState().PeerCertificates[0].DNSNames
				conn.Close()
				t.Errorf("TLS handshake with SNI %q succeeded (certificate for %v), want failure", sni, names)
			}
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", "127.0.0.1:"+e.HTTPSPort,
			&tls.Config{ServerName: wwwDomain, RootCAs: e.RootCAs()})
		if err != nil {
			t.Fatalf("TLS handshake with SNI %q: %v", wwwDomain, err)
		}
		conn.Close()
	})
}

func TestCanonicalRedirect(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{Domains: []string{domain, wwwDomain}, Canonical: domain})
	c := e.Client()
	base := "https://" + wwwDomain + ":" + e.HTTPSPort
	for _, pq := range []string{"/", "/courses/1?tab=notes", assetPath} {
		resp, body := get(t, c, base+pq)
		wantStatus(t, resp, body, http.StatusPermanentRedirect)
		if got, want := resp.Header.Get("Location"), e.HTTPS(pq); got != want {
			t.Errorf("GET %s%s: Location %q, want %q", base, pq, got, want)
		}
		checkSecurityHeaders(t, "canonical 308", resp, true)
	}
	resp, body := get(t, c, e.HTTPS("/courses/1"))
	wantStatus(t, resp, body, http.StatusOK)

	// Port 80 of the non-canonical name ends on the canonical HTTPS URL in
	// at most two hops.
	url := "http://" + wwwDomain + ":" + e.HTTPPort + "/courses/3?x=1"
	for hop := 0; hop < 2 && !strings.HasPrefix(url, e.HTTPS("")); hop++ {
		resp, body := get(t, c, url)
		wantStatus(t, resp, body, http.StatusPermanentRedirect)
		url = resp.Header.Get("Location")
	}
	if want := e.HTTPS("/courses/3?x=1"); url != want {
		t.Errorf("port 80 of %s ends at %q, want %q", wwwDomain, url, want)
	}
}
