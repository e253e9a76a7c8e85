package e2e

// Off-site backups end to end: the built binary, a real S3 server
// (versitygw), PostgreSQL and age.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/gitcourse/edge/backupjob/remote/remotetest"
)

const offsiteBucket = "gitcourse-backups"

// offsiteEnv is machine A: a database, an age key pair, a config with
// [backup.remote] on a versitygw.
type offsiteEnv struct {
	*backupEnv
	vgw       *remotetest.Server
	identity  string // path of the age identity file (kept "off the machine")
	recipient string
}

func newOffsiteEnv(t *testing.T, remoteExtra string) *offsiteEnv {
	t.Helper()
	vgw := remotetest.Start(t, offsiteBucket)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	o := &offsiteEnv{vgw: vgw, recipient: id.Recipient().String(), identity: filepath.Join(t.TempDir(), "backup.key")}
	if err := os.WriteFile(o.identity, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o.backupEnv = newBackupEnv(t, o.extra(remoteExtra))
	o.env = append(o.env, "S3_ACCESS_KEY="+remotetest.AccessKey, "S3_SECRET_KEY="+remotetest.SecretKey)
	return o
}

// extra is the config after [backup]'s keys: encryption and [backup.remote].
func (o *offsiteEnv) extra(remoteExtra string) string {
	return `encrypt_to = ["` + o.recipient + `"]

[backup.remote]
url = "s3://` + offsiteBucket + `/prod"
endpoint = "` + o.vgw.Endpoint + `"
region = "us-east-1"
access_key = "${S3_ACCESS_KEY}"
secret_key = "${S3_SECRET_KEY}"
path_style = true
` + strings.ReplaceAll(remoteExtra, "{{identity}}", o.identity)
}

// remoteList runs "list -remote -json".
func (o *offsiteEnv) remoteList(t *testing.T) []listEntry {
	t.Helper()
	var entries []listEntry
	out := o.mustEdge(t, "list", "-remote", "-json")
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("list -remote -json: %v\n%s", err, out)
	}
	return entries
}

// TestOffsiteDisasterRecovery: machine A backs up and uploads; its disk is
// wiped; machine B, with only the config, the credentials and the age
// identity, restores the newest remote copy into a fresh database with
// the same rows, and verifies the remote copy in a scratch cluster.
func TestOffsiteDisasterRecovery(t *testing.T) {
	t.Parallel()
	a := newOffsiteEnv(t, `drill = "off"`+"\n")
	src := a.pg.psql(t, "gitcourse", "gitcourse", "pw-gitcourse", backupChecksums)
	a.mustEdge(t, "now")
	if out := a.mustEdge(t, "push"); !strings.Contains(out, "uploaded backup") {
		t.Fatalf("push:\n%s", out)
	}
	if out := a.mustEdge(t, "push"); !strings.Contains(out, "nothing to upload") {
		t.Fatalf("second push:\n%s", out)
	}
	remoteEntries := a.remoteList(t)
	local := a.list(t)
	if len(remoteEntries) != 1 || remoteEntries[0].ID != local[0].ID || remoteEntries[0].SHA256 != local[0].SHA256 {
		t.Fatalf("remote %+v, local %+v", remoteEntries, local)
	}
	out := a.mustEdge(t, "list", "-json")
	if !strings.Contains(out, `"remote"`) || !strings.Contains(out, `"ok": true`) {
		t.Fatalf("local manifest has no successful remote record:\n%s", out)
	}

	// The VPS is gone: its backups and state with it.
	for _, d := range []string{a.backups, filepath.Join(a.dir, "state")} {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}

	// Machine B: a fresh directory, the same config text, a new database.
	dst := a.pg.createDatabase(t, "rebuilt")
	cfgText, err := os.ReadFile(a.config)
	if err != nil {
		t.Fatal(err)
	}
	bdir := shortTempDir(t)
	bcfg := filepath.Join(bdir, "edge.toml")
	text := strings.ReplaceAll(string(cfgText), a.dir, bdir)
	if err := os.MkdirAll(filepath.Join(bdir, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bdir, "site", "index.html"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bcfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	benv := []string{"DATABASE_URL=" + dst, "S3_ACCESS_KEY=" + remotetest.AccessKey, "S3_SECRET_KEY=" + remotetest.SecretKey}
	start := time.Now()
	out, stderr, code := runEdge(t, benv, "backup", "restore", "latest", "-remote", "-to", dst, "-identity", a.identity, "-config", bcfg)
	took := time.Since(start)
	if code != 0 || !strings.Contains(out, "row counts match") {
		t.Fatalf("restore -remote on machine B: exit %d\n%s\n%s", code, out, stderr)
	}
	t.Logf("bare-machine restore (download, sha256, decrypt, pg_restore, counts): %s", took.Round(time.Millisecond))
	if got := a.pg.psql(t, "rebuilt", "rebuilt", "pw-rebuilt", backupChecksums); got != src {
		t.Fatalf("rebuilt data differs:\n got %s\nwant %s", got, src)
	}
	out, stderr, code = runEdge(t, benv, "backup", "verify", "latest", "-remote", "-identity", a.identity, "-config", bcfg)
	if code != 0 || !strings.Contains(out, "counts match") {
		t.Fatalf("verify -remote: exit %d\n%s\n%s", code, out, stderr)
	}
	// The restore left the pulled copy in B's backup.dir, listed locally.
	out, _, code = runEdge(t, benv, "backup", "list", "-config", bcfg)
	if code != 0 || !strings.Contains(out, remoteEntries[0].ID) {
		t.Fatalf("machine B list: exit %d\n%s", code, out)
	}
}

// TestOffsiteFaults: wrong credentials and a missing bucket fail with the
// key to fix (exit 1); an object altered in the bucket makes verify and
// restore refuse it (exit 1); edge SIGKILLed mid-upload leaves nothing
// listed remotely and the next push completes it.
func TestOffsiteFaults(t *testing.T) {
	t.Parallel()
	o := newOffsiteEnv(t, `bandwidth = "64KiB"`+"\n"+`drill = "off"`+"\n")
	o.pg.psql(t, "gitcourse", "gitcourse", "pw-gitcourse",
		"CREATE TABLE blobs AS SELECT i, md5(i::text) || md5((i*7)::text) AS v FROM generate_series(1, 30000) i")
	o.mustEdge(t, "now")
	local := o.list(t)

	// SIGKILL mid-upload: ~1 MB at 64 KiB/s takes over 10 s.
	cmd := exec.Command(edgeBinary(t), "backup", "push", "-config", o.config)
	cmd.Env = append(os.Environ(), o.env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	time.Sleep(1500 * time.Millisecond) // mid-way through a >10 s upload
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if n := len(o.remoteList(t)); n != 0 {
		t.Fatalf("after SIGKILL mid-upload %d backups listed remotely, want 0", n)
	}
	if _, err := os.Stat(o.vgw.Object(offsiteBucket, "prod/"+strings.TrimSuffix(local[0].File, ".dump.age")+".json")); !os.IsNotExist(err) {
		t.Fatalf("manifest object after SIGKILL: %v", err)
	}
	o.writeConfig(t, o.extra(`drill = "off"`)) // no bandwidth cap for the rest
	if out := o.mustEdge(t, "push"); !strings.Contains(out, "uploaded backup "+local[0].ID) {
		t.Fatalf("push after SIGKILL:\n%s", out)
	}
	if n := len(o.remoteList(t)); n != 1 {
		t.Fatalf("after completing: %d listed", n)
	}

	// Wrong secret, unknown bucket: exit 1, one line naming the fix.
	_, stderr, code := runEdge(t, append(o.env, "S3_SECRET_KEY=wrong"), "backup", "list", "-remote", "-config", o.config)
	oneLine(t, stderr, code, 1, "backup.remote.secret_key")
	o.writeConfig(t, strings.Replace(o.extra(`drill = "off"`), offsiteBucket+"/prod", "no-such-bucket/prod", 1))
	_, stderr, code = o.edge(t, "push")
	oneLine(t, stderr, code, 1, "no-such-bucket")
	o.writeConfig(t, o.extra(`drill = "off"`))

	// A byte altered in the bucket: verify and restore refuse, exit 1.
	obj := o.vgw.Object(offsiteBucket, "prod/"+local[0].File)
	flipOneByte(t, obj)
	_, stderr, code = o.edge(t, "verify", local[0].ID, "-remote", "-identity", o.identity)
	oneLine(t, stderr, code, 1, "does not match its manifest")
	if err := os.RemoveAll(o.backups); err != nil {
		t.Fatal(err)
	}
	dst := o.pg.createDatabase(t, "victim")
	_, stderr, code = o.edge(t, "restore", "latest", "-remote", "-to", dst, "-identity", o.identity)
	oneLine(t, stderr, code, 1, "does not match its manifest")
	if n := o.pg.psql(t, "victim", "victim", "pw-victim", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); n != "0" {
		t.Fatalf("the refused restore created %s tables", n)
	}
}

// TestOffsiteWorker: "edge run" takes the catch-up backup, uploads it,
// runs the restore drill (drill_identity given) into a scratch cluster,
// and shows both in status.json.
func TestOffsiteWorker(t *testing.T) {
	t.Parallel()
	o := newOffsiteEnv(t, `drill = "weekly"`+"\n"+`drill_identity = "{{identity}}"`+"\n")
	e := &Edge{t: t, Bin: edgeBinary(t), Dir: o.dir, Config: o.config, Opts: Options{NoHTTPS: true, Env: o.env}}
	raw, err := os.ReadFile(o.config)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if port, ok := strings.CutPrefix(line, `http = "127.0.0.1:`); ok {
			e.HTTPPort = strings.TrimSuffix(port, `"`)
		}
	}
	if err := e.launch([]string{"run", "-config", o.config}); err != nil {
		t.Fatalf("start edge: %v\n%s", err, e.Output())
	}
	type remoteView struct {
		LastSuccess *time.Time `json:"last_success"`
		LastID      string     `json:"last_id"`
		Backups     int        `json:"backups"`
		LastDrill   *time.Time `json:"last_drill"`
		LastDrillOK bool       `json:"last_drill_ok"`
		Detail      string     `json:"last_drill_detail"`
	}
	var st struct {
		Backup struct {
			Remote *remoteView `json:"remote"`
		} `json:"backup"`
	}
	if !eventually(120*time.Second, func() bool {
		out, _, code := runEdge(t, nil, "status", "-json", "-config", o.config)
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
			return false
		}
		r := st.Backup.Remote
		return r != nil && r.LastSuccess != nil && r.LastDrill != nil
	}) {
		t.Fatalf("no upload and drill in status.json within 120s: %+v\n--- edge output ---\n%s", st.Backup.Remote, e.Output())
	}
	r := st.Backup.Remote
	if !r.LastDrillOK || !strings.Contains(r.Detail, "counts match") || r.Backups != 1 {
		t.Fatalf("status.json backup.remote = %+v", r)
	}
	if entries := o.remoteList(t); len(entries) != 1 || entries[0].ID != r.LastID {
		t.Fatalf("remote list %+v, status last_id %s", entries, r.LastID)
	}
}
