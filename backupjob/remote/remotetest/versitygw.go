// Package remotetest starts a real S3-compatible server (versitygw) on
// 127.0.0.1 for the tests of off-site backups.
package remotetest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Credentials of the server's root account.
const (
	AccessKey = "edgetest"
	SecretKey = "edgetest-secret-123"
	Region    = "us-east-1"
)

// Server is a running versitygw with the posix backend.
type Server struct {
	// Endpoint is "http://127.0.0.1:PORT".
	Endpoint string
	// Root is the backend directory: ROOT/BUCKET/KEY are the objects.
	Root string
	addr string
	meta string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
	log  string
}

// InCI reports whether CI=true, where a missing component fails the test.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// Start starts versitygw with an empty backend and one bucket per name
// in buckets, and stops it (by PID) when the test ends. Without the
// versitygw binary the test is skipped, or fails under CI=true.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		if p := filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw"); fileExists(p) {
			bin, err = p, nil
		}
	}
	if err != nil {
		msg := "versitygw is missing (scripts/test setup installs it: CGO_ENABLED=0 go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)"
		if InCI() {
			t.Fatal(msg + " (CI=true: a missing component fails the test)")
		}
		t.Skip("skipping: " + msg)
	}
	dir := t.TempDir()
	s := &Server{Root: filepath.Join(dir, "root"), meta: filepath.Join(dir, "meta"), log: filepath.Join(dir, "vgw.log")}
	for _, d := range []string{s.Root, s.meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range buckets {
		if err := os.MkdirAll(filepath.Join(s.Root, b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.addr = freeAddr(t)
	s.Endpoint = "http://" + s.addr
	if err := s.start(bin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start(bin string) error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--port", s.addr, "--region", Region, "--health", "/health", "posix", "--sidecar", s.meta, s.Root)
	env := []string{"ROOT_ACCESS_KEY=" + AccessKey, "ROOT_SECRET_KEY=" + SecretKey}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VGW_") && !strings.HasPrefix(kv, "ROOT_") {
			env = append(env, kv)
		}
	}
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			b, _ := os.ReadFile(s.log)
			return fmt.Errorf("versitygw exited at start:\n%s", b)
		default:
		}
		if resp, err := client.Get(s.Endpoint + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond) // polling the readiness URL
	}
	s.Stop()
	b, _ := os.ReadFile(s.log)
	return fmt.Errorf("versitygw not ready at %s after 15s:\n%s", s.Endpoint, b)
}

// Stop kills the server (its process group, by PID) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
	s.cmd = nil
}

// Restart starts the server again on the same address and directories.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		bin = filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw")
	}
	if err := s.start(bin); err != nil {
		t.Fatal(err)
	}
}

// Object is the path of the file that holds bucket/key in the backend.
func (s *Server) Object(bucket, key string) string { return filepath.Join(s.Root, bucket, key) }

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
