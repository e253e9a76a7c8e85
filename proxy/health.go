package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// Run probes every upstream at health.path each health.interval (the first
// time at once) until ctx ends, then returns nil. Without a health.path it
// returns nil at once: passive checks need no goroutine.
func (rt *Route) Run(ctx context.Context) error {
	if rt.health.Path == "" || rt.health.Interval.Duration <= 0 {
		return nil
	}
	rt.log.Info("health checks started", "path", rt.health.Path, "interval", rt.health.Interval.String())
	tick := time.NewTicker(rt.health.Interval.Duration)
	defer tick.Stop()
	for {
		rt.probeAll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// probeAll probes the upstreams concurrently and waits for every probe.
func (rt *Route) probeAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range rt.upstreams {
		wg.Go(func() { rt.probeOne(ctx, u) })
	}
	wg.Wait()
}

// probeOne runs one probe of u and records it; a panic is logged, not
// fatal.
func (rt *Route) probeOne(ctx context.Context, u *upstream) {
	defer func() {
		if v := recover(); v != nil {
			rt.log.Error("health probe panic", "upstream", u.addr, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	err := rt.probe(ctx, u)
	if ctx.Err() != nil {
		return // shutting down: the result says nothing about u
	}
	flipped, up := u.probed(err, rt.now(), rt.health.Healthy, rt.health.Unhealthy)
	switch {
	case flipped && up:
		rt.log.Info("upstream up", "upstream", u.addr, "reason", "active")
	case flipped:
		rt.log.Warn("upstream down", "upstream", u.addr, "reason", "active", "error", err)
	}
}

// probe asks u for health.path within health.timeout: any 2xx or 3xx is
// healthy.
func (rt *Route) probe(ctx context.Context, u *upstream) error {
	ctx, cancel := context.WithTimeout(ctx, rt.health.Timeout.Duration)
	defer cancel()
	target := "http://" + u.addr + rt.health.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("build probe %s: %w", target, err)
	}
	req.Header.Set("User-Agent", "edge-health-check")
	res, err := rt.prober.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", target, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 399 {
		return fmt.Errorf("probe %s: status %d", target, res.StatusCode)
	}
	return nil
}
