package remote

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/config"
	"github.com/minio/minio-go/v7"
)

// memStore is an in-memory Store for unit tests.
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
	sums map[string]string
}

func newMemStore() *memStore { return &memStore{objs: map[string][]byte{}, sums: map[string]string{}} }

func (s *memStore) Put(_ context.Context, key string, src io.ReaderAt, size int64, sum string) (Object, error) {
	b, err := io.ReadAll(io.NewSectionReader(src, 0, size))
	if err != nil {
		return Object{}, err
	}
	if sha256Hex(b) != sum {
		return Object{}, ErrLocalChanged
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs[key], s.sums[key] = b, sum
	return s.object(key), nil
}

func (s *memStore) object(key string) Object {
	m := md5.Sum(s.objs[key])
	return Object{Key: key, Size: int64(len(s.objs[key])), ETag: hex.EncodeToString(m[:]), SHA256: s.sums[key], Modified: time.Now()}
}

func (s *memStore) Get(_ context.Context, key string) (io.ReadCloser, Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objs[key]
	if !ok {
		return nil, Object{}, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), s.object(key), nil
}

func (s *memStore) Stat(_ context.Context, key string) (Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objs[key]; !ok {
		return Object{}, ErrNotFound
	}
	return s.object(key), nil
}

func (s *memStore) List(_ context.Context, prefix string) ([]Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Object
	for k := range s.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, s.object(k))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *memStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, key)
	return nil
}

// newFakeEnv is env over a memStore, with claim as Options.Claim.
func newFakeEnv(t *testing.T, claim func(ctx context.Context, job, slot string) (bool, error)) (*env, *memStore) {
	t.Helper()
	yes := true
	rc := &config.BackupRemote{URL: "s3://bkt/p", Endpoint: "http://127.0.0.1:1", RequireEncryption: &yes,
		Drill: config.DrillWeekly, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 6}
	cfg := &config.Backup{Dir: filepath.Join(t.TempDir(), "backups"), Schedule: config.MustSchedule("03:00"), Format: backupjob.FormatCustom,
		Verify: backupjob.VerifyNone, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 6, Remote: rc}
	log := slog.New(slog.DiscardHandler)
	job, err := backupjob.New(cfg, backupjob.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	st := newMemStore()
	r, err := New(cfg, job, st, Options{Logger: log, ScratchDir: t.TempDir(), Claim: claim})
	if err != nil {
		t.Fatal(err)
	}
	return &env{cfg: cfg, job: job, r: r}, st
}

// TestClaimHook: a scheduled round asks Claim for the upload, prune and
// drill slots; a "no" for the upload means nothing is uploaded here.
func TestClaimHook(t *testing.T) {
	var asked []string
	allow := false
	e, st := newFakeEnv(t, func(_ context.Context, job, slot string) (bool, error) {
		asked = append(asked, job+" "+slot)
		return allow, nil
	})
	m := e.addBackup(t, time.Now(), 1000, true)
	e.r.round(context.Background(), "backup")
	if len(st.objs) != 0 || len(asked) != 1 || asked[0] != JobUpload+" "+m.ID+"/backup" {
		t.Fatalf("claim refused: %d objects stored, asked %q", len(st.objs), asked)
	}
	allow, asked = true, nil
	e.r.round(context.Background(), "backup")
	if len(st.objs) != 2 {
		t.Fatalf("claim granted: %d objects, want 2", len(st.objs))
	}
	want := []string{JobUpload, JobPrune, JobDrill}
	if len(asked) != 3 {
		t.Fatalf("asked %q, want the slots of %v", asked, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(asked[i], w+" ") {
			t.Errorf("claim %d: %q, want job %s", i, asked[i], w)
		}
	}
}

// TestDrillWithoutIdentity: the drill of an encrypted copy with no
// identity downloads it and checks its SHA-256, records a pass that says
// it was not restored, and schedules the next drill a week later.
func TestDrillWithoutIdentity(t *testing.T) {
	e, _ := newFakeEnv(t, nil)
	m := e.addBackup(t, time.Now(), 5000, true)
	if _, err := e.r.Upload(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Drill(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := e.r.State()
	if !st.LastDrillOK || st.LastDrillID != m.ID || !strings.Contains(st.LastDrillDetail, "sha256 ok") ||
		!strings.Contains(st.LastDrillDetail, "drill_identity") {
		t.Fatalf("drill state: %+v", st)
	}
	if d := st.NextDrill.Sub(st.LastDrill); d != 7*24*time.Hour {
		t.Errorf("next drill %s after the last, want a week", d)
	}
	// The state survives a restart (read from the backup directory).
	r2, err := New(e.cfg, e.job, newMemStore(), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if got := r2.State(); got.LastDrillID != m.ID || got.LastID != m.ID {
		t.Errorf("state after restart: %+v", got)
	}
}

// TestNextDrill: weekly, monthly, off, and the first drill at once.
func TestNextDrill(t *testing.T) {
	last := time.Date(2026, 1, 31, 3, 0, 0, 0, time.UTC)
	if got := nextDrill(config.DrillOff, last); !got.IsZero() {
		t.Errorf("off: %v", got)
	}
	if got := nextDrill(config.DrillWeekly, last); !got.Equal(last.AddDate(0, 0, 7)) {
		t.Errorf("weekly: %v", got)
	}
	if got := nextDrill(config.DrillMonthly, last); !got.Equal(last.AddDate(0, 1, 0)) {
		t.Errorf("monthly: %v", got)
	}
	if got := nextDrill(config.DrillMonthly, time.Time{}); !got.Before(time.Now()) {
		t.Errorf("first drill not due at once: %v", got)
	}
}

// TestExplain: the service's error codes become errors that name the
// setting to fix; a clock far off is explained (S3 signatures are
// time-bound, and the test cannot move this machine's clock).
func TestExplain(t *testing.T) {
	s := &S3{bucket: "bkt", endpoint: "https://s3.example.com"}
	for code, want := range map[string]string{
		"RequestTimeTooSkewed":  "clock",
		"SignatureDoesNotMatch": "backup.remote.secret_key",
		"InvalidAccessKeyId":    "backup.remote.access_key",
		"NoSuchBucket":          "backup.remote.url",
		"AccessDenied":          "bucket policy",
	} {
		err := s.explain(minio.ErrorResponse{Code: code, StatusCode: 403})
		if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a permanent error naming %q", code, err, want)
		}
	}
	if err := s.explain(minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}); errors.Is(err, ErrPermanent) {
		t.Errorf("SlowDown is permanent: %v", err)
	}
}
