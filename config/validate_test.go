package config_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestValidateReportsAll: one file with eight distinct problems gives eight
// FieldErrors, each with its line, key and cause, in line order; the whole
// output is compared with testdata/invalid.golden (go test -update rewrites
// it).
func TestValidateReportsAll(t *testing.T) {
	if _, set := os.LookupEnv(unsetVarForTest); set {
		t.Fatalf("%s must not be set for this test", unsetVarForTest)
	}
	tmpl, err := os.ReadFile(filepath.Join("testdata", "invalid.toml"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	file := filepath.Join(tmp, "edge.toml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(tmpl), "{{tmp}}", tmp)), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg, err := config.Load(file)
	if cfg != nil {
		t.Errorf("Load returned a config with errors")
	}
	checkProblems(t, fieldErrors(t, err, file), []problem{
		{4, "server.shutdown_timeout", config.ErrDuration},
		{7, "site.domains[0]", config.ErrIPAsDomain},
		{8, "site.root", config.ErrNotExist},
		{13, "route[0].max_body", config.ErrByteSize},
		{16, "route[1].path", config.ErrDuplicate},
		{20, "admin.users.admin", config.ErrSecretInFile},
		{21, "admin.allow[1]", config.ErrBadCIDR},
		{24, "backup.database_url", config.ErrMissingEnv},
	})
	for _, sentinel := range []error{
		config.ErrDuration, config.ErrIPAsDomain, config.ErrNotExist, config.ErrByteSize,
		config.ErrDuplicate, config.ErrSecretInFile, config.ErrBadCIDR, config.ErrMissingEnv,
	} {
		if !errors.Is(err, sentinel) {
			t.Errorf("errors.Is(err, %q) = false, want true", sentinel)
		}
	}
	for _, sentinel := range []error{config.ErrRequired, config.ErrBadListenAddr} {
		if errors.Is(err, sentinel) {
			t.Errorf("errors.Is(err, %q) = true, want false", sentinel)
		}
	}
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Key != "server.shutdown_timeout" {
		t.Errorf("errors.As(err, *FieldError): got %v, want the first problem", fe)
	}
	if strings.Contains(err.Error(), "$2a$12$") {
		t.Errorf("the message repeats the secret written in the file: %q", err)
	}

	got := strings.ReplaceAll(err.Error(), tmp, "{{tmp}}") + "\n"
	golden := filepath.Join("testdata", "invalid.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./config -run TestValidateReportsAll -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (-update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

// TestValidateRules checks each rule alone on an otherwise valid file.
func TestValidateRules(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "dist")
	file := filepath.Join(tmp, "file.pem")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "missing")
	cert, key, _ := testutil.WriteCert(t, tmp, "example.com")
	env := map[string]string{
		"HASH":     testHash,
		"NOT_HASH": "plain-password",
		"DB":       databaseURL,
		"MYSQL":    "mysql://u:p@h/db",
		"PW":       dbPassword,
		"TOKEN":    telegramToken,
		"HOST":     "db.internal",
	}
	const site = "[site]\ndomains = [\"example.com\", \"www.example.com\"]\nroot = \"{{root}}\"\n"
	const route = "[[route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:8000\"]\n"
	const backup = "[backup]\ndatabase_url = \"${DB}\"\ndir = \"{{tmp}}/backups\"\n"

	type want struct {
		key string
		at  string // text on the line the problem is reported at; "": line 0
		err error
	}
	tests := []struct {
		name string
		src  string
		want []want // empty: valid
	}{
		{"valid base", site + route, nil},
		{"loopback IPs as domains", "[site]\ndomains = [\"127.0.0.1\", \"::1\", \"localhost\"]\nroot = \"{{root}}\"\n", nil},
		{"wildcard domain", "[site]\ndomains = [\"*.example.com\"]\nroot = \"{{root}}\"\n", nil},
		{"cron schedule", site + "[backup]\ndatabase_url = \"${DB}\"\ndir = \"{{tmp}}/b\"\nschedule = \"30 2 * * 1-5\"\n", nil},
		{"database URL without password", site + "[backup]\ndatabase_url = \"postgres:///gitcourse?host=/run/postgresql\"\ndir = \"{{tmp}}/b\"\n", nil},
		{"database password from a variable", site + "[backup]\ndatabase_url = \"postgres://edge:${PW}@db/gitcourse\"\ndir = \"{{tmp}}/b\"\n", nil},
		{"all backup values", site + backup + "format = \"plain-gzip\"\nverify = \"none\"\nkeep_daily = 0\nencrypt_to = [\"age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\"]\npg_bin = \"{{root}}\"\n", nil},
		{"byo certificate", site + "[tls]\ncertificates = [{ cert = \"{{cert}}\", key = \"{{key}}\" }]\nmin_version = \"1.3\"\n", nil},
		{"key does not match", site + "[tls]\ncertificates = [{ cert = \"{{cert}}\", key = \"{{cert}}\" }]\n", []want{{"tls.certificates[0].key", "certificates", config.ErrInvalidValue}}},
		{"acme_ca_root not PEM", site + "[tls]\nacme_ca_root = \"{{file}}\"\n", []want{{"tls.acme_ca_root", "acme_ca_root", config.ErrInvalidValue}}},

		{"http not an address", "[server]\nhttp = \"80\"\n" + site, []want{{"server.http", `http = "80"`, config.ErrBadListenAddr}}},
		{"https port out of range", "[server]\nhttps = \":70000\"\n" + site, []want{{"server.https", "https", config.ErrBadListenAddr}}},
		{"listen on a host name", "[server]\nhttp = \"example.com:80\"\n" + site, []want{{"server.http", "http =", config.ErrBadListenAddr}}},
		{"no listener", "[server]\nhttp = \"\"\nhttps = \"\"\n" + site, []want{{"server", "[server]", config.ErrRequired}}},
		{"same address twice", "[server]\nhttp = \":8080\"\nhttps = \":8080\"\n" + site, []want{{"server.https", "https", config.ErrDuplicate}}},
		{"relative access log", "[server]\naccess_log = \"logs/a.log\"\n" + site, []want{{"server.access_log", "access_log", config.ErrInvalidValue}}},
		{"access log directory missing", "[server]\naccess_log = \"{{missing}}/a.log\"\n" + site, []want{{"server.access_log", "access_log", config.ErrNotExist}}},
		{"bad shutdown timeout", "[server]\nshutdown_timeout = \"5\"\n" + site, []want{{"server.shutdown_timeout", "shutdown", config.ErrDuration}}},

		{"no domains", "[site]\ndomains = []\nroot = \"{{root}}\"\n", []want{{"site.domains", "domains", config.ErrRequired}}},
		{"no [site] table", "[server]\nhttp = \":80\"\n", []want{{"site.domains", "", config.ErrRequired}, {"site.root", "", config.ErrRequired}}},
		{"upper-case domain", "[site]\ndomains = [\"Example.com\"]\nroot = \"{{root}}\"\n", []want{{"site.domains[0]", "domains", config.ErrInvalidValue}}},
		{"domain with a port", "[site]\ndomains = [\"example.com:443\"]\nroot = \"{{root}}\"\n", []want{{"site.domains[0]", "domains", config.ErrInvalidValue}}},
		{"public IP as domain", "[site]\ndomains = [\"example.com\", \"2001:db8::1\"]\nroot = \"{{root}}\"\n", []want{{"site.domains[1]", "domains", config.ErrIPAsDomain}}},
		{"duplicate domain", "[site]\ndomains = [\"example.com\", \"example.com\"]\nroot = \"{{root}}\"\n", []want{{"site.domains[1]", "domains", config.ErrDuplicate}}},
		{"canonical not listed", site + "canonical = \"example.org\"\n", []want{{"site.canonical", "canonical", config.ErrInvalidValue}}},
		{"root missing", "[site]\ndomains = [\"example.com\"]\nroot = \"{{missing}}\"\n", []want{{"site.root", "root", config.ErrNotExist}}},
		{"root is a file", "[site]\ndomains = [\"example.com\"]\nroot = \"{{file}}\"\n", []want{{"site.root", "root", config.ErrInvalidValue}}},
		{"immutable without slash", site + "immutable = [\"assets/\"]\n", []want{{"site.immutable[0]", "immutable", config.ErrInvalidValue}}},
		{"unknown compression", site + "compress = [\"br\", \"zstd\"]\n", []want{{"site.compress[1]", "compress", config.ErrInvalidValue}}},

		{"route path missing", site + "[[route]]\nupstreams = [\"127.0.0.1:8000\"]\n", []want{{"route[0].path", "[[route]]", config.ErrRequired}}},
		{"route path without slash", site + "[[route]]\npath = \"api\"\nupstreams = [\"127.0.0.1:8000\"]\n", []want{{"route[0].path", "path", config.ErrInvalidValue}}},
		{"route under admin path", site + "[[route]]\npath = \"/admin/x\"\nupstreams = [\"127.0.0.1:8000\"]\n", []want{{"route[0].path", "path", config.ErrDuplicate}}},
		{"route without upstreams", site + "[[route]]\npath = \"/api/\"\n", []want{{"route[0].upstreams", "[[route]]", config.ErrRequired}}},
		{"upstream without port", site + route + "[[route]]\npath = \"/b/\"\nupstreams = [\"127.0.0.1\"]\n", []want{{"route[1].upstreams[0]", `["127.0.0.1"]`, config.ErrInvalidValue}}},
		{"relative health path", site + route + "health = { path = \"health\" }\n", []want{{"route[0].health.path", "health =", config.ErrInvalidValue}}},
		{"timeout without unit", site + route + "timeouts = { idle = \"90\" }\n", []want{{"route[0].timeouts.idle", "timeouts", config.ErrDuration}}},
		{"negative interval", site + route + "[route.health]\npath = \"/h\"\ninterval = \"-5s\"\n", []want{{"route[0].health.interval", "interval", config.ErrDuration}}},
		{"two bad durations on one line", site + route + "timeouts = { idle = \"x\", connect = \"y\" }\n", []want{
			{"route[0].timeouts.connect", "timeouts", config.ErrDuration},
			{"route[0].timeouts.idle", "timeouts", config.ErrDuration},
		}},
		{"bad max_body", site + route + "max_body = \"10 megabytes\"\n", []want{{"route[0].max_body", "max_body", config.ErrByteSize}}},

		{"tls email", site + "[tls]\nemail = \"ops\"\n", []want{{"tls.email", "email", config.ErrInvalidValue}}},
		{"acme_ca over http", site + "[tls]\nacme_ca = \"http://acme.example.com/dir\"\n", []want{{"tls.acme_ca", "acme_ca", config.ErrInvalidValue}}},
		{"acme_ca_root missing", site + "[tls]\nacme_ca_root = \"{{missing}}\"\n", []want{{"tls.acme_ca_root", "acme_ca_root", config.ErrNotExist}}},
		{"dns-01 challenge", site + "[tls]\nchallenges = [\"dns-01\"]\n", []want{{"tls.challenges[0]", "challenges", config.ErrInvalidValue}}},
		{"tls 1.1", site + "[tls]\nmin_version = \"1.1\"\n", []want{{"tls.min_version", "min_version", config.ErrInvalidValue}}},
		{"certificate without key", site + "[tls]\ncertificates = [{ cert = \"{{cert}}\" }]\n", []want{{"tls.certificates[0].key", "certificates", config.ErrRequired}}},
		{"certificate files missing", site + "[tls]\ncertificates = [\n  { cert = \"{{cert}}\", key = \"{{key}}\" },\n  { cert = \"{{missing}}\", key = \"{{missing}}\" },\n]\n", []want{
			{"tls.certificates[1].cert", "{{missing}}", config.ErrNotExist},
			{"tls.certificates[1].key", "{{missing}}", config.ErrNotExist},
		}},

		{"bad hsts", site + "[headers]\nhsts = \"max-age=forever\"\n", []want{{"headers.hsts", "hsts", config.ErrInvalidValue}}},
		{"repeated hsts directive", site + "[headers]\nhsts = \"max-age=1; max-age=2\"\n", []want{{"headers.hsts", "hsts", config.ErrInvalidValue}}},
		{"frame options ALLOWALL", site + "[headers]\nframe_options = \"ALLOWALL\"\n", []want{{"headers.frame_options", "frame_options", config.ErrInvalidValue}}},
		{"csp with a line break", site + "[headers]\ncsp = \"\"\"default-src 'self';\nimg-src *\"\"\"\n", []want{{"headers.csp", "csp", config.ErrInvalidValue}}},

		{"admin path with trailing slash", site + "[admin]\npath = \"/admin/\"\n", []want{{"admin.path", "path", config.ErrInvalidValue}}},
		{"admin path not absolute", site + "[admin]\npath = \"admin\"\n", []want{{"admin.path", "path", config.ErrInvalidValue}}},
		{"admin hash not bcrypt", site + "[admin]\nusers = { admin = \"${HASH}\", bob = \"${NOT_HASH}\" }\n", []want{{"admin.users.bob", "users", config.ErrInvalidValue}}},
		{"admin allow not CIDR", site + "[admin]\nallow = [\"127.0.0.1/32\", \"localhost\"]\n", []want{{"admin.allow[1]", "allow", config.ErrBadCIDR}}},

		{"database_url missing", site + "[backup]\ndir = \"{{tmp}}/b\"\n", []want{{"backup.database_url", "[backup]", config.ErrRequired}}},
		{"database_url not postgres", site + "[backup]\ndatabase_url = \"${MYSQL}\"\ndir = \"{{tmp}}/b\"\n", []want{{"backup.database_url", "database_url", config.ErrInvalidValue}}},
		{"database password in the file", site + "[backup]\ndatabase_url = \"postgres://edge:hunter2@db/gitcourse\"\ndir = \"{{tmp}}/b\"\n", []want{{"backup.database_url", "database_url", config.ErrSecretInFile}}},
		{"database password in the file beside a variable", site + "[backup]\ndatabase_url = \"postgres://edge:hunter2@${HOST}/gitcourse\"\ndir = \"{{tmp}}/b\"\n", []want{{"backup.database_url", "database_url", config.ErrSecretInFile}}},
		{"relative backup dir", site + "[backup]\ndatabase_url = \"${DB}\"\ndir = \"backups\"\n", []want{{"backup.dir", "dir", config.ErrInvalidValue}}},
		{"backup dir parent missing", site + "[backup]\ndatabase_url = \"${DB}\"\ndir = \"{{missing}}/b\"\n", []want{{"backup.dir", "dir", config.ErrNotExist}}},
		{"schedule 25:00", site + backup + "schedule = \"25:00\"\n", []want{{"backup.schedule", "schedule", config.ErrInvalidValue}}},
		{"schedule 3am", site + backup + "schedule = \"3am\"\n", []want{{"backup.schedule", "schedule", config.ErrInvalidValue}}},
		{"backup format", site + backup + "format = \"tar\"\n", []want{{"backup.format", "format", config.ErrInvalidValue}}},
		{"backup verify", site + backup + "verify = \"full\"\n", []want{{"backup.verify", "verify", config.ErrInvalidValue}}},
		{"negative keep", site + backup + "keep_weekly = -1\n", []want{{"backup.keep_weekly", "keep_weekly", config.ErrInvalidValue}}},
		{"encrypt_to not age", site + backup + "encrypt_to = [\"bob@example.com\"]\n", []want{{"backup.encrypt_to[0]", "encrypt_to", config.ErrInvalidValue}}},
		{"pg_bin missing", site + backup + "pg_bin = \"{{missing}}\"\n", []want{{"backup.pg_bin", "pg_bin", config.ErrNotExist}}},

		{"check without name", site + "[[check]]\ntcp = \"127.0.0.1:5432\"\n", []want{{"check[0].name", "[[check]]", config.ErrRequired}}},
		{"duplicate check name", site + "[[check]]\nname = \"a\"\ntcp = \"127.0.0.1:1\"\n[[check]]\nname = \"a\" # again\ntcp = \"127.0.0.1:2\"\n", []want{{"check[1].name", "# again", config.ErrDuplicate}}},
		{"check with two kinds", site + "[[check]]\nname = \"a\"\ntcp = \"127.0.0.1:1\"\nhttp = \"http://127.0.0.1/\"\n", []want{{"check[0]", "[[check]]", config.ErrInvalidValue}}},
		{"check with no kind", site + "[[check]]\nname = \"a\"\n", []want{{"check[0]", "[[check]]", config.ErrInvalidValue}}},
		{"check http not a URL", site + "[[check]]\nname = \"a\"\nhttp = \"127.0.0.1:8000/health\"\n", []want{{"check[0].http", "http =", config.ErrInvalidValue}}},
		{"check disk missing", site + "[[check]]\nname = \"a\"\ndisk = \"{{missing}}\"\n", []want{{"check[0].disk", "disk =", config.ErrNotExist}}},
		{"check min_free", site + "[[check]]\nname = \"a\"\ndisk = \"{{root}}\"\nmin_free = \"lots\"\n", []want{{"check[0].min_free", "min_free", config.ErrByteSize}}},
		{"check timeout", site + "[[check]]\nname = \"a\"\ntcp = \"127.0.0.1:1\"\ntimeout = \"soon\"\n", []want{{"check[0].timeout", "timeout", config.ErrDuration}}},
		{"check postgres password in the file", site + "[[check]]\nname = \"db\"\npostgres = \"postgres://u:hunter2@db/x\"\n", []want{{"check[0].postgres", "postgres =", config.ErrSecretInFile}}},

		{"alerts repeat", site + "[alerts]\nrepeat = \"daily\"\n", []want{{"alerts.repeat", "repeat", config.ErrDuration}}},
		{"email smtp without port", site + "[alerts]\nemail = { smtp = \"smtp.example.com\", from = \"a@example.com\", to = [\"b@example.com\"] }\n", []want{{"alerts.email.smtp", "email", config.ErrInvalidValue}}},
		{"email from", site + "[alerts.email]\nsmtp = \"smtp.example.com:587\"\nfrom = \"edge\"\nto = [\"b@example.com\"]\n", []want{{"alerts.email.from", "from", config.ErrInvalidValue}}},
		{"email without recipients", site + "[alerts.email]\nsmtp = \"smtp.example.com:587\"\nfrom = \"a@example.com\"\n", []want{{"alerts.email.to", "[alerts.email]", config.ErrRequired}}},
		{"email password in the file", site + "[alerts.email]\nsmtp = \"smtp.example.com:587\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\npassword = \"hunter2\"\n", []want{{"alerts.email.password", "password", config.ErrSecretInFile}}},
		{"telegram without chat_id", site + "[alerts]\ntelegram = { token = \"${TOKEN}\" }\n", []want{{"alerts.telegram", "telegram", config.ErrRequired}}},
		{"telegram token in the file", site + "[alerts]\ntelegram = { token = \"123:abc\", chat_id = \"1\" }\n", []want{{"alerts.telegram.token", "telegram", config.ErrSecretInFile}}},
		{"telegram api", site + "[alerts]\ntelegram = { token = \"${TOKEN}\", chat_id = \"1\", api = \"not a url\" }\n", []want{{"alerts.telegram.api", "telegram", config.ErrInvalidValue}}},
		{"webhook not http", site + "[alerts]\nwebhook = { url = \"ftp://example.com/x\" }\n", []want{{"alerts.webhook.url", "webhook", config.ErrInvalidValue}}},
	}
	r := strings.NewReplacer("{{root}}", root, "{{file}}", file, "{{missing}}", missing, "{{tmp}}", tmp, "{{cert}}", cert, "{{key}}", key)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := r.Replace(tt.src)
			cfg, err := parse(t, src, "edge.toml", env)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var want []problem
			for _, w := range tt.want {
				line := 0 // a key of a table the file does not have
				if w.at != "" {
					line = lineOf(t, src, r.Replace(w.at))
				}
				want = append(want, problem{line, w.key, w.err})
			}
			checkProblems(t, fieldErrors(t, cfg.Validate(), "edge.toml"), want)
		})
	}
}

// TestValidateZeroConfig: Validate on a Config built in code (no defaults
// applied) reports problems rather than panicking.
func TestValidateZeroConfig(t *testing.T) {
	err := (&config.Config{}).Validate()
	if err == nil {
		t.Fatal("got no error for an empty Config")
	}
	for _, fe := range fieldErrors(t, err, "(built-in defaults)") {
		if fe.Line != 0 {
			t.Errorf("%s: got line %d, want 0 without a file", fe.Key, fe.Line)
		}
	}
}
