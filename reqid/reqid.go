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

// idCtx is a context carrying a request id, and the one-element slice
// that carries it in the request's and the response's X-Request-Id, all
// in one allocation. Value answers ctxKey with the *idCtx itself, so that
// neither With nor From boxes the string.
type idCtx struct {
	context.Context
	id   string
	vals [1]string
}

// Value implements context.Context.
func (c *idCtx) Value(key any) any {
	if key == (ctxKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// String implements fmt.Stringer, as context.WithValue's contexts do.
func (c *idCtx) String() string { return "reqid.With(" + c.id + ")" }

// with returns ctx carrying id.
func with(ctx context.Context, id string) *idCtx {
	c := &idCtx{Context: ctx, id: id}
	c.vals[0] = id
	return c
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context { return with(ctx, id) }

// From returns the id in ctx, or "".
func From(ctx context.Context) string {
	if c, ok := ctx.Value(ctxKey{}).(*idCtx); ok {
		return c.id
	}
	return ""
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
			c := with(r.Context(), id)
			// One slice in both maps: nothing writes into a field's
			// values in place, and an append copies (cap 1).
			vals := c.vals[:]
			r.Header[Header] = vals
			w.Header()[Header] = vals
			next.ServeHTTP(w, r.WithContext(c))
		})
	}
}
