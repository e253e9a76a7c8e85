package server

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/tlsmgr"
)

// apply builds a site (and TLS manager) for cfg and swaps them in.
func (s *Server) apply(cfg *config.Config) error {
	var mgr *tlsmgr.Manager
	if cfg.Server.HTTPS != "" {
		m, err := tlsmgr.New(cfg, tlsmgr.Options{Logger: s.opts.Logger, LogWriter: s.opts.Stdout, Storage: s.certStorage()})
		if err != nil {
			return err
		}
		mgr = m
	}
	st, err := buildSite(cfg, s.opts.Logger, s.opts.Stdout, s.obs, s.Status, portOf(cfg.Server.HTTPS), mgr, s.limitsNow())
	if err != nil {
		if mgr != nil {
			mgr.Stop()
		}
		return err
	}
	if mgr != nil {
		if s.runCtx != nil {
			mgr.Start(s.runCtx)
		}
		if old := s.tls.Swap(mgr); old != nil {
			old.Stop()
		}
	}
	if s.runCtx != nil {
		st.start(s.runCtx, s.opts.Logger)
	}
	if old := s.site.Swap(st); old != nil {
		old.close()
	}
	return nil
}

func (s *Server) watchSignals(ctx context.Context, hup <-chan os.Signal) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			if err := s.Reload(ctx); err != nil {
				s.log.Error("reload rejected; the previous configuration keeps serving", "error", err)
			}
		}
	}
}

// Reload re-reads the configuration and swaps it in. On any error the
// running configuration keeps serving and the error is returned.
func (s *Server) Reload(ctx context.Context) error {
	if s.opts.Load == nil {
		return errors.New("reload: this instance runs built-in defaults; nothing to re-read")
	}
	s.reload.Lock()
	defer s.reload.Unlock()
	s.notify.Reloading()
	defer func() { s.notify.Ready(s.statusLine()) }()
	cfg, err := s.opts.Load()
	if err == nil {
		err = s.checkListeners(cfg)
	}
	var next *nextReloadables
	if err == nil {
		next, err = s.work.prepare(cfg)
	}
	if err == nil {
		err = s.apply(cfg)
	}
	if err != nil {
		next.discard()
		s.lastErr.Store(err.Error())
		return fmt.Errorf("reload: %w", err)
	}
	s.work.commit(next)
	s.lastErr.Store("")
	s.reloads.Add(1)
	s.obs.reloaded()
	s.log.Info("reloaded", "config", cfg.File, "domains", cfg.Site.Domains)
	s.logPendingRestart()
	return nil
}

// checkListeners refuses a reload that turns HTTPS on or off: listeners
// are bound at start (or passed by systemd) and need a restart to change.
func (s *Server) checkListeners(cfg *config.Config) error {
	if (cfg.Server.HTTPS != "") != (s.httpsLn != nil) {
		return errors.New("server.https was turned on or off: restart edge to apply")
	}
	old := s.site.Load().cfg.Server
	s.warnH3Change(old, cfg.Server)
	return nil
}
