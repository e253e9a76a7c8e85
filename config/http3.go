package config

import "fmt"

// applyHTTP3Default turns HTTP/3 on unless the file says otherwise.
func (s *Server) applyHTTP3Default() {
	if s.HTTP3 == nil {
		on := true
		s.HTTP3 = &on
	}
}

// HTTP3Enabled reports whether HTTP/3 is served: http3 is on (the
// default) and there is an HTTPS listener to pair it with.
func (s Server) HTTP3Enabled() bool {
	return s.HTTPS != "" && (s.HTTP3 == nil || *s.HTTP3)
}

// http3 checks that http3 and http3_0rtt are asked for only where they
// can apply: HTTP/3 shares the HTTPS port and its certificates.
func (v *validator) http3() {
	s := v.c.Server
	written := v.c.pos.has("server.http3")
	if s.HTTPS == "" && written && s.HTTP3 != nil && *s.HTTP3 {
		v.failf("server.http3", ErrInvalidValue, "true needs server.https (fix: set server.https, or http3 = false)")
	}
	if s.HTTP30RTT && !s.HTTP3Enabled() {
		v.fail("server.http3_0rtt", fmt.Errorf("%w: true needs HTTP/3 (fix: http3 = true with server.https set, or remove http3_0rtt)", ErrInvalidValue))
	}
}
