package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"text/tabwriter"
	"time"

	"github.com/gitcourse/edge/logquery"
)

// logsCmd filters edge's own JSON log lines: from journald (journalctl -u
// edge -o cat) or from FILE ("-": stdin).
func logsCmd(ctx context.Context, args []string, out, _ io.Writer) error {
	fs := newFlags("logs", "[-status 5xx] [-route P] [-since 1h] [-request ID] [-slow 500ms] [-json] [FILE]", out)
	status := fs.String("status", "", "requests with this `STATUS` (\"404\") or class (\"5xx\")")
	route := fs.String("route", "", "requests under this path `PREFIX` or route (\"/api/\", \"static\")")
	since := fs.Duration("since", 0, "lines from the last `DURATION` (\"1h\")")
	request := fs.String("request", "", "the lines of one request `ID`")
	slow := fs.Duration("slow", 0, "requests that took at least `DURATION` (\"500ms\")")
	asJSON := fs.Bool("json", false, "print the matching JSON lines as they are")
	if err := helpOrParse(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("one FILE at most, not %d arguments", fs.NArg())
	}
	f := logquery.Filter{Route: *route, Request: *request, Slow: *slow}
	if *status != "" {
		lo, hi, err := logquery.ParseStatus(*status)
		if err != nil {
			return usagef("-status %v", err)
		}
		f.StatusLo, f.StatusHi = lo, hi
	}
	if *since < 0 || *slow < 0 {
		return usagef("-since and -slow must not be negative")
	}
	if *since > 0 {
		f.Since = time.Now().Add(-*since)
	}
	src, wait, err := openLogs(ctx, fs.Arg(0), f.Since)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := printLogs(src, out, f, *asJSON); err != nil {
		return err
	}
	return wait()
}

// openLogs opens FILE, stdin for "-", or journalctl's output for edge.service.
func openLogs(ctx context.Context, file string, since time.Time) (io.ReadCloser, func() error, error) {
	none := func() error { return nil }
	switch file {
	case "-":
		return io.NopCloser(os.Stdin), none, nil
	case "":
	default:
		fh, err := os.Open(file)
		if err != nil {
			return nil, nil, fmt.Errorf("open log file: %w", err)
		}
		return fh, none, nil
	}
	args := []string{"-u", "edge", "-o", "cat", "--no-pager"}
	if !since.IsZero() {
		args = append(args, "--since", since.Local().Format("2006-01-02 15:04:05"))
	}
	cmd := exec.CommandContext(ctx, "journalctl", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("run journalctl: %w (fix: pass the log FILE, such as the access_log path)", err)
	}
	return stdout, func() error {
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("journalctl -u edge: %w (fix: run as root or a member of group systemd-journal or adm)", err)
		}
		return nil
	}, nil
}

// printLogs writes the matching lines as a table or as JSON lines.
func printLogs(src io.Reader, out io.Writer, f logquery.Filter, asJSON bool) error {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "TIME\tLEVEL\tSTATUS\tMETHOD\tPATH / MESSAGE\tMS\tREQUEST")
	}
	for sc.Scan() {
		l, ok := logquery.Parse(sc.Bytes())
		if !ok || !f.Match(l) {
			continue
		}
		if asJSON {
			fmt.Fprintf(out, "%s\n", l.Raw)
			continue
		}
		at := l.Time.Local().Format("2006-01-02 15:04:05")
		if l.Access() {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%.1f\t%s\n", at, l.Level, l.Status, l.Method, l.Path, l.DurationMS, l.RequestID)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t\t\t%s\t\t%s\n", at, l.Level, l.Msg, l.RequestID)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read logs: %w", err)
	}
	return nil
}
