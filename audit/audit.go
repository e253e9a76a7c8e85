// Package audit checks a host running edge for the usual mistakes:
// services running as root, secrets readable by others, ports open that
// should not be, no firewall, password or root SSH logins, no automatic
// security updates, an unhardened systemd unit, and UDP buffer limits too
// low for HTTP/3.
//
// It only reads: files under Options.Root (normally "/": /proc, /etc,
// the unit files, the config and the directories it names) and, on the
// real root, the output of "ufw status verbose", "nft list ruleset" and
// "sshd -T" when they can run. Every finding carries a severity and a
// fix line. Tests point Root at a fake tree.
package audit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Severity ranks a finding.
type Severity int

// Severities, most severe first. OK marks a check that passed.
const (
	High Severity = iota
	Medium
	Low
	Info
	OK
)

var severityNames = [...]string{"HIGH", "MEDIUM", "LOW", "INFO", "ok"}

// String returns HIGH, MEDIUM, LOW, INFO or ok.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is the result of one check.
type Finding struct {
	// Check names the area: process, files, ports, firewall, sshd,
	// upgrades, unit, kernel.
	Check string `json:"check"`
	// Severity is how bad it is; OK when the check passed.
	Severity Severity `json:"severity"`
	// Title is one line saying what was found.
	Title string `json:"title"`
	// Fix is one line saying what to do; empty for OK findings.
	Fix string `json:"fix,omitempty"`
}

// Report is the outcome of Run.
type Report struct {
	// Root is the file system root that was read.
	Root string `json:"root"`
	// Host is the host name.
	Host string `json:"host"`
	// At is when the audit ran.
	At time.Time `json:"at"`
	// Findings are sorted by severity, most severe first.
	Findings []Finding `json:"findings"`
}

// Count returns how many findings have severity s.
func (r *Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// HasHigh reports whether any finding is HIGH.
func (r *Report) HasHigh() bool { return r.Count(High) > 0 }

// Paths name what the audit inspects, relative to Options.Root. Empty
// fields take the defaults of the reference deployment (SPEC §2, §4).
type Paths struct {
	// Config is edge's config file. Default: /etc/edge/edge.toml.
	Config string
	// EnvFile holds the secrets. Default: the unit's EnvironmentFile=, else
	// /var/www/gitcourse/.env.
	EnvFile string
	// StateDir and BackupDir default to the config's values, else
	// /var/lib/edge and /var/backups/gitcourse.
	StateDir  string
	BackupDir string
}

// Options configure Run.
type Options struct {
	// Root is where the host's file system is read from. Default: "/".
	Root string
	// Paths override the inspected files.
	Paths Paths
	// Command runs a read-only command and returns its standard output.
	// Default: exec on the real root; no commands under any other Root.
	Command func(ctx context.Context, name string, args ...string) ([]byte, error)
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Run performs every check and returns the report.
func Run(ctx context.Context, opts Options) *Report {
	h := newHost(opts)
	r := &Report{Root: h.root, At: time.Now().UTC()}
	if opts.Now != nil {
		r.At = opts.Now().UTC()
	}
	r.Host = h.hostname()
	unit := h.loadUnit("edge.service")
	paths := h.resolvePaths(opts.Paths, unit)
	for _, check := range []func() []Finding{
		func() []Finding { return h.checkProcesses() },
		func() []Finding { return h.checkFiles(paths) },
		func() []Finding { return h.checkPorts() },
		func() []Finding { return h.checkFirewall(ctx) },
		func() []Finding { return h.checkSSHD(ctx) },
		func() []Finding { return h.checkUpgrades() },
		func() []Finding { return h.checkUnits(unit) },
		func() []Finding { return h.checkKernel() },
	} {
		r.Findings = append(r.Findings, check()...)
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int { return int(a.Severity) - int(b.Severity) })
	return r
}

// host reads the audited system.
type host struct {
	root string
	run  func(ctx context.Context, name string, args ...string) ([]byte, error)
}

func newHost(opts Options) *host {
	root := opts.Root
	if root == "" {
		root = "/"
	}
	root = filepath.Clean(root)
	h := &host{root: root, run: opts.Command}
	if h.run == nil && root == "/" {
		h.run = execCommand
	}
	return h
}

// execCommand runs a command found on PATH, bounded to 10 s.
func execCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath(name); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}

// command runs name when commands are allowed; ok is false otherwise or
// when it failed.
func (h *host) command(ctx context.Context, name string, args ...string) (string, bool) {
	if h.run == nil {
		return "", false
	}
	out, err := h.run(ctx, name, args...)
	if err != nil {
		return "", false
	}
	return string(out), true
}

// path maps an absolute host path into the audited root.
func (h *host) path(p string) string { return filepath.Join(h.root, p) }

// read returns a host file's content, or "" and false.
func (h *host) read(p string) (string, bool) {
	b, err := os.ReadFile(h.path(p))
	if err != nil {
		return "", false
	}
	return string(b), true
}

func (h *host) hostname() string {
	if s, ok := h.read("/etc/hostname"); ok && strings.TrimSpace(s) != "" {
		return strings.TrimSpace(s)
	}
	if h.root == "/" {
		n, _ := os.Hostname()
		return n
	}
	return ""
}

func pass(check, format string, args ...any) Finding {
	return Finding{Check: check, Severity: OK, Title: fmt.Sprintf(format, args...)}
}

func finding(check string, sev Severity, fix, format string, args ...any) Finding {
	return Finding{Check: check, Severity: sev, Title: fmt.Sprintf(format, args...), Fix: fix}
}
