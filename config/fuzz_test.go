package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
)

// fuzzFile is the file name FuzzParse passes; every problem must start
// with it.
const fuzzFile = "fuzz.toml"

// FuzzParse feeds arbitrary bytes to Parse and Validate: they must not
// panic, and every error must be an *config.Errors whose problems each
// start with the file name.
func FuzzParse(f *testing.F) {
	spec, err := os.ReadFile(filepath.Join("testdata", "spec.toml"))
	if err != nil {
		f.Fatal(err)
	}
	invalid, err := os.ReadFile(filepath.Join("testdata", "invalid.toml"))
	if err != nil {
		f.Fatal(err)
	}
	s := string(spec)
	seeds := []string{
		s,
		string(invalid),
		s[:len(s)/2],                      // cut in the middle of a table
		s[:strings.Index(s, "health")+12], // cut inside an inline table
		strings.Replace(s, "[server]", "[server]\nbogus = 1", 1),                       // unknown key
		strings.Replace(s, `connect = "2s"`, `conect = "2s"`, 1),                       // unknown key in an inline table
		strings.Replace(s, "${DATABASE_URL}", "${DATABASE_URL", 1),                     // unclosed ${
		strings.Replace(s, "${SMTP_USER}", "${1-bad}", 1),                              // bad variable name
		strings.Replace(s, `"10MB"`, `"10XB"`, 1),                                      // bad size
		strings.Replace(s, `"90s"`, `"90"`, 1),                                         // bad duration
		strings.Replace(s, `http  = ":80"`, `http  = 80`, 1),                           // wrong type
		strings.Replace(s, "[tls]", "[server]", 1),                                     // duplicate table
		strings.Replace(s, "certificates = []", `certificates = [{ cert = "/c" }]`, 1), // half a certificate
		s + "\n[[route]]\npath = \"/api/\"\n[route.health]\npath = \"x\"\n",            // sub-table of an array table
		s + "\n[[route.extra]]\na = 1\n[[route.extra]]\nb = 2\n",                       // nested array tables
		"", "\n", "#", "=", "[", "[[", "[]", "a = ", `a = "`, "a = '''", `a = """`,
		"[server]\nhttp = \"\"\nhttps = \"\"\n",
		"[site]\ndomains = [\"127.0.0.1\", \"1.2.3.4\", \"UPPER\", \"a..b\"]\nroot = \"/\"\n",
		"[admin]\nusers = { \"\" = \"\", \"a.b\" = \"$$$${X}\" }\n",
		"[headers]\nhsts = \"max-age=1; max-age=2\"\ncsp = \"\"\"\n\"\"\"\n",
		"a.b.c.d.e = 1\n[a.b]\n[[a.b.x]]\n",
		"[[check]]\n[[check]]\nname = \"\"\n[check.y]\n",
		"x = [[], [{}], {a = [1, {b = 2}]}]\n",
		"\x00\xff\xfe[server]\r\nhttp = \":80\"\r\n",
	}
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}
	lookup := func(string) (string, bool) { return "postgres://fuzz:fuzz@127.0.0.1/fuzz", true }

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(bytes.NewReader(data), fuzzFile, lookup)
		if cfg == nil && err == nil {
			t.Fatal("Parse returned neither a config nor an error")
		}
		checkFuzzErr(t, "Parse", err, data)
		if cfg == nil {
			return
		}
		if cfg.File != fuzzFile {
			t.Errorf("File: got %q, want %q", cfg.File, fuzzFile)
		}
		checkFuzzErr(t, "Validate", cfg.Validate(), data)
	})
}

func checkFuzzErr(t *testing.T, what string, err error, data []byte) {
	t.Helper()
	if err == nil {
		return
	}
	errs, ok := err.(*config.Errors)
	if !ok {
		t.Fatalf("%s: error %T %q is not a *config.Errors", what, err, err)
	}
	if len(errs.List) == 0 {
		t.Fatalf("%s: *config.Errors with no problems", what)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	for _, fe := range errs.List {
		if fe == nil || fe.Err == nil {
			t.Fatalf("%s: nil problem or cause in %#v", what, errs.List)
		}
		if msg := fe.Error(); !strings.HasPrefix(msg, fuzzFile+":") {
			t.Errorf("%s: problem %q does not start with %q", what, msg, fuzzFile+":")
		}
		if fe.Line < 0 || fe.Line > lines {
			t.Errorf("%s: problem %q has line %d, the input has %d lines", what, fe.Error(), fe.Line, lines)
		}
	}
}

// FuzzByteSize: ParseByteSize never panics, never returns a negative
// size, and reads back what ByteSize writes.
func FuzzByteSize(f *testing.F) {
	for _, s := range []string{"10MB", "2GB", "1.5MiB", "0", "", "-1", "1e3", "0x1p4", "4.1MB", "9999999999TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := config.ParseByteSize(s)
		if err != nil {
			if !errors.Is(err, config.ErrByteSize) {
				t.Fatalf("ParseByteSize(%q): got %q, want errors.Is ErrByteSize", s, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseByteSize(%q): got %d, want >= 0", s, n)
		}
		out, _ := config.ByteSize{Bytes: n}.MarshalText()
		if back, err := config.ParseByteSize(string(out)); err != nil || back != n {
			t.Fatalf("ParseByteSize(%q) = %d; reading back %q: got %d, %v", s, n, out, back, err)
		}
	})
}

// FuzzExpand: Expand never panics; without "$" in the input it returns the
// input unchanged.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"${A}", "$${A}", "${", "${}", "a$", "$$", "${A}${B", "x${A}y${A}z"} {
		f.Add(s)
	}
	lookup := func(name string) (string, bool) { return "<" + name + ">", name != "MISSING" }
	f.Fuzz(func(t *testing.T, s string) {
		out, err := config.Expand(s, lookup)
		if !strings.Contains(s, "$") && (err != nil || out != s) {
			t.Fatalf("Expand(%q): got %q, %v, want the input unchanged", s, out, err)
		}
	})
}
