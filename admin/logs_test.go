package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPageLogShipping: the log shipping section appears with [logs] only,
// says whether the collector is reachable and shows the counters.
func TestPageLogShipping(t *testing.T) {
	st := fullStatus()
	if _, body := serve(t, Handler("/admin", func() Status { return st }, nil), http.MethodGet, "/admin/status"); strings.Contains(body, `id="logs"`) {
		t.Error("a log shipping section without [logs]")
	}
	st.Logs = &LogSink{Remote: "tls://logs.example.com:6514", State: "down", Since: at(-20 * time.Minute),
		LastError: "connect to log collector: connection refused", Shipped: 1234, Dropped: 7, SpooledBytes: 2_500_000,
		AlertAfterSeconds: 900}
	h := Handler("/admin", func() Status { return st }, nil)
	_, body := serve(t, h, http.MethodGet, "/admin/status")
	for _, want := range []string{`id="logs"`, "tls://logs.example.com:6514", "<b>down</b>", "for 20m",
		"connection refused", "1234 lines", "2.5 MB", "<b>7 lines</b>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	_, js := serve(t, h, http.MethodGet, "/admin/status.json")
	var got struct {
		Logs map[string]any `json:"logs"`
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil || got.Logs["state"] != "down" || got.Logs["spooled_bytes"] != 2.5e6 {
		t.Errorf("status.json logs = %v (%v)", got.Logs, err)
	}
}
