package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/internal/testutil"
)

// agreeBase is a valid configuration that sets every key, one per line,
// each table or array element under its own header. {{DIR}} is a temp dir.
const agreeBase = `[server]
http = "127.0.0.1:0"
https = "localhost:0"
state_dir = "{{DIR}}/state"
admin_socket = "{{DIR}}/admin.sock"
access_log = "off"
shutdown_timeout = "1s"
trusted_proxies = ["10.0.0.0/8"]
max_conns_per_ip = 256
http3 = true
http3_0rtt = false

[site]
domains = ["agree.test", "www.agree.test"]
canonical = "agree.test"
root = "{{DIR}}/site"
spa = true
immutable = ["/assets/"]
compress = ["br", "gzip"]

[[route]]
path = "/api/"
upstreams = ["127.0.0.1:8000"]
max_body = "10MB"
pass_host = true
passive_cooldown = "10s"
retry_window = "5s"
retry_max_waiting = 1024

[route.health]
path = "/api/health"
interval = "10s"
timeout = "2s"
healthy = 2
unhealthy = 3

[route.timeouts]
connect = "2s"
response_header = "30s"
idle = "90s"

[tls]
email = "ops@agree.test"
acme_ca = "https://127.0.0.1:1/directory"
acme_ca_root = "{{DIR}}/ca.pem"
challenges = ["http-01", "tls-alpn-01"]
internal = false
min_version = "1.2"
renew_interval = "10m"
renewal_window_ratio = 0.33
ready_timeout = "1s"

[[tls.certificates]]
cert = "{{DIR}}/www.pem"
key = "{{DIR}}/www.key"

[headers]
hsts = "max-age=63072000"
csp = "default-src 'self'"
csp_report_only = false
frame_options = "DENY"
referrer_policy = "no-referrer"
permissions_policy = "camera=()"

[admin]
path = "/admin"
allow = ["127.0.0.1/32"]
token = "${ADMIN_TOKEN}"

[admin.users]
admin = "${ADMIN_HASH}"

[backup]
database_url = "${DATABASE_URL}"
dir = "{{DIR}}/backups"
schedule = "03:00"
format = "custom"
keep_daily = 7
keep_weekly = 4
keep_monthly = 6
verify = "none"
encrypt_to = ["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"]
pg_bin = ""

[backup.remote]
url = "s3://agree-backups/prod"
endpoint = "http://127.0.0.1:1"
region = "eu-central-1"
access_key = "${S3_ACCESS_KEY}"
secret_key = "${S3_SECRET_KEY}"
path_style = true
ca_file = "{{DIR}}/ca.pem"
require_encryption = true
bandwidth = "20MB"
drill = "weekly"
drill_identity = "{{DIR}}/drill.key"
keep_daily = 7
keep_weekly = 4
keep_monthly = 6

[[limit]]
name = "login"
path = "/api/auth/"
methods = ["POST"]
rate = "10/m"
burst = 5
max_in_flight = 20
queue_timeout = "2s"
ban_after = 10
ban_window = "10m"
ban_for = "15m"
allow = ["10.0.0.0/8"]
max_clients = 1000

[[check]]
name = "web"
http = "http://127.0.0.1:8000/health"
contains = "ok"
status = 200
interval = "30s"
timeout = "5s"
failures = 3
successes = 2

[[check]]
name = "db-port"
tcp = "127.0.0.1:5432"

[[check]]
name = "db"
postgres = "${DATABASE_URL}"

[[check]]
name = "disk"
disk = "{{DIR}}"
min_free = "1MB"
min_free_inodes = 10

[[check]]
name = "api-traffic"
route = "/api/"
max_error_rate = 0.05
max_p95 = "2s"
window = "5m"
min_requests = 20

[alerts]
repeat = "4h"
heartbeat_url = "${HEARTBEAT_URL}"
heartbeat_interval = "1m"
backup_heartbeat_url = "${HEARTBEAT_URL}"

[alerts.email]
smtp = "127.0.0.1:2525"
from = "edge@agree.test"
to = ["ops@agree.test"]
username = "edge"
password = "${SMTP_PASSWORD}"
timeout = "10s"

[alerts.telegram]
token = "${TELEGRAM_TOKEN}"
chat_id = "42"
api = "https://api.telegram.org"
timeout = "10s"

[alerts.webhook]
url = "${WEBHOOK_URL}"
topic = "edge"
timeout = "10s"

[logs]
remote = "tls://localhost:1"
ca_file = "{{DIR}}/ca.pem"
cert_file = "{{DIR}}/www.pem"
key_file = "{{DIR}}/www.key"
access = true
min_level = "info"
spool = "8MB"
alert_after = "15m"

[cluster]
database_url = "${DATABASE_URL}"
node = "agree-1"
`

// agreeEnv is the environment the secrets come from.
var agreeEnv = map[string]string{
	"ADMIN_TOKEN":    "0123456789abcdef0123456789abcdef",
	"ADMIN_HASH":     "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
	"DATABASE_URL":   "postgres://edge@127.0.0.1:1/gitcourse?sslmode=disable",
	"HEARTBEAT_URL":  "https://hc.agree.test/ping/1",
	"SMTP_PASSWORD":  "smtp-secret",
	"TELEGRAM_TOKEN": "123:abc",
	"WEBHOOK_URL":    "https://hooks.agree.test/x",
	"S3_ACCESS_KEY":  "agree-access",
	"S3_SECRET_KEY":  "agree-secret-key",
}

// badValue is a value of the right TOML type that is wrong for its key.
type badValue struct {
	key   string // the key path as errors name it: "route[0].health.timeout"
	value string // TOML
}

// agreeCases holds at least one bad value for every key (TestAgreeCasesCoverEveryKey).
// Booleans have no bad value of their type; each is listed with "".
var agreeCases = []badValue{
	{"server.http", `"127.0.0.1:99999"`}, {"server.http", `"nonsense"`},
	{"server.https", `"localhost:http"`},
	{"server.state_dir", `""`},
	{"server.admin_socket", `""`},
	{"server.access_log", `"relative/access.log"`}, {"server.access_log", `"/no/such/dir/access.log"`},
	{"server.shutdown_timeout", `"ten seconds"`},
	{"server.trusted_proxies", `["10.0.0.0/33"]`}, {"server.trusted_proxies", `["proxy.internal"]`},
	{"server.max_conns_per_ip", `-1`},
	{"server.http3", ``},
	{"server.http3_0rtt", ``},
	{"site.domains", `[]`}, {"site.domains", `["Agree.Test"]`}, {"site.domains", `["agree.test", "agree.test"]`},
	{"site.canonical", `"other.test"`},
	{"site.root", `"{{DIR}}/missing"`}, {"site.root", `"{{DIR}}/ca.pem"`},
	{"site.spa", ``},
	{"site.immutable", `["assets/"]`},
	{"site.compress", `["zstd"]`},
	{"route[0].path", `"api"`}, {"route[0].path", `"/admin/x"`}, {"route[0].path", `""`},
	{"route[0].upstreams", `[]`}, {"route[0].upstreams", `["127.0.0.1:99999"]`},
	{"route[0].upstreams", `["127.0.0.1:8000/x"]`}, {"route[0].upstreams", `["127.0.0.1:8000", "127.0.0.1:8000"]`},
	{"route[0].upstreams", `["http://127.0.0.1:8000"]`}, {"route[0].upstreams", `[":8000"]`},
	{"route[0].max_body", `"ten megabytes"`},
	{"route[0].pass_host", ``},
	{"route[0].passive_cooldown", `"-1s"`},
	{"route[0].retry_window", `"10m"`}, {"route[0].retry_window", `"-1s"`}, {"route[0].retry_window", `"soon"`},
	{"route[0].retry_max_waiting", `0`}, {"route[0].retry_max_waiting", `2000000`},
	{"route[0].health.path", `"health"`},
	{"route[0].health.interval", `"0s"`},
	{"route[0].health.timeout", `"20s"`},
	{"route[0].health.healthy", `0`},
	{"route[0].health.unhealthy", `101`},
	{"route[0].timeouts.connect", `"2"`},
	{"route[0].timeouts.response_header", `"x"`},
	{"route[0].timeouts.idle", `"1d"`},
	{"tls.email", `"not-an-address"`},
	{"tls.acme_ca", `"http://127.0.0.1:1/directory"`}, {"tls.acme_ca", `"not a url"`},
	{"tls.acme_ca_root", `"{{DIR}}/missing.pem"`}, {"tls.acme_ca_root", `"{{DIR}}/www.key"`},
	{"tls.challenges", `[]`}, {"tls.challenges", `["dns-01"]`},
	{"tls.internal", ``},
	{"tls.min_version", `"1.1"`},
	{"tls.certificates[0].cert", `"{{DIR}}/missing.pem"`}, {"tls.certificates[0].cert", `"{{DIR}}/ca.pem"`},
	{"tls.certificates[0].key", `""`}, {"tls.certificates[0].key", `"{{DIR}}/ca.pem"`},
	{"tls.renew_interval", `"often"`},
	{"tls.renewal_window_ratio", `1.5`},
	{"tls.ready_timeout", `"soon"`},
	{"headers.hsts", `"max-age=abc"`},
	{"headers.csp", `"default-src\n'self'"`},
	{"headers.csp_report_only", ``},
	{"headers.frame_options", `"ALLOWALL"`},
	{"headers.referrer_policy", `"a\nb"`},
	{"headers.permissions_policy", `"a\rb"`},
	{"admin.path", `"/admin/"`}, {"admin.path", `"/api"`},
	{"admin.users.admin", `"plain-password"`},
	{"admin.allow", `["127.0.0.1"]`},
	{"admin.token", `"short"`},
	{"backup.database_url", `"mysql://x"`}, {"backup.database_url", `""`},
	{"backup.database_url", `"postgres://edge@127.0.0.1:99999/db"`}, {"backup.database_url", `"postgres://edge@127.0.0.1:1/db?sslmode=sometimes"`},
	{"backup.dir", `"relative"`}, {"backup.dir", `"/no/such/dir/backups"`},
	{"backup.schedule", `"99 99 * * *"`}, {"backup.schedule", `"0 0 30 2 *"`}, {"backup.schedule", `"25:00"`},
	{"backup.format", `"tar"`},
	{"backup.keep_daily", `-1`},
	{"backup.keep_weekly", `-1`},
	{"backup.keep_monthly", `-1`},
	{"backup.verify", `"always"`},
	{"backup.encrypt_to", `["age1notakey"]`}, {"backup.encrypt_to", `["ssh-ed25519 AAAAnotakey"]`},
	{"backup.pg_bin", `"{{DIR}}/missing"`},
	{"backup.remote.url", `"s3://X"`}, {"backup.remote.url", `"https://agree-backups/prod"`}, {"backup.remote.url", `"s3://agree-backups/a/../b"`},
	{"backup.remote.endpoint", `"http://s3.agree.test"`}, {"backup.remote.endpoint", `"ftp://127.0.0.1:1"`},
	{"backup.remote.endpoint", `"http://127.0.0.1:99999"`}, {"backup.remote.endpoint", `"http://127.0.0.1:1/bucket"`},
	{"backup.remote.endpoint", `"http://[::1"`}, {"backup.remote.endpoint", `"http://bad_host.localhost:1"`},
	{"backup.remote.region", `"eu central/1"`},
	{"backup.remote.access_key", `""`},
	{"backup.remote.secret_key", `""`}, {"backup.remote.secret_key", `"in-the-file"`},
	{"backup.remote.path_style", ``},
	{"backup.remote.ca_file", `"{{DIR}}/missing.pem"`}, {"backup.remote.ca_file", `"{{DIR}}/www.key"`},
	{"backup.remote.require_encryption", ``},
	{"backup.remote.bandwidth", `"fast"`}, {"backup.remote.bandwidth", `"1KB"`},
	{"backup.remote.drill", `"daily"`},
	{"backup.remote.drill_identity", `"{{DIR}}/missing.key"`}, {"backup.remote.drill_identity", `"{{DIR}}/ca.pem"`},
	{"backup.remote.keep_daily", `-1`},
	{"backup.remote.keep_weekly", `-1`},
	{"backup.remote.keep_monthly", `-1`},
	{"limit[0].name", `"has space"`}, {"limit[0].name", `""`},
	{"limit[0].path", `"api/auth/"`}, {"limit[0].path", `""`},
	{"limit[0].methods", `["post"]`},
	{"limit[0].rate", `"10/d"`}, {"limit[0].rate", `"0/s"`},
	{"limit[0].burst", `0`}, {"limit[0].burst", `-1`},
	{"limit[0].max_in_flight", `-1`},
	{"limit[0].queue_timeout", `"0s"`}, {"limit[0].queue_timeout", `"soon"`},
	{"limit[0].ban_after", `-1`},
	{"limit[0].ban_window", `"0s"`},
	{"limit[0].ban_for", `"forever"`}, {"limit[0].ban_for", `"0s"`},
	{"limit[0].allow", `["10.0.0.0/33"]`}, {"limit[0].allow", `["office"]`},
	{"limit[0].max_clients", `0`},
	{"check[0].name", `"backup"`}, {"check[0].name", `"db"`}, {"check[0].name", `"has space"`}, {"check[0].name", `""`},
	{"check[0].http", `"ftp://x"`},
	{"check[0].contains", `""`},
	{"check[0].status", `99`},
	{"check[0].interval", `"0s"`},
	{"check[0].timeout", `"1m"`},
	{"check[0].failures", `0`},
	{"check[0].successes", `1000`},
	{"check[1].tcp", `"127.0.0.1:99999"`}, {"check[1].tcp", `"5432"`},
	{"check[2].postgres", `"${HEARTBEAT_URL}"`},
	{"check[2].postgres", `"postgres://edge@127.0.0.1:99999/db"`}, {"check[2].postgres", `"postgres://edge@127.0.0.1:1/db?sslmode=sometimes"`},
	{"check[3].disk", `"{{DIR}}/missing"`},
	{"check[3].min_free", `"lots"`},
	{"check[3].min_free_inodes", `-1`},
	{"check[4].route", `"/nope/"`},
	{"check[4].max_error_rate", `0.0`},
	{"check[4].max_p95", `"slow"`},
	{"check[4].window", `"0s"`},
	{"check[4].min_requests", `-5`},
	{"alerts.repeat", `"daily"`},
	{"alerts.heartbeat_url", `"${DATABASE_URL}"`},
	{"alerts.heartbeat_interval", `"0s"`},
	{"alerts.backup_heartbeat_url", `"${DATABASE_URL}"`},
	{"alerts.email.smtp", `"smtp.agree.test"`}, {"alerts.email.smtp", `"smtp.agree.test:0"`},
	{"alerts.email.from", `"edge"`},
	{"alerts.email.to", `[]`}, {"alerts.email.to", `["a@b, c@d"]`},
	{"alerts.email.username", `""`},
	{"alerts.email.password", `"in-the-file"`},
	{"alerts.email.timeout", `"0s"`},
	{"alerts.telegram.token", `""`},
	{"alerts.telegram.chat_id", `""`},
	{"alerts.telegram.api", `"::"`},
	{"alerts.telegram.timeout", `"-1s"`},
	{"alerts.webhook.url", `"${DATABASE_URL}"`},
	{"alerts.webhook.topic", `""`},
	{"alerts.webhook.timeout", `"never"`},
	{"logs.remote", `""`}, {"logs.remote", `"tcp://logs.agree.test:514"`}, {"logs.remote", `"udp://127.0.0.1:514"`},
	{"logs.remote", `"tls://localhost:99999"`}, {"logs.remote", `"tls://localhost"`},
	{"logs.ca_file", `"{{DIR}}/missing.pem"`}, {"logs.ca_file", `"{{DIR}}/www.key"`},
	{"logs.cert_file", `"{{DIR}}/missing.pem"`}, {"logs.cert_file", `"{{DIR}}/www.key"`}, {"logs.cert_file", `""`},
	{"logs.key_file", `"{{DIR}}/missing.key"`}, {"logs.key_file", `"{{DIR}}/www.pem"`}, {"logs.key_file", `""`},
	{"logs.access", ``},
	{"logs.min_level", `"trace"`},
	{"logs.spool", `"10KB"`}, {"logs.spool", `"big"`},
	{"logs.alert_after", `"0s"`}, {"logs.alert_after", `"later"`},
	{"cluster.database_url", `"mysql://x"`}, {"cluster.database_url", `""`},
	{"cluster.database_url", `"postgres://edge@127.0.0.1:99999/db"`},
	{"cluster.database_url", `"postgres://edge@127.0.0.1:1/db?sslmode=sometimes"`},
	{"cluster.database_url", `"postgres://edge@127.0.0.1:1/db?connect_timeout=soon"`},
	{"cluster.node", `"has space"`}, {"cluster.node", `"-agree"`},
}

// agreeDir writes the files the base configuration names.
func agreeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"site", "state", "backups"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cert, key, _ := testutil.WriteCert(t, dir, "www.agree.test")
	for from, to := range map[string]string{cert: "www.pem", key: "www.key"} {
		if err := os.Rename(from, filepath.Join(dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	pem, err := os.ReadFile(filepath.Join(dir, "www.pem"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"site/index.html": []byte("<h1>hi</h1>"), "ca.pem": pem, "drill.key": []byte(id.String() + "\n")}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// withValue returns base with key set to value on the line of the key
// (its table located by header; "check[3]" is the fourth [[check]]).
func withValue(t *testing.T, base, key, value string) (text string, line int) {
	t.Helper()
	i := strings.LastIndex(key, ".")
	table, name := key[:i], key[i+1:]
	header, nth := tableHeader(table)
	lines := strings.Split(base, "\n")
	seen, in := -1, false
	for n, l := range lines {
		if strings.HasPrefix(l, "[") {
			in = false
			if l == header {
				seen++
				in = seen == nth
			}
			continue
		}
		if in && strings.HasPrefix(l, name+" = ") {
			lines[n] = name + " = " + value
			return strings.Join(lines, "\n"), n + 1
		}
	}
	t.Fatalf("no line for %s (header %s #%d) in the base configuration", key, header, nth)
	return "", 0
}

var indexRE = regexp.MustCompile(`\[(\d+)\]`)

// tableHeader maps "route[0].health" to "[route.health]", 0 and
// "check[3]" to "[[check]]", 3.
func tableHeader(table string) (string, int) {
	nth := 0
	if m := indexRE.FindStringSubmatch(table); m != nil {
		_, _ = fmt.Sscanf(m[1], "%d", &nth)
	}
	plain := indexRE.ReplaceAllString(table, "")
	if strings.HasSuffix(table, "]") {
		return "[[" + plain + "]]", nth
	}
	if plain == "route.health" || plain == "route.timeouts" {
		return "[" + plain + "]", nth
	}
	return "[" + plain + "]", 0
}

// TestValidateAgreesWithRun sets each key in turn to a bad value and
// checks that whenever the running program (server.New, the health
// monitor, a start and a stop) refuses the configuration, "edge validate"
// (config.Load) has refused it too, naming that key at its line.
func TestValidateAgreesWithRun(t *testing.T) {
	dir := agreeDir(t)
	base := strings.ReplaceAll(agreeBase, "{{DIR}}", dir)
	if verr, rerr := validateAndRun(t, dir, base); verr != nil || rerr != nil {
		t.Fatalf("the base configuration: validate %v, run %v; want both to accept it", verr, rerr)
	}
	for _, c := range agreeCases {
		if c.value == "" {
			continue // a boolean: no wrong value of its type
		}
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			text, line := withValue(t, base, c.key, strings.ReplaceAll(c.value, "{{DIR}}", dir))
			verr, rerr := validateAndRun(t, dir, text)
			if rerr == nil {
				return // validate may be stricter than run (secrets in the file, missing dirs)
			}
			var errs *config.Errors
			if !errors.As(verr, &errs) {
				t.Fatalf("run refuses it (%v) but validate says %v", rerr, verr)
			}
			for _, fe := range errs.List {
				// A list is named by its element ("upstreams[1]"); a
				// duplicate by the later of the two.
				element := strings.HasPrefix(fe.Key, c.key+"[")
				dup := errors.Is(fe, config.ErrDuplicate) &&
					indexRE.ReplaceAllString(fe.Key, "") == indexRE.ReplaceAllString(c.key, "")
				if (fe.Key == c.key || element) && fe.Line == line || dup {
					return
				}
			}
			t.Errorf("run refuses it (%v) but validate does not name %s at line %d: %v", rerr, c.key, line, verr)
		})
	}
}

// validateAndRun writes text to a file and returns what "edge validate"
// says and what the running program says.
func validateAndRun(t *testing.T, dir, text string) (verr, rerr error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edge.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range agreeEnv {
		t.Setenv(k, v)
	}
	_, verr = config.Load(path)
	return verr, runConfig(t, path)
}

// runConfig does what "edge run" does with the file, without validating
// it first: decode, build the server, build the health monitor, run and
// stop at once.
func runConfig(t *testing.T, path string) error {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := config.Parse(f, path, func(k string) (string, bool) { v, ok := agreeEnv[k]; return v, ok })
	if cfg == nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg, Options{Version: "test", Logger: log, Stdout: io.Discard})
	if err != nil {
		return err
	}
	mon, herr := health.New(cfg, s.healthOptions(cfg))
	if herr == nil {
		mon.Close()
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Run(ctx); err != nil {
		return err
	}
	return herr
}

// TestAgreeCasesCoverEveryKey: every key of config.Config has a case.
func TestAgreeCasesCoverEveryKey(t *testing.T) {
	have := map[string]bool{}
	for _, c := range agreeCases {
		have[indexRE.ReplaceAllString(c.key, "")] = true
	}
	have["admin.users"] = have["admin.users.admin"]
	for _, key := range configKeys(reflect.TypeFor[config.Config](), "") {
		if !have[key] {
			t.Errorf("no bad value for %s in agreeCases", key)
		}
	}
}

// configKeys lists the leaf keys of t by their toml tags ("route.health.path").
func configKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()) {
			out = append(out, configKeys(ft, key)...)
			continue
		}
		out = append(out, key)
	}
	return out
}
