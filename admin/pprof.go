package admin

import (
	"net/http"
	"net/http/pprof"
	"strings"
)

// pprofPath is where the Go profiles are served under the admin path, as
// {admin.path}/debug/pprof/ (behind the same guard as the status page):
// "go tool pprof https://user:pass@host/admin/debug/pprof/profile?seconds=10".
const pprofPath = "/debug/pprof/"

// servePprof serves the runtime profiles of net/http/pprof for a request
// whose path (the admin prefix removed) is rest, under pprofPath.
func servePprof(w http.ResponseWriter, r *http.Request, rest string) {
	name := strings.TrimPrefix(rest, pprofPath)
	switch name {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	case "":
		// pprof.Index lists the profiles with links relative to itself.
		r2 := *r
		u := *r.URL
		u.Path = pprofPath
		r2.URL = &u
		pprof.Index(w, &r2)
	default:
		pprof.Handler(name).ServeHTTP(w, r)
	}
}
