package release

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// Precompression limits: smaller files gain nothing worth a request
// header, and larger ones are rare in a frontend build and slow to
// compress at the strongest level.
const (
	minCompressSize = 1 << 10
	maxCompressSize = 32 << 20
)

// compressibleExt lists the extensions of text-like files that shrink
// well; images, fonts in woff/woff2 and media are compressed already.
var compressibleExt = map[string]bool{
	".html": true, ".htm": true, ".css": true, ".js": true, ".mjs": true, ".cjs": true,
	".json": true, ".map": true, ".webmanifest": true, ".txt": true, ".xml": true,
	".svg": true, ".wasm": true, ".ico": true, ".ttf": true, ".otf": true, ".eot": true,
	".csv": true, ".md": true, ".rss": true, ".atom": true,
}

// shouldCompress reports whether a build file gets .br and .gz sidecars.
func shouldCompress(name string, size int64) bool {
	return size >= minCompressSize && size <= maxCompressSize && compressibleExt[strings.ToLower(path.Ext(name))]
}

// compress encodes data as "br" (brotli, best level) or "gz" (gzip, best
// level).
func compress(data []byte, enc string) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "br":
		w = brotli.NewWriterLevel(&buf, brotli.BestCompression)
	case "gz":
		gw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		w = gw
	default:
		return nil, fmt.Errorf("unknown encoding %q", enc)
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
