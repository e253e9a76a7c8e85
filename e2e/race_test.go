//go:build race

package e2e

// raceEnabled builds the edge binary with -race too when the tests run
// with -race, so that a data race in edge fails the clean-shutdown check.
const raceEnabled = true
