package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/backupjob/remote"
)

// remoteFlag adds -remote to a backup command.
func (b *backupFlags) remoteFlag(usage string) { b.remote = b.fs.Bool("remote", false, usage) }

func (b *backupFlags) isRemote() bool { return b.remote != nil && *b.remote }

// openRemote builds the off-site store of the loaded config.
func (b *backupFlags) openRemote(j *backupjob.Job) (*remote.Remote, error) {
	if b.cfg == nil || b.cfg.Backup.Remote == nil {
		return nil, fmt.Errorf("%s has no [backup.remote] table (fix: add one; see docs/offsite-backups.md)", b.cfg.File)
	}
	opts := remote.Options{Logger: slog.New(slog.DiscardHandler)}
	if b.identity != nil && *b.identity != "" {
		ids, err := backupjob.ParseIdentityFile(*b.identity)
		if err != nil {
			return nil, err
		}
		opts.Identities = ids
	}
	return remote.Open(b.cfg.Backup, j, opts)
}

// list lists the local backups, or the remote ones with -remote (objects
// that do not form a complete backup are reported on stderr-like lines
// after the table, never listed).
func (b *backupFlags) list(j *backupjob.Job) ([]*backupjob.Manifest, error) {
	if !b.isRemote() {
		return j.List()
	}
	r, err := b.openRemote(j)
	if err != nil {
		return nil, err
	}
	l, err := r.List(context.Background())
	if err != nil {
		return nil, err
	}
	b.problems = l.Problems
	return l.Backups, nil
}

// where names what list read.
func (b *backupFlags) where(j *backupjob.Job) string {
	if b.isRemote() {
		return b.cfg.Backup.Remote.URL
	}
	return j.Dir()
}

// printProblems lists the remote objects that are not complete backups.
func printProblems(out io.Writer, problems map[string]string) {
	keys := make([]string, 0, len(problems))
	for k := range problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "not listed: %s: %s\n", k, problems[k])
	}
}

func (b *backupFlags) verify(ctx context.Context, j *backupjob.Job, id, kind string) (*backupjob.Manifest, error) {
	if !b.isRemote() {
		return j.Verify(ctx, id, kind)
	}
	r, err := b.openRemote(j)
	if err != nil {
		return nil, err
	}
	return r.Verify(ctx, id, kind)
}

func (b *backupFlags) restore(ctx context.Context, j *backupjob.Job, id, to string, opts backupjob.RestoreOptions) (*backupjob.Manifest, error) {
	if !b.isRemote() {
		return j.Restore(ctx, id, to, opts)
	}
	r, err := b.openRemote(j)
	if err != nil {
		return nil, err
	}
	return r.Restore(ctx, id, to, opts)
}

func (b *backupFlags) pruneRemote(ctx context.Context, j *backupjob.Job, dry bool, out io.Writer) error {
	r, err := b.openRemote(j)
	if err != nil {
		return err
	}
	res, err := r.Prune(ctx, dry)
	if res != nil {
		printPlan(out, res.Plan, dry)
		for _, k := range res.Orphans {
			fmt.Fprintf(out, "leftover of an interrupted upload (no manifest, over a day old): %s\n", k)
		}
	}
	return err
}

// openRemoteCommand parses the command line of push or pull, checks its
// positional arguments with check, and opens the job and its off-site
// store.
func openRemoteCommand(name, usage string, args []string, out io.Writer, check func(pos []string) error) (
	*backupjob.Job, *remote.Remote, []string, error) {
	b := newBackupFlags(name, usage, out, false)
	pos, err := b.parse(args, out)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := check(pos); err != nil {
		return nil, nil, nil, err
	}
	j, err := b.job(backupjob.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := b.openRemote(j)
	return j, r, pos, err
}

func backupPush(ctx context.Context, args []string, out io.Writer) error {
	_, r, pos, err := openRemoteCommand("push", "[ID] [-config FILE]", args, out, func(pos []string) error {
		if len(pos) > 1 {
			return usagef("want at most one backup ID, got %q", strings.Join(pos, " "))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		m, err := r.Upload(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "backup %s: %s\n", m.ID, m.Remote.Detail)
		return nil
	}
	ids, err := r.PushMissing(ctx)
	for _, id := range ids {
		fmt.Fprintf(out, "uploaded backup %s to %s\n", id, r.Where())
	}
	if err == nil && len(ids) == 0 {
		fmt.Fprintf(out, "nothing to upload: %s has every backup\n", r.Where())
	}
	return err
}

func backupPull(ctx context.Context, args []string, out io.Writer) error {
	j, r, pos, err := openRemoteCommand("pull", "ID [-config FILE]", args, out, func(pos []string) error {
		if len(pos) != 1 {
			return usagef("want one backup ID (see \"edge backup list -remote\") or latest, got %d", len(pos))
		}
		return nil
	})
	if err != nil {
		return err
	}
	m, err := r.Pull(ctx, pos[0], "")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "pulled backup %s into %s: %s, sha256 ok (still encrypted: %v)\n", m.ID, j.Dir(), humanBytes(m.SizeBytes), m.Encrypted)
	return nil
}
