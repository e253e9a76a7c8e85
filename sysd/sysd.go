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
	"golang.org/x/sys/unix"
)

// DatagramName is the FileDescriptorName= of the UDP socket that serves
// HTTP/3 (edge-h3.socket, ListenDatagram=).
const DatagramName = "h3"

// Sockets are the sockets systemd passed, by FileDescriptorName.
type Sockets struct {
	// Streams are the TCP listeners ("http", "https").
	Streams map[string]net.Listener
	// Datagrams are the UDP sockets ("h3").
	Datagrams map[string]net.PacketConn
}

// Close closes every socket (edge's copies; systemd keeps its own).
func (s *Sockets) Close() {
	for _, ln := range s.Streams {
		_ = ln.Close()
	}
	for _, pc := range s.Datagrams {
		_ = pc.Close()
	}
}

// Listeners returns the sockets systemd passed: TCP listeners by
// FileDescriptorName ("http", "https") and UDP sockets named "h3". Both
// maps are empty outside socket activation. A passed socket of the wrong
// kind for its name is an error: edge cannot serve on it, and silently
// binding something else would hide the mistake.
func Listeners() (*Sockets, error) {
	out := &Sockets{Streams: map[string]net.Listener{}, Datagrams: map[string]net.PacketConn{}}
	for _, f := range activation.Files(true) {
		err := out.take(f)
		_ = f.Close()
		if err != nil {
			out.Close()
			return nil, err
		}
	}
	return out, nil
}

// take adds the socket in f (a dup of it) under f's name.
func (s *Sockets) take(f *os.File) error {
	name := f.Name()
	_, dupS := s.Streams[name]
	_, dupD := s.Datagrams[name]
	if dupS || dupD {
		return fmt.Errorf("systemd passed two sockets named %q (fix: one Listen*= per .socket unit, FileDescriptorName=http, https or h3)", name)
	}
	if name == DatagramName {
		pc, err := datagram(f)
		if err != nil {
			return err
		}
		s.Datagrams[name] = pc
		return nil
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return fmt.Errorf("socket %q passed by systemd is not a listening stream socket: %w (fix: ListenStream= in the .socket unit)", name, err)
	}
	if _, ok := ln.(*net.TCPListener); !ok {
		_ = ln.Close()
		return fmt.Errorf("socket %q passed by systemd is %s, not TCP (fix: ListenStream=80 or an IP:port)", name, ln.Addr().Network())
	}
	s.Streams[name] = ln
	return nil
}

// datagram returns the UDP socket in f, or an error naming the fix.
func datagram(f *os.File) (net.PacketConn, error) {
	typ, err := socketType(f)
	if err != nil {
		return nil, fmt.Errorf("socket %q passed by systemd: %w", f.Name(), err)
	}
	if typ != unix.SOCK_DGRAM {
		return nil, fmt.Errorf("socket %q passed by systemd is not a datagram socket (fix: ListenDatagram=443 in edge-h3.socket)", f.Name())
	}
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, fmt.Errorf("socket %q passed by systemd: %w (fix: ListenDatagram=443 in edge-h3.socket)", f.Name(), err)
	}
	if _, ok := pc.(*net.UDPConn); !ok {
		_ = pc.Close()
		return nil, fmt.Errorf("socket %q passed by systemd is %s, not UDP (fix: ListenDatagram=443 or an IP:port)", f.Name(), pc.LocalAddr().Network())
	}
	return pc, nil
}

// socketType returns SO_TYPE of the socket in f (unix.SOCK_STREAM,
// unix.SOCK_DGRAM...).
func socketType(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("inspect socket: %w", err)
	}
	var typ int
	var serr error
	if err := rc.Control(func(fd uintptr) { typ, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE) }); err != nil {
		return 0, fmt.Errorf("inspect socket: %w", err)
	}
	if serr != nil {
		return 0, fmt.Errorf("read SO_TYPE: %w", serr)
	}
	return typ, nil
}

// UnderSystemd reports whether systemd expects notifications from us.
func UnderSystemd() bool { return os.Getenv("NOTIFY_SOCKET") != "" }
