package admin

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
)

// The page's only style sheet is inlined and allowed by its hash; the page
// has no script and loads nothing.
var (
	//go:embed page.css
	pageCSS string
	//go:embed page.html
	pageHTML string

	statusPage = template.Must(template.New("status").Funcs(funcs).
			Parse(strings.Replace(pageHTML, "/*CSS*/", pageCSS, 1)))
	styleHash = func() string {
		sum := sha256.Sum256([]byte(pageCSS))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}()
)

// Content-Security-Policy of admin answers: the status page may use its
// own style sheet and data: images (the empty favicon), nothing else;
// every other answer may use nothing.
var (
	pageCSP = "default-src 'none'; style-src " + styleHash +
		"; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	strictCSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

// RefreshSeconds is how often the status page reloads itself.
const RefreshSeconds = 30

// Handler serves the admin pages under prefix: /status (HTML; also the
// prefix itself), /status.json and /metrics (the metrics handler). It
// does not check access: wrap it in a Guard.
func Handler(prefix string, snap Snapshot, metrics http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch rest := strings.TrimPrefix(r.URL.Path, prefix); {
		case strings.HasPrefix(rest, pprofPath):
			servePprof(w, r, rest)
		case rest == "/status.json":
			serveJSON(w, snap())
		case rest == "/status" || rest == "" || rest == "/":
			servePage(w, prefix, snap())
		case rest == "/metrics":
			if metrics == nil {
				http.NotFound(w, r)
				return
			}
			metrics.ServeHTTP(w, r)
		default:
			http.Error(w, "404 page not found", http.StatusNotFound)
		}
	})
}

func serveJSON(w http.ResponseWriter, st Status) {
	body, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		http.Error(w, "500 cannot encode the status", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(body, '\n'))
}

// servePage renders into a buffer first: a template error becomes a 500,
// not half a page.
func servePage(w http.ResponseWriter, prefix string, st Status) {
	var buf bytes.Buffer
	if err := statusPage.Execute(&buf, newView(prefix, st)); err != nil {
		http.Error(w, "500 cannot render the status page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	_, _ = w.Write(buf.Bytes())
}
