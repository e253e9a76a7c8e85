package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAccessLog(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	logDir := shortTempDir(t)
	logPath := filepath.Join(logDir, "access.log")
	e := startEdge(t, Options{AccessLog: logPath, Routes: []Route{{Path: "/api/", Upstreams: []string{upstreamAddr(up.Server)}}}})
	c := e.Client()

	type want struct {
		path, route string
		status      int
	}
	cases := []want{
		{"/courses/42", "static", 200},
		{"/assets/missing-e2e.js", "static", 404},
		{"/api/echo", "/api/", 200},
	}
	ids := map[string]string{}
	sizes := map[string]int{}
	for _, w := range cases {
		resp, body := get(t, c, e.HTTPS(w.path), header("User-Agent", "e2e-agent"))
		wantStatus(t, resp, body, w.status)
		ids[w.path] = resp.Header.Get("X-Request-Id")
		sizes[w.path] = len(body)
	}

	var entries []map[string]any
	read := func() bool {
		data, err := os.ReadFile(logPath)
		if err != nil {
			return false
		}
		entries = nil
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("access log line is not JSON: %q: %v", sc.Text(), err)
			}
			entries = append(entries, m)
		}
		return len(entries) >= len(cases)
	}
	if !eventually(3*time.Second, read) {
		t.Fatalf("access log has %d lines, want %d: %v", len(entries), len(cases), entries)
	}
	for _, w := range cases {
		var found []map[string]any
		for _, m := range entries {
			if m["path"] == w.path {
				found = append(found, m)
			}
		}
		if len(found) != 1 {
			t.Errorf("%s: %d access log lines, want 1: %v", w.path, len(found), found)
			continue
		}
		m := found[0]
		for _, k := range []string{"request_id", "client_ip", "method", "host", "path", "status", "bytes", "duration_ms", "route"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: access log line lacks %q: %v", w.path, k, m)
			}
		}
		checks := []struct {
			key  string
			got  any
			want any
		}{
			{"request_id", m["request_id"], ids[w.path]},
			{"client_ip", m["client_ip"], "127.0.0.1"},
			{"method", m["method"], "GET"},
			{"host", m["host"], domain + ":" + e.HTTPSPort},
			{"status", m["status"], float64(w.status)},
			{"bytes", m["bytes"], float64(sizes[w.path])},
			{"route", m["route"], w.route},
		}
		for _, ck := range checks {
			if ck.got != ck.want {
				t.Errorf("%s: access log %s = %v, want %v", w.path, ck.key, ck.got, ck.want)
			}
		}
		if d, ok := m["duration_ms"].(float64); !ok || d < 0 || d > 5000 {
			t.Errorf("%s: duration_ms = %v, want a number of milliseconds", w.path, m["duration_ms"])
		}
	}
	if bytes.Contains([]byte(e.Output()), []byte(`"path":"/courses/42"`)) {
		t.Errorf("with access_log = FILE the requests are also logged to stdout")
	}
}
