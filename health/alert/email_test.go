package alert_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/health/alert"
	"github.com/gitcourse/edge/health/alert/alerttest"
	"github.com/gitcourse/edge/internal/testutil"
)

func testMessage() alert.Message {
	at := time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC)
	return alert.Message{Event: alert.EventDown, Check: "api", Host: "web1", Since: at.Add(-time.Minute),
		LastError: "status 502", At: at, Title: "[edge] DOWN: api on web1 — ünïcode",
		Text: "api (http) is DOWN on web1.\nLast error: status 502 =with= a long line " + strings.Repeat("x", 100)}
}

func sendEmail(t *testing.T, e *alert.Email) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return e.Send(ctx, testMessage())
}

func TestEmailPlain(t *testing.T) {
	sink := alerttest.StartSink(t, "", nil)
	e := &alert.Email{Addr: sink.Addr, From: "edge@example.com", To: []string{"ops@example.com", "dev@example.com"}}
	if err := sendEmail(t, e); err != nil {
		t.Fatal(err)
	}
	ms, err := sink.WaitMessages(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	if got, want := m.Subject(), testMessage().Title; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if got := m.Header.Get("To"); got != "ops@example.com, dev@example.com" {
		t.Errorf("To %q", got)
	}
	if !strings.Contains(m.Body, "Last error: status 502 =with= a long line "+strings.Repeat("x", 100)) {
		t.Errorf("body lost the text: %q", m.Body)
	}
	if m.Header.Get("X-Edge-Check") != "api" || m.Header.Get("X-Edge-Event") != "down" {
		t.Errorf("headers: %v", m.Header)
	}
}

func TestEmailSTARTTLS(t *testing.T) {
	cert, key, pool := testutil.WriteCert(t, t.TempDir(), "127.0.0.1", "localhost")
	sink := alerttest.StartSink(t, "", &alerttest.TLS{Cert: cert, Key: key})
	e := &alert.Email{Addr: sink.Addr, From: "edge@example.com", To: []string{"ops@example.com"},
		TLSConfig: &tls.Config{RootCAs: pool}}
	if err := sendEmail(t, e); err != nil {
		t.Fatalf("send with STARTTLS: %v", err)
	}
	if _, err := sink.WaitMessages(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// An untrusted certificate is not accepted.
	e.TLSConfig = nil
	if err := sendEmail(t, e); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("untrusted certificate: got %v, want a STARTTLS error", err)
	}
}

func TestEmailCredentialsOnlyOverTLSOrLoopback(t *testing.T) {
	// Loopback without TLS: credentials may be sent, but this server
	// offers no AUTH, which is an error rather than a silent skip.
	sink := alerttest.StartSink(t, "", nil)
	e := &alert.Email{Addr: sink.Addr, From: "edge@example.com", To: []string{"ops@example.com"},
		Username: "edge", Password: "pw"}
	err := sendEmail(t, e)
	if err == nil || !strings.Contains(err.Error(), "offers no AUTH") || !alert.IsPermanent(err) {
		t.Fatalf("loopback, no AUTH: got %v", err)
	}
	// A server named by a remote host without STARTTLS: the credentials
	// are refused. The connection itself goes to the loopback sink, so no
	// traffic leaves the machine.
	e.Addr = "smtp.example.com:25"
	e.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, sink.Addr)
	}
	before, err := sink.Messages()
	if err != nil {
		t.Fatal(err)
	}
	err = sendEmail(t, e)
	if !errors.Is(err, alert.ErrPlainAuth) {
		t.Fatalf("non-loopback without TLS: got %v, want ErrPlainAuth", err)
	}
	if strings.Contains(err.Error(), "pw") {
		t.Errorf("error reveals the password: %v", err)
	}
	if after, err := sink.Messages(); err != nil || len(after) != len(before) {
		t.Errorf("a message was sent after the credentials were refused (%d -> %d, %v)", len(before), len(after), err)
	}
}

func TestEmailRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := &alert.Email{Addr: addr, From: "edge@example.com", To: []string{"ops@example.com"}}
	if err := sendEmail(t, e); err == nil || alert.IsPermanent(err) {
		t.Fatalf("refused: got %v, want a temporary error", err)
	}
}
