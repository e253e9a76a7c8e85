package audit

import (
	"strings"
)

// parseUFWStatus reads the output of "ufw status verbose".
func parseUFWStatus(out string) *firewall {
	fw := newFirewall("ufw")
	rules := false
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Status:"):
			fw.active = strings.TrimSpace(strings.TrimPrefix(line, "Status:")) == "active"
		case strings.HasPrefix(line, "Default:"):
			fw.defaultDrop = strings.Contains(line, "deny (incoming)") || strings.Contains(line, "reject (incoming)")
		case strings.HasPrefix(line, "--"):
			rules = true
		case rules && line != "":
			ufwStatusRule(fw, line)
		}
	}
	return fw
}

// ufwStatusRule reads one rule line, such as "22/tcp  LIMIT IN  Anywhere"
// or "80,443/tcp (v6)  ALLOW IN  Anywhere (v6)".
func ufwStatusRule(fw *firewall, line string) {
	f := strings.Fields(line)
	i := 0
	for i < len(f) && !isUFWAction(f[i]) {
		i++
	}
	if i == 0 || i == len(f) {
		return
	}
	to := strings.TrimSpace(strings.TrimSuffix(strings.Join(f[:i], " "), "(v6)"))
	action := f[i]
	if (i+1 < len(f) && f[i+1] == "OUT") || (action != "ALLOW" && action != "LIMIT") {
		return
	}
	if to == "Anywhere" {
		fw.allOpen = line
		return
	}
	spec, proto, _ := strings.Cut(to, "/")
	if proto == "" || proto == "udp" {
		for _, p := range parsePorts(spec) {
			fw.openUDP[p] = true
		}
	}
	if proto != "" && proto != "tcp" {
		return
	}
	for _, p := range parsePorts(spec) {
		fw.open[p] = true
		if action == "LIMIT" {
			fw.limited[p] = true
		}
	}
}

func isUFWAction(s string) bool {
	switch s {
	case "ALLOW", "LIMIT", "DENY", "REJECT":
		return true
	}
	return false
}

// ufwFromFiles reads ufw's configuration when "ufw status" cannot run:
// ufw.conf (ENABLED), /etc/default/ufw (the input policy) and the rule
// tuples of user.rules and user6.rules.
func (h *host) ufwFromFiles() *firewall {
	conf, ok := h.read("/etc/ufw/ufw.conf")
	if !ok || !strings.Contains(conf, "\nENABLED=yes") && !strings.HasPrefix(conf, "ENABLED=yes") {
		return nil
	}
	fw := newFirewall("ufw (/etc/ufw)")
	fw.active = true
	defaults, _ := h.read("/etc/default/ufw")
	for line := range strings.Lines(defaults) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "DEFAULT_INPUT_POLICY="); ok {
			v = strings.Trim(v, `"`)
			fw.defaultDrop = v == "DROP" || v == "REJECT"
		}
	}
	for _, f := range []string{"/etc/ufw/user.rules", "/etc/ufw/user6.rules"} {
		rules, _ := h.read(f)
		for line := range strings.Lines(rules) {
			if t, ok := strings.CutPrefix(strings.TrimSpace(line), "### tuple ###"); ok {
				ufwTuple(fw, strings.Fields(t))
			}
		}
	}
	return fw
}

// ufwTuple reads "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in".
func ufwTuple(fw *firewall, t []string) {
	if len(t) < 6 || (len(t) > 6 && t[len(t)-1] == "out") {
		return
	}
	action, proto, dport := t[0], t[1], t[2]
	if (action == "allow" || action == "limit") && (proto == "udp" || proto == "any") && dport != "any" {
		for _, p := range parsePorts(dport) {
			fw.openUDP[p] = true
		}
	}
	if action != "allow" && action != "limit" || proto != "tcp" && proto != "any" {
		return
	}
	if dport == "any" {
		fw.allOpen = strings.Join(t, " ")
		return
	}
	for _, p := range parsePorts(dport) {
		fw.open[p] = true
		if action == "limit" {
			fw.limited[p] = true
		}
	}
}
