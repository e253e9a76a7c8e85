package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrHostPort reports a value that is not "host:port".
var ErrHostPort = errors.New("not host:port")

// ParseHostPort splits "host:port" ("127.0.0.1:8000", "[::1]:8000",
// "api.internal:8000") as edge dials it: the host is an IP address or a
// name, the port a number from 1 to 65535, and nothing else (no scheme,
// no path) is there.
func ParseHostPort(s string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", s, ErrHostPort)
	}
	if h == "" || strings.ContainsAny(h, "/?#@ \t") || strings.Contains(s, "://") {
		return "", 0, fmt.Errorf("%q: host %q: %w", s, h, ErrHostPort)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '+' || p[0] == '0' {
		return "", 0, fmt.Errorf("%q: port %q is not a number from 1 to 65535: %w", s, p, ErrHostPort)
	}
	return h, n, nil
}

// hostPort checks a "host:port" value that edge dials.
func (v *validator) hostPort(key, s, example string) {
	if _, _, err := ParseHostPort(s); err != nil {
		v.fail(key, fmt.Errorf("%w: %w (fix: %q)", ErrInvalidValue, err, example))
	}
}

// upstreams checks a route's upstreams: each "host:port", none twice.
func (v *validator) upstreams(route string, list []string) {
	seen := map[string]int{}
	for j, u := range list {
		key := fmt.Sprintf("%s.upstreams[%d]", route, j)
		v.hostPort(key, u, "127.0.0.1:8000")
		norm := strings.ToLower(u)
		if i, dup := seen[norm]; dup {
			v.failf(key, ErrDuplicate, "%q already listed as %s.upstreams[%d]", u, route, i)
		}
		seen[norm] = j
	}
}
