package release

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"

	"golang.org/x/net/html"
)

// ErrInvalidBuild is the cause of every problem Validate reports.
var ErrInvalidBuild = errors.New("invalid build")

// maxIndexSize bounds the index.html Validate reads.
const maxIndexSize = 8 << 20

// Validate checks that dir is a frontend build: it has index.html, and
// every local file index.html references (script/img/source src, srcset,
// link href, video poster, object data) exists in dir. It returns the
// local references found, as slash-separated paths relative to dir.
func Validate(dir string) ([]string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBuild, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrInvalidBuild, dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open build: %w", err)
	}
	defer root.Close()
	f, err := root.Open("index.html")
	if err != nil {
		return nil, fmt.Errorf("%w: %s has no index.html (fix: pass the build output directory, such as dist/)", ErrInvalidBuild, dir)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxIndexSize))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("read index.html: %w", err)
	}
	refs := References(data)
	var missing []string
	for _, r := range refs {
		if fi, err := root.Stat(r); err != nil || !fi.Mode().IsRegular() {
			missing = append(missing, "/"+r)
		}
	}
	if len(missing) > 0 {
		return refs, fmt.Errorf("%w: index.html references %d missing file(s): %s (fix: rebuild; check the bundler's base path)",
			ErrInvalidBuild, len(missing), strings.Join(missing, ", "))
	}
	return refs, nil
}

// navRels are link relations that name pages or other hosts, not assets
// of the page.
var navRels = map[string]bool{
	"canonical": true, "alternate": true, "dns-prefetch": true, "preconnect": true,
	"me": true, "author": true, "help": true, "license": true, "next": true, "prev": true,
	"search": true, "bookmark": true, "external": true, "nofollow": true,
}

// References returns the local files an HTML page loads, relative to the
// site root, without duplicates and in page order. URLs with a scheme or a
// host, fragments, data: URLs and paths ending in "/" are not files.
func References(page []byte) []string {
	z := html.NewTokenizer(bytes.NewReader(page))
	var refs []string
	seen := map[string]bool{}
	add := func(raw string) {
		if p, ok := localPath(raw); ok && !seen[p] {
			seen[p] = true
			refs = append(refs, p)
		}
	}
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return refs
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		for _, v := range assetURLs(tok) {
			add(v)
		}
	}
}

// assetURLs returns the URLs an element makes the browser load.
func assetURLs(tok html.Token) []string {
	attrs := map[string]string{}
	for _, a := range tok.Attr {
		attrs[strings.ToLower(a.Key)] = a.Val
	}
	var urls []string
	switch tok.Data {
	case "link":
		rels := strings.Fields(strings.ToLower(attrs["rel"]))
		for _, r := range rels {
			if navRels[r] {
				return nil
			}
		}
		urls = append(urls, attrs["href"])
	case "script", "img", "source", "iframe", "embed", "audio", "video", "track", "input":
		urls = append(urls, attrs["src"])
	case "object":
		urls = append(urls, attrs["data"])
	}
	if tok.Data == "video" {
		urls = append(urls, attrs["poster"])
	}
	if s, ok := attrs["srcset"]; ok && (tok.Data == "img" || tok.Data == "source") {
		for cand := range strings.SplitSeq(s, ",") {
			if f := strings.Fields(cand); len(f) > 0 {
				urls = append(urls, f[0])
			}
		}
	}
	return urls
}

// localPath turns a URL from the page into a path relative to the site
// root, or reports false when it is not a local file.
func localPath(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.HasPrefix(raw, "#") || strings.HasPrefix(raw, "//") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "" || strings.HasSuffix(u.Path, "/") {
		return "", false
	}
	p := path.Clean("/" + u.Path)
	if p == "/" {
		return "", false
	}
	return strings.TrimPrefix(p, "/"), true
}
