package server

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gitcourse/edge/cluster"
	"github.com/gitcourse/edge/release"
)

// releaseSyncEvery is how often a node compares the release it serves
// with the cluster's (a release made on any node is served everywhere
// within about this long plus the install).
const releaseSyncEvery = 2 * time.Second

// syncReleases installs the cluster's current release on this node until
// ctx ends: at start when the node serves another one (a node that was
// down catches up), then each time the cluster's release changes (checked
// every releaseSyncEvery). Acting on changes only, not on every
// difference, leaves alone a release being installed by edge release on
// this node before it is published, and a release an operator made on
// this node alone (edge release -root). While PostgreSQL is down the node
// keeps serving its release.
func (s *Server) syncReleases(ctx context.Context) error {
	t := time.NewTicker(releaseSyncEvery)
	defer t.Stop()
	var lastErr string
	seen := "\x00" // the cluster release last acted on; none yet
	for {
		if err := s.syncRelease(ctx, &seen); err != nil && ctx.Err() == nil && err.Error() != lastErr {
			s.log.Warn("cluster release not installed; serving the local release", "error", err)
			lastErr = err.Error()
		} else if err == nil {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Server) syncRelease(ctx context.Context, seen *string) error {
	want, err := s.cluster.CurrentRelease(ctx)
	if err != nil || want == *seen {
		return err
	}
	root := s.site.Load().cfg.Site.Root
	if want == "" || servedRelease(root) == want {
		*seen = want
		return nil
	}
	opts := release.Options{Root: root}
	start := time.Now()
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "releases", want)); err == nil {
		if _, err := release.Rollback(ctx, want, opts); err != nil {
			return err
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		if err := s.installClusterRelease(ctx, want, opts); err != nil {
			return err
		}
	} else {
		return err
	}
	if st := s.site.Load(); st != nil && st.static != nil {
		_ = s.InvalidateStatic(ctx)
	}
	s.log.Info("cluster release installed", "release", want, "took", time.Since(start).Round(time.Millisecond).String())
	*seen = want
	return nil
}

// installClusterRelease fetches release id from the cluster store and
// installs it under the same id.
func (s *Server) installClusterRelease(ctx context.Context, id string, opts release.Options) error {
	tarball, sha, err := s.cluster.LoadRelease(ctx, id)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(opts.Root), ".cluster-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := cluster.Unpack(tarball, sha, tmp); err != nil {
		return err
	}
	opts.ID = id
	_, err = release.Install(ctx, tmp, opts)
	return err
}
