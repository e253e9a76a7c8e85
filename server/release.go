package server

import (
	"context"
	"errors"
	"fmt"
)

// InvalidateStatic drops the static file caches of the running site and
// re-resolves site.root at once, as edge release and edge rollback ask
// over the admin socket ("POST /invalidate") after switching the current
// symlink. Without it the switch is still noticed within a second.
func (s *Server) InvalidateStatic(_ context.Context) error {
	st := s.site.Load()
	if st == nil || st.static == nil {
		return errors.New("invalidate static files: no site is loaded")
	}
	if err := st.static.Invalidate(); err != nil {
		return fmt.Errorf("invalidate static files: %w", err)
	}
	s.log.Info("static file caches dropped", "root", st.cfg.Site.Root)
	return nil
}
