// Package secheaders adds the security headers of the [headers] table to
// every response, with github.com/unrolled/secure: HSTS only over HTTPS
// (RFC 6797), CSP or CSP-Report-Only, X-Frame-Options, Referrer-Policy,
// Permissions-Policy, X-Content-Type-Options, and a Server header that
// reveals no version.
package secheaders

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gitcourse/edge/config"
	"github.com/unrolled/secure"
)

// ServerName is the Server header value: no version.
const ServerName = "edge"

// Options builds the unrolled/secure options for h.
func Options(h config.Headers) (secure.Options, error) {
	opts := secure.Options{
		ContentTypeNosniff:      true,
		CustomFrameOptionsValue: strings.ToUpper(*h.FrameOptions),
		ReferrerPolicy:          *h.ReferrerPolicy,
		PermissionsPolicy:       *h.PermissionsPolicy,
	}
	if h.CSPReportOnly {
		opts.ContentSecurityPolicyReportOnly = *h.CSP
	} else {
		opts.ContentSecurityPolicy = *h.CSP
	}
	if *h.HSTS != "" {
		hsts, err := config.ParseHSTS(*h.HSTS)
		if err != nil {
			return opts, fmt.Errorf("parse headers.hsts: %w", err)
		}
		opts.STSSeconds = hsts.MaxAge
		opts.STSIncludeSubdomains = hsts.IncludeSubdomains
		opts.STSPreload = hsts.Preload
	}
	return opts, nil
}

// Middleware returns the header middleware for h.
func Middleware(h config.Headers) (func(http.Handler) http.Handler, error) {
	opts, err := Options(h)
	if err != nil {
		return nil, err
	}
	s := secure.New(opts)
	server := []string{ServerName}
	return func(next http.Handler) http.Handler {
		inner := s.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Server"] = server
			inner.ServeHTTP(w, r)
		})
	}, nil
}
