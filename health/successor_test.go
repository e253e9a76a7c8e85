package health

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health/alert"
	"github.com/gitcourse/edge/health/history"
)

// A reload's successor keeps an open incident (no second "down"), probes
// with its own checkers, drops a removed check without resolving it, and
// shares the uptime history: it outlives the retired monitor's Close.
func TestSuccessorKeepsIncidents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := CheckFunc(func(context.Context) error { return errors.New("refused") })
		var newProbes atomic.Int32
		newDown := CheckFunc(func(context.Context) error { newProbes.Add(1); return errors.New("still refused") })
		spec := func(name string, c Checker) Spec {
			return Spec{Name: name, Kind: "tcp", Interval: 10 * time.Second, Failures: 1, Successes: 1, Checker: c}
		}
		oldCh, newCh := &memChannel{}, &memChannel{}
		cfg := &config.Config{}
		old, err := New(cfg, Options{Logger: quietLogger(), HistoryDir: t.TempDir(), History: history.Options{NoSync: true},
			Specs: []Spec{spec("api", down), spec("gone", down)}, Targets: []alert.Target{{Channel: oldCh}}})
		if err != nil {
			t.Fatal(err)
		}
		oldDone := make(chan struct{})
		go func() { _ = old.Run(t.Context()); close(oldDone) }()
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if got := oldCh.events(); len(got) != 2 {
			t.Fatalf("before the reload: events %v, want two downs", got)
		}
		next, err := old.Successor(cfg, Options{Logger: quietLogger(), Registry: old.opts.Registry,
			History: history.Options{NoSync: true}, Specs: []Spec{spec("api", newDown), spec("fresh", CheckFunc(func(context.Context) error { return nil }))},
			Targets: []alert.Target{{Channel: newCh}}})
		if err != nil {
			t.Fatal(err)
		}
		old.Retire()
		<-old.ChecksStopped()
		next.Adopt(old)
		if o, n := old.Stats().Checks[0], next.Stats().Checks[0]; o.Runs == 0 || n.Runs != o.Runs || n.Failures != o.Failures || n.Up {
			t.Errorf("adopted api: runs %d failures %d up %v; want the old %d, %d, down", n.Runs, n.Failures, n.Up, o.Runs, o.Failures)
		}
		<-oldDone
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		nextDone := make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		go func() { _ = next.Run(ctx); close(nextDone) }()
		time.Sleep(75 * time.Second) // past a minute sample
		synctest.Wait()
		if newProbes.Load() == 0 {
			t.Error("the successor never ran its own checker")
		}
		if got := newCh.events(); len(got) != 0 {
			t.Errorf("after the reload: events %v, want none (api was already down)", got)
		}
		checks := map[string]bool{}
		for _, c := range next.opts.Registry.Snapshot().Checks {
			checks[c.Name] = c.Up
		}
		if up, ok := checks["api"]; !ok || up {
			t.Errorf("api in the registry: present %v up %v, want down", ok, up)
		}
		if _, ok := checks["gone"]; ok {
			t.Error("the removed check is still in the registry")
		}
		if got := next.Uptime("api", time.Hour); got != 0 {
			t.Errorf("api uptime %v, want 0 (the shared history still records)", got)
		}
		cancel()
		<-nextDone
		if err := next.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
