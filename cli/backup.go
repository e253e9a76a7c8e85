package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/config"
	"golang.org/x/sys/unix"
)

const backupUsage = `Usage: edge backup COMMAND [flags]

Commands:
  now                         take a backup now (dump, verify, prune)
  list [-json]                list the backups: id, age, size, verified
  verify [ID]                 check the sha256 of a backup (default: the newest),
                              then restore it into a scratch target and compare row counts
  restore ID -to DATABASE_URL restore a backup into a database (refused if not empty, unless -force)
  prune [-dry-run]            apply the retention policy (keep_daily, keep_weekly, keep_monthly)
  push [ID]                   upload to [backup.remote] what is missing there (or backup ID)
  pull ID                     download a backup from [backup.remote] into backup.dir (sha256 checked)

list, verify, restore and prune take -remote to work on the [backup.remote] copy;
ID may be "latest" (the newest backup).

Every command takes -config FILE (default $EDGE_CONFIG, then /etc/edge/edge.toml).
Run "edge backup COMMAND -h" for its flags.
`

// backupCmd dispatches "edge backup COMMAND".
func backupCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usagef("missing command: now, list, verify, restore, prune, push or pull (run \"edge backup -h\")")
	}
	subs := map[string]func(context.Context, []string, io.Writer) error{
		"now": backupNow, "list": backupList, "verify": backupVerify, "restore": backupRestore, "prune": backupPrune,
		"push": backupPush, "pull": backupPull,
	}
	switch sub := args[0]; {
	case sub == "-h" || sub == "-help" || sub == "--help" || sub == "help":
		fmt.Fprint(out, backupUsage)
		return flag.ErrHelp
	case subs[sub] != nil:
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return subs[sub](ctx, args[1:], out)
	default:
		return usagef("unknown command %q: want now, list, verify, restore, prune, push or pull", sub)
	}
}

// backupFlags is what every backup command shares.
type backupFlags struct {
	fs       *flag.FlagSet
	cfgPath  func() (string, bool)
	identity *string
	remote   *bool
	cfg      *config.Config    // set by job
	problems map[string]string // remote objects list -remote did not list
}

func newBackupFlags(name, synopsis string, out io.Writer, identity bool) *backupFlags {
	b := &backupFlags{fs: newFlags("backup "+name, synopsis, out)}
	b.cfgPath = configFlag(b.fs)
	if identity {
		b.identity = b.fs.String("identity", "", "age identity `FILE` (AGE-SECRET-KEY-1... or an SSH private key) to decrypt encrypted backups")
	}
	return b
}

// parse parses flags anywhere among the arguments ("restore ID -to URL")
// and returns the positional arguments.
func (b *backupFlags) parse(args []string, out io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := helpOrParse(b.fs, args, out); err != nil {
			return nil, err
		}
		if b.fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, b.fs.Arg(0))
		args = b.fs.Args()[1:]
	}
}

// job loads the config and builds the backup job.
func (b *backupFlags) job(opts backupjob.Options) (*backupjob.Job, error) {
	path, _ := b.cfgPath()
	cfg, err := config.Load(path)
	if err != nil {
		return nil, configError(err)
	}
	if cfg.Backup == nil {
		return nil, fmt.Errorf("%s has no [backup] table (fix: add one; see docs/configuration.md)", path)
	}
	if b.identity != nil && *b.identity != "" {
		if opts.Identities, err = backupjob.ParseIdentityFile(*b.identity); err != nil {
			return nil, err
		}
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	b.cfg = cfg
	return backupjob.New(cfg.Backup, opts)
}

// flagsOnlyJob parses args, which may hold flags only (no positional
// argument), and builds the backup job with opts (see job).
func (b *backupFlags) flagsOnlyJob(args []string, out io.Writer, opts backupjob.Options) (*backupjob.Job, error) {
	pos, err := b.parse(args, out)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("unexpected argument %q", strings.Join(pos, " "))
	}
	return b.job(opts)
}

func backupNow(ctx context.Context, args []string, out io.Writer) error {
	b := newBackupFlags("now", "[-config FILE]", out, false)
	var opts backupjob.Options
	if isTerminal(out) {
		opts.Progress = progressPrinter(out)
	}
	j, err := b.flagsOnlyJob(args, out, opts)
	if err != nil {
		return err
	}
	m, err := j.Backup(ctx)
	if m != nil {
		fmt.Fprintf(out, "backup %s: %s, %s, %d tables, %d rows, %s\n", m.ID, m.File, humanBytes(m.SizeBytes),
			len(m.Tables), m.Rows(), m.FinishedAt.Sub(m.StartedAt).Round(time.Millisecond))
		fmt.Fprintf(out, "verified: %s\n", verifiedText(m))
	}
	return err
}

// progressPrinter rewrites one terminal line with bytes written and rate.
func progressPrinter(out io.Writer) func(backupjob.Progress) {
	return func(p backupjob.Progress) {
		rate := 0.0
		if s := p.Elapsed.Seconds(); s > 0 {
			rate = float64(p.Bytes) / s
		}
		fmt.Fprintf(out, "\r\033[K%s written, %s/s, %s", humanBytes(p.Bytes), humanBytes(int64(rate)), p.Elapsed.Round(time.Second))
		if p.Done {
			fmt.Fprint(out, "\r\033[K")
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// listEntry is one backup in "edge backup list -json".
type listEntry struct {
	ID         string                  `json:"id"`
	Database   string                  `json:"database"`
	File       string                  `json:"file"`
	StartedAt  time.Time               `json:"started_at"`
	FinishedAt time.Time               `json:"finished_at"`
	Age        string                  `json:"age"`
	AgeSeconds int64                   `json:"age_seconds"`
	SizeBytes  int64                   `json:"size_bytes"`
	SHA256     string                  `json:"sha256"`
	Format     string                  `json:"format"`
	Encrypted  bool                    `json:"encrypted"`
	Verified   *backupjob.Verification `json:"verified"`
	Remote     *backupjob.RemoteCopy   `json:"remote,omitempty"`
}

func backupList(_ context.Context, args []string, out io.Writer) error {
	b := newBackupFlags("list", "[-json] [-remote] [-config FILE]", out, false)
	asJSON := b.fs.Bool("json", false, "print the backups as a JSON array")
	b.remoteFlag("list the complete backups in [backup.remote] instead")
	j, err := b.flagsOnlyJob(args, out, backupjob.Options{})
	if err != nil {
		return err
	}
	ms, err := b.list(j)
	if err != nil {
		return err
	}
	now := time.Now()
	entries := make([]listEntry, 0, len(ms))
	for _, m := range ms {
		age := now.Sub(m.StartedAt)
		entries = append(entries, listEntry{ID: m.ID, Database: m.Database, File: m.File, StartedAt: m.StartedAt,
			FinishedAt: m.FinishedAt, Age: humanAge(age), AgeSeconds: int64(age.Seconds()), SizeBytes: m.SizeBytes,
			SHA256: m.SHA256, Format: m.Format, Encrypted: m.Encrypted, Verified: m.Verified, Remote: m.Remote})
	}
	if *asJSON {
		return printJSON(out, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintf(out, "no backups in %s\n", b.where(j))
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tSIZE\tVERIFIED\tFILE")
	for i, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.ID, e.Age, humanBytes(e.SizeBytes), verifiedShort(ms[i], now), e.File)
	}
	err = tw.Flush()
	printProblems(out, b.problems)
	return err
}

func backupVerify(ctx context.Context, args []string, out io.Writer) error {
	b := newBackupFlags("verify", "[ID] [-remote] [-identity FILE] [-scratch scratch-cluster|scratch-db] [-config FILE]", out, true)
	kind := b.fs.String("scratch", "", "restore into a scratch-cluster or a scratch-db (default: backup.verify, or scratch-cluster when that is none)")
	b.remoteFlag("download the backup from [backup.remote] into a temporary directory and verify that copy")
	pos, err := b.parse(args, out)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("want at most one backup ID, got %q", strings.Join(pos, " "))
	}
	if *kind != "" && *kind != backupjob.VerifyScratchCluster && *kind != backupjob.VerifyScratchDB {
		return usagef("-scratch %q: want scratch-cluster or scratch-db", *kind)
	}
	j, err := b.job(backupjob.Options{})
	if err != nil {
		return err
	}
	id := ""
	if len(pos) == 1 {
		id = pos[0]
	}
	m, err := b.verify(ctx, j, id, *kind)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "backup %s: sha256 ok; %s\n", m.ID, m.Verified.Detail)
	return nil
}

func backupRestore(ctx context.Context, args []string, out io.Writer) error {
	b := newBackupFlags("restore", "ID -to DATABASE_URL [-force] [-remote] [-identity FILE] [-config FILE]", out, true)
	to := b.fs.String("to", "", "target `DATABASE_URL` (postgres://...); the password may come from PGPASSWORD or ~/.pgpass instead")
	force := b.fs.Bool("force", false, "restore into a database that already has tables, replacing the backup's objects")
	b.remoteFlag("download the backup from [backup.remote] into backup.dir first (works on a machine that never ran edge)")
	pos, err := b.parse(args, out)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one backup ID (see \"edge backup list\"), got %d", len(pos))
	}
	if *to == "" {
		return usagef("missing -to DATABASE_URL")
	}
	j, err := b.job(backupjob.Options{})
	if err != nil {
		return err
	}
	m, err := b.restore(ctx, j, pos[0], *to, backupjob.RestoreOptions{Force: *force})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restored backup %s: %d tables, %d rows; row counts match the manifest\n", m.ID, len(m.Tables), m.Rows())
	return nil
}

func backupPrune(ctx context.Context, args []string, out io.Writer) error {
	b := newBackupFlags("prune", "[-dry-run] [-remote] [-config FILE]", out, false)
	dry := b.fs.Bool("dry-run", false, "show what would be kept and deleted; delete nothing")
	b.remoteFlag("apply backup.remote's keep_* rules to the [backup.remote] copies")
	j, err := b.flagsOnlyJob(args, out, backupjob.Options{})
	if err != nil {
		return err
	}
	if b.isRemote() {
		return b.pruneRemote(ctx, j, *dry, out)
	}
	plan, err := j.Prune(*dry)
	if plan != nil {
		printPlan(out, plan, *dry)
	}
	return err
}

func printPlan(out io.Writer, plan *backupjob.Plan, dry bool) {
	del := "delete"
	if !dry {
		del = "deleted"
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, it := range plan.Items {
		action := "keep"
		if !it.Keep {
			action = del
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", action, it.Manifest.ID, humanBytes(it.Manifest.SizeBytes), strings.Join(it.Reasons, ", "))
	}
	_ = tw.Flush()
	n := len(plan.Deletions())
	switch {
	case plan.Blocked != "":
		fmt.Fprintf(out, "nothing deleted: %s\n", plan.Blocked)
	case dry:
		fmt.Fprintf(out, "dry run: %d of %d backups would be deleted\n", n, len(plan.Items))
	default:
		fmt.Fprintf(out, "%d of %d backups deleted\n", n, len(plan.Items))
	}
}

func verifiedText(m *backupjob.Manifest) string {
	if m.Verified == nil {
		return "no (verify = \"none\")"
	}
	if m.Verified.OK {
		return "ok: " + m.Verified.Detail
	}
	return "FAILED: " + m.Verified.Detail
}

func verifiedShort(m *backupjob.Manifest, now time.Time) string {
	switch {
	case m.Verified == nil:
		return "-"
	case m.Verified.OK:
		return "ok " + humanAge(now.Sub(m.Verified.At)) + " ago"
	default:
		return "FAILED"
	}
}

// humanBytes writes n in decimal units (MB = 10^6 bytes, as in the config).
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, "kMGTP"[i])
}

// humanAge writes d coarsely: 45s, 12m, 5h12m, 3d4h.
func humanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}
