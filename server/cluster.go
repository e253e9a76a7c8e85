package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/backupjob/remote"
	"github.com/gitcourse/edge/cluster"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/status"
	"golang.org/x/sync/errgroup"
)

// openCluster joins the cluster of cfg's [cluster], if any. PostgreSQL
// being down is not an error: the node serves from its local copies.
func (s *Server) openCluster(cfg *config.Config) error {
	if cfg.Cluster == nil {
		return nil
	}
	root := cfg.Site.Root
	c, err := cluster.Open(context.Background(), cfg.Cluster.DatabaseURL.Reveal(), cluster.Options{
		Node: cfg.Cluster.Node, Version: s.opts.Version, Logger: s.opts.Logger,
		LocalDir:  filepath.Join(cfg.Server.StateDir, "certs"),
		Release:   func() string { return servedRelease(root) },
		Listeners: func() string { return strings.TrimSpace(s.HTTPAddr() + " " + s.HTTPSAddr()) },
	})
	if err != nil {
		return err
	}
	s.cluster = c
	return nil
}

// servedRelease is the release id site.root points at ("" when root is
// not a release symlink).
func servedRelease(root string) string {
	dst, err := filepath.EvalSymlinks(root)
	if err != nil || dst == filepath.Clean(root) || filepath.Base(filepath.Dir(dst)) != "releases" {
		return ""
	}
	return filepath.Base(dst)
}

// certStorage is the certmagic storage for tlsmgr: the cluster's, or nil
// (tlsmgr's file storage in state_dir) for a single instance.
func (s *Server) certStorage() certmagic.Storage {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.Storage()
}

// backupClaim is the backup job's slot claim: the cluster's, or nil
// (every slot runs) for a single instance.
func (s *Server) backupClaim() backupjob.ClaimFunc {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.ClaimSlot
}

// incidents decides which node notifies each incident: the cluster, or
// nil (this instance notifies everything) for a single instance.
func (s *Server) incidents() health.Incidents {
	if s.cluster == nil {
		return nil
	}
	return s.cluster
}

// startCluster runs the heartbeat and keeps the registry's cluster view
// current.
func (s *Server) startCluster(g *errgroup.Group, ctx context.Context) {
	if s.cluster == nil {
		return
	}
	g.Go(func() error { return s.cluster.Run(ctx) })
	g.Go(func() error { return s.syncReleases(ctx) })
	g.Go(func() error {
		t := time.NewTicker(cluster.HeartbeatInterval)
		defer t.Stop()
		view := status.Cluster{Node: s.cluster.Node()}
		var watch nodeWatch
		for {
			if s.refreshCluster(ctx, &view) {
				s.watchNodes(ctx, &watch, view.Nodes)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
}

// refreshCluster reads the membership table into view (keeping the last
// table read when PostgreSQL is down) and records it; it reports whether
// the table was read.
func (s *Server) refreshCluster(ctx context.Context, view *status.Cluster) bool {
	members, err := s.cluster.Members(ctx)
	view.Error, view.CheckedAt = "", time.Now().UTC()
	if err != nil {
		view.Error = err.Error()
	} else {
		view.Nodes = view.Nodes[:0]
		for _, m := range members {
			view.Nodes = append(view.Nodes, status.ClusterNode{Name: m.Name, Version: m.Version, Release: m.Release,
				Listeners: m.Listeners, LastSeen: m.LastSeen, Up: m.Up})
		}
	}
	if err == nil {
		if at, err := s.cluster.LastSuccess(ctx, backupjob.ClaimJob); err == nil {
			view.BackupLastSuccess = at
		}
	}
	view.Leaders = s.cluster.Leaders()
	s.registry.SetCluster(*view)
	return err == nil
}

// closeCluster ends the cluster's connections after everything stopped.
func (s *Server) closeCluster() {
	if s.cluster != nil {
		s.cluster.Close()
	}
}

// backupSucceededInCluster records a scheduled backup's success for the
// other nodes' freshness checks.
func (s *Server) backupSucceededInCluster() {
	if s.cluster == nil {
		return
	}
	if err := s.cluster.JobSucceeded(context.Background(), backupjob.ClaimJob); err != nil {
		s.log.Warn("backup success not recorded in the cluster", "error", err)
	}
}

// backupState is the backup state the freshness check judges: this
// node's, with the cluster's last success when it is newer (in a cluster
// a node may never win a slot, and must not report stale backups).
func (s *Server) backupState() status.Backup {
	snap := s.registry.Snapshot()
	b := snap.Backup
	if c := snap.Cluster; c != nil && c.BackupLastSuccess.After(b.LastSuccess) {
		b.LastSuccess = c.BackupLastSuccess
	}
	return b
}

// remoteClaim maps the off-site worker's slots onto cluster slots. An
// upload runs on the node that made the backup: each node uploads only its
// own local backups, so nothing is uploaded twice. Prune runs at most once
// an hour and the drill once per due date, each on one node. Nil for a
// single instance: every slot runs.
func (s *Server) remoteClaim() ClaimFunc {
	if s.cluster == nil {
		return nil
	}
	return func(ctx context.Context, job, slot string) (bool, error) {
		switch job {
		case remote.JobUpload:
			return true, nil
		case remote.JobDrill:
			due, err := time.Parse(time.DateOnly, slot)
			if err != nil {
				return false, fmt.Errorf("drill slot %q: %w", slot, err)
			}
			return s.cluster.ClaimSlot(ctx, job, due)
		default:
			return s.cluster.ClaimSlot(ctx, job, time.Now().UTC().Truncate(time.Hour))
		}
	}
}
