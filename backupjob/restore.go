package backupjob

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"filippo.io/age"
	"github.com/klauspost/compress/gzip"
)

// restoreSpec is one restore of a backup's plain stream into a database.
type restoreSpec struct {
	tools  *Tools
	format string
	target dbTarget
	// file is the unencrypted custom-format file to read directly
	// (seekable); when "", input is read instead.
	file  string
	input io.Reader
	// scratch drops owners and grants: the scratch target has none of the
	// source's roles.
	scratch bool
	// clean drops existing objects first (restore -force).
	clean bool
}

// run restores in one transaction: on failure the target is unchanged.
func (r *restoreSpec) run(ctx context.Context) error {
	stderr := &tail{max: 2048}
	env := append(r.target.env(os.Environ()), "PGOPTIONS=-c client_min_messages=warning")
	var prog string
	var args []string
	if r.format == FormatPlainGzip {
		prog = r.tools.PSQL
		args = []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-o", os.DevNull, "--dbname=" + r.target.url}
	} else {
		prog = r.tools.PGRestore
		args = []string{"--no-owner", "--exit-on-error", "--single-transaction", "--no-password"}
		if r.scratch {
			args = append(args, "--no-acl")
		}
		if r.clean {
			args = append(args, "--clean", "--if-exists")
		}
		args = append(args, "--dbname="+r.target.url)
		if r.file != "" {
			args = append(args, r.file)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := command(ctx, prog, args, env, stderr)
	if r.file == "" {
		cmd.Stdin = &killOnError{r: r.input, kill: func() {
			if cmd.Process != nil {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // now, not when exec notices ctx
			}
			cancel()
		}}
	}
	if err := cmd.Run(); err != nil {
		if in, ok := cmd.Stdin.(*killOnError); ok && in.err != nil {
			return fmt.Errorf("read backup for %s: %w", filepath.Base(prog), in.err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", filepath.Base(prog), context.Cause(ctx))
		}
		return exitError(filepath.Base(prog), err, stderr)
	}
	return nil
}

// openPlain opens a stored backup file and returns the stream pg_restore
// or psql reads: decrypted with ids and, for plain-gzip, decompressed.
// For an unencrypted custom file it returns the path to read directly.
func openPlain(path string, m *Manifest, ids []age.Identity) (r io.Reader, direct string, closeFn func(), err error) {
	if !m.Encrypted && m.Format != FormatPlainGzip {
		return nil, path, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, fmt.Errorf("open backup file: %w", err)
	}
	var src io.Reader = f
	if m.Encrypted {
		if len(ids) == 0 {
			f.Close()
			return nil, "", nil, ErrNeedIdentity
		}
		if src, err = age.Decrypt(f, ids...); err != nil {
			f.Close()
			return nil, "", nil, fmt.Errorf("decrypt backup file: %w", err)
		}
	}
	if m.Format == FormatPlainGzip {
		gz, err := gzip.NewReader(src)
		if err != nil {
			f.Close()
			return nil, "", nil, fmt.Errorf("decompress backup file: %w", err)
		}
		src = gz
	}
	return src, "", func() { f.Close() }, nil
}

// killOnError kills the restoring program before it sees the end of a
// broken input: psql would otherwise commit a truncated restore.
type killOnError struct {
	r    io.Reader
	kill func()
	err  error
}

func (k *killOnError) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if err != nil && err != io.EOF {
		k.err = err
		k.kill()
	}
	return n, err
}
