package backupjob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// openScratch creates the isolated target of a verification.
func (j *Job) openScratch(ctx context.Context, kind string, tools *Tools, m *Manifest) (scratch, error) {
	switch kind {
	case VerifyScratchDB:
		if j.target.url == "" {
			return nil, errors.New("verify in a scratch database: backup.database_url is empty")
		}
		return createScratchDB(ctx, j.target)
	case VerifyScratchCluster:
		return startScratchCluster(ctx, j.opts.ScratchDir, j.cfg.Dir, tools, fileSafe(m.Database))
	}
	return nil, errNoScratch
}

// restoreAndCount restores a backup stream into sc and compares the row
// counts with the manifest.
func (j *Job) restoreAndCount(ctx context.Context, kind string, sc scratch, r *restoreSpec, m *Manifest) *Verification {
	r.target, r.scratch = sc.target(), true
	if err := r.run(ctx); err != nil {
		return j.verification(false, kind+": restore failed: "+err.Error())
	}
	return j.checkCounts(ctx, kind, sc.target(), m)
}

func (j *Job) checkCounts(ctx context.Context, kind string, t dbTarget, m *Manifest) *Verification {
	conn, err := connect(ctx, t)
	if err != nil {
		return j.verification(false, kind+": "+err.Error())
	}
	defer conn.Close(context.WithoutCancel(ctx))
	got, err := tableCounts(ctx, conn, m.Tables)
	if err != nil {
		return j.verification(false, kind+": "+err.Error())
	}
	if diff := compareCounts(m.Tables, got); diff != "" {
		return j.verification(false, kind+": row counts differ: "+diff)
	}
	return j.verification(true, fmt.Sprintf("%s: restored %d tables, %d rows; counts match", kind, len(m.Tables), m.Rows()))
}

func (j *Job) verification(ok bool, detail string) *Verification {
	return &Verification{At: j.opts.Now().UTC(), OK: ok, Detail: detail}
}

// inlineVerify restores an encrypted backup while it is written, from the
// plain pg_dump stream: the job has only the recipients, not the identity
// that would decrypt the stored file.
type inlineVerify struct {
	kind     string
	sc       scratch
	setupErr error
	pw       *io.PipeWriter
	tee      *softWriter
	done     chan error
	cancel   context.CancelFunc
}

// startInlineVerify starts it when the backup is encrypted, verification
// is on and there is no identity; else it returns nil. A scratch target
// that cannot be created fails the verification, not the backup.
func (j *Job) startInlineVerify(ctx context.Context, tools *Tools, m *Manifest) (*inlineVerify, error) {
	if !m.Encrypted || j.cfg.Verify == VerifyNone || len(j.opts.Identities) > 0 {
		return nil, nil
	}
	iv := &inlineVerify{kind: j.cfg.Verify}
	sc, err := j.openScratch(ctx, j.cfg.Verify, tools, m)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		iv.setupErr = err
		return iv, nil
	}
	pr, pw := io.Pipe()
	rctx, cancel := context.WithCancel(ctx)
	iv.sc, iv.pw, iv.cancel, iv.done = sc, pw, cancel, make(chan error, 1)
	iv.tee = &softWriter{w: pw}
	r := &restoreSpec{tools: tools, format: m.Format, target: sc.target(), input: pr, scratch: true}
	go func() {
		err := r.run(rctx)
		pr.CloseWithError(errors.New("restore ended")) // unblock the dump's writes
		iv.done <- err
	}()
	return iv, nil
}

// input is where the dump tees its plain output; nil when not running.
func (iv *inlineVerify) input() io.Writer {
	if iv == nil || iv.tee == nil {
		return nil
	}
	return iv.tee
}

// abort stops the restore and drops the scratch target.
func (iv *inlineVerify) abort() {
	if iv == nil || iv.sc == nil {
		return
	}
	iv.cancel()
	iv.pw.CloseWithError(errors.New("backup failed"))
	<-iv.done
	_ = iv.sc.close(context.Background())
}

// finish ends the restore input, waits for the restore and checks counts.
func (j *Job) finishInline(ctx context.Context, iv *inlineVerify, m *Manifest) *Verification {
	if iv.setupErr != nil {
		return j.verification(false, iv.kind+": "+iv.setupErr.Error())
	}
	defer iv.sc.close(ctx)
	defer iv.cancel()
	_ = iv.pw.Close()
	if err := <-iv.done; err != nil {
		return j.verification(false, iv.kind+": restore of the dump stream failed: "+err.Error())
	}
	if iv.tee.err != nil {
		return j.verification(false, iv.kind+": restore stopped reading: "+iv.tee.err.Error())
	}
	v := j.checkCounts(ctx, iv.kind, iv.sc.target(), m)
	if v.OK {
		v.Detail += " (restored from the dump stream; the stored file is encrypted, its sha256 recorded)"
	}
	return v
}

// verifyNew verifies a backup just written and saves the result in its
// manifest.
func (j *Job) verifyNew(ctx context.Context, tools *Tools, m *Manifest, iv *inlineVerify) (*Manifest, error) {
	var v *Verification
	switch {
	case j.cfg.Verify == VerifyNone:
		return m, nil
	case iv != nil:
		v = j.finishInline(ctx, iv, m)
	default:
		var err error
		if v, err = j.verifyAtRest(ctx, j.cfg.Verify, tools, m); err != nil {
			v = j.verification(false, err.Error())
		}
	}
	return j.saveVerification(ctx, m, v)
}

// saveVerification writes v into the manifest; a failed v is an error
// wrapping ErrVerify.
func (j *Job) saveVerification(ctx context.Context, m *Manifest, v *Verification) (*Manifest, error) {
	if ctx.Err() != nil && !v.OK {
		return m, fmt.Errorf("verify backup %s: %w", m.ID, context.Cause(ctx))
	}
	m.Verified = v
	if err := j.writeManifest(m); err != nil {
		return m, fmt.Errorf("save verification of backup %s: %w", m.ID, err)
	}
	if !v.OK {
		return m, fmt.Errorf("%w: backup %s: %s", ErrVerify, m.ID, v.Detail)
	}
	return m, nil
}

// verifyAtRest checks the stored file's SHA-256, then restores it into a
// scratch target of kind. An error means it could not be tried (such as
// an encrypted file and no identity); a failed check is a Verification.
func (j *Job) verifyAtRest(ctx context.Context, kind string, tools *Tools, m *Manifest) (*Verification, error) {
	if bad := checkSHA256(j.Path(m), m); bad != "" {
		return j.verification(false, bad), nil
	}
	in, direct, closeFn, err := openPlain(j.Path(m), m, j.opts.Identities)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	sc, err := j.openScratch(ctx, kind, tools, m)
	if err != nil {
		return j.verification(false, kind+": "+err.Error()), nil
	}
	defer sc.close(ctx)
	r := &restoreSpec{tools: tools, format: m.Format, file: direct, input: in}
	return j.restoreAndCount(ctx, kind, sc, r, m), nil
}

// checkSHA256 returns "" when the file's size and hash match m, else what
// is wrong.
func checkSHA256(path string, m *Manifest) string {
	f, err := os.Open(path)
	if err != nil {
		return "read backup file: " + err.Error()
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "read backup file: " + err.Error()
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != m.SHA256 || n != m.SizeBytes {
		return fmt.Sprintf("sha256 mismatch: the file (%d bytes) hashes to %s, the manifest says %s (%d bytes): the file is corrupt",
			n, sum, m.SHA256, m.SizeBytes)
	}
	return ""
}

// serverMajor reads the major version from "15.18".
func serverMajor(version string) int {
	n, _ := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	return n
}

// Verify checks the SHA-256 of the backup with id (the newest when id is
// ""), restores it into a scratch target of kind (backup.verify when "",
// scratch-cluster when that is "none") and records the result in its
// manifest. It returns an error wrapping ErrVerify when the backup is bad,
// and ErrNeedIdentity when it is encrypted and Options.Identities is empty
// (after the SHA-256 check passed).
func (j *Job) Verify(ctx context.Context, id, kind string) (*Manifest, error) {
	ctx, done, err := j.beginRun(ctx, "verification")
	if err != nil {
		return nil, err
	}
	defer done()
	return j.verifyLocked(ctx, id, kind)
}

func (j *Job) verifyLocked(ctx context.Context, id, kind string) (*Manifest, error) {
	m, err := j.Find(id)
	if err != nil {
		return nil, err
	}
	if kind == "" {
		kind = j.cfg.Verify
	}
	if kind == VerifyNone {
		kind = VerifyScratchCluster
	}
	tools, err := FindTools(ctx, j.cfg.PGBin, serverMajor(m.ServerVersion))
	if err != nil {
		return m, err
	}
	v, err := j.verifyAtRest(ctx, kind, tools, m)
	if err != nil {
		if errors.Is(err, ErrNeedIdentity) {
			return m, fmt.Errorf("verify backup %s: sha256 ok; %w", m.ID, err)
		}
		return m, fmt.Errorf("verify backup %s: %w", m.ID, err)
	}
	m, err = j.saveVerification(ctx, m, v)
	j.recordVerify(m, v)
	return m, err
}

// recordVerify keeps a verification's outcome in the state.
func (j *Job) recordVerify(m *Manifest, v *Verification) {
	if v == nil {
		return
	}
	p := readPersisted(j.cfg.Dir)
	if !v.OK {
		p.VerifyError, p.VerifyErrorAt = "backup "+m.ID+": "+v.Detail, j.opts.Now()
	} else if newest, _ := j.Find(""); strings.HasPrefix(p.VerifyError, "backup "+m.ID+":") || (newest != nil && newest.ID == m.ID) {
		p.VerifyError, p.VerifyErrorAt = "", time.Time{}
	}
	if err := writePersisted(j.cfg.Dir, p); err != nil {
		j.log.Error("save backup state", "error", err)
	}
	_ = j.Refresh()
}
