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
// A repeated directive is an error: browsers ignore such a header
// (RFC 6797 section 6.1).
func ParseHSTS(s string) (HSTS, error) {
	var h HSTS
	seenMaxAge := false
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		name, val, _ := strings.Cut(part, "=")
		dir := strings.ToLower(strings.TrimSpace(name))
		if dir != "" && seen[dir] {
			return h, fmt.Errorf("directive %q repeated: %w (browsers then ignore the header)", name, ErrInvalidValue)
		}
		seen[dir] = true
		switch dir {
		case "max-age":
			digits := strings.Trim(strings.TrimSpace(val), `"`)
			n, err := strconv.ParseInt(digits, 10, 64)
			// delta-seconds is 1*DIGIT: no sign (RFC 6797 section 6.1.1).
			if err != nil || n < 0 || strings.TrimLeft(digits, "0123456789") != "" {
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
