// Package sysd is edge's only contact with systemd: socket activation
// (listeners passed by name), sd_notify (READY, RELOADING, STOPPING,
// STATUS, EXTEND_TIMEOUT) and the watchdog. Outside systemd every call is a
// harmless no-op, so edge runs the same way by hand.
package sysd

import (
	"fmt"
	"net"
	"os"

	"github.com/coreos/go-systemd/v22/activation"
)

// Listeners returns the sockets systemd passed, by FileDescriptorName
// ("http", "https"). It returns an empty map outside socket activation. A
// passed socket that is not a TCP listener is an error: edge cannot serve
// HTTP on it, and silently binding something else would hide the mistake.
func Listeners() (map[string]net.Listener, error) {
	files := activation.Files(true)
	out := make(map[string]net.Listener, len(files))
	for _, f := range files {
		ln, err := net.FileListener(f)
		name := f.Name()
		_ = f.Close()
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("socket %q passed by systemd is not a listening stream socket: %w (fix: ListenStream= in the .socket unit)", name, err)
		}
		if _, ok := ln.(*net.TCPListener); !ok {
			_ = ln.Close()
			closeAll(out)
			return nil, fmt.Errorf("socket %q passed by systemd is %s, not TCP (fix: ListenStream=80 or an IP:port)", name, ln.Addr().Network())
		}
		if _, dup := out[name]; dup {
			_ = ln.Close()
			closeAll(out)
			return nil, fmt.Errorf("systemd passed two sockets named %q (fix: one ListenStream= per .socket unit, FileDescriptorName=http or https)", name)
		}
		out[name] = ln
	}
	return out, nil
}

func closeAll(m map[string]net.Listener) {
	for _, ln := range m {
		_ = ln.Close()
	}
}

// UnderSystemd reports whether systemd expects notifications from us.
func UnderSystemd() bool { return os.Getenv("NOTIFY_SOCKET") != "" }
