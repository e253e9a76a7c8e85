package audit

import (
	"path/filepath"
	"slices"
	"strings"
)

// unitDirs are where systemd looks for units, most important first.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}

// unitFile is a parsed unit with its drop-ins: values by "Section.Key",
// in order; an empty assignment resets the list, as systemd does.
type unitFile struct {
	path   string
	values map[string][]string
}

// loadUnit reads a unit and its drop-ins, or returns nil.
func (h *host) loadUnit(name string) *unitFile {
	u := &unitFile{values: map[string][]string{}}
	for _, d := range unitDirs {
		if text, ok := h.read(d + "/" + name); ok {
			u.path = d + "/" + name
			u.parse(text)
			break
		}
	}
	if u.path == "" {
		return nil
	}
	var dropins []string
	seen := map[string]bool{}
	for _, d := range unitDirs {
		matches, _ := filepath.Glob(h.path(d + "/" + name + ".d/*.conf"))
		for _, m := range matches {
			if !seen[filepath.Base(m)] { // the first directory wins for a name
				seen[filepath.Base(m)] = true
				dropins = append(dropins, m)
			}
		}
	}
	slices.SortFunc(dropins, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	for _, m := range dropins {
		if text, ok := h.read(strings.TrimPrefix(m, h.root)); ok {
			u.parse(text)
		}
	}
	return u
}

// parse adds the assignments of one file (continuation lines joined).
func (u *unitFile) parse(text string) {
	section := ""
	text = strings.ReplaceAll(text, "\\\n", " ")
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			key := section + "." + strings.TrimSpace(k)
			if v = strings.TrimSpace(v); v == "" {
				u.values[key] = []string{""}
				continue
			}
			u.values[key] = append(u.values[key], v)
		}
	}
}

// all returns the non-empty values of a [Service] key.
func (u *unitFile) all(key string) []string {
	if u == nil {
		return nil
	}
	var out []string
	for _, v := range u.values["Service."+key] {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// get returns the last value of a [Service] key, and whether it is set
// (an empty assignment counts as set).
func (u *unitFile) get(key string) (string, bool) {
	vs := u.values["Service."+key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// configFlag is the -config argument of ExecStart=, or "".
func (u *unitFile) configFlag() string {
	if u == nil {
		return ""
	}
	for _, v := range u.all("ExecStart") {
		f := strings.Fields(v)
		for i, a := range f {
			if (a == "-config" || a == "--config") && i+1 < len(f) {
				return f[i+1]
			}
			if c, ok := strings.CutPrefix(a, "-config="); ok {
				return c
			}
		}
	}
	return ""
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "yes", "true", "on":
		return true
	}
	return false
}

// hardening is one directive the edge unit should have.
type hardening struct {
	key  string
	want string // shown in the finding
	good func(v string, set bool) bool
	sev  Severity
}

var edgeHardening = []hardening{
	{"NoNewPrivileges", "true", func(v string, _ bool) bool { return isTrue(v) }, Medium},
	{"CapabilityBoundingSet", "(empty)", func(v string, set bool) bool { return set && v == "" }, Medium},
	{"AmbientCapabilities", "(empty)", func(v string, _ bool) bool { return v == "" }, Medium},
	{"ProtectSystem", "strict", func(v string, _ bool) bool { return v == "strict" }, Medium},
	{"ProtectHome", "true", func(v string, _ bool) bool { return isTrue(v) || v == "read-only" || v == "tmpfs" }, Low},
	{"PrivateTmp", "true", func(v string, _ bool) bool { return isTrue(v) }, Low},
	{"PrivateDevices", "true", func(v string, _ bool) bool { return isTrue(v) }, Low},
	{"ProtectKernelTunables", "true", func(v string, _ bool) bool { return isTrue(v) }, Low},
	{"ProtectKernelModules", "true", func(v string, _ bool) bool { return isTrue(v) }, Low},
	{"ProtectControlGroups", "true", func(v string, _ bool) bool { return isTrue(v) }, Low},
	{"RestrictNamespaces", "true", func(v string, _ bool) bool { return isTrue(v) }, Low},
	{"RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6", func(v string, _ bool) bool { return v != "" }, Low},
	{"SystemCallFilter", "@system-service", func(v string, _ bool) bool { return v != "" }, Low},
	{"MemoryDenyWriteExecute", "true", func(v string, _ bool) bool { return isTrue(v) }, Low},
	{"LockPersonality", "true", func(v string, _ bool) bool { return isTrue(v) }, Low},
	{"Restart", "on-failure", func(v string, _ bool) bool { return v == "on-failure" || v == "always" }, Low},
	{"WatchdogSec", "30s", func(v string, _ bool) bool { return v != "" && v != "0" }, Info},
}

const unitFix = "install deploy/systemd/edge.service (sudo deploy/install.sh) and keep local changes in drop-ins; check with systemd-analyze security edge.service"

// checkUnits checks edge.service's user and sandboxing and the API
// unit's user.
func (h *host) checkUnits(edge *unitFile) []Finding {
	var out []Finding
	if edge == nil {
		out = append(out, finding("unit", Info, "sudo deploy/install.sh", "edge.service is not installed (not checked: its sandboxing)"))
	} else {
		out = append(out, checkUser(edge, "edge.service", "edge")...)
		out = append(out, checkHardening(edge)...)
	}
	if api := h.loadUnit("gitcourse-api.service"); api != nil {
		out = append(out, checkUser(api, "gitcourse-api.service", "gitcourse")...)
	}
	return out
}

func checkUser(u *unitFile, name, want string) []Finding {
	user, _ := u.get("User")
	if dyn, _ := u.get("DynamicUser"); isTrue(dyn) {
		return []Finding{pass("unit", "%s runs as a dynamic user", name)}
	}
	if user == "" || user == "root" || user == "0" {
		return []Finding{finding("unit", High, "set User="+want+" and Group="+want+" in "+u.path+" (or a drop-in)",
			"%s runs as root (no User= or User=root)", name)}
	}
	return []Finding{pass("unit", "%s runs as User=%s", name, user)}
}

func checkHardening(u *unitFile) []Finding {
	var out []Finding
	var low []string
	for _, hd := range edgeHardening {
		v, set := u.get(hd.key)
		if hd.good(v, set) {
			continue
		}
		if hd.sev != Low {
			out = append(out, finding("unit", hd.sev, unitFix, "edge.service: %s is %q, want %s", hd.key, v, hd.want))
			continue
		}
		low = append(low, hd.key+"="+hd.want)
	}
	if len(low) > 0 {
		out = append(out, finding("unit", Low, unitFix, "edge.service lacks %s", strings.Join(low, ", ")))
	}
	if len(out) == 0 {
		out = append(out, pass("unit", "edge.service (%s) has the sandboxing of deploy/systemd/edge.service", u.path))
	}
	return out
}
