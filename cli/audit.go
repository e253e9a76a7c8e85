package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitcourse/edge/audit"
)

// errAuditHigh makes edge audit exit 1 after printing its report.
var errAuditHigh = errors.New("HIGH findings (see above)")

// auditCmd checks the host: "edge audit [-json]".
func auditCmd(ctx context.Context, args []string, out, _ io.Writer) error {
	fs := newFlags("audit", "[-json] [-config FILE] [-root DIR]", out)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cfg := fs.String("config", "", "edge's config `FILE`, to find the state and backup dirs (default $EDGE_CONFIG, then ExecStart= of edge.service, then /etc/edge/edge.toml)")
	root := fs.String("root", "/", "read /proc, /etc and the other files under `DIR` instead of / (for tests; runs no commands)")
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *cfg == "" {
		*cfg = os.Getenv("EDGE_CONFIG")
	}
	if *cfg != "" { // named explicitly: a wrong path is a mistake, not a finding
		if _, err := os.Stat(filepath.Join(*root, *cfg)); err != nil {
			return fmt.Errorf("read config: %w (fix: check -config or $EDGE_CONFIG)", err)
		}
	}
	rep := audit.Run(ctx, audit.Options{Root: *root, Paths: audit.Paths{Config: *cfg}})
	if *asJSON {
		if err := printJSON(out, rep); err != nil {
			return err
		}
	} else {
		printAudit(out, rep)
	}
	if rep.HasHigh() {
		return errAuditHigh
	}
	return nil
}

// printAudit prints problems first, each with its fix, then the passed
// checks, then a summary line.
func printAudit(out io.Writer, rep *audit.Report) {
	fmt.Fprintf(out, "edge audit of %s (host %s, %s)\n\n", rep.Root, rep.Host, rep.At.Format("2006-01-02 15:04 UTC"))
	for _, f := range rep.Findings {
		fmt.Fprintf(out, "%-6s  %-8s  %s\n", f.Severity, f.Check, f.Title)
		if f.Fix != "" && f.Severity != audit.OK {
			fmt.Fprintf(out, "%-6s  %-8s  fix: %s\n", "", "", f.Fix)
		}
	}
	var parts []string
	for _, s := range []audit.Severity{audit.High, audit.Medium, audit.Low, audit.Info, audit.OK} {
		parts = append(parts, fmt.Sprintf("%d %s", rep.Count(s), strings.ToLower(s.String())))
	}
	fmt.Fprintf(out, "\n%s\n", strings.Join(parts, ", "))
}
