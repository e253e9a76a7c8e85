package audit

import (
	"fmt"
	"strconv"
	"strings"
)

// quicBufferSize is the UDP buffer quic-go asks for (7 MiB). Linux grants
// up to twice net.core.rmem_max (wmem_max for sending) and reports the
// doubled size, which is what quic-go compares with its wish.
const quicBufferSize = 7 << 20

const udpBufferFix = "sudo install -m 0644 deploy/sysctl/60-edge.conf /etc/sysctl.d/ && sudo sysctl -p /etc/sysctl.d/60-edge.conf"

// checkKernel wants UDP buffer limits high enough for HTTP/3 (QUIC), as
// edge's self-check does at start.
func (h *host) checkKernel() []Finding {
	var low []string
	for _, name := range []string{"rmem_max", "wmem_max"} {
		text, ok := h.read("/proc/sys/net/core/" + name)
		if !ok {
			return []Finding{finding("kernel", Info, "", "UDP buffer limits not checked: no /proc/sys/net/core/%s", name)}
		}
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return []Finding{finding("kernel", Info, "", "UDP buffer limits not checked: net.core.%s is %q", name, strings.TrimSpace(text))}
		}
		if 2*n < quicBufferSize {
			low = append(low, fmt.Sprintf("net.core.%s=%d", name, n))
		}
	}
	if len(low) > 0 {
		return []Finding{finding("kernel", Low, udpBufferFix,
			"UDP buffer limits too low for HTTP/3 (%s; QUIC wants 7 MiB per socket, so throughput suffers)", strings.Join(low, ", "))}
	}
	return []Finding{pass("kernel", "UDP buffer limits allow the 7 MiB HTTP/3 (QUIC) asks for")}
}
