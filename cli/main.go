// Package cli implements edge's command line: one file per subcommand.
// Main maps results to exit codes: 0 success, 1 failure with a one-line
// reason on stderr, 2 bad usage.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// errUsage marks a usage error (exit 2); its message is printed as is.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, out, errOut io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "serve (config: -config FILE, $EDGE_CONFIG, or /etc/edge/edge.toml)", runCmd},
		{"demo", "zero-setup demo: sample SPA and API on http://localhost:8080 and https://localhost:8443", demoCmd},
		{"validate", "check the config; print every error as FILE:LINE: key: reason", validateCmd},
		{"hash-password", "read a password (terminal without echo, or stdin) and print its bcrypt hash", hashPasswordCmd},
		{"reload", "ask the running instance to reload its config (same as SIGHUP)", reloadCmd},
		{"status", "show the running instance's status over its admin socket", statusCmd},
		{"unban", "lift a temporary ban ([[limit]]) on the running instance", unbanCmd},
		{"upstream", "drain|enable ADDR: take an upstream out of rotation (waits for its requests) or back", upstreamCmd},
		{"backup", "PostgreSQL backups: now | list | verify | restore | prune", backupCmd},
		{"release", "install a built frontend atomically", releaseCmd},
		{"rollback", "point the site back at the previous release", rollbackCmd},
		{"audit", "check the host's security settings", auditCmd},
		{"preflight", "check DNS, ports, CAA, ACME, upstreams, pg_dump, backups, alerts before going live", preflightCmd},
		{"logs", "filter edge's JSON log lines (journald, or a FILE): -status 5xx -route P -since 1h ...", logsCmd},
		{"notify", "send a message through the configured alert channels", notifyCmd},
		{"version", "print the version", versionCmd},
	}
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return ExitUsage
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		usage(stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		return exitCode(err, stderr, name)
	}
	fmt.Fprintf(stderr, "edge: unknown command %q (run \"edge -h\" for the list)\n", name)
	return ExitUsage
}

func exitCode(err error, stderr io.Writer, name string) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "edge %s: %s\n", name, ue.msg)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "edge %s: %s\n", name, err)
		return ExitFail
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "edge puts a small web application on the internet and keeps it there.")
	fmt.Fprintln(w, "\nUsage: edge COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"edge COMMAND -h\" for a command's flags.")
}

// newFlags returns a flag set whose errors are usage errors and whose -h
// prints the help to stdout.
func newFlags(name, synopsis string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("edge "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: edge %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; a bad flag is a usage error and -h is flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return usagef("%s (run \"%s -h\")", err, fs.Name())
	}
	return nil
}

// helpOrParse prints help to out on -h, else parses.
func helpOrParse(fs *flag.FlagSet, args []string, out io.Writer) error {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(out)
			fs.Usage()
			return flag.ErrHelp
		}
		if a == "--" {
			break
		}
	}
	return parse(fs, args)
}

// configFlag adds -config and returns a func resolving the path:
// the flag, then $EDGE_CONFIG, then /etc/edge/edge.toml.
func configFlag(fs *flag.FlagSet) func() (path string, explicit bool) {
	p := fs.String("config", "", "config `FILE` (default $EDGE_CONFIG, then /etc/edge/edge.toml)")
	return func() (string, bool) {
		if *p != "" {
			return *p, true
		}
		if env := os.Getenv("EDGE_CONFIG"); env != "" {
			return env, true
		}
		return "/etc/edge/edge.toml", false
	}
}

func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", strings.Join(fs.Args(), " "))
	}
	return nil
}

// printJSON writes v to out as JSON indented by two spaces.
func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
