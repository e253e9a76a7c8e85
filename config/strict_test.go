package config_test

import (
	"strings"
	"testing"
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

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
