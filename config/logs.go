package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Logs ships edge's own log lines (access lines and events) to a central
// syslog collector: RFC 5424 messages over TLS with RFC 5425 framing, and a
// disk spool in {state_dir}/logspool/ while the collector is away.
type Logs struct {
	// Remote is the collector: "tls://HOST:PORT" (RFC 5425, usually port
	// 6514), or "tcp://HOST:PORT" to a loopback address only (a local
	// relay). Required.
	Remote string `toml:"remote"`
	// CAFile is the PEM file of the CA that signed the collector's
	// certificate. Default: "" (the system roots).
	CAFile string `toml:"ca_file"`
	// CertFile is the client certificate (PEM) for mutual TLS; set it with
	// KeyFile. Default: "" (no client certificate).
	CertFile string `toml:"cert_file"`
	// KeyFile is the private key (PEM) of CertFile.
	KeyFile string `toml:"key_file"`
	// Access ships access lines too, not only events. Default: true.
	Access *bool `toml:"access"`
	// MinLevel is the lowest level of events shipped: "debug", "info",
	// "warn" or "error". Access lines are "info". Default: "info".
	MinLevel string `toml:"min_level"`
	// Spool is the size of the disk buffer kept while the collector is
	// away; above it the oldest lines are dropped (and counted).
	// Default: "64MB".
	Spool ByteSize `toml:"spool"`
	// AlertAfter raises the "logs" alert when the collector has been
	// unreachable this long. Default: "15m".
	AlertAfter Duration `toml:"alert_after"`
}

// AccessEnabled reports whether access lines are shipped (the default).
func (l *Logs) AccessEnabled() bool { return l.Access == nil || *l.Access }

// Level is MinLevel as a slog level; call it on a validated config.
func (l *Logs) Level() slog.Level {
	lv, _ := parseLevel(l.MinLevel)
	return lv
}

// RemoteAddr splits Remote into its scheme ("tls" or "tcp") and
// "host:port"; call it on a validated config.
func (l *Logs) RemoteAddr() (scheme, addr string) {
	u, err := url.Parse(l.Remote)
	if err != nil {
		return "", ""
	}
	return u.Scheme, u.Host
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%w: %q (fix: \"debug\", \"info\", \"warn\" or \"error\")", ErrInvalidValue, s)
}

func (l *Logs) applyDefaults() {
	setDefault(&l.MinLevel, "info")
	if l.Spool.Bytes == 0 && l.Spool.invalid == "" {
		l.Spool.Bytes = 64e6
	}
	setDuration(&l.AlertAfter, 15*time.Minute)
}

// minSpool is the smallest spool accepted: a few segments of lines.
const minSpool = 1 << 20

func (v *validator) logs() {
	l := v.c.Logs
	if l == nil {
		return
	}
	v.logsRemote(l.Remote)
	if l.CAFile != "" {
		v.rootFile("logs.ca_file", l.CAFile)
	}
	switch {
	case l.CertFile != "" && l.KeyFile == "":
		v.failf("logs.key_file", ErrRequired, "cert_file is set (fix: set key_file to its private key)")
	case l.CertFile == "" && l.KeyFile != "":
		v.failf("logs.cert_file", ErrRequired, "key_file is set (fix: set cert_file to the client certificate)")
	case l.CertFile != "":
		v.keyPair("logs.cert_file", "logs.key_file", l.CertFile, l.KeyFile)
	}
	if _, err := parseLevel(l.MinLevel); err != nil {
		v.fail("logs.min_level", err)
	}
	if err := l.Spool.check(); err != nil {
		v.fail("logs.spool", err)
	} else if l.Spool.Bytes < minSpool {
		v.failf("logs.spool", ErrInvalidValue, "%d bytes is below the minimum of 1MiB (fix: \"64MB\")", l.Spool.Bytes)
	}
	v.durations("logs", map[string]Duration{"alert_after": l.AlertAfter})
	if l.AlertAfter.Duration <= 0 && l.AlertAfter.check() == nil {
		v.failf("logs.alert_after", ErrInvalidValue, "must be positive (fix: \"15m\")")
	}
}

// logsRemote accepts "tls://HOST:PORT", and "tcp://IP:PORT" with a
// loopback IP only: log lines carry client addresses and paths, so they
// never cross a network in clear text.
func (v *validator) logsRemote(remote string) {
	const key = "logs.remote"
	if remote == "" {
		v.failf(key, ErrRequired, "the collector (fix: \"tls://logs.example.com:6514\")")
		return
	}
	u, err := url.Parse(remote)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		v.failf(key, ErrInvalidValue, "%q (fix: \"tls://HOST:PORT\" such as \"tls://logs.example.com:6514\")", remote)
		return
	}
	host, port, err := net.SplitHostPort(u.Host)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		v.failf(key, ErrInvalidValue, "%q needs a host and a port 1-65535 (fix: \"tls://logs.example.com:6514\")", remote)
		return
	}
	switch u.Scheme {
	case "tls":
	case "tcp":
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			v.failf(key, ErrInvalidValue, "%q: tcp:// sends log lines in clear text and is allowed only to a loopback address (fix: \"tls://%s\", or tcp://127.0.0.1:PORT for a local relay)", remote, u.Host)
		}
	default:
		v.failf(key, ErrInvalidValue, "%q: scheme %q is not supported (fix: \"tls://HOST:PORT\")", remote, u.Scheme)
	}
}
