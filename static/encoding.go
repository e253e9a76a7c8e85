package static

import (
	"strconv"
	"strings"
)

// Encodings edge can serve.
const (
	encIdentity = ""
	encBrotli   = "br"
	encGzip     = "gzip"
)

// negotiate picks the first encoding of prefs that the Accept-Encoding
// header accepts with a non-zero quality, or identity.
func negotiate(accept string, prefs []string) string {
	if accept == "" {
		return encIdentity
	}
	for _, enc := range prefs {
		if q, ok := quality(accept, enc); ok && q > 0 {
			return enc
		}
	}
	return encIdentity
}

// quality returns the q-value Accept-Encoding gives enc (or "*").
func quality(accept, enc string) (float64, bool) {
	star, starOK := 0.0, false
	for part := range strings.SplitSeq(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		switch {
		case strings.EqualFold(name, enc):
			return q, true
		case name == "*":
			star, starOK = q, true
		}
	}
	return star, starOK
}
