package server

import (
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gitcourse/edge/accesslog"
	"github.com/gitcourse/edge/reqid"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies middlewares so that the first one listed runs first.
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// healthz answers GET /healthz with "ok" before anything else runs: no
// logging, no host check, no details.
func healthz(next http.Handler) http.Handler {
	body := []byte("ok\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			h := w.Header()
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = w.Write(body)
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic in a handler into a logged 500 with the request
// id; the process keeps serving.
func recoverer(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panic", "panic", v, "request_id", reqid.From(r.Context()),
					"path", r.URL.Path, "stack", string(debug.Stack()))
				http.Error(w, "500 internal server error (request "+reqid.From(r.Context())+")", http.StatusInternalServerError)
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// hostName returns the Host of r in lower case without its port.
func hostName(r *http.Request) string {
	host := r.Host
	// Only a Host with a colon can carry a port: without one,
	// SplitHostPort would allocate its error for nothing.
	if strings.IndexByte(host, ':') >= 0 {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
}

// hosts is the set of configured domains and the canonical one.
type hosts struct {
	names     map[string]bool
	canonical string
}

func newHosts(domains []string, canonical string) hosts {
	h := hosts{names: map[string]bool{}, canonical: strings.ToLower(canonical)}
	for _, d := range domains {
		h.names[strings.ToLower(d)] = true
	}
	return h
}

// known returns r's host name, or answers 404 and false when that host is
// not configured.
func (hs hosts) known(w http.ResponseWriter, r *http.Request) (string, bool) {
	host := hostName(r)
	if !hs.names[host] {
		accesslog.SetRoute(w, "unknown-host")
		http.Error(w, "404 page not found", http.StatusNotFound)
		return "", false
	}
	return host, true
}

// check answers 404 for a Host that is not configured and 308-redirects
// other configured names to the canonical one.
func (hs hosts) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := hs.known(w, r)
		if !ok {
			return
		}
		if hs.canonical != "" && host != hs.canonical {
			accesslog.SetRoute(w, "redirect")
			target := "https://" + hs.canonical + portSuffix(r.Host, "443") + r.URL.RequestURI()
			if r.TLS == nil {
				target = "http://" + hs.canonical + portSuffix(r.Host, "80") + r.URL.RequestURI()
			}
			http.Redirect(w, r, target, http.StatusPermanentRedirect)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// portSuffix returns ":port" of hostport unless it is the default port.
func portSuffix(hostport, def string) string {
	_, port, err := net.SplitHostPort(hostport)
	if err != nil || port == "" || port == def {
		return ""
	}
	return ":" + port
}

// httpsRedirect is the port-80 handler: configured hosts get a 308 to the
// same host and path over HTTPS; any other Host gets 404 (no open redirect).
func (hs hosts) httpsRedirect(httpsPort string) http.Handler {
	suffix := ""
	if httpsPort != "" && httpsPort != "443" {
		suffix = ":" + httpsPort
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := hs.known(w, r)
		if !ok {
			return
		}
		accesslog.SetRoute(w, "redirect")
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		http.Redirect(w, r, "https://"+host+suffix+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
