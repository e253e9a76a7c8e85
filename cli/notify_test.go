package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// notifyConfig writes a valid config with alerts (the TOML of [alerts]).
func notifyConfig(t *testing.T, alerts string) string {
	t.Helper()
	root := t.TempDir()
	site := filepath.Join(root, "site")
	if err := os.MkdirAll(site, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "edge.toml")
	cfg := fmt.Sprintf("[server]\nhttp = \"127.0.0.1:1\"\nhttps = \"\"\nstate_dir = %q\nadmin_socket = %q\n"+
		"[site]\ndomains = [\"edge.test\"]\nroot = %q\n%s", filepath.Join(root, "state"), filepath.Join(root, "admin.sock"), site, alerts)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func notify(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = Main(context.Background(), append([]string{"notify"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestNotifyUsage(t *testing.T) {
	cfg := notifyConfig(t, "")
	for _, args := range [][]string{
		{"-config", cfg, "-title", "x"},
		{"-config", cfg, "-status", "maybe", "-title", "x"},
		{"-config", cfg, "-status", "ok"},
		{"-config", cfg, "-status", "ok", "-title", "x", "-bogus"},
	} {
		if _, stderr, code := notify(args...); code != ExitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, stderr, ExitUsage)
		}
	}
	if stdout, _, code := notify("-h"); code != ExitOK || !strings.Contains(stdout, "-status") {
		t.Errorf("-h: exit %d, %q", code, stdout)
	}
	if _, stderr, code := notify("-config", cfg, "-status", "ok", "-title", "x"); code != ExitFail || !strings.Contains(stderr, "no alert channel configured") {
		t.Errorf("no channel: exit %d, %q", code, stderr)
	}
}

func TestNotifyOneChannelIsEnough(t *testing.T) {
	got := make(chan map[string]any, 1)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		got <- body
	}))
	defer ok.Close()
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer dead.Close()
	t.Setenv("TELEGRAM_TOKEN", "1:x")
	t.Setenv("ALERT_WEBHOOK_URL", ok.URL)
	cfg := notifyConfig(t, fmt.Sprintf("[alerts]\ntelegram = { token = \"${TELEGRAM_TOKEN}\", chat_id = \"1\", api = %q }\n"+
		"webhook = { url = \"${ALERT_WEBHOOK_URL}\" }\n", dead.URL))
	stdout, stderr, code := notify("-config", cfg, "-status", "ok", "-title", "Deploy done", "v1.2.3", "is", "live")
	if code != ExitOK || !strings.Contains(stdout, "webhook: sent") || !strings.Contains(stderr, "telegram: not sent") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	body := <-got
	if body["title"] != "Deploy done" || body["message"] != "v1.2.3 is live" || body["status"] != "ok" || body["event"] != "manual" {
		t.Errorf("webhook body %v", body)
	}
	t.Setenv("ALERT_WEBHOOK_URL", dead.URL)
	if _, stderr, code := notify("-config", cfg, "-status", "fail", "-title", "x"); code != ExitFail ||
		!strings.Contains(stderr, "no alert channel accepted the message") {
		t.Errorf("all dead: exit %d, %s", code, stderr)
	}
}
