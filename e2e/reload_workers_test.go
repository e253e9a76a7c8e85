package e2e

// A reload applies [[check]], [alerts] and [backup] to the running
// process without losing an open incident or failing a request.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/health/alert/alerttest"
)

// steadyLoad sends GET path every 10 ms (at most 6000 requests) until
// stop is called, which returns how many were sent and how many failed.
func steadyLoad(t *testing.T, c *http.Client, url string) (stop func() (sent, failed int)) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	var n, bad int
	var firstErr string
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n < 6000 {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			n++
			resp, err := c.Get(url)
			if err != nil {
				bad++
				firstErr = err.Error()
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				bad++
				firstErr = resp.Status
			}
		}
	})
	return func() (int, int) {
		close(done)
		wg.Wait()
		if bad > 0 {
			t.Logf("first failed request: %s", firstErr)
		}
		return n, bad
	}
}

// checkTables renders the [[check]]s and [alerts] of the reload tests.
func checkTables(apiURL, dbAddr, email string) string {
	return fmt.Sprintf(`[[check]]
name = "api"
http = %q
interval = "1s"
timeout = "500ms"
failures = 1
successes = 1

[[check]]
name = "db"
tcp = %q
interval = "1s"
timeout = "500ms"
failures = 1
successes = 1

[alerts]
repeat = "1h"
webhook = { url = "${ALERT_WEBHOOK_URL}" }
%s`, apiURL, dbAddr, email)
}

// statusChecks reads the checks' last runs from "edge status -json".
func statusChecks(t *testing.T, e *Edge) map[string]time.Time {
	t.Helper()
	stdout, stderr, code := runEdge(t, adminEnv(t), "status", "-json", "-config", e.Config)
	if code != 0 {
		t.Fatalf("edge status -json: exit %d: %s", code, stderr)
	}
	var st struct {
		Checks []struct {
			Name    string     `json:"name"`
			LastRun *time.Time `json:"last_run"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status JSON: %v", err)
	}
	out := map[string]time.Time{}
	for _, c := range st.Checks {
		if c.LastRun != nil {
			out[c.Name] = *c.LastRun
		}
	}
	return out
}

// TestReloadAppliesChecksAndAlertsE2E: after SIGHUP a [[check]] whose
// target changed probes the new address, an email channel added by the
// reload receives the next alert, a check down before and after the
// reload is not alerted again, and the site answers every request of a
// steady load meanwhile. "edge reload" with a changed listener says that
// it needs a restart.
func TestReloadAppliesChecksAndAlertsE2E(t *testing.T) {
	t.Parallel()
	sink := alerttest.StartSink(t, "", nil)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "old address", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	var newHits atomic.Int32
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		newHits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	defer healthy.Close()
	hook := newHookReceiver(t, "ok")
	db := deadAddr(t)
	e := startEdge(t, Options{NoHTTPS: true, Env: []string{"ALERT_WEBHOOK_URL=" + hook.URL + "/hook"},
		ExtraTOML: checkTables(broken.URL, db, "")})
	is := func(check, event string) func(map[string]any) bool {
		return func(b map[string]any) bool { return b["check"] == check && b["event"] == event }
	}
	var events []string // every webhook alert after both were down
	seen := map[string]bool{}
	hook.next(t, "api and db down", 20*time.Second, func(b map[string]any) bool {
		if b["event"] == "down" {
			seen[fmt.Sprint(b["check"])] = true
		}
		return seen["api"] && seen["db"]
	})
	stop := steadyLoad(t, e.Client1(), e.URL("/"))

	email := fmt.Sprintf("email = { smtp = %q, from = \"edge@example.com\", to = [\"ops@example.com\"] }\n", sink.Addr)
	e.Opts.ExtraTOML = checkTables(healthy.URL, db, email)
	e.WriteConfig()
	reloadAt := time.Now()
	e.Signal(syscall.SIGHUP)
	if !e.WaitOutput(`"reloaded"`, 10*time.Second) {
		t.Fatalf("no \"reloaded\" in the log\n%s", e.Output())
	}
	if !eventually(10*time.Second, func() bool { return newHits.Load() > 0 }) {
		t.Fatal("the check's new address was never probed after the reload")
	}
	t.Logf("first probe of the new address %s after SIGHUP", time.Since(reloadAt).Round(time.Millisecond))
	hook.next(t, "api resolved", 20*time.Second, func(b map[string]any) bool {
		events = append(events, fmt.Sprint(b["check"], " ", b["event"]))
		return is("api", "resolved")(b)
	})
	mails, err := sink.WaitMessages(1, 20*time.Second)
	if err != nil {
		t.Fatalf("the email channel added by the reload: %v", err)
	}
	if s := mails[0].Subject(); !strings.Contains(s, "api") {
		t.Errorf("first email %q, want the api alert", s)
	}
	// db keeps failing: wait for three of its runs after the reload.
	if !eventually(15*time.Second, func() bool {
		return statusChecks(t, e)["db"].After(reloadAt.Add(2 * time.Second))
	}) {
		t.Fatal("db did not run again after the reload")
	}
	for len(hook.got) > 0 {
		r := <-hook.got
		events = append(events, fmt.Sprint(r.Body["check"], " ", r.Body["event"]))
	}
	for _, ev := range events {
		if ev == "db down" {
			t.Errorf("db was alerted again after the reload: webhook events %v", events)
		}
	}
	mails, _ = sink.Messages()
	for _, m := range mails {
		if strings.Contains(m.Subject(), "db") {
			t.Errorf("db was alerted again on the new channel: %q", m.Subject())
		}
	}

	// A listener change applies at the next restart: "edge reload" says so.
	moved := strings.Replace(e.ConfigText(), "127.0.0.1:"+e.HTTPPort, "127.0.0.1:"+freePort(t), 1)
	e.WriteConfigText(moved)
	began := time.Now()
	stdout, stderr, code := runEdge(t, adminEnv(t), "reload", "-config", e.Config)
	t.Logf("edge reload (two checks, two channels) took %s", time.Since(began).Round(time.Millisecond))
	if code != 0 || !strings.Contains(stdout, "reloaded") || !strings.Contains(stdout, "server.http changed") ||
		!strings.Contains(stdout, "restart edge to apply it") {
		t.Errorf("edge reload with a new server.http: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !e.WaitOutput("server.http changed", 5*time.Second) {
		t.Errorf("the log does not say server.http needs a restart")
	}
	sent, failed := stop()
	t.Logf("steady load: %d requests, %d failed", sent, failed)
	if sent == 0 || failed != 0 {
		t.Errorf("steady load during the reloads: %d requests, %d failed; want none failed", sent, failed)
	}
}

// TestReloadBackupScheduleE2E: a [backup] schedule changed by a reload
// shows its next run in the status.
func TestReloadBackupScheduleE2E(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	backup := func(schedule string) string {
		// The database does not answer: the catch-up at start fails fast.
		return fmt.Sprintf("[backup]\ndatabase_url = \"${DATABASE_URL}\"\ndir = %q\nverify = \"none\"\nschedule = %q\n",
			dir+"/backups", schedule)
	}
	e := startEdge(t, Options{NoHTTPS: true, ExtraTOML: backup("0 3 * * *"),
		Env: []string{"DATABASE_URL=postgres://edge@" + deadAddr(t) + "/edgedb?connect_timeout=1", "TZ=UTC"}})
	nextRun := func() string {
		stdout, stderr, code := runEdge(t, adminEnv(t), "status", "-json", "-config", e.Config)
		if code != 0 {
			t.Fatalf("edge status -json: exit %d: %s", code, stderr)
		}
		var st struct {
			Backup struct {
				NextRun *time.Time `json:"next_run"`
			} `json:"backup"`
		}
		if err := json.Unmarshal([]byte(stdout), &st); err != nil || st.Backup.NextRun == nil {
			return ""
		}
		return st.Backup.NextRun.UTC().Format("15:04")
	}
	if !eventually(20*time.Second, func() bool { return nextRun() == "03:00" }) {
		t.Fatalf("next_run %q, want 03:00\n%s", nextRun(), e.Output())
	}
	e.Opts.ExtraTOML = backup("30 4 * * *")
	e.WriteConfig()
	e.Signal(syscall.SIGHUP)
	if !eventually(20*time.Second, func() bool { return nextRun() == "04:30" }) {
		t.Fatalf("after the reload, next_run %q, want 04:30\n%s", nextRun(), e.Output())
	}
	if !e.WaitOutput("backup settings changed", 5*time.Second) {
		t.Errorf("the log does not say the backup settings changed")
	}
}
