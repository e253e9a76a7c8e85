package proxy

import "net/http"

// checkIncoming returns why a request that came over HTTP/2 (or a later
// version) cannot be forwarded as HTTP/1.1, "" when it can (RFC 9113
// 8.1.1 and 8.3.1): its method must be a token, its :path an origin-form
// target ("*" for OPTIONS) without space, control character or '#', and a
// content-length a plain decimal that agrees with the body the server
// announced. HTTP/1.x requests have been held to the same rules by the
// server's parser.
func checkIncoming(r *http.Request) string {
	if r.ProtoMajor < 2 {
		return ""
	}
	if !validToken(r.Method) {
		return "method is not a token"
	}
	uri := r.RequestURI
	if uri == "" || (uri[0] != '/' && (uri != "*" || r.Method != http.MethodOptions)) {
		return ":path is not an origin-form target"
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c == 0x7f || c == '#' {
			return ":path holds a space, control character or '#'"
		}
	}
	if vv, ok := r.Header["Content-Length"]; ok {
		for _, v := range vv {
			n, ok := parseDecimal(v)
			if !ok {
				return "content-length is not a plain decimal"
			}
			if v != vv[0] || n != r.ContentLength {
				return "content-length disagrees with the request body"
			}
		}
	}
	return ""
}

// refuse answers 400 for a request checkIncoming turned down, and logs why
// (rate-limited: the client controls how often).
func (rt *Route) refuse(w http.ResponseWriter, r *http.Request, reason string) {
	if rt.errLog.allow(rt.now()) {
		rt.log.Info("request refused", "reason", reason, "proto", r.Proto, "remote", r.RemoteAddr,
			"similar_suppressed", rt.errLog.takeSuppressed())
	}
	writeError(w, r, http.StatusBadRequest)
}
