package audit

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// firewall is what the audit understood of the host's packet filter.
type firewall struct {
	tool        string // "ufw" or "nftables", and where it was read from
	active      bool
	defaultDrop bool
	open        map[int]bool // TCP ports accepted from anywhere
	openUDP     map[int]bool // UDP ports accepted from anywhere (443: HTTP/3)
	limited     map[int]bool // ports with a rate limit
	allOpen     string       // non-empty: a rule accepting every port (its text)
}

func newFirewall(tool string) *firewall {
	return &firewall{tool: tool, open: map[int]bool{}, openUDP: map[int]bool{}, limited: map[int]bool{}}
}

const firewallFix = "apply deploy/firewall/: sudo deploy/firewall/ufw.sh, or sudo nft -f deploy/firewall/edge.nft (and enable nftables.service)"

// checkFirewall wants an active firewall that drops by default and lets
// in 22 (rate-limited), 80 and 443 only, and UDP 443 for HTTP/3.
func (h *host) checkFirewall(ctx context.Context) []Finding {
	fw, note := h.readFirewall(ctx)
	if fw == nil {
		sev := High
		if h.root == "/" && os.Geteuid() != 0 {
			sev = Info
			note += "; run edge audit as root to read the live rules"
		}
		return []Finding{finding("firewall", sev, firewallFix, "no active firewall found (%s)", note)}
	}
	return judgeFirewall(fw)
}

// readFirewall finds the active firewall: ufw, then nftables; the live
// state from the commands when they can run, else the files.
func (h *host) readFirewall(ctx context.Context) (*firewall, string) {
	var notes []string
	if out, ok := h.command(ctx, "ufw", "status", "verbose"); ok {
		if fw := parseUFWStatus(out); fw.active {
			return fw, ""
		}
		notes = append(notes, "ufw is inactive")
	} else if fw := h.ufwFromFiles(); fw != nil {
		return fw, ""
	}
	if out, ok := h.command(ctx, "nft", "list", "ruleset"); ok {
		if fw := parseNft(out, "nftables"); fw.active {
			return fw, ""
		}
		notes = append(notes, "the nftables ruleset has no input chain that drops")
	} else if conf, ok := h.read("/etc/nftables.conf"); ok {
		fw := parseNft(conf, "nftables (/etc/nftables.conf)")
		if fw.active && h.unitEnabled("nftables.service") {
			return fw, ""
		}
		notes = append(notes, "/etc/nftables.conf is not loaded at boot or does not drop")
	}
	if len(notes) == 0 {
		notes = append(notes, "neither ufw nor nftables is set up")
	}
	return nil, strings.Join(notes, "; ")
}

// unitEnabled reports whether a unit is linked into a .wants directory.
func (h *host) unitEnabled(unit string) bool {
	for _, t := range []string{"sysinit.target.wants", "multi-user.target.wants", "basic.target.wants"} {
		if _, err := os.Lstat(h.path("/etc/systemd/system/" + t + "/" + unit)); err == nil {
			return true
		}
	}
	return false
}

func judgeFirewall(fw *firewall) []Finding {
	var out []Finding
	if !fw.defaultDrop {
		return []Finding{finding("firewall", High, firewallFix, "%s is active but lets in what no rule names (default policy is not drop)", fw.tool)}
	}
	if fw.allOpen != "" {
		out = append(out, finding("firewall", Medium, "delete that rule; allow ports one by one", "%s accepts every port: %s", fw.tool, fw.allOpen))
	}
	var extra []string
	for p := range fw.open {
		if !slices.Contains(publicPorts, p) {
			extra = append(extra, strconv.Itoa(p))
		}
	}
	slices.Sort(extra)
	if len(extra) > 0 {
		out = append(out, finding("firewall", Medium, "remove those rules (ufw delete allow PORT) unless a service needs them",
			"%s lets in ports beyond 22, 80, 443: %s", fw.tool, strings.Join(extra, ", ")))
	}
	for _, p := range []struct {
		port int
		why  string
	}{{80, "HTTP-01 certificates and the HTTPS redirect fail"}, {443, "the site is unreachable"}} {
		if !fw.open[p.port] {
			out = append(out, finding("firewall", Medium, fmt.Sprintf("sudo ufw allow %d/tcp", p.port), "%s does not let in port %d: %s", fw.tool, p.port, p.why))
		}
	}
	if !fw.openUDP[443] {
		out = append(out, finding("firewall", Low, "sudo ufw allow 443/udp (or see deploy/firewall/edge.nft)",
			"%s does not let in UDP port 443: HTTP/3 is unreachable (browsers fall back to HTTP/2)", fw.tool))
	}
	switch {
	case !fw.open[22]:
		out = append(out, finding("firewall", Low, "make sure SSH reaches this host another way before you log out", "%s does not let in port 22 (SSH)", fw.tool))
	case !fw.limited[22]:
		out = append(out, finding("firewall", Low, "sudo ufw limit 22/tcp (or see deploy/firewall/edge.nft)", "%s does not rate-limit SSH (port 22)", fw.tool))
	}
	if len(out) == 0 {
		out = append(out, pass("firewall", "%s is active: drops by default, lets in 22 (rate-limited), 80, 443 and UDP 443", fw.tool))
	}
	return out
}

// parsePorts reads "22", "80,443", "6000:6007", "1000-1010" or "ssh".
func parsePorts(spec string) []int {
	var out []int
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if n, ok := serviceNames[part]; ok {
			out = append(out, n)
			continue
		}
		lo, hi, isRange := strings.Cut(strings.ReplaceAll(part, ":", "-"), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 65535 {
				continue
			}
		}
		for p := a; p <= b && p-a < 1024; p++ { // a huge range is reported by its first 1024 ports
			out = append(out, p)
		}
	}
	return out
}

var serviceNames = map[string]int{"ssh": 22, "http": 80, "https": 443, "OpenSSH": 22, "WWW": 80, "WWW Secure": 443}
