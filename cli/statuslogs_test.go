package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/admin"
)

func TestPrintStatusLogSink(t *testing.T) {
	st := sampleStatus()
	var buf bytes.Buffer
	printStatus(&buf, st, palette{})
	if strings.Contains(buf.String(), "logs ") {
		t.Errorf("a logs line without [logs]:\n%s", buf.String())
	}
	since := st.GeneratedAt.Add(-20 * time.Minute)
	st.Logs = &admin.LogSink{Remote: "tls://logs.example.com:6514", State: "down", Since: &since,
		LastError: "connection refused", Shipped: 10, SpooledBytes: 2_500_000, Dropped: 3}
	buf.Reset()
	printStatus(&buf, st, palette{})
	for _, want := range []string{"logs       tls://logs.example.com:6514 down for 20m  shipped 10  spooled 2.5 MB  dropped 3",
		"last error: connection refused"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
}
