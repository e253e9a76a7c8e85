package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
)

const remoteSite = "[site]\ndomains = [\"example.com\"]\nroot = \"/\"\n"
const remoteBackup = "[backup]\ndatabase_url = \"${DB}\"\ndir = \"/tmp/b\"\nkeep_daily = 3\n" +
	"encrypt_to = [\"age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\"]\n"

var remoteEnv = map[string]string{"DB": "postgres://u@h/db", "AK": "ak", "SK": "sk"}

// TestBackupRemoteDefaults: the defaults of [backup.remote] and the values
// derived from it.
func TestBackupRemoteDefaults(t *testing.T) {
	cfg := mustParse(t, remoteSite+remoteBackup+"[backup.remote]\nurl = \"s3://gitcourse-backups/prod/\"\n"+
		"access_key = \"${AK}\"\nsecret_key = \"${SK}\"\nregion = \"eu-central-1\"\nkeep_weekly = 2\n", remoteEnv)
	r := cfg.Backup.Remote
	if r.Endpoint != "https://s3.eu-central-1.amazonaws.com" || r.Drill != "monthly" || !r.EncryptionRequired() {
		t.Errorf("defaults: endpoint %q drill %q encryption %v", r.Endpoint, r.Drill, r.EncryptionRequired())
	}
	if r.KeepDaily != 3 || r.KeepWeekly != 2 || r.KeepMonthly != 6 {
		t.Errorf("keep: %d/%d/%d, want 3/2/6 (from [backup] unless set)", r.KeepDaily, r.KeepWeekly, r.KeepMonthly)
	}
	if r.Bucket() != "gitcourse-backups" || r.Prefix() != "prod/" || r.BandwidthBytes() != 0 {
		t.Errorf("bucket %q prefix %q bandwidth %d", r.Bucket(), r.Prefix(), r.BandwidthBytes())
	}
	if r.AccessKey.Reveal() != "ak" || r.SecretKey.Reveal() != "sk" {
		t.Errorf("credentials not expanded from the environment")
	}
}

// TestBackupRemoteErrors: each bad value is reported at its line with its key.
func TestBackupRemoteErrors(t *testing.T) {
	notKey := filepath.Join(t.TempDir(), "id.txt")
	if err := os.WriteFile(notKey, []byte("not an identity\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := remoteSite + "[backup]\ndatabase_url = \"${DB}\"\ndir = \"/tmp/b\"\n" +
		"[backup.remote]\n" +
		"url = \"s3://Bad_Bucket/x\"\n" +
		"endpoint = \"http://s3.example.com\"\n" +
		"access_key = \"${AK}\"\n" +
		"secret_key = \"written-here\"\n" +
		"ca_file = \"/nonexistent/ca.pem\"\n" +
		"bandwidth = \"1KB\"\n" +
		"drill = \"daily\"\n" +
		"drill_identity = \"" + notKey + "\"\n" +
		"keep_monthly = -1\n"
	cfg, err := parse(t, src, "edge.toml", remoteEnv)
	if err == nil {
		err = cfg.Validate()
	}
	checkProblems(t, fieldErrors(t, err, "edge.toml"), []problem{
		{lineOf(t, src, "url = \"s3"), "backup.remote.url", config.ErrRemoteURL},
		{lineOf(t, src, "endpoint ="), "backup.remote.endpoint", config.ErrInvalidValue},
		{lineOf(t, src, "secret_key ="), "backup.remote.secret_key", config.ErrSecretInFile},
		{lineOf(t, src, "ca_file ="), "backup.remote.ca_file", config.ErrNotExist},
		{lineOf(t, src, "bandwidth ="), "backup.remote.bandwidth", config.ErrInvalidValue},
		{lineOf(t, src, "drill ="), "backup.remote.drill", config.ErrInvalidValue},
		{lineOf(t, src, "drill_identity ="), "backup.remote.drill_identity", config.ErrInvalidValue},
		{lineOf(t, src, "keep_monthly ="), "backup.remote.keep_monthly", config.ErrInvalidValue},
	})
}

// TestBackupRemoteCAFile: a ca_file without a PEM certificate is refused
// as the upload client would refuse it at start.
func TestBackupRemoteCAFile(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := remoteSite + remoteBackup + "[backup.remote]\nurl = \"s3://gitcourse-backups/prod\"\n" +
		"access_key = \"${AK}\"\nsecret_key = \"${SK}\"\nca_file = \"" + notPEM + "\"\n"
	cfg, err := parse(t, src, "edge.toml", remoteEnv)
	if err == nil {
		err = cfg.Validate()
	}
	checkProblems(t, fieldErrors(t, err, "edge.toml"), []problem{
		{lineOf(t, src, "ca_file ="), "backup.remote.ca_file", config.ErrInvalidValue},
	})
}

// TestParseRemoteURL: accepted and refused bucket URLs.
func TestParseRemoteURL(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bkt":              "bkt|",
		"s3://my.bucket-1/a/b/": "my.bucket-1|a/b/",
		"s3://bkt/prod":         "bkt|prod/",
	} {
		b, p, err := config.ParseRemoteURL(in)
		if err != nil || b+"|"+p != want {
			t.Errorf("%q: got %q|%q, %v; want %q", in, b, p, err, want)
		}
	}
	for _, in := range []string{"", "bkt/x", "https://bkt/x", "s3://", "s3://ab", "s3://UP/x", "s3://a..b/x",
		"s3://127.0.0.1/x", "s3://bkt/a//b", "s3://bkt/../x", "s3://bkt/a?b"} {
		if _, _, err := config.ParseRemoteURL(in); !errors.Is(err, config.ErrRemoteURL) {
			t.Errorf("%q: got %v, want ErrRemoteURL", in, err)
		}
	}
}

// FuzzParseRemoteURL: an accepted URL has a valid bucket and a prefix
// that is "" or ends in "/" with no empty or dot segments.
func FuzzParseRemoteURL(f *testing.F) {
	for _, s := range []string{"s3://bkt/prod", "s3://a.b/c/d/", "s3://x/../y", "s3://bkt//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, p, err := config.ParseRemoteURL(s)
		if err != nil {
			return
		}
		if len(b) < 3 || len(b) > 63 || (p != "" && !strings.HasSuffix(p, "/")) {
			t.Fatalf("%q: bucket %q prefix %q", s, b, p)
		}
		for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
			if p != "" && (seg == "" || seg == "." || seg == "..") {
				t.Fatalf("%q: bad segment in prefix %q", s, p)
			}
		}
	})
}
