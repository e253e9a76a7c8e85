package config

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteTOMLPrintsEffectiveConfigWithoutSecrets(t *testing.T) {
	const hash = "$2a$12$abcdefghijklmnopqrstuuJ8Zy4Y3h3Kx1C2w1b3n5Fh0tqZ0nX9a"
	env := map[string]string{
		"EDGE_ADMIN_BCRYPT": hash,
		"DATABASE_URL":      "postgres://app:topsecretpw@127.0.0.1:5432/app",
		"SITE_ROOT":         "/srv/site",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	src := `
[site]
domains = ["example.com"]
root = "${SITE_ROOT}"
[[route]]
path = "/api/"
upstreams = ["127.0.0.1:8000"]
[admin]
users = { admin = "${EDGE_ADMIN_BCRYPT}" }
[backup]
database_url = "${DATABASE_URL}"
dir = "/var/backups/app"
`
	cfg, err := Parse(strings.NewReader(src), "edge.toml", lookup)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var out bytes.Buffer
	if err := cfg.WriteTOML(&out); err != nil {
		t.Fatalf("WriteTOML: %v", err)
	}
	text := out.String()
	for _, want := range []string{
		"access_log = 'stdout'",    // a default
		"shutdown_timeout = '10s'", // a default duration
		"spa = true",               // a default bool
		"root = '/srv/site'",       // an ordinary ${VAR}, expanded
		"'${EDGE_ADMIN_BCRYPT}'",   // a secret, as its variable
		"database_url = '${DATABASE_URL}'",
		"[route.timeouts]",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, secret := range []string{hash, "topsecretpw"} {
		if strings.Contains(text, secret) {
			t.Errorf("output contains the secret %q", secret)
		}
	}

	again, err := Parse(strings.NewReader(text), "printed.toml", lookup)
	if err != nil {
		t.Fatalf("printed config does not parse again: %v\n%s", err, text)
	}
	var second bytes.Buffer
	if err := again.WriteTOML(&second); err != nil {
		t.Fatal(err)
	}
	if second.String() != text {
		t.Errorf("printing is not stable:\nfirst:\n%s\nsecond:\n%s", text, second.String())
	}
}

func TestWriteTOMLRedactsLiteralSecrets(t *testing.T) {
	cfg := Local()
	cfg.Admin.Users = map[string]Secret{"admin": "$2a$12$literal"}
	var out bytes.Buffer
	if err := cfg.WriteTOML(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "$2a$12$literal") || !strings.Contains(out.String(), RedactedLiteral) {
		t.Errorf("literal secret not redacted:\n%s", out.String())
	}
}
