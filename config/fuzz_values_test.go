package config

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseSchedule: any text either parses into a schedule that has a
// next run after a fixed time, strictly later, or fails with ErrSchedule;
// it never panics.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"03:00", "30 2 * * 1-5", "*/15 * * * *", "0 0 29 2 *", "99 99 * * *", "0 0 30 2 *", "1-2/0 * * * *", "* * * jan-dec sun-sat"} {
		f.Add(s)
	}
	from := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSchedule(text, time.UTC)
		if err != nil {
			if s != nil {
				t.Fatalf("ParseSchedule(%q) returned a schedule with error %v", text, err)
			}
			return
		}
		if next := s.Next(from); !next.After(from) {
			t.Fatalf("ParseSchedule(%q): Next(%s) = %s, not after", text, from, next)
		}
	})
}

// FuzzParseHostPort: what is accepted has a host and a port from 1 to
// 65535 and joins back to a host:port that parses the same.
func FuzzParseHostPort(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8000", "[::1]:80", "api.internal:65535", "127.0.0.1:99999", ":80", "http://x:1", "x:0", "x:+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := ParseHostPort(s)
		if err != nil {
			return
		}
		if host == "" || port < 1 || port > 65535 || strings.Contains(s, "/") {
			t.Fatalf("ParseHostPort(%q) = %q, %d", s, host, port)
		}
		if h2, p2, err := ParseHostPort(joinHostPort(host, port)); err != nil || h2 != host || p2 != port {
			t.Fatalf("round trip of %q: %q, %d, %v", s, h2, p2, err)
		}
	})
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// FuzzParseRecipient never panics and accepts only what age accepts.
func FuzzParseRecipient(f *testing.F) {
	for _, s := range []string{"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", "age1notakey", "ssh-ed25519 AAAA", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecipient(s)
		if err == nil && r.Age() == nil {
			t.Fatalf("ParseRecipient(%q) accepted without a recipient", s)
		}
	})
}
