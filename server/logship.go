package server

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/gitcourse/edge/admin"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/logging"
	"github.com/gitcourse/edge/logship"
	"github.com/prometheus/client_golang/prometheus"
)

// withLogShipping builds the log shipper of [logs] (nil without it) and
// returns opts with a Logger whose events also go to it. [logs] applies
// at start; a reload does not change it.
func withLogShipping(cfg *config.Config, opts Options) (Options, *logship.Shipper, error) {
	if cfg.Logs == nil {
		return opts, nil, nil
	}
	ship, err := logship.New(cfg.Logs, logship.Options{
		// Hostname "" is the machine's name; with [cluster], its node name.
		Logger: opts.Logger, StateDir: cfg.Server.StateDir,
		FlushTimeout: cfg.Server.ShutdownTimeout.Duration,
	})
	if err != nil {
		return opts, nil, err
	}
	opts.Logger = slog.New(slog.NewMultiHandler(opts.Logger.Handler(), ship.EventHandler()))
	return opts, ship, nil
}

// accessLogger is the access log: JSON lines to w (journald, a file, or
// nil for none) and, with [logs] access = true, to the shipper.
// Each line is encoded once for both.
func accessLogger(w io.Writer, ship *logship.Shipper) *slog.Logger {
	var also io.Writer
	if ship != nil {
		also = ship.AccessWriter()
	}
	if w == nil && also == nil {
		return nil
	}
	return slog.New(logging.NewTeeHandler(w, also, nil)).With("component", "access")
}

// registerLogMetrics adds edge_log_shipped_total, edge_log_spooled_bytes
// and edge_log_dropped_total, read from the shipper at each scrape.
func registerLogMetrics(reg *prometheus.Registry, ship *logship.Shipper) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_log_shipped_total",
			Help: "Log lines written to the central collector."},
			func() float64 { return float64(ship.Stats().Shipped) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edge_log_spooled_bytes",
			Help: "Bytes of log lines waiting in the disk spool for the collector."},
			func() float64 { return float64(ship.Stats().SpooledBytes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_log_dropped_total",
			Help: "Log lines dropped: the oldest spooled beyond logs.spool, or lines the spool could not take."},
			func() float64 { return float64(ship.Stats().Dropped) }),
	)
}

// logSpecs is the "logs" health check: down once the collector has been
// unreachable for logs.alert_after, so the usual alert channels tell.
func (s *Server) logSpecs() []health.Spec {
	if s.ship == nil {
		return nil
	}
	every := min(30*time.Second, max(s.ship.AlertAfter()/4, time.Second))
	check := health.CheckFunc(func(context.Context) error { return s.ship.Check() })
	return []health.Spec{{Name: "logs", Kind: "logs", Checker: check, Interval: every, Timeout: time.Second,
		Failures: 1, Successes: 1}}
}

// runLogShipping adds the shipper to the server's workers.
func (s *Server) runLogShipping(ctx context.Context, goFn func(func() error)) {
	if s.ship != nil {
		goFn(func() error { return s.ship.Run(ctx) })
	}
}

// logInputDone tells the shipper that requests have drained, so its
// flush may end once the queue is empty.
func (s *Server) logInputDone() {
	if s.ship != nil {
		s.ship.CloseInput()
	}
}

// closeLogShipping spools what could not be sent before the stop.
func (s *Server) closeLogShipping() {
	if s.ship == nil {
		return
	}
	if err := s.ship.Close(); err != nil {
		s.log.Error("log lines lost at stop", "error", err)
	}
}

// logSinkView is the status page's log shipping section.
func (s *Server) logSinkView() *admin.LogSink {
	if s.ship == nil {
		return nil
	}
	st := s.ship.State()
	v := &admin.LogSink{Remote: st.Remote, State: "down", Since: admin.TimeOrNil(st.Since), LastError: st.LastError,
		LastSent: admin.TimeOrNil(st.LastSent), Shipped: st.Shipped, Dropped: st.Dropped, SpooledBytes: st.SpooledBytes,
		AlertAfterSeconds: int64(st.AlertAfter / time.Second)}
	if st.Connected {
		v.State = "connected"
	}
	return v
}
