package backupjob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/status"
)

// DefaultMaxRunTime bounds one backup with its verification.
const DefaultMaxRunTime = 4 * time.Hour

// Options are what the caller provides besides the config.
type Options struct {
	// Logger receives state transitions; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Location is the time zone of the schedule and of the retention
	// days, weeks and months; nil means time.Local.
	Location *time.Location
	// MaxRunTime bounds one backup with its verification.
	// Default: DefaultMaxRunTime.
	MaxRunTime time.Duration
	// Identities decrypt encrypted backups (verify, restore). Without
	// them, encrypted backups are verified while they are written.
	Identities []age.Identity
	// Progress, when set, receives reports while a backup is written.
	Progress func(Progress)
	// ScratchDir is where scratch clusters are created; "" means
	// os.TempDir().
	ScratchDir string
	// Status, when set, receives the state at every change (for the
	// admin page, metrics and alerts).
	Status *status.Registry
	// OnSuccess, when set, is called after each successful backup (the
	// dead man's switch of the health monitor).
	OnSuccess func()
	// Claim, when set, is asked before each scheduled run whether this
	// process runs that slot (in a cluster exactly one node does); nil
	// always runs it.
	Claim ClaimFunc
}

// Job takes, verifies and prunes the backups of one database.
type Job struct {
	cfg        config.Backup
	opts       Options
	log        *slog.Logger
	sched      *config.Schedule
	target     dbTarget
	recipients []age.Recipient

	mu      sync.Mutex // guards state
	state   State
	run     sync.Mutex // one operation at a time in this process
	retired retirement // closed by Retire (retire.go)

	// test hooks
	wrapFile func(io.Writer) io.Writer
	runOnce  func(ctx context.Context) error
}

// New checks cfg and returns a Job. It starts nothing and touches no file.
func New(cfg *config.Backup, opts Options) (*Job, error) {
	if cfg == nil {
		return nil, errors.New("new backup job: no [backup] configuration")
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
	if opts.MaxRunTime <= 0 {
		opts.MaxRunTime = DefaultMaxRunTime
	}
	if opts.ScratchDir == "" {
		opts.ScratchDir = os.TempDir()
	}
	j := &Job{cfg: *cfg, opts: opts, log: opts.Logger.With("component", "backup")}
	var err error
	if err := cfg.Schedule.Err(); err != nil {
		return nil, fmt.Errorf("backup.schedule: %w", err)
	}
	j.sched = cfg.Schedule.In(opts.Location)
	if cfg.Format != FormatCustom && cfg.Format != FormatPlainGzip {
		return nil, fmt.Errorf("backup.format: %q is not custom or plain-gzip", cfg.Format)
	}
	switch cfg.Verify {
	case VerifyNone, VerifyScratchDB, VerifyScratchCluster:
	default:
		return nil, fmt.Errorf("backup.verify: %q is not none, scratch-db or scratch-cluster", cfg.Verify)
	}
	if !filepath.IsAbs(cfg.Dir) {
		return nil, fmt.Errorf("backup.dir: %q is not an absolute path", cfg.Dir)
	}
	if j.recipients, err = config.AgeRecipients(cfg.EncryptTo); err != nil {
		return nil, fmt.Errorf("backup.encrypt_to: %w", err)
	}
	if cfg.DatabaseURL != "" {
		if j.target, err = parseTarget(cfg.DatabaseURL.Reveal()); err != nil {
			return nil, fmt.Errorf("backup.database_url: %w", err)
		}
	}
	return j, nil
}

// ParseIdentityFile reads age identities (AGE-SECRET-KEY-1...) or an
// unencrypted SSH private key from path: config.ParseIdentityFile, which
// "edge validate" checks backup.remote.drill_identity with.
func ParseIdentityFile(path string) ([]age.Identity, error) { return config.ParseIdentityFile(path) }

// Dir is the backup directory.
func (j *Job) Dir() string { return j.cfg.Dir }

// Schedule is the parsed schedule, in Options.Location.
func (j *Job) Schedule() *config.Schedule { return j.sched }

// State returns a copy of the current state.
func (j *Job) State() State {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state
}

// Refresh re-reads the state from the backup directory (backups taken by
// "edge backup now" in another process show up).
func (j *Job) Refresh() error {
	st, _, err := stateFromDisk(j.cfg.Dir)
	j.update(func(s *State) {
		st.Running, st.NextRun = s.Running, s.NextRun
		*s = st
	})
	return err
}

// update changes the state and publishes it.
func (j *Job) update(fn func(*State)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	fn(&j.state)
	if j.opts.Status != nil {
		j.opts.Status.SetBackup(j.state.Status())
	}
}

// List returns the backups, newest first.
func (j *Job) List() ([]*Manifest, error) {
	ms, err := listManifests(j.cfg.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return ms, err
}

// Find returns the backup with id, or the newest one when id is "" or
// "latest".
func (j *Job) Find(id string) (*Manifest, error) {
	if id == Latest {
		id = ""
	}
	ms, err := j.List()
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if id == "" || m.ID == id {
			return m, nil
		}
	}
	if id == "" {
		return nil, fmt.Errorf("find backup: %w: none in %s", ErrNotFound, j.cfg.Dir)
	}
	return nil, fmt.Errorf("find backup %q: %w (run \"edge backup list\")", id, ErrNotFound)
}

// Errors callers test for.
var (
	// ErrNotFound reports an unknown backup id.
	ErrNotFound = errors.New("no such backup")
	// ErrNeedIdentity reports an encrypted backup and no identity.
	ErrNeedIdentity = errors.New("backup is encrypted: an age identity is needed (fix: -identity FILE)")
	// ErrVerify reports a backup that failed verification.
	ErrVerify = errors.New("verification failed")
	// ErrNotEmpty reports a restore target that already holds tables.
	ErrNotEmpty = errors.New("target database is not empty")
)

// Path is the path of a backup's file.
func (j *Job) Path(m *Manifest) string { return filepath.Join(j.cfg.Dir, m.File) }
