package server

import (
	"context"
	"time"

	"github.com/gitcourse/edge/admin"
	"github.com/gitcourse/edge/backupjob/remote"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/status"
	"golang.org/x/sync/errgroup"
)

// ClaimFunc answers "may this node run this slot of a scheduled job?"
// (cluster mode runs each slot on one node only).
type ClaimFunc func(ctx context.Context, job, slot string) (bool, error)

// offsite is the wiring of the off-site copy ([backup.remote]).
type offsite struct {
	remote *remote.Remote // nil without [backup.remote]
	kick   chan struct{}  // a backup succeeded: upload it
	claim  ClaimFunc      // nil: always yes
}

// SetClaimSlot installs the hook asked before a scheduled remote upload,
// prune or drill runs; call it before Run. Without it every slot runs.
func (s *Server) SetClaimSlot(fn ClaimFunc) { s.offsite.claim = fn }

// newOffsite builds the off-site store of cfg (nothing without
// [backup.remote] or [backup]). It starts nothing.
func (s *Server) newOffsite(cfg *config.Config) error {
	s.offsite.kick = make(chan struct{}, 1)
	if s.offsite.claim == nil {
		s.offsite.claim = s.remoteClaim()
	}
	job := s.work.currentJob()
	if cfg.Backup == nil || cfg.Backup.Remote == nil || job == nil {
		return nil
	}
	r, err := remote.Open(cfg.Backup, job, remote.Options{Logger: s.opts.Logger, Status: s.registry,
		Claim: func(ctx context.Context, job, slot string) (bool, error) {
			if s.offsite.claim == nil {
				return true, nil
			}
			return s.offsite.claim(ctx, job, slot)
		}})
	if err != nil {
		return err
	}
	s.offsite.remote = r
	r.Publish()
	return nil
}

// backupSucceeded asks the off-site worker to upload; it never blocks.
func (s *Server) backupSucceeded() {
	select {
	case s.offsite.kick <- struct{}{}:
	default:
	}
}

// startOffsite runs the off-site worker in g until ctx ends.
func (s *Server) startOffsite(g *errgroup.Group, ctx context.Context) {
	if r := s.offsite.remote; r != nil {
		g.Go(func() error { return r.Run(ctx, s.offsite.kick) })
	}
}

// Remote returns the off-site store, or nil without [backup.remote].
func (s *Server) Remote() *remote.Remote { return s.offsite.remote }

// withRemote adds the off-site copy's state to the backup view.
func withRemote(v admin.Backup, r *status.RemoteBackup, now time.Time) admin.Backup {
	if r == nil {
		return v
	}
	rv := &admin.BackupRemote{URL: r.URL, LastSuccess: admin.TimeOrNil(r.LastSuccess), LastID: r.LastID,
		LastDurationSeconds: round3(r.LastDuration.Seconds()), LastError: r.LastError, Objects: r.Objects,
		Backups: r.Backups, LastDrill: admin.TimeOrNil(r.LastDrill), LastDrillOK: r.LastDrillOK,
		LastDrillID: r.LastDrillID, LastDrillDetail: r.LastDrillDetail, NextDrill: admin.TimeOrNil(r.NextDrill)}
	if !r.LastSuccess.IsZero() {
		age := int64(now.Sub(r.LastSuccess).Seconds())
		rv.LastSuccessAgeSecs = &age
	}
	v.Remote = rv
	return v
}

// remoteSelfCheck warns when [backup.remote] requires encryption and no
// backup is encrypted: every upload would be refused.
func remoteSelfCheck(cfg *config.Config) []string {
	if cfg.Backup == nil || cfg.Backup.Remote == nil || !cfg.Backup.Remote.EncryptionRequired() || len(cfg.Backup.EncryptTo) > 0 {
		return nil
	}
	return []string{"backup.remote.require_encryption is true but backup.encrypt_to is empty: no backup will be uploaded " +
		"(fix: set backup.encrypt_to = [\"age1...\"] with the public key of an age identity kept off this machine, " +
		"or set require_encryption = false)"}
}
