package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
)

func TestExpand(t *testing.T) {
	env := map[string]string{
		"A":      "alpha",
		"B":      "beta",
		"EMPTY":  "",
		"_x1":    "underscore",
		"NESTED": "${B}",
		"DOLLAR": "$$",
	}
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string // substring of the error; "" for none
		missing bool   // the error wraps ErrMissingEnv
	}{
		{name: "no variable", in: "plain text", want: "plain text"},
		{name: "empty", in: "", want: ""},
		{name: "whole value", in: "${A}", want: "alpha"},
		{name: "inside text", in: "postgres://u:${B}@h/db", want: "postgres://u:beta@h/db"},
		{name: "two variables", in: "${A}-${B}", want: "alpha-beta"},
		{name: "set but empty", in: "x${EMPTY}y", want: "xy"},
		{name: "lower case and underscore", in: "${_x1}", want: "underscore"},
		{name: "value is not expanded again", in: "${NESTED}", want: "${B}"},
		{name: "value with dollars kept", in: "${DOLLAR}", want: "$$"},
		{name: "$$ escapes ${", in: "$${A}", want: "${A}"},
		{name: "$$ escape then variable", in: "$${A}${A}", want: "${A}alpha"},
		{name: "$$ without { is kept", in: "a$$b ${A}", want: "a$$b alpha"},
		{name: "lone $ is kept", in: "cost $5 ${A}", want: "cost $5 alpha"},
		{name: "$NAME is not expanded", in: "$A ${A}", want: "$A alpha"},
		{name: "trailing $", in: "${A}$", want: "alpha$"},

		{name: "missing", in: "${NOPE}", wantErr: "${NOPE}", missing: true},
		{name: "missing among set", in: "${A}${NOPE2}${B}", wantErr: "${NOPE2}", missing: true},
		{name: "unclosed", in: "${A", wantErr: "unclosed ${"},
		{name: "unclosed after a variable", in: "${A}${", wantErr: "unclosed ${"},
		{name: "empty name", in: "${}", wantErr: `bad variable name ""`},
		{name: "name starts with a digit", in: "${1A}", wantErr: `bad variable name "1A"`},
		{name: "name with a dash", in: "${A-B}", wantErr: `bad variable name "A-B"`},
		{name: "name with a space", in: "${ A }", wantErr: `bad variable name " A "`},
		{name: "shell default syntax", in: "${A:-x}", wantErr: `bad variable name "A:-x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Expand(tt.in, lookupIn(env))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Expand(%q): %v", tt.in, err)
				}
				if got != tt.want {
					t.Errorf("Expand(%q): got %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Expand(%q): got %q, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Expand(%q): got %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
			if got := errors.Is(err, config.ErrMissingEnv); got != tt.missing {
				t.Errorf("Expand(%q): errors.Is(err, ErrMissingEnv) = %v, want %v", tt.in, got, tt.missing)
			}
		})
	}
}

// TestParseExpansion: ${VAR} is expanded in every string value, after the
// TOML is decoded, with problems reported at their line.
func TestParseExpansion(t *testing.T) {
	t.Run("everywhere a string is", func(t *testing.T) {
		src := `[server]
state_dir = "${STATE}/edge"
[site]
domains = ["${DOMAIN}", "www.${DOMAIN}"]
[[route]]
path = "/api/"
upstreams = ["${API}"]
health = { path = "${HEALTH}" }
[admin]
users = { admin = "${HASH}" }
[[check]]
name = "db"
postgres = "${DB}"
[alerts]
telegram = { token = "${TOKEN}", chat_id = "${CHAT}" }
`
		env := map[string]string{
			"STATE": "/srv", "DOMAIN": "example.com", "API": "127.0.0.1:8000", "HEALTH": "/api/health",
			"HASH": testHash, "DB": databaseURL, "TOKEN": telegramToken, "CHAT": "42",
		}
		cfg, err := parse(t, src, "edge.toml", env)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		for _, tt := range []struct{ name, got, want string }{
			{"server.state_dir", cfg.Server.StateDir, "/srv/edge"},
			{"site.domains[0]", cfg.Site.Domains[0], "example.com"},
			{"site.domains[1]", cfg.Site.Domains[1], "www.example.com"},
			{"route[0].upstreams[0]", cfg.Routes[0].Upstreams[0], "127.0.0.1:8000"},
			{"route[0].health.path", cfg.Routes[0].Health.Path, "/api/health"},
			{"admin.users.admin", cfg.Admin.Users["admin"].Reveal(), testHash},
			{"check[0].postgres", cfg.Checks[0].Postgres.Reveal(), databaseURL},
			{"alerts.telegram.token", cfg.Alerts.Telegram.Token.Reveal(), telegramToken},
			{"alerts.telegram.chat_id", cfg.Alerts.Telegram.ChatID, "42"},
		} {
			if tt.got != tt.want {
				t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
			}
		}
	})

	t.Run("missing variables name the variable and the line", func(t *testing.T) {
		src := `[site]
domains = ["example.com"]

[backup]
database_url = "${DATABASE_URL}"
dir = "/var/backups/x"
[alerts]
telegram = { token = "${TELEGRAM_TOKEN}", chat_id = "1" }
`
		cfg, err := parse(t, src, "edge.toml", map[string]string{})
		got := fieldErrors(t, err, "edge.toml")
		checkProblems(t, got, []problem{
			{5, "backup.database_url", config.ErrMissingEnv},
			{8, "alerts.telegram.token", config.ErrMissingEnv},
		})
		for i, name := range []string{"DATABASE_URL", "TELEGRAM_TOKEN"} {
			if !strings.Contains(got[i].Error(), "${"+name+"}") {
				t.Errorf("got %q, want it to name ${%s}", got[i].Error(), name)
			}
		}
		if cfg == nil {
			t.Fatal("got no config: Parse must return it so that Validate can report the rest")
		}
		// Validate does not report the same keys again (as "not a
		// postgres:// URL" or similar).
		if verr := cfg.Validate(); verr != nil {
			for _, fe := range fieldErrors(t, verr, "edge.toml") {
				if fe.Key == "backup.database_url" || fe.Key == "alerts.telegram.token" {
					t.Errorf("Validate reported %q again: %q", fe.Key, fe.Error())
				}
			}
		}
	})

	t.Run("syntax errors", func(t *testing.T) {
		src := "[server]\nhttp = \":80\"\nstate_dir = \"${STATE\"\naccess_log = \"${1LOG}\"\n"
		_, err := parse(t, src, "edge.toml", map[string]string{"STATE": "/x"})
		got := fieldErrors(t, err, "edge.toml")
		checkProblems(t, got, []problem{{3, "server.state_dir", nil}, {4, "server.access_log", nil}})
		if !strings.Contains(got[0].Error(), "unclosed") {
			t.Errorf("got %q, want it to say unclosed", got[0].Error())
		}
		if !strings.Contains(got[1].Error(), "bad variable name") {
			t.Errorf("got %q, want it to say bad variable name", got[1].Error())
		}
	})

	t.Run("$$ escape in a file", func(t *testing.T) {
		src := "[headers]\ncsp = \"script-src 'self' $${NONCE}\"\n"
		cfg, err := parse(t, src, "edge.toml", nil)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if got, want := *cfg.Headers.CSP, "script-src 'self' ${NONCE}"; got != want {
			t.Errorf("headers.csp: got %q, want %q", got, want)
		}
	})

	// Values with TOML syntax in them are data, never parsed as TOML.
	tricky := []struct{ name, value string }{
		{"quotes", `a"b'c`},
		{"newline and table", "x\"\n[server]\nhttp = \":1\"\n"},
		{"closing brace and comma", `x" }, chat_id = "evil`},
		{"comment", "x # not a comment"},
		{"backslash", `C:\new\table`},
		{"variable syntax", "${OTHER}"},
	}
	for _, tt := range tricky {
		t.Run("TOML-special characters: "+tt.name, func(t *testing.T) {
			src := `[tls]
email = "${V}"
[alerts]
telegram = { token = "${V}", chat_id = "1" }
`
			cfg, err := parse(t, src, "edge.toml", map[string]string{"V": tt.value, "OTHER": "other"})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if cfg.TLS.Email != tt.value {
				t.Errorf("tls.email: got %q, want %q", cfg.TLS.Email, tt.value)
			}
			if got := cfg.Alerts.Telegram.Token.Reveal(); got != tt.value {
				t.Errorf("alerts.telegram.token: got %q, want %q", got, tt.value)
			}
			if cfg.Alerts.Telegram.ChatID != "1" {
				t.Errorf("alerts.telegram.chat_id: got %q, want %q", cfg.Alerts.Telegram.ChatID, "1")
			}
			if cfg.Server.HTTP != ":80" {
				t.Errorf("server.http: got %q, want the default %q", cfg.Server.HTTP, ":80")
			}
		})
	}
}
