// Package remote keeps an off-site copy of every backup in an
// S3-compatible bucket ([backup.remote]) and restores from it.
//
// Under the url's prefix each backup is two objects: the backup file
// ("{id}-{database}.dump[.age]"), uploaded first, then its manifest
// ("{id}-{database}.json"). A backup is listed only when both exist, the
// file's size matches the manifest and the SHA-256 recorded with it does
// too, so an interrupted upload is never listed. Uploads are streamed
// from the local file in parts (memory is bounded by the part size), each
// part checked by the service against its MD5 and SHA-256, and the whole
// object checked afterwards (ETag, or a read-back). Downloads are checked
// against the manifest's SHA-256 before anything is restored.
//
// A restore needs only the config, the credentials and the age identity:
// nothing from the machine that took the backup.
package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/status"
)

// Options are what the caller provides besides the config.
type Options struct {
	// Logger receives events; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Location is the time zone of the retention buckets and of the drill
	// slots; nil means time.Local.
	Location *time.Location
	// Identities decrypt encrypted backups for verify and the drill.
	Identities []age.Identity
	// ScratchDir is where downloads for verify and the drill go, and
	// where scratch clusters are created; "" means os.TempDir().
	ScratchDir string
	// Status, when set, receives the state at every change.
	Status *status.Registry
	// Claim, when set, is asked before a scheduled upload, prune or drill
	// runs ("remote-upload", "2026-11-25T03:00"); false means another
	// node runs that slot. Nil means always yes.
	Claim func(ctx context.Context, job, slot string) (bool, error)
	// S3 tunes the S3 store built by Open.
	S3 S3Options
}

// Remote is the off-site store of one backup job.
type Remote struct {
	cfg    config.BackupRemote
	backup config.Backup
	store  Store
	job    *backupjob.Job
	opts   Options
	log    *slog.Logger
	prefix string

	mu    sync.Mutex // guards state
	state State
}

// Open builds the Remote for cfg.Backup.Remote with an S3 store.
func Open(cfg *config.Backup, job *backupjob.Job, opts Options) (*Remote, error) {
	if cfg == nil || cfg.Remote == nil {
		return nil, errors.New("off-site backups: no [backup.remote] configuration")
	}
	st, err := NewS3(cfg.Remote, opts.S3)
	if err != nil {
		return nil, err
	}
	return New(cfg, job, st, opts)
}

// New builds the Remote for cfg.Backup.Remote over store.
func New(cfg *config.Backup, job *backupjob.Job, store Store, opts Options) (*Remote, error) {
	if cfg == nil || cfg.Remote == nil {
		return nil, errors.New("off-site backups: no [backup.remote] configuration")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.ScratchDir == "" {
		opts.ScratchDir = os.TempDir()
	}
	if len(opts.Identities) == 0 && cfg.Remote.DrillIdentity != "" {
		ids, err := backupjob.ParseIdentityFile(cfg.Remote.DrillIdentity)
		if err != nil {
			return nil, fmt.Errorf("backup.remote.drill_identity: %w", err)
		}
		opts.Identities = ids
	}
	r := &Remote{cfg: *cfg.Remote, backup: *cfg, store: store, job: job, opts: opts,
		log: opts.Logger.With("component", "backup-remote"), prefix: cfg.Remote.Prefix()}
	r.state = readState(cfg.Dir)
	return r, nil
}

// Where names the bucket and prefix, for messages.
func (r *Remote) Where() string { return r.cfg.URL }

// Listing is the remote side: complete backups, newest first, and the
// objects that do not form one (an interrupted upload, a damaged copy).
type Listing struct {
	// Backups are the complete, consistent copies.
	Backups []*backupjob.Manifest
	// Problems describe objects that are not listed, by key.
	Problems map[string]string
	// Objects is how many objects are under the prefix.
	Objects int
	// Orphans are backup files without a manifest.
	Orphans []Object
}

// List reads the remote side. A backup is listed only when its manifest
// decodes, its file exists with the manifest's size, and the SHA-256
// recorded at upload equals the manifest's.
func (r *Remote) List(ctx context.Context) (*Listing, error) {
	objs, err := r.store.List(ctx, r.prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.cfg.URL, err)
	}
	l := &Listing{Problems: map[string]string{}, Objects: len(objs)}
	byKey := make(map[string]Object, len(objs))
	for _, o := range objs {
		byKey[o.Key] = o
	}
	described := map[string]bool{}
	for _, o := range objs {
		name := strings.TrimPrefix(o.Key, r.prefix)
		if !strings.HasSuffix(name, ".json") || strings.Contains(name, "/") {
			continue
		}
		m, problem := r.check(ctx, o, byKey)
		if m != nil {
			described[r.prefix+m.File] = true
		}
		if problem != "" {
			l.Problems[o.Key] = problem
			continue
		}
		l.Backups = append(l.Backups, m)
	}
	for _, o := range objs {
		if !described[o.Key] && !strings.HasSuffix(o.Key, ".json") {
			l.Orphans = append(l.Orphans, o)
		}
	}
	sort.Slice(l.Backups, func(i, j int) bool { return l.Backups[i].ID > l.Backups[j].ID })
	return l, nil
}

// check reads one remote manifest and checks its backup file's object.
func (r *Remote) check(ctx context.Context, mo Object, byKey map[string]Object) (*backupjob.Manifest, string) {
	m, err := r.readManifest(ctx, mo.Key)
	if err != nil {
		return nil, err.Error()
	}
	if r.prefix+m.ManifestName() != mo.Key {
		return nil, fmt.Sprintf("manifest of backup %s stored under another name", m.ID)
	}
	o, ok := byKey[r.prefix+m.File]
	switch {
	case !ok:
		return m, "backup file " + m.File + " is missing"
	case o.Size != m.SizeBytes:
		return m, fmt.Sprintf("backup file %s has %d bytes, the manifest says %d", m.File, o.Size, m.SizeBytes)
	}
	if o.SHA256 == "" {
		st, err := r.store.Stat(ctx, o.Key)
		if err != nil {
			return m, "stat " + m.File + ": " + err.Error()
		}
		o = st
	}
	if o.SHA256 != m.SHA256 {
		return m, fmt.Sprintf("backup file %s was stored with sha256 %q, the manifest says %s", m.File, o.SHA256, m.SHA256)
	}
	return m, ""
}

func (r *Remote) readManifest(ctx context.Context, key string) (*backupjob.Manifest, error) {
	rc, _, err := r.store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := readAllMax(rc, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return backupjob.DecodeManifest(b)
}

// Find returns the complete remote backup with id ("" or "latest": the
// newest).
func (r *Remote) Find(ctx context.Context, id string) (*backupjob.Manifest, error) {
	l, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range l.Backups {
		if id == "" || id == backupjob.Latest || m.ID == id {
			return m, nil
		}
	}
	for key, p := range l.Problems {
		if id != "" && strings.HasPrefix(strings.TrimPrefix(key, r.prefix), id+"-") {
			return nil, fmt.Errorf("remote backup %s is not usable: %s", id, p)
		}
	}
	if id == "" || id == backupjob.Latest {
		return nil, fmt.Errorf("find remote backup: %w: none complete in %s", backupjob.ErrNotFound, r.cfg.URL)
	}
	return nil, fmt.Errorf("find remote backup %q: %w in %s (run \"edge backup list -remote\")", id, backupjob.ErrNotFound, r.cfg.URL)
}
