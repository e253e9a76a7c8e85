package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLogsCommand(t *testing.T) {
	now := time.Now().UTC()
	old := now.Add(-3 * time.Hour).Format(time.RFC3339Nano)
	recent := now.Add(-time.Minute).Format(time.RFC3339Nano)
	file := filepath.Join(t.TempDir(), "access.log")
	lines := `{"time":"` + old + `","level":"INFO","msg":"request","component":"access","request_id":"old5","method":"GET","path":"/api/a","status":503,"duration_ms":10,"route":"/api/"}
{"time":"` + recent + `","level":"INFO","msg":"request","component":"access","request_id":"new5","method":"POST","path":"/api/b","status":502,"duration_ms":900,"route":"/api/"}
{"time":"` + recent + `","level":"INFO","msg":"request","component":"access","request_id":"ok","method":"GET","path":"/","status":200,"duration_ms":1,"route":"static"}
{"time":"` + recent + `","level":"WARN","msg":"upstream down","component":"proxy","request_id":"new5"}
not json
`
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := Main(context.Background(), append([]string{"logs"}, args...), &out, &errOut)
		return out.String() + errOut.String(), code
	}
	tests := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"-status", "5xx", file}, []string{"old5", "new5"}, []string{"ok\n", "upstream down"}},
		{[]string{"-status", "5xx", "-since", "1h", file}, []string{"new5"}, []string{"old5"}},
		{[]string{"-slow", "500ms", file}, []string{"new5", "/api/b"}, []string{"old5"}},
		{[]string{"-route", "static", file}, []string{" / "}, []string{"/api/"}},
		{[]string{"-request", "new5", file}, []string{"/api/b", "upstream down"}, []string{"old5"}},
		{[]string{"-json", "-request", "ok", file}, []string{`"request_id":"ok"`}, []string{"TIME"}},
	}
	for _, tt := range tests {
		out, code := run(tt.args...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", tt.args, code, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(out, n) {
				t.Errorf("%v: output has %q:\n%s", tt.args, n, out)
			}
		}
	}
	if out, code := run("-status", "9xx", file); code != 2 || !strings.Contains(out, "5xx") {
		t.Errorf("bad -status: exit %d %q", code, out)
	}
	if out, code := run(filepath.Join(t.TempDir(), "none.log")); code != 1 || !strings.Contains(out, "open log file") {
		t.Errorf("missing file: exit %d %q", code, out)
	}
}
