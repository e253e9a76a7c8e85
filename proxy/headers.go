package proxy

import (
	"net/http"
	"net/http/httputil"

	"github.com/gitcourse/edge/clientaddr"
	"github.com/gitcourse/edge/reqid"
)

// rewrite points the outgoing request at the next upstream and sets the
// forwarding headers.
func (rt *Route) rewrite(pr *httputil.ProxyRequest) {
	u := rt.pick()
	pr.SetURL(u.url)
	if rt.passHost {
		pr.Out.Host = pr.In.Host
	}
	rt.forwarded(pr)
	// edge answers "Expect: 100-continue" itself when the transport first
	// reads the body; an upstream 100 would be relayed as a 1xx, which
	// clears the headers edge already set on the response.
	pr.Out.Header.Del("Expect")
}

// forwarded sets X-Forwarded-*, X-Real-IP and X-Request-ID. ReverseProxy
// has removed the client's X-Forwarded-* and Forwarded before Rewrite.
func (rt *Route) forwarded(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	// Both facts come from the request context (package clientaddr):
	// without it nothing a client sent is kept.
	trusted := clientaddr.ViaTrustedProxy(in.Context())
	if trusted {
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			out.Header["X-Forwarded-For"] = prior // SetXForwarded appends the peer
		}
	}
	pr.SetXForwarded()
	if trusted {
		if p := in.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			out.Header.Set("X-Forwarded-Proto", p)
		}
		if h := in.Header.Get("X-Forwarded-Host"); h != "" {
			out.Header.Set("X-Forwarded-Host", h)
		}
	}
	out.Header.Del("X-Real-Ip")
	if client := clientaddr.Client(in); client.IsValid() {
		out.Header.Set("X-Real-Ip", client.String())
	}
	if id := reqid.From(in.Context()); id != "" {
		out.Header.Set(reqid.Header, id)
	} else if !trusted || !reqid.Valid(in.Header.Get(reqid.Header)) {
		out.Header.Del(reqid.Header)
	}
}

// modifyResponse drops the upstream's Server (edge names itself, without a
// version), its X-Request-ID (edge has set the request's own) and, over
// plain HTTP, its Strict-Transport-Security (RFC 6797 7.2).
func (rt *Route) modifyResponse(res *http.Response) error {
	res.Header.Del("Server")
	if res.Request.TLS == nil {
		res.Header.Del("Strict-Transport-Security")
	}
	if reqid.From(res.Request.Context()) != "" {
		res.Header.Del(reqid.Header)
	}
	return nil
}

// edgeWins are the security headers edge's chain has already set from
// [headers]; when the upstream sets one too, edge's value is sent, once:
// the configured policy is enforced on every response (SPEC §3). A header
// the operator dropped with "" is not set by edge, so the app's passes.
var edgeWins = []string{
	"Content-Security-Policy", "Content-Security-Policy-Report-Only", "X-Frame-Options",
	"Referrer-Policy", "Permissions-Policy", "X-Content-Type-Options", "Strict-Transport-Security",
}

// responseWriter keeps, as the header is written, one value (edge's) of
// each header in edgeWins.
// Unwrap lets http.ResponseController reach Flush and Hijack.
type responseWriter struct {
	http.ResponseWriter
	code int
}

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
		h := w.Header()
		for _, k := range edgeWins {
			if v := h[k]; len(v) > 1 {
				h[k] = v[:1]
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// FlushError flushes the wrapped writer; http.ResponseController uses it.
func (w *responseWriter) FlushError() error {
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// Unwrap returns the wrapped writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
