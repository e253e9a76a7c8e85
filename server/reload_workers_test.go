package server

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/status"
	"golang.org/x/sync/errgroup"
)

// newTestReloadables builds the workers of cfg the way the server does,
// with the monitor on a history under t's temp dir.
func newTestReloadables(t *testing.T, cfg *config.Config) (*reloadables, *atomic.Pointer[health.Monitor]) {
	t.Helper()
	reg := status.New()
	log := slog.New(slog.DiscardHandler)
	hist := filepath.Join(t.TempDir(), "history")
	var current atomic.Pointer[health.Monitor]
	w := &reloadables{log: log, registry: reg, boot: cfg,
		monitor: func(cfg *config.Config, prev *health.Monitor) (*health.Monitor, error) {
			opts := health.Options{Logger: log, Registry: reg, HistoryDir: hist}
			if prev != nil {
				return prev.Successor(cfg, opts)
			}
			return health.New(cfg, opts)
		},
		publish: func(m *health.Monitor) { current.Store(m) },
		jobOpts: backupjob.Options{Logger: log, Status: reg}}
	job, err := w.newBackupJob(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.job, w.jobCfg = job, cfg.Backup
	return w, &current
}

func withBackup(cfg *config.Config, dir, schedule string) *config.Config {
	c := *cfg
	c.Backup = &config.Backup{Dir: dir, Schedule: config.MustSchedule(schedule), Format: backupjob.FormatCustom, Verify: backupjob.VerifyNone, KeepDaily: 7}
	return &c
}

// An unchanged [backup] keeps its job; a changed one replaces it and
// retires the old; a [backup] that does not build changes nothing.
func TestReloadSwapsBackupJob(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	cfg := withBackup(testConfig(t), dir, "03:00")
	w, _ := newTestReloadables(t, cfg)
	first := w.currentJob()

	next, err := w.prepare(withBackup(cfg, dir, "03:00"))
	if err != nil {
		t.Fatal(err)
	}
	w.commit(next)
	if w.currentJob() != first || first.Retired() {
		t.Fatal("an unchanged [backup] replaced the job")
	}

	bad := withBackup(cfg, "relative/dir", "04:00")
	if _, err := w.prepare(bad); err == nil || !strings.Contains(err.Error(), "backup.dir") {
		t.Fatalf("a bad [backup]: err %v, want backup.dir", err)
	}
	if w.currentJob() != first || first.Retired() {
		t.Fatal("a failed prepare changed the job")
	}

	next, err = w.prepare(withBackup(cfg, dir, "04:00"))
	if err != nil {
		t.Fatal(err)
	}
	if w.currentJob() != first {
		t.Fatal("prepare swapped the job before commit")
	}
	w.commit(next)
	if got := w.currentJob(); got == first || got.Schedule().String() != "04:00" || !first.Retired() {
		t.Fatalf("after commit: job schedule %s, old retired %v", got.Schedule(), first.Retired())
	}

	next, err = w.prepare(testConfig(t)) // [backup] removed
	if err != nil {
		t.Fatal(err)
	}
	w.commit(next)
	if w.currentJob() != nil {
		t.Fatal("[backup] removed but a job is still current")
	}
}

// A reload replaces the running monitor: the new one is published and
// runs the new checks, the old one's checks stop; a reload whose checks
// do not build leaves the running monitor alone; Run's end waits for
// every generation.
func TestReloadSwapsMonitor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	check := func(name string) config.Check {
		return config.Check{Name: name, TCP: ln.Addr().String(), Interval: config.Duration{Duration: 50 * time.Millisecond},
			Timeout: config.Duration{Duration: 40 * time.Millisecond}, Failures: 1, Successes: 1}
	}
	cfg := testConfig(t)
	cfg.Checks = []config.Check{check("one")}
	w, current := newTestReloadables(t, cfg)
	ctx, cancel := context.WithCancel(t.Context())
	g, gctx := errgroup.WithContext(ctx)
	w.start(gctx, g, cfg)
	first := current.Load()
	if first == nil {
		t.Fatal("start published no monitor")
	}
	waitCheck(t, w.registry, "one")

	dup := *cfg
	dup.Checks = []config.Check{check("x"), check("x")}
	if _, err := w.prepare(&dup); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Fatalf("duplicate checks: err %v", err)
	}
	if current.Load() != first {
		t.Fatal("a failed prepare replaced the monitor")
	}

	two := *cfg
	two.Checks = []config.Check{check("two")}
	next, err := w.prepare(&two)
	if err != nil {
		t.Fatal(err)
	}
	w.commit(next)
	if current.Load() == first || current.Load() != next.mon {
		t.Fatal("commit did not publish the new monitor")
	}
	select {
	case <-first.ChecksStopped():
	case <-time.After(10 * time.Second):
		t.Fatal("the old monitor's checks still run 10 s after the swap")
	}
	waitCheck(t, w.registry, "two")
	for _, c := range w.registry.Snapshot().Checks {
		if c.Name == "one" {
			t.Error("the removed check is still in the registry")
		}
	}
	cancel()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// waitCheck waits (up to 10 s) until the registry shows a run of name.
func waitCheck(t *testing.T, reg *status.Registry, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range reg.Snapshot().Checks {
			if c.Name == name && !c.LastRun.IsZero() {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("check %q never ran", name)
}

// Only listeners, state_dir and [logs] wait for a restart, compared
// with the configuration edge started with.
func TestRestartNotes(t *testing.T) {
	boot := testConfig(t)
	same := *boot
	same.Checks = []config.Check{{Name: "x", TCP: "127.0.0.1:1"}}
	if got := restartNotes(boot, &same); len(got) != 0 {
		t.Errorf("checks changed: notes %q, want none", got)
	}
	moved := *boot
	moved.Server.HTTP = "127.0.0.1:9"
	moved.Server.StateDir = "/var/lib/other"
	moved.Logs = &config.Logs{}
	got := strings.Join(restartNotes(boot, &moved), "\n")
	for _, want := range []string{"server.http changed (127.0.0.1:0 -> 127.0.0.1:9): restart edge to apply it",
		"server.state_dir changed", "[logs] changed: restart edge to apply it"} {
		if !strings.Contains(got, want) {
			t.Errorf("notes %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "server.https") {
		t.Errorf("notes %q name an unchanged key", got)
	}
}
