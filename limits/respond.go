package limits

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gitcourse/edge/reqid"
)

// messages are the fixed client-facing texts of the rejections.
var messages = map[int]string{
	http.StatusTooManyRequests:    "rate limited",
	http.StatusServiceUnavailable: "too busy",
	http.StatusForbidden:          "temporarily banned",
}

// retryAfter is wait in whole seconds, rounded up, at least 1.
func retryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// reject answers code with Retry-After: JSON {"error","request_id"} under
// a proxy route (what API clients parse), a small page elsewhere. The
// security headers were set earlier in the chain and are kept.
func reject(w http.ResponseWriter, r *http.Request, code int, wait time.Duration, proxy bool) {
	secs := retryAfter(wait)
	id := reqid.From(r.Context())
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if code == http.StatusForbidden {
		h.Set("Connection", "close")
	}
	if proxy {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(struct {
			Error     string `json:"error"`
			RequestID string `json:"request_id"`
		}{messages[code], id})
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "<!doctype html>\n<meta charset=\"utf-8\"><title>%d %s</title>\n"+
		"<h1>%d %s</h1>\n<p>Please try again in %d seconds.</p>\n<p><small>Request %s</small></p>\n",
		code, http.StatusText(code), code, http.StatusText(code), secs, html.EscapeString(id))
}
