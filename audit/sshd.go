package audit

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
)

// sshdFix is the drop-in that turns off root and password logins.
const sshdFix = `printf 'PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n' | sudo tee /etc/ssh/sshd_config.d/10-edge.conf && sudo sshd -t && sudo systemctl reload ssh`

// checkSSHD wants key-only logins and no root login: from "sshd -T"
// (the effective settings) when it runs, else from sshd_config and its
// Include files.
func (h *host) checkSSHD(ctx context.Context) []Finding {
	settings, source := map[string]string{}, "sshd -T"
	if out, ok := h.command(ctx, "sshd", "-T"); ok {
		for line := range strings.Lines(out) {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
				settings[strings.ToLower(k)] = strings.ToLower(strings.TrimSpace(v))
			}
		}
	} else {
		if _, ok := h.read("/etc/ssh/sshd_config"); !ok {
			return []Finding{finding("sshd", Info, "", "no /etc/ssh/sshd_config: sshd not installed (not checked)")}
		}
		source = "/etc/ssh/sshd_config"
		h.readSSHDConfig("/etc/ssh/sshd_config", settings, 0)
	}
	return judgeSSHD(settings, source)
}

// readSSHDConfig reads a config file into settings: the first value of a
// keyword wins, as in sshd; Include is followed; reading stops at the
// first Match block (its settings apply to some connections only).
func (h *host) readSSHDConfig(file string, settings map[string]string, depth int) bool {
	text, _ := h.read(file)
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		k := strings.ToLower(f[0])
		switch {
		case k == "match":
			return false
		case k == "include" && depth < 8:
			for _, pattern := range f[1:] {
				if !strings.HasPrefix(pattern, "/") {
					pattern = "/etc/ssh/" + pattern
				}
				matches, _ := filepath.Glob(h.path(pattern))
				slices.Sort(matches)
				for _, m := range matches {
					if !h.readSSHDConfig(strings.TrimPrefix(m, strings.TrimSuffix(h.root, "/")), settings, depth+1) {
						return false
					}
				}
			}
		case len(f) > 1:
			if _, set := settings[k]; !set {
				settings[k] = strings.ToLower(strings.Trim(f[1], `"`))
			}
		}
	}
	return true
}

// judgeSSHD applies sshd's defaults to what is not set and rates it.
func judgeSSHD(s map[string]string, source string) []Finding {
	get := func(k, def string) string {
		if v, ok := s[k]; ok {
			return v
		}
		return def
	}
	var out []Finding
	switch root := get("permitrootlogin", "prohibit-password"); root {
	case "no":
	case "yes":
		out = append(out, finding("sshd", High, sshdFix, "sshd permits root login with a password (PermitRootLogin yes, %s)", source))
	default:
		out = append(out, finding("sshd", Medium, sshdFix, "sshd permits root login with a key (PermitRootLogin %s, %s); want no", root, source))
	}
	if pw := get("passwordauthentication", "yes"); pw != "no" {
		out = append(out, finding("sshd", High, sshdFix, "sshd accepts passwords (PasswordAuthentication %s, %s); want key-only logins", pw, source))
	}
	kbd := get("kbdinteractiveauthentication", get("challengeresponseauthentication", "yes"))
	if kbd != "no" && get("usepam", "no") == "yes" {
		out = append(out, finding("sshd", Medium, sshdFix, "sshd accepts keyboard-interactive (PAM) passwords (KbdInteractiveAuthentication %s, %s)", kbd, source))
	}
	if get("pubkeyauthentication", "yes") == "no" {
		out = append(out, finding("sshd", Medium, "set PubkeyAuthentication yes", "sshd refuses keys (PubkeyAuthentication no, %s)", source))
	}
	if len(out) == 0 {
		out = append(out, pass("sshd", "sshd: key-only logins, no root login (%s)", source))
	}
	return out
}
