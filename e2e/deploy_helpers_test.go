package e2e

// Helpers of deploy_test.go: a real sshd on loopback, a DNS stub, a
// webhook sink, and file copies.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
	"github.com/miekg/dns"
)

// requireTools fails (CI) or skips unless every program is installed.
func requireTools(t *testing.T, what string, progs ...string) {
	t.Helper()
	for _, p := range progs {
		_, err := exec.LookPath(p)
		testutil.RequireOrSkip(t, fmt.Sprintf("%s (%s)", p, what), err)
	}
}

// sshServer is one sshd started by a test, stopped by PID in cleanup.
type sshServer struct {
	Port       string
	Key        string // the client's private key
	KnownHosts string
	cmd        *exec.Cmd
	out        *syncBuffer
}

// startSSHD starts /usr/sbin/sshd -D on 127.0.0.1 with a temp host key,
// accepting only a temp key for the current user.
func startSSHD(t *testing.T, dir string) *sshServer {
	t.Helper()
	requireTools(t, "Debian openssh-server and openssh-client", "/usr/sbin/sshd", "ssh", "ssh-keygen")
	if os.Geteuid() == 0 {
		// Privilege separation needs it; systemd's ssh.service would create it.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &sshServer{Key: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts"), out: &syncBuffer{}}
	hostKey := filepath.Join(dir, "host_ed25519")
	for _, k := range []string{hostKey, s.Key} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edge-e2e", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %s: %v\n%s", k, err, out)
		}
	}
	copyTo(t, s.Key+".pub", filepath.Join(dir, "authorized_keys"), 0o600)
	hostPub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		s.Port = freePort(t)
		known := fmt.Sprintf("[127.0.0.1]:%s %s", s.Port, hostPub)
		writeFile(t, s.KnownHosts, known, 0o600)
		cfg := filepath.Join(dir, "sshd_config")
		writeFile(t, cfg, fmt.Sprintf(`Port %s
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers %s
PrintMotd no
LogLevel VERBOSE
Subsystem sftp internal-sftp
`, s.Port, hostKey, filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys"), me.Username), 0o600)
		if out, err := exec.Command("/usr/sbin/sshd", "-t", "-f", cfg).CombinedOutput(); err != nil {
			t.Fatalf("sshd -t: %v\n%s", err, out)
		}
		s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", cfg)
		s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start sshd: %v", err)
		}
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		t.Cleanup(func() { stopPID(s.cmd.Process, done) })
		if waitTCP("127.0.0.1:"+s.Port, done, 10*time.Second) {
			return s
		}
		stopPID(s.cmd.Process, done)
		if attempt < 3 && strings.Contains(s.out.String(), "Address already in use") {
			continue
		}
		t.Fatalf("sshd did not listen on 127.0.0.1:%s\n%s", s.Port, s.out)
	}
}

// SSHOpts are the DEPLOY_SSH_OPTS that pin the temp host key.
func (s *sshServer) SSHOpts() string {
	return "-F /dev/null -o UserKnownHostsFile=" + s.KnownHosts + " -o StrictHostKeyChecking=yes -o LogLevel=ERROR"
}

// stopPID sends SIGTERM by PID, then SIGKILL after 10 s.
func stopPID(p *os.Process, done <-chan struct{}) {
	select {
	case <-done:
		return
	default:
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.Kill()
		<-done
	}
}

// waitTCP polls addr until it accepts a connection, the process ends, or
// d passes.
func waitTCP(addr string, done <-chan struct{}, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func writeFile(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

func copyTo(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(data), mode)
}

// copyDir copies a source tree (regular files only, no __pycache__).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(from, p)
		if d.Type().IsRegular() {
			copyTo(t, p, filepath.Join(to, rel), 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// webhookSink records the alert texts edge notify sends.
type webhookSink struct {
	mu    sync.Mutex
	texts []string
}

func (w *webhookSink) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.texts = append(w.texts, string(b))
	w.mu.Unlock()
}

func (w *webhookSink) has(substr string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.texts {
		if strings.Contains(s, substr) {
			return true
		}
	}
	return false
}

// dnsStub answers name with one A record (and NXDOMAIN otherwise) on a
// free loopback UDP port, for edge preflight -resolver.
func dnsStub(t *testing.T, name, ip string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case !strings.EqualFold(q.Name, name):
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)})
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}
