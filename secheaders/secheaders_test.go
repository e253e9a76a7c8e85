package secheaders

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gitcourse/edge/config"
)

func strp(s string) *string { return &s }

func defaults() config.Headers {
	return config.Headers{
		HSTS: strp(config.DefaultHSTS), CSP: strp(config.DefaultCSP), FrameOptions: strp(config.DefaultFrameOptions),
		ReferrerPolicy: strp(config.DefaultReferrerPolicy), PermissionsPolicy: strp(config.DefaultPermissionsPolicy),
	}
}

func serve(t *testing.T, h config.Headers, overTLS bool) http.Header {
	t.Helper()
	mw, err := Middleware(h)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	if overTLS {
		r.TLS = &tls.ConnectionState{}
	}
	w := httptest.NewRecorder()
	mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(w, r)
	return w.Result().Header
}

func TestHeaders(t *testing.T) {
	tlsH := serve(t, defaults(), true)
	for k, want := range map[string]string{
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		"Content-Security-Policy":   config.DefaultCSP,
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           config.DefaultReferrerPolicy,
		"Permissions-Policy":        config.DefaultPermissionsPolicy,
		"X-Content-Type-Options":    "nosniff",
		"Server":                    "edge",
	} {
		if got := tlsH.Get(k); got != want {
			t.Errorf("over TLS %s = %q, want %q", k, got, want)
		}
	}
	if got := serve(t, defaults(), false).Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS over plain HTTP = %q, want none (RFC 6797 7.2)", got)
	}
}

func TestDroppedAndReportOnly(t *testing.T) {
	h := defaults()
	h.FrameOptions = strp("")
	h.CSPReportOnly = true
	got := serve(t, h, true)
	if v := got.Get("X-Frame-Options"); v != "" {
		t.Errorf("X-Frame-Options = %q, want dropped", v)
	}
	if got.Get("Content-Security-Policy") != "" || got.Get("Content-Security-Policy-Report-Only") != config.DefaultCSP {
		t.Errorf("report-only: CSP %q, report-only %q", got.Get("Content-Security-Policy"), got.Get("Content-Security-Policy-Report-Only"))
	}
}
