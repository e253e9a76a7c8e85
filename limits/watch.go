package limits

import (
	"net/http"
	"net/netip"
)

// statusWatch sees the status an upstream answers on a banning rule's
// path: a 401 or 403 counts as a rejection before the response leaves, so
// the client's next request already meets the ban.
type statusWatch struct {
	http.ResponseWriter
	s    *Set
	rl   *rule
	key  netip.Addr
	seen bool
}

// WriteHeader counts a 401 or 403, then passes the status on.
func (sw *statusWatch) WriteHeader(code int) {
	if !sw.seen && code >= 200 {
		sw.seen = true
		if code == http.StatusUnauthorized || code == http.StatusForbidden {
			sw.s.rejected(sw.rl, sw.key, sw.s.now())
		}
	}
	sw.ResponseWriter.WriteHeader(code)
}

// Write implies 200 when no status was written.
func (sw *statusWatch) Write(b []byte) (int, error) {
	sw.seen = true
	return sw.ResponseWriter.Write(b)
}

// Flush passes a flush through, for streaming responses.
func (sw *statusWatch) Flush() {
	if f, ok := sw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (sw *statusWatch) Unwrap() http.ResponseWriter { return sw.ResponseWriter }
