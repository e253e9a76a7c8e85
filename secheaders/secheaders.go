// Package secheaders adds the security headers of the [headers] table to
// every response, with github.com/unrolled/secure: HSTS only over HTTPS
// (RFC 6797), CSP or CSP-Report-Only, X-Frame-Options, Referrer-Policy,
// Permissions-Policy, X-Content-Type-Options, and a Server header that
// reveals no version.
package secheaders

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
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
//
// The headers depend only on the configuration and on whether the
// request came over TLS, so unrolled/secure computes both sets once here
// and each response gets them assigned, without per-request work.
func Middleware(h config.Headers) (func(http.Handler) http.Handler, error) {
	opts, err := Options(h)
	if err != nil {
		return nil, err
	}
	s := secure.New(opts)
	plain, err := headerSet(s, false)
	if err != nil {
		return nil, err
	}
	overTLS, err := headerSet(s, true)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			set := plain
			if r.TLS != nil {
				set = overTLS
			}
			dst := w.Header()
			for _, kv := range set {
				dst[kv.key] = kv.values
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

type header struct {
	key    string
	values []string
}

// headerSet asks unrolled/secure for the headers of a request over TLS or
// not, plus the Server header.
func headerSet(s *secure.Secure, overTLS bool) ([]header, error) {
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}, Host: "edge", Header: http.Header{}}
	if overTLS {
		r.TLS = &tls.ConnectionState{}
	}
	hdr, _, err := s.ProcessNoModifyRequest(discardWriter{http.Header{}}, r)
	if err != nil {
		return nil, fmt.Errorf("compute security headers: %w", err)
	}
	set := []header{{"Server", []string{ServerName}}}
	for k, v := range hdr {
		set = append(set, header{http.CanonicalHeaderKey(k), append([]string(nil), v...)})
	}
	return set, nil
}

// discardWriter satisfies secure's signature; it is never written to
// because no redirect or host check is configured.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
