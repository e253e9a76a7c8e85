package config_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestParseUnknownKeys: an unknown key anywhere is reported as
// FILE:LINE: key: unknown key, with its own line and indexed key path.
func TestParseUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []problem
	}{
		{
			name: "top level",
			src: `edge = true
[server]
http = ":80"
`,
			want: []problem{{1, "edge", nil}},
		},
		{
			name: "in [server]",
			src: `[server]
http = ":80"
htps = ":443"
`,
			want: []problem{{3, "server.htps", nil}},
		},
		{
			name: "unknown table",
			src: `[server]
http = ":80"

[sever]
https = ":443"
`,
			want: []problem{{4, "sever", nil}},
		},
		{
			name: "inside an inline table",
			src: `[[route]]
path = "/api/"
upstreams = ["127.0.0.1:8000"]
timeouts = { conect = "2s", idle = "90s" }
`,
			want: []problem{{4, "route[0].timeouts.conect", nil}},
		},
		{
			name: "in the second [[route]]",
			src: `[[route]]
path = "/api/"
upstreams = ["127.0.0.1:8000"]

[[route]]
path = "/auth/"
upstream = ["127.0.0.1:9000"]
`,
			want: []problem{{7, "route[1].upstream", nil}},
		},
		{
			name: "in a sub-table of the second [[route]]",
			src: `[[route]]
path = "/a/"
upstreams = ["127.0.0.1:8000"]
[[route]]
path = "/b/"
upstreams = ["127.0.0.1:8001"]
[route.health]
path = "/health"
intervall = "5s"
`,
			want: []problem{{9, "route[1].health.intervall", nil}},
		},
		{
			name: "in the third [[check]]",
			src: `[[check]]
name = "a"
tcp = "127.0.0.1:1"
[[check]]
name = "b"
tcp = "127.0.0.1:2"
[[check]]
name = "c"
tcp = "127.0.0.1:3"
every = "5s"
`,
			want: []problem{{10, "check[2].every", nil}},
		},
		{
			name: "inline table inside an array",
			src: `[tls]
certificates = [
  { cert = "/c.pem", key = "/k.pem" },
  { cert = "/c2.pem", keyy = "/k2.pem" },
]
`,
			want: []problem{{4, "tls.certificates[1].keyy", nil}},
		},
		{
			name: "dotted key",
			src: `[alerts]
email.smtp = "smtp.example.com:587"
email.form = "edge@example.com"
`,
			want: []problem{{3, "alerts.email.form", nil}},
		},
		{
			// The decoder alone matches keys case-insensitively and would
			// take HTTPS for https, leaving https at its default.
			name: "keys are case-sensitive",
			src: `[server]
HTTPS = ""
[site]
Domains = ["example.com"]
`,
			want: []problem{{2, "server.HTTPS", nil}, {4, "site.Domains", nil}},
		},
		{
			name: "quoted key",
			src: `[server]
"http" = ":80"
"state dir" = "/x"
`,
			want: []problem{{3, "server.state dir", nil}},
		},
		{
			name: "unknown key repeated in array tables: each one",
			src: `[[route]]
path = "/a/"
x = 1
[[route]]
path = "/b/"
x = 2
`,
			want: []problem{{3, "route[0].x", nil}, {6, "route[1].x", nil}},
		},
		{
			name: "several at once, in line order",
			src: `[server]
http = ":80"
shutdown = "5s"
[site]
domain = ["example.com"]
[alerts]
email = { smtp = "smtp.example.com:587", form = "a@example.com" }
`,
			want: []problem{
				{3, "server.shutdown", nil},
				{5, "site.domain", nil},
				{7, "alerts.email.form", nil},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse(t, tt.src, "strict.toml", nil)
			got := fieldErrors(t, err, "strict.toml")
			checkProblems(t, got, tt.want)
			for i, fe := range got {
				want := "strict.toml:" + itoa(tt.want[i].line) + ": " + tt.want[i].key + ": unknown key"
				if !strings.HasPrefix(fe.Error(), want) {
					t.Errorf("got %q, want it to start with %q", fe.Error(), want)
				}
			}
			if cfg == nil {
				t.Errorf("got no config: Parse must return the decoded config with unknown keys so that Validate can report the rest")
			}
		})
	}
}

// TestParseUserNames: admin.users is a map, so any user name is allowed.
func TestParseUserNames(t *testing.T) {
	src := `[admin]
users = { alice = "${H}", "bob.smith" = "${H}" }
`
	cfg, err := parse(t, src, "edge.toml", map[string]string{"H": testHash})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	for _, name := range []string{"alice", "bob.smith"} {
		if got := cfg.Admin.Users[name].Reveal(); got != testHash {
			t.Errorf("admin.users[%q]: got %q, want %q", name, got, testHash)
		}
	}
}

// TestParseInvalidTOML: a document that does not decode gives one problem
// with its line and no config.
func TestParseInvalidTOML(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want problem
	}{
		{"unterminated string", "[server]\nhttp = \":80\n", problem{2, "", nil}},
		{"missing value", "[server]\n\nhttp =\n", problem{3, "", nil}},
		{"bad table header", "[server]\nhttp = \":80\"\n[site\n", problem{3, "", nil}},
		{"string for a table", "server = \":80\"\n", problem{1, "server", nil}},
		{"integer for a string", "[server]\nhttp = 80\n", problem{2, "server.http", nil}},
		// Inside an inline table the decoder names only the table's key.
		{"integer for a secret", "[admin]\nusers = { bob = 1 }\n", problem{2, "admin.users", nil}},
		{"integer for a secret in a table", "[admin.users]\nbob = 1\n", problem{2, "admin.users.bob", nil}},
		{"date for a duration", "[alerts]\n\nrepeat = 2024-01-01\n", problem{3, "alerts.repeat", nil}},
		{"array for a duration", "[[route]]\npath = \"/a/\"\n[[route]]\npath = \"/b/\"\ntimeouts = { idle = [1] }\n", problem{5, "route[1].timeouts", nil}},
		{"duplicate key", "[server]\nhttp = \":80\"\nhttp = \":81\"\n", problem{3, "server.http", nil}},
		{"duplicate table", "[server]\nhttp = \":80\"\n[server]\n", problem{3, "server", nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse(t, tt.src, "bad.toml", nil)
			if cfg != nil {
				t.Errorf("got a config, want nil")
			}
			checkProblems(t, fieldErrors(t, err, "bad.toml"), []problem{tt.want})
		})
	}

	t.Run("file larger than 1 MiB", func(t *testing.T) {
		src := "# " + strings.Repeat("x", 1<<20) + "\n"
		cfg, err := parse(t, src, "big.toml", nil)
		if cfg != nil {
			t.Errorf("got a config, want nil")
		}
		got := fieldErrors(t, err, "big.toml")
		if len(got) != 1 || !strings.Contains(got[0].Error(), "1 MiB") {
			t.Errorf("got %q, want one problem about the size", err)
		}
	})
}

// TestParseTooManyUnknownKeys: a file with hundreds of unknown keys is
// not an edge config; the first 100 are reported, then a summary.
func TestParseTooManyUnknownKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("[server]\nhttp = \":80\"\n")
	for i := range 150 {
		fmt.Fprintf(&b, "key%03d = %d\n", i, i)
	}
	cfg, err := parse(t, b.String(), "big.toml", nil)
	if cfg != nil {
		t.Errorf("got a config, want nil")
	}
	got := fieldErrors(t, err, "big.toml")
	if len(got) != 101 {
		t.Fatalf("got %d problems, want 100 and a summary", len(got))
	}
	if got[0].Line != 3 || got[0].Key != "server.key000" {
		t.Errorf("first problem: got %q, want line 3, server.key000", got[0].Error())
	}
	last := got[100]
	if want := "big.toml:103: 50 more unknown keys"; !strings.HasPrefix(last.Error(), want) {
		t.Errorf("got %q, want it to start with %q", last.Error(), want)
	}
}

// TestParseLargeFile: Parse and Validate stay fast on files up to the size
// limit. Quadratic passes used to take minutes on such files.
func TestParseLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	gens := []struct {
		name string
		line func(i int) string
	}{
		{"unknown keys", func(i int) string { return fmt.Sprintf("k%d = 1\n", i) }},
		{"array tables", func(int) string { return "[[check]]\nname = \"x\"\n" }},
		{"variables", func(int) string { return "[[check]]\nname = \"${A}\"\n" }},
		{"long array", func(int) string { return "\"example.com\",\n" }},
	}
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			var b strings.Builder
			if g.name == "long array" {
				b.WriteString("[site]\ndomains = [\n")
			}
			for i := 0; b.Len() < 1<<20-100; i++ {
				b.WriteString(g.line(i))
			}
			if g.name == "long array" {
				b.WriteString("]\n")
			}
			start := time.Now()
			cfg, _ := parse(t, b.String(), "large.toml", map[string]string{"A": "a"})
			if cfg != nil {
				_ = cfg.Validate()
			}
			// Generous: it takes about a second on a loaded machine.
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("Parse and Validate of %d bytes took %v", b.Len(), d)
			}
		})
	}
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
