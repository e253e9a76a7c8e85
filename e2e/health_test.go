package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitcourse/edge/health/alert/alerttest"
)

// hookReceiver is a local HTTP server standing in for the Telegram Bot
// API or a webhook receiver: it hands every request to got.
type hookReceiver struct {
	*httptest.Server
	got chan hookRequest
}

type hookRequest struct {
	Path string
	Body map[string]any
}

func newHookReceiver(t *testing.T, reply string) *hookReceiver {
	t.Helper()
	h := &hookReceiver{got: make(chan hookRequest, 100)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		h.got <- hookRequest{Path: r.URL.Path, Body: body}
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(h.Close)
	return h
}

// next waits up to d for a request whose body satisfies match.
func (h *hookReceiver) next(t *testing.T, what string, d time.Duration, match func(map[string]any) bool) hookRequest {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case r := <-h.got:
			if match(r.Body) {
				return r
			}
		case <-deadline:
			t.Fatalf("%s: no matching request within %s", what, d)
		}
	}
}

// switchableTarget is a check target that answers {"status":"ok"} until
// failing is set, then 503 "database unreachable"; it closes when t ends.
func switchableTarget(t *testing.T) (*httptest.Server, *atomic.Bool) {
	failing := new(atomic.Bool)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	t.Cleanup(target.Close)
	return target, failing
}

// startEdgeWithTables is startEdge with extra TOML tables appended to the config.
func startEdgeWithTables(t *testing.T, opts Options, extra string) *Edge {
	t.Helper()
	e := newEdgeWithSite(t, opts)
	if err := launchWithRetry(e, func() { e.WriteConfigText(e.ConfigText() + "\n" + extra) }); err != nil {
		t.Fatalf("start edge: %v\n--- edge output ---\n%s", err, e.Output())
	}
	return e
}

// A [[check]] that fails twice goes down and sends a webhook alert; when
// it passes again, a "resolved" one; the transitions land in the uptime
// history under state_dir.
func TestHealthCheckAlertsE2E(t *testing.T) {
	t.Parallel()
	target, failing := switchableTarget(t)
	hook := newHookReceiver(t, "ok")
	extra := fmt.Sprintf(`[[check]]
name = "api"
http = %q
contains = "ok"
interval = "1s"
timeout = "500ms"
failures = 2
successes = 1

[alerts]
repeat = "1h"
webhook = { url = "${ALERT_WEBHOOK_URL}" }
`, target.URL+"/api/health")
	failing.Store(true)
	e := startEdgeWithTables(t, Options{Env: []string{"ALERT_WEBHOOK_URL=" + hook.URL + "/hook"}}, extra)
	isAPI := func(event string) func(map[string]any) bool {
		return func(b map[string]any) bool { return b["check"] == "api" && b["event"] == event }
	}
	down := hook.next(t, "down alert", 20*time.Second, isAPI("down"))
	if text, _ := down.Body["text"].(string); !strings.Contains(text, "503 Service Unavailable") || !strings.Contains(text, "DOWN: api") {
		t.Errorf("down alert text: %q", text)
	}
	failing.Store(false)
	resolved := hook.next(t, "resolved alert", 20*time.Second, isAPI("resolved"))
	if text, _ := resolved.Body["text"].(string); !strings.Contains(text, "resolved") {
		t.Errorf("resolved alert text: %q", text)
	}
	if code := e.Stop(); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, e.Output())
	}
	raw, err := os.ReadFile(filepath.Join(e.State, "history", "api.log"))
	if err != nil {
		t.Fatalf("uptime history: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "t ") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("history holds %d transitions, want 2:\n%s", n, raw)
	}
	if !strings.Contains(e.Output(), `"msg":"check down"`) || !strings.Contains(e.Output(), "database unreachable") {
		t.Errorf("the transition was not logged with its error:\n%s", e.Output())
	}
}

// "edge notify" (the built binary) reaches email (a real SMTP sink),
// Telegram and a webhook; with every channel dead it exits 1; bad usage
// exits 2.
func TestNotifyE2E(t *testing.T) {
	t.Parallel()
	edgeBinary(t)
	sink := alerttest.StartSink(t, "", nil)
	tg := newHookReceiver(t, `{"ok":true,"result":{}}`)
	hook := newHookReceiver(t, "ok")
	dir := shortTempDir(t)
	writeSite(t, dir)
	alerts := fmt.Sprintf(`[alerts]
email    = { smtp = %q, from = "edge@example.com", to = ["ops@example.com"] }
telegram = { token = "${TELEGRAM_TOKEN}", chat_id = "123456", api = %q }
webhook  = { url = "${ALERT_WEBHOOK_URL}" }
`, sink.Addr, tg.URL)
	cfg := writeConfigFile(t, dir, "edge.toml", fmt.Sprintf("[server]\nhttp = \"127.0.0.1:1\"\nhttps = \"\"\nstate_dir = %q\nadmin_socket = %q\n\n[site]\ndomains = [\"edge.test\"]\nroot = %q\n\n%s",
		filepath.Join(dir, "state"), filepath.Join(dir, "admin.sock"), filepath.Join(dir, "site"), alerts))
	env := []string{"TELEGRAM_TOKEN=42:SECRET", "ALERT_WEBHOOK_URL=" + hook.URL + "/hook"}
	stdout, stderr, code := runEdge(t, env, "notify", "-config", cfg, "-status", "fail", "-title", "Disk almost full", "only", "3%", "left")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, ch := range []string{"email", "telegram", "webhook"} {
		if !strings.Contains(stdout, ch+": sent") {
			t.Errorf("stdout lacks %q: %s", ch+": sent", stdout)
		}
	}
	all := func(map[string]any) bool { return true }
	if r := tg.next(t, "telegram", 10*time.Second, all); r.Path != "/bot42:SECRET/sendMessage" || r.Body["chat_id"] != "123456" ||
		!strings.Contains(fmt.Sprint(r.Body["text"]), "Disk almost full\n\nonly 3% left") {
		t.Errorf("telegram got %+v", r)
	}
	if r := hook.next(t, "webhook", 10*time.Second, all); r.Body["title"] != "Disk almost full" || r.Body["status"] != "fail" ||
		r.Body["content"] != "Disk almost full\n\nonly 3% left" {
		t.Errorf("webhook got %+v", r.Body)
	}
	mails, err := sink.WaitMessages(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if mails[0].Subject() != "Disk almost full" || !strings.Contains(mails[0].Body, "only 3% left") {
		t.Errorf("mail: %q %q", mails[0].Subject(), mails[0].Body)
	}
	// Every channel dead: exit 1 with a reason.
	sink.Stop()
	tg.Close()
	hook.Close()
	_, stderr, code = runEdge(t, env, "notify", "-config", cfg, "-status", "ok", "-title", "x")
	if code != 1 || !strings.Contains(stderr, "no alert channel accepted") || strings.Contains(stderr, "SECRET") {
		t.Errorf("all dead: exit %d, stderr %s", code, stderr)
	}
	for _, args := range [][]string{{"notify", "-config", cfg, "-title", "x"}, {"notify", "-config", cfg, "-status", "down", "-title", "x"}} {
		if _, stderr, code := runEdge(t, env, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}
