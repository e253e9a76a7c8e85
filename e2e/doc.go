// Package e2e tests the real edge binary from outside: it builds ./cmd/edge
// once per test binary, starts it on free loopback ports with a temporary
// config, site, state directory and admin socket, and talks to it over real
// HTTP and HTTPS (trusting the internal CA of the temporary state
// directory). Every process it starts is stopped by PID; a clean shutdown
// must exit 0.
//
// Run with "go test ./e2e". A plain "go test -short ./..." skips it. Under
// CI=true a missing component (such as the go tool) fails the test instead
// of skipping it.
package e2e
