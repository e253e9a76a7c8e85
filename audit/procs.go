package audit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// proc is one process read from /proc.
type proc struct {
	pid  int
	name string   // the Name: line of status
	argv []string // cmdline
	uid  int      // effective uid
	ruid int      // real uid
}

// processes lists the processes under /proc.
func (h *host) processes() []proc {
	ents, err := os.ReadDir(h.path("/proc"))
	if err != nil {
		return nil
	}
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, ok := h.read("/proc/" + e.Name() + "/status")
		if !ok {
			continue // gone meanwhile
		}
		p := proc{pid: pid, uid: -1, ruid: -1}
		for line := range strings.Lines(status) {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			switch {
			case k == "Name" && len(f) > 0:
				p.name = f[0]
			case k == "Uid" && len(f) >= 2:
				p.ruid, _ = strconv.Atoi(f[0])
				p.uid, _ = strconv.Atoi(f[1])
			}
		}
		cmdline, _ := h.read("/proc/" + e.Name() + "/cmdline")
		p.argv = strings.FieldsFunc(cmdline, func(r rune) bool { return r == 0 })
		out = append(out, p)
	}
	return out
}

// isEdge reports whether p is "edge run".
func (p proc) isEdge() bool {
	if len(p.argv) < 2 {
		return false
	}
	return filepath.Base(p.argv[0]) == "edge" && p.argv[1] == "run"
}

// isUvicorn reports whether p is a uvicorn server (the API).
func (p proc) isUvicorn() bool {
	for i, a := range p.argv {
		if filepath.Base(a) == "uvicorn" && (i == 0 || p.argv[i-1] == "-m" || strings.HasPrefix(filepath.Base(p.argv[0]), "python")) {
			return true
		}
	}
	return false
}

// checkProcesses wants edge and uvicorn running, and not as root.
func (h *host) checkProcesses() []Finding {
	procs := h.processes()
	users := h.accounts("/etc/passwd")
	var out []Finding
	for _, svc := range []struct {
		name  string
		match func(proc) bool
		fix   string
	}{
		{"edge", proc.isEdge, "run edge from deploy/systemd/edge.service (User=edge) with its socket units: sudo deploy/install.sh"},
		{"uvicorn", proc.isUvicorn, "run the API from deploy/systemd/gitcourse-api.service (User=gitcourse)"},
	} {
		var found []proc
		for _, p := range procs {
			if svc.match(p) {
				found = append(found, p)
			}
		}
		if len(found) == 0 {
			out = append(out, finding("process", Info, "", "%s is not running (not checked: the user it runs as)", svc.name))
			continue
		}
		for _, p := range found {
			if p.uid == 0 || p.ruid == 0 {
				out = append(out, finding("process", High, svc.fix, "%s runs as root (pid %d)", svc.name, p.pid))
				continue
			}
			out = append(out, pass("process", "%s runs as user %s (pid %d)", svc.name, users.name(p.uid), p.pid))
		}
	}
	return out
}

// accounts maps ids to names from a passwd or group file.
type accounts map[int]string

func (h *host) accounts(file string) accounts {
	a := accounts{}
	data, _ := h.read(file)
	for line := range strings.Lines(data) {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) < 3 {
			continue
		}
		if id, err := strconv.Atoi(f[2]); err == nil {
			if _, seen := a[id]; !seen {
				a[id] = f[0]
			}
		}
	}
	return a
}

// name is the account name of id, or the number.
func (a accounts) name(id int) string {
	if n, ok := a[id]; ok {
		return n
	}
	return strconv.Itoa(id)
}
