package config_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
)

// TestSecretsRedacted: no way of printing or marshaling the config shows a
// secret read from the environment.
func TestSecretsRedacted(t *testing.T) {
	src, _ := specSource(t)
	cfg := mustParse(t, src, specEnv())
	secrets := []string{dbPassword, testHash, smtpPassword, telegramToken, webhookSecret, adminToken, heartbeatSecret, backupBeatPath}

	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	jsIndent, err := json.MarshalIndent(cfg.Backup, "", "  ")
	if err != nil {
		t.Fatalf("json.MarshalIndent: %v", err)
	}
	outputs := []struct{ name, out string }{
		{"%v of database_url", fmt.Sprintf("%v", cfg.Backup.DatabaseURL)},
		//lint:ignore S1025 the test checks what fmt prints for a Secret
		{"%s of database_url", fmt.Sprintf("%s", cfg.Backup.DatabaseURL)},
		{"%q of database_url", fmt.Sprintf("%q", cfg.Backup.DatabaseURL)},
		{"%#v of database_url", fmt.Sprintf("%#v", cfg.Backup.DatabaseURL)},
		{"%x of database_url", fmt.Sprintf("%x", cfg.Backup.DatabaseURL)},
		{"Sprint of database_url", fmt.Sprint(cfg.Backup.DatabaseURL)},
		{"%v of config", fmt.Sprintf("%v", *cfg)},
		{"%+v of config", fmt.Sprintf("%+v", *cfg)},
		{"%#v of config", fmt.Sprintf("%#v", *cfg)},
		{"%+v of backup", fmt.Sprintf("%+v", *cfg.Backup)},
		{"%#v of backup", fmt.Sprintf("%#v", *cfg.Backup)},
		{"%+v of checks", fmt.Sprintf("%+v", cfg.Checks)},
		{"%+v of admin", fmt.Sprintf("%+v", cfg.Admin)},
		{"%#v of admin", fmt.Sprintf("%#v", cfg.Admin)},
		{"%+v of email", fmt.Sprintf("%+v", *cfg.Alerts.Email)},
		{"%+v of telegram", fmt.Sprintf("%+v", *cfg.Alerts.Telegram)},
		{"%+v of webhook", fmt.Sprintf("%+v", *cfg.Alerts.Webhook)},
		{"json of config", string(js)},
		{"json of backup", string(jsIndent)},
	}
	for _, o := range outputs {
		for _, s := range secrets {
			if strings.Contains(o.out, s) {
				t.Errorf("%s contains the secret %q:\n%s", o.name, s, o.out)
			}
		}
	}
	for _, o := range outputs[:4] {
		if !strings.Contains(o.out, "[redacted]") {
			t.Errorf("%s: got %q, want [redacted] in it", o.name, o.out)
		}
	}
	if !strings.Contains(string(js), `"[redacted]"`) {
		t.Errorf("json of config has no \"[redacted]\": %s", js)
	}

	// Reveal returns the value; an empty secret prints as empty.
	if got := cfg.Backup.DatabaseURL.Reveal(); got != databaseURL {
		t.Errorf("Reveal: got %q, want %q", got, databaseURL)
	}
	if got := fmt.Sprint(config.Secret("")); got != "" {
		t.Errorf("empty Secret: got %q, want %q", got, "")
	}
}

// TestSecretsInFile: secrets written in the file instead of ${VAR} give
// ErrSecretInFile at their line, and the message does not repeat them.
func TestSecretsInFile(t *testing.T) {
	root := t.TempDir()
	site := "[site]\ndomains = [\"example.com\"]\nroot = \"" + root + "\"\n"
	tests := []struct {
		name   string
		src    string
		key    string
		at     string
		secret string
	}{
		{"literal bcrypt hash", "[admin]\nusers = { admin = \"" + testHash + "\" }\n", "admin.users.admin", "users", testHash},
		{"literal bcrypt hash in a table", "[admin.users]\nadmin = \"" + testHash + "\"\n", "admin.users.admin", "admin =", testHash},
		{"database password", "[backup]\ndir = \"" + root + "/b\"\ndatabase_url = \"postgres://edge:hunter2@db/x\"\n", "backup.database_url", "database_url", "hunter2"},
		{"smtp password", "[alerts.email]\nsmtp = \"smtp.example.com:587\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\npassword = \"hunter2\"\n", "alerts.email.password", "password", "hunter2"},
		{"telegram token", "[alerts.telegram]\nchat_id = \"1\"\ntoken = \"123:hunter2\"\n", "alerts.telegram.token", "token", "123:hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := site + tt.src
			cfg, err := parse(t, src, "edge.toml", nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = cfg.Validate()
			checkProblems(t, fieldErrors(t, err, "edge.toml"), []problem{{lineOf(t, src, tt.at), tt.key, config.ErrSecretInFile}})
			if !errors.Is(err, config.ErrSecretInFile) {
				t.Errorf("errors.Is(err, ErrSecretInFile) = false")
			}
			if strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the message repeats the secret: %q", err)
			}
		})
	}

	// The same values from the environment are fine.
	env := map[string]string{"HASH": testHash, "PW": "hunter2", "TOKEN": "123:hunter2"}
	src := site + `[admin]
users = { admin = "${HASH}" }
[backup]
dir = "` + root + `/b"
database_url = "postgres://edge:${PW}@db/x"
[alerts.email]
smtp = "smtp.example.com:587"
from = "a@example.com"
to = ["b@example.com"]
password = "${PW}"
[alerts.telegram]
chat_id = "1"
token = "${TOKEN}"
`
	mustParse(t, src, env)
}
