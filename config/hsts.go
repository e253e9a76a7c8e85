package config

import (
	"fmt"
	"strconv"
	"strings"
)

// HSTS is a parsed Strict-Transport-Security value.
type HSTS struct {
	MaxAge            int64 // seconds
	IncludeSubdomains bool
	Preload           bool
}

// ParseHSTS parses "max-age=63072000; includeSubDomains; preload".
func ParseHSTS(s string) (HSTS, error) {
	var h HSTS
	seenMaxAge := false
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		name, val, _ := strings.Cut(part, "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
			if err != nil || n < 0 {
				return h, fmt.Errorf("max-age %q: %w (fix: max-age=63072000)", val, ErrInvalidValue)
			}
			h.MaxAge, seenMaxAge = n, true
		case "includesubdomains":
			h.IncludeSubdomains = true
		case "preload":
			h.Preload = true
		case "":
		default:
			return h, fmt.Errorf("unknown directive %q: %w (fix: max-age, includeSubDomains, preload)", name, ErrInvalidValue)
		}
	}
	if !seenMaxAge {
		return h, fmt.Errorf("%q has no max-age: %w", s, ErrInvalidValue)
	}
	return h, nil
}
