package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// raiseBuffer asks for quicBufferSize as the socket's receive (or send)
// buffer, first within the kernel limit, then past it with the
// *BUFFORCE option (which needs CAP_NET_ADMIN, so it works only for
// root), and returns the size the kernel reports afterwards.
func raiseBuffer(c *net.UDPConn, receive bool) (int, error) {
	opt, force := unix.SO_SNDBUF, unix.SO_SNDBUFFORCE
	set := c.SetWriteBuffer
	if receive {
		opt, force, set = unix.SO_RCVBUF, unix.SO_RCVBUFFORCE, c.SetReadBuffer
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("inspect UDP socket: %w", err)
	}
	get := func() (int, error) {
		var n int
		var gerr error
		if err := rc.Control(func(fd uintptr) { n, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt) }); err != nil {
			return 0, err
		}
		return n, gerr
	}
	n, err := get()
	if err != nil || n >= quicBufferSize {
		return n, err
	}
	_ = set(quicBufferSize) // the kernel caps it at its limit; checked below
	if n, err = get(); err != nil || n >= quicBufferSize {
		return n, err
	}
	_ = rc.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, force, quicBufferSize) })
	return get()
}

// readSysctl reads an integer from a /proc/sys file, or -1.
func readSysctl(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}
