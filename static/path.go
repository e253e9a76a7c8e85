package static

import (
	"path"
	"strings"
	"unicode/utf8"
)

// maxPathLen bounds the URL path; longer ones are refused.
const maxPathLen = 2048

// cleanName turns a decoded URL path into a name relative to the root, or
// reports false when the path must never reach the file system: dot
// segments, dotfiles (except /.well-known/), backslashes, NUL and other
// control bytes, invalid or overlong UTF-8, and a "%" left after decoding
// (double encoding). A trailing "/" is kept so directories can be told.
func cleanName(p string) (string, bool) {
	if len(p) == 0 || p[0] != '/' || len(p) > maxPathLen || !utf8.ValidString(p) {
		return "", false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x20 || c == 0x7f || c == '\\' || c == '%' {
			return "", false
		}
	}
	rest := p[1:]
	for first := true; rest != ""; first = false {
		seg, tail, _ := strings.Cut(rest, "/")
		if seg == "" && tail != "" { // "//"
			return "", false
		}
		if strings.HasPrefix(seg, ".") && !(first && seg == ".well-known") {
			return "", false
		}
		rest = tail
	}
	name := p[1:]
	if name != "" && path.Clean(name) != strings.TrimSuffix(name, "/") {
		return "", false
	}
	return name, true
}

// hasExtension reports whether the last segment of name has a dot, which
// marks a file request (no SPA fallback) rather than an app route.
func hasExtension(name string) bool {
	base := name[strings.LastIndexByte(name, '/')+1:]
	return strings.IndexByte(base, '.') >= 0
}
