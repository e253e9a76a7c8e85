package proxy

import (
	"context"
	"errors"
	"github.com/gitcourse/edge/clientaddr"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gitcourse/edge/reqid"
)

// outgoing is the request sent upstream and its URL, allocated together.
type outgoing struct {
	req http.Request
	url url.URL
}

// Static values shared by outgoing header maps; nothing writes to them.
var (
	protoHTTP   = []string{"http"}
	protoHTTPS  = []string{"https"}
	teTrailers  = []string{"trailers"}
	errSwitched = errors.New("upstream switched protocols without an upgrade request")
)

// isUpgradeRequest reports whether r asks for a protocol upgrade; those go
// through httputil.ReverseProxy, which hands the connection over.
func isUpgradeRequest(r *http.Request) bool {
	_, ok := r.Header["Upgrade"]
	return ok
}

// serveDirect forwards a request that is not an upgrade without
// httputil.ReverseProxy: the outgoing header map is built once from the
// incoming one (hop-by-hop and forwarding fields left out, then set), the
// response header copied once, the body copied with a pooled buffer and
// flushed as it arrives for event streams and responses without a length.
// The behaviour is ReverseProxy's with rewrite and modifyResponse.
func (rt *Route) serveDirect(w *responseWriter, r *http.Request) {
	out := rt.outgoingRequest(r)
	if out.Body != nil {
		defer out.Body.Close()
	}
	res, err := rt.exchange(out)
	if err != nil {
		rt.handleError(w, out, err)
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		res.Body.Close()
		rt.handleError(w, out, errSwitched)
		return
	}
	announced := copyResponseHeader(w.Header(), res, r.TLS == nil, reqid.From(r.Context()) != "")
	w.WriteHeader(res.StatusCode)
	if err := rt.copyBody(w, res, streaming(res)); err != nil {
		res.Body.Close()
		if r.Context().Value(http.ServerContextKey) != nil {
			panic(http.ErrAbortHandler) // the client sees a cut connection
		}
		return
	}
	res.Body.Close()
	copyTrailers(w, res, announced)
}

// outgoingRequest builds the request for the upstream rewrite would pick,
// as ReverseProxy's Clone, hop-by-hop removal and rewrite did.
func (rt *Route) outgoingRequest(r *http.Request) *http.Request {
	o := &outgoing{req: *r, url: *r.URL}
	out := &o.req
	out.URL = &o.url
	if r.ContentLength == 0 {
		out.Body = nil
	}
	out.Close = false
	u := rt.pick()
	o.url.Scheme, o.url.Host = u.url.Scheme, u.url.Host
	o.url.RawQuery = cleanQueryParams(o.url.RawQuery)
	if !rt.passHost {
		out.Host = ""
	}
	out.Header = rt.outgoingHeader(r)
	return out
}

// outgoingHeader copies the incoming fields an upstream may see and sets
// the forwarding ones (see forwarded, which does the same on the upgrade
// path). Keys of the incoming map are canonical already.
func (rt *Route) outgoingHeader(r *http.Request) http.Header {
	in := r.Header
	h := make(http.Header, len(in)+5)
	for k, vv := range in {
		switch k {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
			"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
			"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip":
			continue
		}
		h[k] = vv
	}
	for _, f := range in["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = strings.TrimSpace(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	if hasToken(in["Te"], "trailers") {
		h["Te"] = teTrailers
	}
	rt.setForwarded(h, r)
	return h
}

// setForwarded sets X-Forwarded-*, X-Real-IP and X-Request-ID on h from
// what edge saw of r, keeping a trusted proxy's values as forwarded does.
// The one-value fields share one backing array (full slice expressions:
// an append copies).
func (rt *Route) setForwarded(h http.Header, r *http.Request) {
	in := r.Header
	vals := make([]string, 3)
	// Both facts come from the request context (package clientaddr):
	// without it nothing a client sent is kept.
	trusted := clientaddr.ViaTrustedProxy(r.Context())
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := in["X-Forwarded-For"]; trusted && len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		vals[0] = ip
		h["X-Forwarded-For"] = vals[0:1:1]
	}
	fwdHost, proto := r.Host, protoHTTP
	if r.TLS != nil {
		proto = protoHTTPS
	}
	if trusted {
		switch in.Get("X-Forwarded-Proto") {
		case "http":
			proto = protoHTTP
		case "https":
			proto = protoHTTPS
		}
		if v := in.Get("X-Forwarded-Host"); v != "" {
			fwdHost = v
		}
	}
	vals[1] = fwdHost
	h["X-Forwarded-Host"] = vals[1:2:2]
	h["X-Forwarded-Proto"] = proto
	if client := clientaddr.Client(r); client.IsValid() {
		vals[2] = client.String()
		h["X-Real-Ip"] = vals[2:3:3]
	}
	if id := reqid.From(r.Context()); id != "" {
		if cur := in[reqid.Header]; len(cur) == 1 && cur[0] == id {
			h[reqid.Header] = cur // set so by the request-id middleware
		} else {
			h[reqid.Header] = []string{id}
		}
	} else if !trusted || !reqid.Valid(in.Get(reqid.Header)) {
		delete(h, reqid.Header)
	}
}

// copyResponseHeader adds the upstream's fields to dst, without the
// hop-by-hop ones and those modifyResponse drops, and announces the
// trailers; it returns how many were announced.
func copyResponseHeader(dst http.Header, res *http.Response, plain, ownID bool) int {
	src := res.Header
	for _, f := range src["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = strings.TrimSpace(sf); sf != "" {
				src.Del(sf)
			}
		}
	}
	for k, vv := range src {
		switch k {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
			"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Server":
			continue
		case "Strict-Transport-Security":
			if plain {
				continue
			}
		case reqid.Header:
			if ownID {
				continue
			}
		}
		if have := dst[k]; len(have) > 0 {
			dst[k] = append(have[:len(have):len(have)], vv...)
		} else {
			dst[k] = vv
		}
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	return announced
}

// copyTrailers sends the response's trailers after its body, as
// ReverseProxy does: announced ones as they are, the others with
// http.TrailerPrefix.
func copyTrailers(w *responseWriter, res *http.Response, announced int) {
	if len(res.Trailer) == 0 {
		return
	}
	_ = w.FlushError()
	h := w.Header()
	for k, vv := range res.Trailer {
		if len(res.Trailer) != announced {
			k = http.TrailerPrefix + k
		}
		for _, v := range vv {
			h.Add(k, v)
		}
	}
}

// streaming reports whether the response is flushed as it arrives: an
// event stream, or a body of unknown length.
func streaming(res *http.Response) bool {
	if res.ContentLength == -1 {
		return true
	}
	ct := strings.TrimLeft(res.Header.Get("Content-Type"), " \t")
	const sse = "text/event-stream"
	if len(ct) < len(sse) || !strings.EqualFold(ct[:len(sse)], sse) {
		return false
	}
	rest := strings.TrimLeft(ct[len(sse):], " \t")
	return rest == "" || rest[0] == ';'
}

// copyBody copies the response body to w through a pooled buffer,
// flushing after every write when flush is set (and the header at once).
// It returns the first read or write error; a read error is logged.
func (rt *Route) copyBody(w *responseWriter, res *http.Response, flush bool) error {
	if res.Body == http.NoBody {
		if flush {
			_ = w.FlushError()
		}
		return nil
	}
	if flush {
		_ = w.FlushError()
	}
	buf := buffers.Get()
	defer buffers.Put(buf)
	for {
		nr, rerr := res.Body.Read(buf)
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			if werr != nil {
				return werr
			}
			if nw != nr {
				return io.ErrShortWrite
			}
			if flush {
				_ = w.FlushError()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			if !errors.Is(rerr, context.Canceled) && rt.errLog.allow(rt.now()) {
				rt.log.Warn("upstream response body cut", "upstream", res.Request.URL.Host, "error", rerr,
					"request_id", reqid.From(res.Request.Context()), "similar_suppressed", rt.errLog.takeSuppressed())
			}
			return rerr
		}
	}
}

// cleanQueryParams drops query parameters that net/url cannot parse (a
// ';' or a bad %-escape), as ReverseProxy does with Rewrite.
func cleanQueryParams(s string) string {
	reencode := func(s string) string {
		v, _ := url.ParseQuery(s)
		return v.Encode()
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return reencode(s)
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return reencode(s)
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
