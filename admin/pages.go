package admin

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
)

// Snapshot returns the current status as a JSON-encodable value.
type Snapshot func() Status

// Status is what the admin pages and "edge status" show.
type Status struct {
	Version   string            `json:"version"`
	StartedAt string            `json:"started_at"`
	Uptime    string            `json:"uptime"`
	Config    string            `json:"config"`
	Domains   []string          `json:"domains"`
	Routes    []string          `json:"routes"`
	Listeners map[string]string `json:"listeners"`
	Reloads   int               `json:"reloads"`
	LastError string            `json:"last_reload_error,omitempty"`
	Warnings  []string          `json:"warnings"`
}

// Pages serves {admin.path}/status and {admin.path}/status.json.
func Pages(prefix string, snap Snapshot) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimPrefix(r.URL.Path, prefix) {
		case "/status.json":
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			_ = enc.Encode(snap())
		case "/status", "", "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = statusPage.Execute(w, snap())
		default:
			http.Error(w, "404 page not found", http.StatusNotFound)
		}
	})
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>edge status</title></head><body>
<h1>edge {{.Version}}</h1>
<p>Up {{.Uptime}} since {{.StartedAt}}; config {{.Config}}; {{.Reloads}} reloads.</p>
<h2>Domains</h2><ul>{{range .Domains}}<li>{{.}}</li>{{end}}</ul>
<h2>Routes</h2><ul>{{range .Routes}}<li>{{.}}</li>{{else}}<li>none</li>{{end}}</ul>
{{if .Warnings}}<h2>Self-check warnings</h2><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Listeners</h2><ul>{{range $k, $v := .Listeners}}<li>{{$k}}: {{$v}}</li>{{end}}</ul>
</body></html>
`))
