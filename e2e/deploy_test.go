package e2e

// deploy/deploy.sh end to end: a real sshd (Debian's openssh-server) on a
// free loopback port with a temp host key and a temp user key; the
// "remote" is this machine, a temp tree with a running edge, uvicorn
// serving the GitCourse API, and a throwaway PostgreSQL cluster. Plus the
// firewall files of deploy/firewall.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
)

// deployTimeout bounds one run of deploy.sh.
const deployTimeout = 3 * time.Minute

// deployEnv is the app repository, the remote tree and the services of
// one deploy test.
type deployEnv struct {
	dir, app, remote string
	edge             *Edge
	pg               *pgCluster
	dbURL            string
	apiPort          string
	ssh              *sshServer
	hooks            *webhookSink
	hookURL          string
	resolver         string // a DNS stub: edge.test A 127.0.0.1
	me               string
}

// Migration 0002, shipped by the first deploy.
const migration0002 = `"""announcements: shipped by the deploy test

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("announcements", sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text, nullable=False))


def downgrade() -> None:
    op.drop_table("announcements")
`

// A migration that fails, for the rollback test.
const migration0003Broken = `"""broken on purpose

Revision ID: 0003
Revises: 0002
"""
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise RuntimeError("migration 0003 is broken on purpose")


def downgrade() -> None:
    pass
`

// apiScript (re)starts uvicorn from the remote backend dir, detached
// from the SSH session, and records its PID; "stop" only stops it.
const apiScript = `#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
if [[ -f api.pid ]] && kill -0 "$(cat api.pid)" 2>/dev/null; then
	kill "$(cat api.pid)"
	for _ in $(seq 100); do kill -0 "$(cat api.pid)" 2>/dev/null || break; sleep 0.1; done
fi
rm -f api.pid
[[ "${1:-}" == stop ]] && exit 0
set -a; . ./.env; set +a
cd backend
setsid /usr/bin/python3 -m uvicorn app:app --host 127.0.0.1 --port "$API_PORT" </dev/null >>../api.log 2>&1 &
echo $! >../api.pid
echo "api started (pid $!)"
`

// frontendBuild stands in for "npm run build": a dist/ of the version in
// frontend/VERSION.
const frontendBuild = `#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
v=$(cat VERSION)
rm -rf dist && mkdir -p dist/assets
printf '<!doctype html><title>gitcourse %s</title><script type="module" src="/assets/app-%s.js"></script><div id="root" data-version="%s"></div>\n' "$v" "$v" "$v" >dist/index.html
{ echo "console.log('gitcourse $v');"; for i in $(seq 60); do echo "export const line$i = 'padding so that edge release precompresses it';"; done; } >"dist/assets/app-$v.js"
`

func newDeployEnv(t *testing.T) *deployEnv {
	t.Helper()
	requireTools(t, "deploy.sh runs them on the CI side", "bash", "rsync", "curl")
	requireAPIDeps(t)
	edgeBinary(t)
	d := &deployEnv{dir: shortTempDir(t), hooks: &webhookSink{}}
	d.app, d.remote = filepath.Join(d.dir, "app"), filepath.Join(d.dir, "remote")
	d.ssh = startSSHD(t, filepath.Join(d.dir, "ssh"))
	me, _ := user.Current()
	d.me = me.Username
	d.pg = startPGCluster(t)
	d.dbURL = d.pg.createDatabase(t, "gitcourse")
	hook := httptest.NewServer(d.hooks)
	t.Cleanup(hook.Close)
	d.hookURL = hook.URL + "/hook"
	d.resolver = dnsStub(t, "edge.test.", "127.0.0.1")

	// The app's repository: the GitCourse API plus migration 0002, and a frontend.
	copyDir(t, apiDir(t), filepath.Join(d.app, "backend"))
	writeFile(t, filepath.Join(d.app, "backend/migrations/versions/20261126_0002_announcements.py"), migration0002, 0o644)
	writeFile(t, filepath.Join(d.app, "frontend/build.sh"), frontendBuild, 0o755)
	writeFile(t, filepath.Join(d.app, "frontend/VERSION"), "v1", 0o644)

	// The remote tree: the backend at 0001, its database migrated to 0001, frontend v0.
	copyDir(t, apiDir(t), filepath.Join(d.remote, "backend"))
	d.apiPort = freePort(t)
	writeFile(t, filepath.Join(d.remote, ".env"), fmt.Sprintf(
		"DATABASE_URL=%s\nALERT_WEBHOOK_URL=%s\nEDGE_ADMIN_BCRYPT='%s'\nAPI_PORT=%s\nPYTHONDONTWRITEBYTECODE=1\n",
		d.dbURL, d.hookURL, bcryptHash(t), d.apiPort), 0o640)
	writeFile(t, filepath.Join(d.remote, "api.sh"), apiScript, 0o755)
	if err := os.MkdirAll(filepath.Join(d.remote, "backups"), 0o750); err != nil {
		t.Fatal(err)
	}
	alembic(t, d.dbURL, "upgrade", "head")
	d.startAPI(t)
	d.startEdge(t)
	return d
}

// startAPI starts uvicorn through api.sh; cleanup stops it by its PID.
func (d *deployEnv) startAPI(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(filepath.Join(d.remote, "api.sh")).CombinedOutput(); err != nil {
		t.Fatalf("api.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(d.remote, "api.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	})
	if !waitTCP("127.0.0.1:"+d.apiPort, nil, 30*time.Second) {
		log, _ := os.ReadFile(filepath.Join(d.remote, "api.log"))
		t.Fatalf("uvicorn did not listen on %s\n%s", d.apiPort, log)
	}
}

// startEdge releases frontend v0 and starts edge with the API route, a
// [backup] and a webhook alert channel.
func (d *deployEnv) startEdge(t *testing.T) {
	t.Helper()
	e := &Edge{t: t, Bin: edgeBinary(t), Dir: d.remote, Opts: Options{NoHTTPS: true},
		Site: filepath.Join(d.remote, "frontend", "current"), State: filepath.Join(d.remote, "state"),
		Socket: filepath.Join(d.remote, "admin.sock"), Config: filepath.Join(d.remote, "edge.toml")}
	e.Opts.Env = []string{"DATABASE_URL=" + d.dbURL, "ALERT_WEBHOOK_URL=" + d.hookURL}
	if err := os.MkdirAll(filepath.Dir(e.Site), 0o755); err != nil {
		t.Fatal(err)
	}
	v0 := filepath.Join(d.dir, "v0")
	writeFile(t, filepath.Join(v0, "index.html"), `<!doctype html><div id="root" data-version="v0"></div>`, 0o644)
	for attempt := 1; ; attempt++ {
		e.HTTPPort = freePort(t)
		e.WriteConfigText(fmt.Sprintf(`[server]
http = "127.0.0.1:%s"
https = ""
state_dir = %q
admin_socket = %q
access_log = "off"

[site]
domains = ["edge.test"]
root = %q

[[route]]
path = "/api/"
upstreams = ["127.0.0.1:%s"]
timeouts = { connect = "1s", response_header = "5s" }
%s

[tls]
internal = true

[admin]
users = { admin = "${EDGE_ADMIN_BCRYPT}" }

[backup]
database_url = "${DATABASE_URL}"
dir = %q
verify = "none"

[alerts]
webhook = { url = "${ALERT_WEBHOOK_URL}" }
`, e.HTTPPort, e.State, e.Socket, e.Site, d.apiPort, apiHealth, filepath.Join(d.remote, "backups")))
		if attempt == 1 {
			if out, errOut, code := runEdge(t, nil, "release", "-config", e.Config, v0); code != 0 {
				t.Fatalf("first release: exit %d\n%s%s", code, out, errOut)
			}
		}
		err := e.launch([]string{"run", "-config", e.Config})
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(e.Output(), "address already in use") {
			continue
		}
		t.Fatalf("start edge: %v\n%s", err, e.Output())
	}
	d.edge = e
}

// deploy runs deploy/deploy.sh with the test's environment plus extra
// (which wins) and returns its output and exit code.
func (d *deployEnv) deploy(t *testing.T, id string, extra ...string) (string, int) {
	t.Helper()
	script, err := filepath.Abs("../deploy/deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	edgeCfg := d.edge.Config
	loadEnv := "set -a && . " + d.remote + "/.env && set +a"
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8",
		"DEPLOY_ID=" + id,
		"DEPLOY_HOST=" + d.me + "@127.0.0.1", "DEPLOY_SSH_PORT=" + d.ssh.Port, "DEPLOY_SSH_KEY=" + d.ssh.Key,
		"DEPLOY_SSH_OPTS=" + d.ssh.SSHOpts(),
		"DEPLOY_APP_DIR=" + d.app,
		"APP_TEST_CMD=cd backend && /usr/bin/python3 -m py_compile app.py db.py models.py",
		"FRONTEND_BUILD_CMD=bash frontend/build.sh",
		"FRONTEND_DIST=frontend/dist",
		"BACKEND_DIR=backend",
		"HEALTH_URL=http://edge.test:" + d.edge.HTTPPort + "/api/health",
		"HEALTH_CURL_OPTS=--resolve edge.test:" + d.edge.HTTPPort + ":127.0.0.1",
		"HEALTH_TIMEOUT=30",
		"REMOTE_BASE=" + d.remote,
		"REMOTE_EDGE=" + d.edge.Bin,
		"REMOTE_EDGE_CONFIG=" + edgeCfg,
		// The tests have no edge user, no sudo and no systemd: the documented overrides.
		"REMOTE_BACKUP_CMD=" + loadEnv + " && " + d.edge.Bin + " backup now -config " + edgeCfg,
		"REMOTE_MIGRATE_CMD=cd " + d.remote + "/backend && " + loadEnv + " && /usr/bin/python3 -m alembic upgrade head",
		"REMOTE_RESTART_CMD=" + d.remote + "/api.sh restart",
		"REMOTE_PREFLIGHT_CMD=" + loadEnv + " && " + d.edge.Bin + " preflight -config " + edgeCfg + " " + d.preflightFlags(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), deployTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = append(env, extra...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			t.Fatalf("deploy.sh %s: %v (timeout %s)\n%s", id, err, deployTimeout, out)
		}
		code = ee.ExitCode()
	}
	t.Logf("deploy.sh %s: exit %d\n%s", id, code, out)
	return string(out), code
}

// preflightFlags point edge preflight at the DNS stub and edge's port.
func (d *deployEnv) preflightFlags() string {
	return fmt.Sprintf("-resolver %s -public-ip 127.0.0.1 -http-port %s -https-port %s -min-free 1MB",
		d.resolver, d.edge.HTTPPort, d.edge.HTTPPort)
}

// testPreflight runs edge preflight -send-test against the real services:
// DNS (the stub), edge's port, uvicorn, pg_dump against the PostgreSQL
// server, the backup dir and the webhook.
func testPreflight(t *testing.T, d *deployEnv) {
	env := []string{"DATABASE_URL=" + d.dbURL, "ALERT_WEBHOOK_URL=" + d.hookURL, "EDGE_ADMIN_BCRYPT=" + bcryptHash(t)}
	args := append([]string{"preflight", "-config", d.edge.Config, "-send-test", "-json"}, strings.Fields(d.preflightFlags())...)
	out, errOut, code := runEdge(t, env, args...)
	var rep struct {
		Results []struct{ Check, Status, Detail string } `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("edge preflight: exit %d (%v)\n%s%s", code, err, out, errOut)
	}
	got := map[string]string{}
	for _, r := range rep.Results {
		got[r.Check] += r.Status + " "
		t.Logf("preflight %-10s %-4s %s", r.Check, r.Status, r.Detail)
	}
	for check, want := range map[string]string{"dns": "pass", "ports": "pass", "upstream": "pass", "pg_dump": "pass",
		"backup_dir": "pass", "alerts": "pass", "caa": "skip", "acme": "skip"} {
		if strings.TrimSpace(got[check]) != want {
			t.Errorf("preflight %s: got %q, want %s", check, got[check], want)
		}
	}
	if !d.hooks.has("edge preflight: test message") {
		t.Errorf("the webhook got no test message: %q", d.hooks.texts)
	}
	// A domain that does not resolve: exit 1, with the reason.
	bad := append([]string{"preflight", "-config", d.edge.Config}, strings.Fields(strings.Replace(d.preflightFlags(), "-public-ip 127.0.0.1", "-public-ip 192.0.2.1", 1))...)
	out, _, code = runEdge(t, env, bad...)
	if code != 1 || !strings.Contains(out, "FAIL  dns") || !strings.Contains(out, "not at this host") {
		t.Errorf("edge preflight with DNS elsewhere: exit %d, want 1 and a dns failure\n%s", code, out)
	}
}

// version is the data-version of the page edge serves now.
func (d *deployEnv) version(t *testing.T) string {
	t.Helper()
	_, body := get(t, newClient(nil, false), d.edge.HTTP("/"))
	s := string(body)
	i := strings.Index(s, `data-version="`)
	if i < 0 {
		t.Fatalf("GET /: no data-version in %.200q", s)
	}
	s = s[i+len(`data-version="`):]
	return s[:strings.Index(s, `"`)]
}

func (d *deployEnv) dbRevision(t *testing.T) string {
	t.Helper()
	return d.pg.psql(t, "gitcourse", "gitcourse", "pw-gitcourse", "SELECT version_num FROM alembic_version")
}

func (d *deployEnv) apiPID(t *testing.T) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(d.remote, "api.pid"))
	return strings.TrimSpace(string(b))
}

func (d *deployEnv) backups(t *testing.T) int {
	t.Helper()
	out, errOut, code := runEdge(t, []string{"DATABASE_URL=" + d.dbURL, "ALERT_WEBHOOK_URL=" + d.hookURL, "EDGE_ADMIN_BCRYPT=" + bcryptHash(t)},
		"backup", "list", "-json", "-config", d.edge.Config)
	if code != 0 {
		t.Fatalf("edge backup list: exit %d: %s", code, errOut)
	}
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("edge backup list -json: %v\n%s", err, out)
	}
	return len(list)
}

// TestDeployScript runs deploy/deploy.sh over SSH: a good deploy, one whose
// migration fails (the frontend goes back), and one on an edge without
// "backup" and "notify" (exit 2, not available).
func TestDeployScript(t *testing.T) {
	d := newDeployEnv(t)
	if got := d.version(t); got != "v0" {
		t.Fatalf("before the deploy: serving %s, want v0", got)
	}
	pid0, rev0 := d.apiPID(t), d.dbRevision(t)
	t.Run("preflight", func(t *testing.T) { testPreflight(t, d) })

	out, code := d.deploy(t, "e2e-1")
	if code != 0 {
		t.Fatalf("deploy e2e-1: exit %d, want 0", code)
	}
	for _, want := range []string{"==> test", "==> ship", "==> preflight", "preflight: 0 failed", "==> release", "==> backup", "==> migrate", "==> restart", "==> health",
		"static caches dropped", "notified (ok)", "deploy e2e-1 ok in"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q", want)
		}
	}
	if got := d.version(t); got != "v1" {
		t.Errorf("after the deploy: serving %s, want v1", got)
	}
	if got := d.dbRevision(t); rev0 != "0001" || got != "0002" {
		t.Errorf("database revision: %s before, %s after; want 0001, then 0002", rev0, got)
	}
	if pid := d.apiPID(t); pid == pid0 || pid == "" {
		t.Errorf("API not restarted: pid %q before and %q after", pid0, pid)
	}
	if n := d.backups(t); n != 1 {
		t.Errorf("backups after the deploy: %d, want 1 (taken before the migration)", n)
	}
	if !d.hooks.has("deploy e2e-1 ok") {
		t.Errorf("no webhook alert for the successful deploy; got %q", d.hooks.texts)
	}

	// A broken migration: the new frontend (v2) goes live, then back to v1.
	writeFile(t, filepath.Join(d.app, "frontend/VERSION"), "v2", 0o644)
	writeFile(t, filepath.Join(d.app, "backend/migrations/versions/20261127_0003_broken.py"), migration0003Broken, 0o644)
	out, code = d.deploy(t, "e2e-2")
	if code != 1 || !strings.Contains(out, "FAILED at step migrate") || !strings.Contains(out, "frontend rolled back") {
		t.Fatalf("deploy e2e-2 with a broken migration: exit %d, want 1, a failure at migrate and a rollback", code)
	}
	if got := d.version(t); got != "v1" {
		t.Errorf("after the failed deploy: serving %s, want v1 (rolled back)", got)
	}
	if got := d.dbRevision(t); got != "0002" {
		t.Errorf("after the failed migration: revision %s, want 0002", got)
	}
	if !d.hooks.has("deploy e2e-2 failed at step migrate") {
		t.Errorf("no webhook alert for the failed deploy; got %q", d.hooks.texts)
	}
	if err := os.Remove(filepath.Join(d.app, "backend/migrations/versions/20261127_0003_broken.py")); err != nil {
		t.Fatal(err)
	}

	// An edge build without backup and notify: exit 2, "not available".
	// deploy.sh appends -status/-title/message to the notify command: the
	// trailing "#" makes the stand-in ignore them.
	notAvailable := "echo 'edge %s: not available in this build yet (see docs/SPEC.md section 1)' >&2; exit 2"
	missing := []string{"REMOTE_BACKUP_CMD=" + fmt.Sprintf(notAvailable, "backup"), "REMOTE_NOTIFY_CMD=" + fmt.Sprintf(notAvailable, "notify") + " #"}
	out, code = d.deploy(t, "e2e-3", missing...)
	if code != 1 || !strings.Contains(out, "refusing to migrate without a backup") ||
		!strings.Contains(out, "edge notify is not available") || d.version(t) != "v1" {
		t.Errorf("deploy e2e-3 without edge backup: exit %d, serving %s; want 1, a refusal, a plain notify message, v1", code, d.version(t))
	}
	out, code = d.deploy(t, "e2e-4", append(missing, "DEPLOY_REQUIRE_BACKUP=0")...)
	if code != 0 || !strings.Contains(out, "migrating WITHOUT a backup") || !strings.Contains(out, "no backup: edge backup not available") {
		t.Errorf("deploy e2e-4 with DEPLOY_REQUIRE_BACKUP=0: exit %d; want 0 and the missing backup said", code)
	}
	if got := d.version(t); got != "v2" {
		t.Errorf("after deploy e2e-4: serving %s, want v2", got)
	}
}

// TestDeployScriptUsage: -h prints the header, a missing DEPLOY_HOST is
// one clear line.
func TestDeployScriptUsage(t *testing.T) {
	requireTools(t, "deploy.sh", "bash")
	out, err := exec.Command("bash", "../deploy/deploy.sh", "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "REMOTE_RESTART_CMD") {
		t.Errorf("deploy.sh -h: %v\n%s", err, out)
	}
	cmd := exec.Command("bash", "../deploy/deploy.sh")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "DEPLOY_HOST") {
		t.Errorf("deploy.sh without DEPLOY_HOST: %v\n%s", err, out)
	}
}

// TestFirewallNftRuleset checks deploy/firewall/edge.nft with nft -c (a
// dry run: nothing is loaded).
func TestFirewallNftRuleset(t *testing.T) {
	requireTools(t, "Debian nftables", "nft")
	out, err := exec.Command("nft", "-c", "-f", "../deploy/firewall/edge.nft").CombinedOutput()
	if err != nil && strings.Contains(string(out), "Operation not permitted") {
		testutil.RequireOrSkip(t, "CAP_NET_ADMIN for nft -c (run as root)", fmt.Errorf("%s", out))
	}
	if err != nil {
		t.Fatalf("nft -c -f deploy/firewall/edge.nft: %v\n%s", err, out)
	}
	// nft -c must fail on a broken file, or the check above proves nothing.
	broken := filepath.Join(t.TempDir(), "broken.nft")
	data, _ := os.ReadFile("../deploy/firewall/edge.nft")
	writeFile(t, broken, strings.Replace(string(data), "policy drop;", "policy dropp;", 1), 0o644)
	if out, err := exec.Command("nft", "-c", "-f", broken).CombinedOutput(); err == nil {
		t.Errorf("nft -c accepted a broken ruleset:\n%s", out)
	}
}

// TestFirewallUFWScript checks deploy/firewall/ufw.sh without ufw: its
// dry run prints the rules, its help exits 0.
func TestFirewallUFWScript(t *testing.T) {
	requireTools(t, "ufw.sh", "bash")
	out, err := exec.Command("bash", "../deploy/firewall/ufw.sh", "--dry-run").CombinedOutput()
	if err != nil {
		t.Fatalf("ufw.sh --dry-run: %v\n%s", err, out)
	}
	for _, want := range []string{"ufw default deny incoming", "ufw limit 22/tcp", "ufw allow 80/tcp", "ufw allow 443/tcp", "ufw --force enable"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ufw.sh --dry-run lacks %q:\n%s", want, out)
		}
	}
	if out, err := exec.Command("bash", "../deploy/firewall/ufw.sh", "-h").CombinedOutput(); err != nil || !strings.Contains(string(out), "--ssh-from") {
		t.Errorf("ufw.sh -h: %v\n%s", err, out)
	}
	if _, err := exec.Command("bash", "../deploy/firewall/ufw.sh", "--bogus").CombinedOutput(); err == nil {
		t.Errorf("ufw.sh --bogus: exit 0, want 2")
	}
}

// TestDeployScriptsShellcheck runs shellcheck on the deploy scripts
// (scripts/test installs it; under CI=true a missing shellcheck fails).
func TestDeployScriptsShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		testutil.RequireOrSkip(t, "shellcheck (Debian package shellcheck)", err)
	}
	out, err := exec.Command("shellcheck", "../deploy/deploy.sh", "../deploy/api-restart.sh", "../deploy/firewall/ufw.sh", "../deploy/install.sh").CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// TestDeployCITemplates: the GitHub Actions and GitLab CI templates call
// deploy.sh with its required variables, and parse as YAML (when Python's
// yaml module is there to check).
func TestDeployCITemplates(t *testing.T) {
	for _, f := range []string{"../deploy/ci/github-actions-deploy.yml", "../deploy/ci/.gitlab-ci.yml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"bash deploy/deploy.sh", "DEPLOY_HOST", "HEALTH_URL", "DEPLOY_SSH_KEY", "StrictHostKeyChecking=yes"} {
			if !strings.Contains(string(data), want) {
				t.Errorf("%s lacks %q", f, want)
			}
		}
		if exec.Command("/usr/bin/python3", "-c", "import yaml").Run() != nil {
			continue
		}
		if out, err := exec.Command("/usr/bin/python3", "-c", "import sys, yaml; yaml.safe_load(open(sys.argv[1]))", f).CombinedOutput(); err != nil {
			t.Errorf("%s is not valid YAML: %s", f, out)
		}
	}
}
