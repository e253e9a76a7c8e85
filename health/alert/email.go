package alert

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// Email sends messages over SMTP. It uses STARTTLS whenever the server
// offers it and sends credentials without TLS only to a loopback server.
type Email struct {
	// Addr is the server's "host:port".
	Addr string
	// From is the envelope and header sender.
	From string
	// To are the recipients.
	To []string
	// Username and Password, when Username is set, are sent with AUTH PLAIN.
	Username string
	// Password goes with Username.
	Password string
	// TLSConfig is used for STARTTLS; nil means the system roots with the
	// server's host name. A copy gets ServerName set when it has none.
	TLSConfig *tls.Config
	// Helo is the name sent with EHLO; "" means "localhost".
	Helo string
	// Dial opens the connection to Addr; nil means a net.Dialer. The
	// loopback rule for credentials is decided from Addr's host, not from
	// where Dial connects, so tests can reach a local server under a
	// remote name.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var _ Channel = (*Email)(nil)

// Name returns "email".
func (e *Email) Name() string { return "email" }

// ErrPlainAuth reports credentials that would cross the network unencrypted.
var ErrPlainAuth = errors.New("refusing to send SMTP credentials without TLS to a server that is not on loopback")

// Send delivers m as a plain-text email to every recipient.
func (e *Email) Send(ctx context.Context, m Message) error {
	host, _, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return Permanent(fmt.Errorf("email: smtp address %q: %w", e.Addr, err))
	}
	dial := e.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", e.Addr)
	if err != nil {
		return fmt.Errorf("email: connect to %s: %w", e.Addr, err)
	}
	// The whole dialogue obeys ctx: its deadline, and cancellation.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpErr("greeting from "+e.Addr, err)
	}
	defer c.Close()
	if err := e.session(c, host, m); err != nil {
		return err
	}
	return nil
}

// session runs EHLO, STARTTLS, AUTH and the transaction on c.
func (e *Email) session(c *smtp.Client, host string, m Message) error {
	helo := e.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return smtpErr("EHLO", err)
	}
	secure := false
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if e.TLSConfig != nil {
			cfg = e.TLSConfig.Clone()
			if cfg.ServerName == "" {
				cfg.ServerName = host
			}
		}
		if err := c.StartTLS(cfg); err != nil {
			return smtpErr("STARTTLS", err)
		}
		secure = true
	}
	if e.Username != "" {
		if err := e.auth(c, host, secure); err != nil {
			return err
		}
	}
	if err := c.Mail(e.From); err != nil {
		return smtpErr("MAIL FROM", err)
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return smtpErr("RCPT TO "+to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("DATA", err)
	}
	if _, err := w.Write(e.compose(m)); err != nil {
		return smtpErr("write message", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr("end of message", err)
	}
	_ = c.Quit()
	return nil
}

func (e *Email) auth(c *smtp.Client, host string, secure bool) error {
	if !secure && !isLoopback(host) {
		return Permanent(fmt.Errorf("email: %w (%s offers no STARTTLS)", ErrPlainAuth, host))
	}
	if ok, _ := c.Extension("AUTH"); !ok {
		return Permanent(fmt.Errorf("email: credentials are configured but %s offers no AUTH", host))
	}
	if err := c.Auth(plainAuth{user: e.Username, pass: e.Password}); err != nil {
		return smtpErr("AUTH", err)
	}
	return nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// plainAuth is AUTH PLAIN; the TLS/loopback policy is enforced before it
// (net/smtp's PlainAuth accepts only the names "localhost", 127.0.0.1 and
// ::1 without TLS).
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// compose renders the RFC 5322 message.
func (e *Email) compose(m Message) []byte {
	var b bytes.Buffer
	at := m.At
	if at.IsZero() {
		at = time.Now()
	}
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", oneLine(e.From))
	hdr("To", oneLine(strings.Join(e.To, ", ")))
	hdr("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Title)))
	hdr("Date", at.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+randomID()+"@edge>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Edge-Event", m.Event)
	if m.Check != "" {
		hdr("X-Edge-Check", oneLine(m.Check))
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(m.Body(), "\n", "\r\n") + "\r\n"))
	_ = qp.Close()
	return b.Bytes()
}

func randomID() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// smtpErr wraps an SMTP error; a 5xx reply is permanent.
func smtpErr(step string, err error) error {
	err = fmt.Errorf("email: %s: %w", step, err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return Permanent(err)
	}
	return err
}
