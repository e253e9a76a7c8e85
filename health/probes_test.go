package health

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHTTPCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, `{"status":"ok","db":"up"}`)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/slow":
			<-r.Context().Done()
		default:
			http.Error(w, "boom", http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	tests := []struct {
		name string
		h    *HTTP
		want string // "" for success, else a substring of the error
	}{
		{"2xx", &HTTP{URL: srv.URL + "/ok"}, ""},
		{"5xx", &HTTP{URL: srv.URL + "/down"}, "status 502 Bad Gateway"},
		{"body contains", &HTTP{URL: srv.URL + "/ok", Contains: `"db":"up"`}, ""},
		{"body lacks", &HTTP{URL: srv.URL + "/ok", Contains: `"db":"down"`}, `does not contain "\"db\":\"down\""`},
		{"expected status", &HTTP{URL: srv.URL + "/teapot", Status: 418}, ""},
		{"other status", &HTTP{URL: srv.URL + "/ok", Status: 418}, "status 200 OK"},
		{"timeout", &HTTP{URL: srv.URL + "/slow"}, "deadline exceeded"},
		{"TLS verified", &HTTP{URL: tlsSrv.URL}, "certificate"},
		{"TLS trusted", &HTTP{URL: tlsSrv.URL, Client: tlsSrv.Client()}, ""},
		{"password hidden", &HTTP{URL: "http://user:secretpw@127.0.0.1:1/"}, "xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := 5 * time.Second
			if tt.name == "timeout" {
				limit = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(t.Context(), limit)
			defer cancel()
			err := tt.h.Check(ctx)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secretpw") {
				t.Errorf("error reveals a password: %v", err)
			}
		})
	}
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := (&TCP{Addr: addr}).Check(t.Context()); err != nil {
		t.Errorf("listening: %v", err)
	}
	ln.Close()
	if err := (&TCP{Addr: addr}).Check(t.Context()); err == nil || !strings.Contains(err.Error(), "connect to "+addr) {
		t.Errorf("closed: got %v", err)
	}
}

func TestDiskCheck(t *testing.T) {
	dir := t.TempDir()
	if err := (&Disk{Path: dir, MinFree: 1, MinFreeInodes: 1}).Check(t.Context()); err != nil {
		t.Errorf("1 byte free: %v", err)
	}
	err := (&Disk{Path: dir, MinFree: 1 << 62}).Check(t.Context())
	if err == nil || !strings.Contains(err.Error(), "below min_free") {
		t.Errorf("4 EiB free: got %v", err)
	}
	err = (&Disk{Path: dir, MinFreeInodes: 1 << 62}).Check(t.Context())
	if err != nil && !strings.Contains(err.Error(), "free inodes") {
		t.Errorf("inodes: got %v", err) // nil on file systems without an inode limit
	}
	if err := (&Disk{Path: dir + "/missing"}).Check(t.Context()); err == nil {
		t.Error("missing path: no error")
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{999: "999B", 1500: "1.5KB", 2e9: "2.0GB", 3_500_000: "3.5MB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
