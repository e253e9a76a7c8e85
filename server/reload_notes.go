package server

import (
	"fmt"
	"reflect"

	"github.com/gitcourse/edge/config"
)

// restartNotes lists the settings of cfg that differ from the
// configuration edge started with and that only a restart applies: the
// listeners, state_dir and [logs]. Everything else applies on reload.
func restartNotes(boot, cfg *config.Config) []string {
	if boot == nil || cfg == nil {
		return nil
	}
	var out []string
	changed := func(key string, was, now any) {
		if !reflect.DeepEqual(was, now) {
			out = append(out, fmt.Sprintf("%s changed (%v -> %v): restart edge to apply it", key, show(was), show(now)))
		}
	}
	a, b := boot.Server, cfg.Server
	changed("server.http", a.HTTP, b.HTTP)
	changed("server.https", a.HTTPS, b.HTTPS)
	changed("server.http3", a.HTTP3Enabled(), b.HTTP3Enabled())
	changed("server.http3_0rtt", a.HTTP30RTT, b.HTTP30RTT)
	changed("server.admin_socket", a.AdminSocket, b.AdminSocket)
	changed("server.state_dir", a.StateDir, b.StateDir)
	if !reflect.DeepEqual(remoteOf(boot), remoteOf(cfg)) {
		out = append(out, "[backup.remote] changed: restart edge to apply it")
	}
	if !reflect.DeepEqual(boot.Logs, cfg.Logs) {
		out = append(out, "[logs] changed: restart edge to apply it")
	}
	return out
}

// remoteOf is cfg's [backup.remote], or nil.
func remoteOf(cfg *config.Config) *config.BackupRemote {
	if cfg.Backup == nil {
		return nil
	}
	return cfg.Backup.Remote
}

// show prints an empty address as "off".
func show(v any) any {
	if s, ok := v.(string); ok && s == "" {
		return "off"
	}
	return v
}

// pendingRestart lists what the running configuration changed, since
// start, that waits for a restart (the lines "edge reload" prints).
func (s *Server) pendingRestart() []string {
	return restartNotes(s.work.boot, s.site.Load().cfg)
}

// logPendingRestart logs each setting that waits for a restart.
func (s *Server) logPendingRestart() {
	for _, n := range s.pendingRestart() {
		s.log.Warn(n)
	}
}
