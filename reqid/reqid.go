// Package reqid gives each request an identifier that travels in its
// context, the X-Request-ID header, the access log and error bodies.
package reqid

import (
	"context"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
)

// Header is the header that carries the request id.
const Header = "X-Request-Id"

type ctxKey struct{}

// New returns a fresh random id of 16 hex digits.
func New() string {
	var b [8]byte
	n := rand.Uint64()
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the id in ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Valid reports whether an incoming id is safe to keep: 1 to 128 bytes of
// letters, digits, '-', '_', '.' or ':'.
func Valid(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// Middleware sets a new id on the request context, the request header seen
// by later handlers, and the response header. A client-sent X-Request-ID is
// replaced: only a trusted proxy in front could vouch for it (see Trusting).
func Middleware(next http.Handler) http.Handler { return Trusting(nil)(next) }

// Trusting is Middleware that keeps a valid X-Request-ID (see Valid) when
// trusted reports that the request comes from a trusted proxy, and
// generates a new id otherwise. A nil trusted trusts no one.
func Trusting(trusted func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(Header)
			if !Valid(id) || trusted == nil || !trusted(r) {
				id = New()
			}
			r.Header[Header] = []string{id}
			w.Header()[Header] = []string{id}
			next.ServeHTTP(w, r.WithContext(With(r.Context(), id)))
		})
	}
}
