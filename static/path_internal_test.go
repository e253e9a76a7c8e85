package static

import (
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		{"root", "/", "", true},
		{"file", "/index.html", "index.html", true},
		{"nested", "/assets/app.js", "assets/app.js", true},
		{"dir", "/docs/", "docs/", true},
		{"well-known", "/.well-known/security.txt", ".well-known/security.txt", true},
		{"unicode", "/kurs/ü.html", "kurs/ü.html", true},
		{"empty", "", "", false},
		{"relative", "index.html", "", false},
		{"dotdot", "/../x", "", false},
		{"dot", "/./x", "", false},
		{"trailing dotdot", "/a/..", "", false},
		{"dotfile", "/.env", "", false},
		{"nested dotfile", "/a/.git/config", "", false},
		{"nested well-known", "/a/.well-known/x", "", false},
		{"double slash", "//x", "", false},
		{"inner double slash", "/a//b", "", false},
		{"backslash", `/a\b`, "", false},
		{"nul", "/a\x00.js", "", false},
		{"newline", "/a\n", "", false},
		{"del", "/a\x7f", "", false},
		{"percent", "/a%2e", "", false},
		{"invalid utf8", "/\xc0\xae\xc0\xae/x", "", false},
		{"too long", "/" + strings.Repeat("a", maxPathLen), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := cleanName(tc.in)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("cleanName(%q): got %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// FuzzCleanName checks the invariants every accepted name keeps, whatever
// the input: relative, clean, no dot segments or dotfiles (but the first
// .well-known), no backslash, control byte or "%", valid UTF-8.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"/", "/a/b.js", "/../x", "/.env", "/.well-known/x", "//x", `/a\b`, "/a%00", "/\xc0\xae", "/．．/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, ok := cleanName(in)
		if !ok {
			if name != "" {
				t.Fatalf("cleanName(%q): got %q with false, want empty", in, name)
			}
			return
		}
		if "/"+name != in {
			t.Fatalf("cleanName(%q): got %q, want the path without its leading slash", in, name)
		}
		if !utf8.ValidString(name) || strings.ContainsAny(name, "\\%\x00") {
			t.Fatalf("cleanName(%q): got %q with a forbidden byte", in, name)
		}
		if name != "" && path.Clean(name) != strings.TrimSuffix(name, "/") {
			t.Fatalf("cleanName(%q): got %q, not clean", in, name)
		}
		for i, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
			if seg == "" && name != "" || seg == ".." || seg == "." {
				t.Fatalf("cleanName(%q): got %q with segment %q", in, name, seg)
			}
			if strings.HasPrefix(seg, ".") && (i != 0 || seg != ".well-known") {
				t.Fatalf("cleanName(%q): got %q with dotfile %q", in, name, seg)
			}
		}
		for _, c := range []byte(name) {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("cleanName(%q): got %q with control byte %#x", in, name, c)
			}
		}
	})
}

func TestNegotiate(t *testing.T) {
	prefs := []string{encBrotli, encGzip}
	tests := []struct {
		name, accept, want string
	}{
		{"empty", "", encIdentity},
		{"gzip", "gzip", encGzip},
		{"br", "br", encBrotli},
		{"both prefers br", "gzip, br", encBrotli},
		{"br refused", "br;q=0, gzip", encGzip},
		{"br refused q=0.0", "br;q=0.0, gzip", encGzip},
		{"low but non-zero", "gzip;q=0.001", encGzip},
		{"star", "*", encBrotli},
		{"star zero", "*;q=0", encIdentity},
		{"star with br refused", "*, br;q=0", encGzip},
		{"identity", "identity", encIdentity},
		{"unknown", "zstd, deflate", encIdentity},
		{"case", "BR", encBrotli},
		{"spaces", " gzip ; q=0.5 ", encGzip},
		{"bad q ignored", "br;q=x, gzip", encGzip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := negotiate(tc.accept, prefs); got != tc.want {
				t.Errorf("negotiate(%q): got %q, want %q", tc.accept, got, tc.want)
			}
		})
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "gzip", "br;q=0, gzip", "*;q=0", "br;q=", ";;,,", "gzip;q=1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		switch got := negotiate(accept, []string{encBrotli, encGzip}); got {
		case encIdentity, encBrotli, encGzip:
		default:
			t.Fatalf("negotiate(%q): got %q, want one of the offered encodings", accept, got)
		}
	})
}
