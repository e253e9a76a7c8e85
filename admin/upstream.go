package admin

import (
	"io"
	"net/http"
)

// serveUpstream answers "POST /upstream/{drain|enable}?addr=HOST:PORT".
func (c *Control) serveUpstream(w http.ResponseWriter, r *http.Request) {
	if c.Upstream == nil {
		http.Error(w, "upstream drain not supported", http.StatusNotImplemented)
		return
	}
	line, err := c.Upstream(r.Context(), r.PathValue("action"), r.URL.Query().Get("addr"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	_, _ = io.WriteString(w, line)
}
