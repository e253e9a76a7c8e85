package audit

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Ports of the reference deployment: public ones, and ones that must
// listen on loopback only (uvicorn, PostgreSQL).
var (
	publicPorts   = []int{22, 80, 443}
	loopbackPorts = map[int]string{8000: "the API (uvicorn)", 5432: "PostgreSQL"}
)

// listener is one listening TCP socket.
type listener struct {
	addr  netip.Addr
	port  int
	inode string
	owner string // "name (pid N)" when known
}

func (l listener) String() string { return netip.AddrPortFrom(l.addr, uint16(l.port)).String() }

// listeners parses /proc/net/tcp and /proc/net/tcp6 for LISTEN sockets.
func (h *host) listeners() ([]listener, error) {
	var out []listener
	found := false
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, ok := h.read(f)
		if !ok {
			continue
		}
		found = true
		for line := range strings.Lines(data) {
			if l, ok := parseProcNetLine(line); ok {
				out = append(out, l)
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("no %s", h.path("/proc/net/tcp"))
	}
	return out, nil
}

// parseProcNetLine decodes one line of /proc/net/tcp{,6} when it is a
// listening socket (state 0A).
func parseProcNetLine(line string) (listener, bool) {
	f := strings.Fields(line)
	if len(f) < 10 || f[3] != "0A" {
		return listener{}, false
	}
	hexAddr, hexPort, ok := strings.Cut(f[1], ":")
	if !ok {
		return listener{}, false
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return listener{}, false
	}
	raw, err := hex.DecodeString(hexAddr)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return listener{}, false
	}
	// The kernel prints each 32-bit word in host byte order.
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.NativeEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return listener{addr: addr.Unmap(), port: int(port), inode: f[9]}, true
}

// socketOwners maps socket inodes to "name (pid N)" from /proc/*/fd.
func (h *host) socketOwners(procs []proc) map[string]string {
	owners := map[string]string{}
	for _, p := range procs {
		dir := h.path(fmt.Sprintf("/proc/%d/fd", p.pid))
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			target, err := os.Readlink(dir + "/" + e.Name())
			if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
				owners[strings.TrimSuffix(inode, "]")] = fmt.Sprintf("%s (pid %d)", p.name, p.pid)
			}
		}
	}
	return owners
}

// checkPorts compares the listening sockets with the expected set.
func (h *host) checkPorts() []Finding {
	ls, err := h.listeners()
	if err != nil {
		return []Finding{finding("ports", Info, "", "listening sockets not checked: %v", err)}
	}
	owners := h.socketOwners(h.processes())
	slices.SortFunc(ls, func(a, b listener) int {
		if a.port != b.port {
			return a.port - b.port
		}
		return a.addr.Compare(b.addr)
	})
	seen := map[string]bool{}
	var out []Finding
	var expected, local []string
	for _, l := range ls {
		if seen[l.String()] {
			continue
		}
		seen[l.String()] = true
		l.owner = owners[l.inode]
		_, wantLoopback := loopbackPorts[l.port]
		switch f, bad := judgeListener(l); {
		case bad:
			out = append(out, f)
		case l.addr.IsLoopback() && !wantLoopback:
			local = append(local, describe(l))
		default:
			expected = append(expected, describe(l))
		}
	}
	if len(expected) > 0 {
		out = append(out, pass("ports", "listening as expected (22, 80, 443; 8000 and 5432 on loopback only): %s", strings.Join(expected, ", ")))
	}
	if len(local) > 0 {
		out = append(out, finding("ports", Info, "", "also listening, on loopback only: %s", strings.Join(local, ", ")))
	}
	for _, p := range []int{80, 443} {
		if !listening(ls, p) {
			out = append(out, finding("ports", Info, "start edge's socket units: sudo systemctl start edge-http.socket edge-https.socket",
				"nothing listens on port %d", p))
		}
	}
	return out
}

// judgeListener returns a finding for a listener that should not be
// there, and whether there was one.
func judgeListener(l listener) (Finding, bool) {
	if l.addr.IsLoopback() || slices.Contains(publicPorts, l.port) {
		return Finding{}, false
	}
	if what, ok := loopbackPorts[l.port]; ok {
		return finding("ports", High, "bind it to 127.0.0.1 (uvicorn --host 127.0.0.1; PostgreSQL: listen_addresses = 'localhost')",
			"%s listens on %s, not on loopback only", what, describe(l)), true
	}
	return finding("ports", Medium, "stop that service or bind it to 127.0.0.1; the firewall should drop the port as well",
		"unexpected port open: %s", describe(l)), true
}

func describe(l listener) string {
	if l.owner != "" {
		return l.String() + " " + l.owner
	}
	return l.String()
}

func listening(ls []listener, port int) bool {
	for _, l := range ls {
		if l.port == port {
			return true
		}
	}
	return false
}
