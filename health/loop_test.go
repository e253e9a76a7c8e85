package health

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health/alert"
	"github.com/gitcourse/edge/health/history"
)

// memChannel records messages in memory.
type memChannel struct {
	mu  sync.Mutex
	got []alert.Message
}

func (c *memChannel) Name() string { return "mem" }

func (c *memChannel) Send(_ context.Context, m alert.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, m)
	return nil
}

func (c *memChannel) events() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.got {
		out = append(out, m.Event)
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// The loop runs each check on its interval with jitter and a timeout of
// 80% of the interval, survives a panicking check, writes a minute
// sample, and stops with ctx (synctest's bubble fails on a leak).
func TestRunSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var hangs atomic.Int32
		ch := &memChannel{}
		specs := []Spec{
			{Name: "flaky", Kind: "tcp", Interval: 10 * time.Second, Timeout: 5 * time.Second, Failures: 2, Successes: 1,
				Checker: CheckFunc(func(context.Context) error {
					if calls.Add(1) <= 2 {
						return errors.New("refused")
					}
					return nil
				})},
			{Name: "hang", Kind: "tcp", Interval: 10 * time.Second, Timeout: time.Minute, Failures: 1, Successes: 1,
				Checker: CheckFunc(func(ctx context.Context) error {
					hangs.Add(1)
					<-ctx.Done()
					return ctx.Err()
				})},
			{Name: "panics", Kind: "tcp", Interval: 10 * time.Second, Failures: 1, Successes: 1,
				Checker: CheckFunc(func(context.Context) error { panic("boom") })},
		}
		m, err := New(&config.Config{}, Options{Logger: quietLogger(), HistoryDir: t.TempDir(), Specs: specs,
			Targets: []alert.Target{{Channel: ch}}, History: history.Options{NoSync: true}})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _ = m.Run(ctx); close(done) }()
		// Runs at [0,1) s, then every 10 s ± 0.5 s: at 35 s, 4 runs.
		time.Sleep(35 * time.Second)
		synctest.Wait()
		if n := calls.Load(); n != 4 {
			t.Errorf("flaky ran %d times in 35 s, want 4", n)
		}
		reg := map[string]string{}
		for _, c := range m.opts.Registry.Snapshot().Checks {
			reg[c.Name] = c.LastError
			if c.Name == "hang" && c.Duration != 8*time.Second {
				t.Errorf("hang: a run took %s, want the timeout, 80%% of the interval (8s)", c.Duration)
			}
		}
		if !strings.Contains(reg["hang"], "no answer within 8s") {
			t.Errorf("hang: last error %q", reg["hang"])
		}
		if !strings.Contains(reg["panics"], "check panicked: boom") {
			t.Errorf("panics: last error %q", reg["panics"])
		}
		count := func(ev string) int {
			n := 0
			for _, e := range ch.events() {
				if e == ev {
					n++
				}
			}
			return n
		}
		if count("down") != 3 || count("resolved") != 1 {
			t.Errorf("events %v: want 3 down (each check once) and 1 resolved (flaky)", ch.events())
		}
		// The minute sample lands at the end of the first minute.
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := m.Uptime("flaky", time.Hour); got != 100 {
			t.Errorf("flaky uptime %v, want 100 (one sample, up)", got)
		}
		if got := m.Uptime("hang", time.Hour); got != 0 {
			t.Errorf("hang uptime %v, want 0", got)
		}
		cancel()
		<-done
		if hangs.Load() == 0 {
			t.Error("hang never ran")
		}
	})
}

// The dead man's switch is pinged while nothing is down; the backup hook
// pings its own URL.
func TestHeartbeat(t *testing.T) {
	pings := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pings <- r.URL.Path
		_, _ = io.WriteString(w, "OK")
	}))
	defer srv.Close()
	a := config.Alerts{HeartbeatURL: config.Secret(srv.URL + "/beat"), BackupHeartbeatURL: config.Secret(srv.URL + "/backup"),
		HeartbeatInterval: config.Duration{Duration: 10 * time.Millisecond}}
	h := newHeartbeat(a, NewHTTPClient(), quietLogger())
	var healthy atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.run(ctx, healthy.Load); close(done) }()
	defer func() { cancel(); <-done }()
	h.backupDone()
	if p := waitPing(t, pings); p != "/backup" {
		t.Fatalf("first ping %s, want /backup (nothing healthy yet)", p)
	}
	healthy.Store(true)
	if p := waitPing(t, pings); p != "/beat" {
		t.Fatalf("ping %s, want /beat", p)
	}
}

func waitPing(t *testing.T, pings chan string) string {
	t.Helper()
	select {
	case p := <-pings:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no ping")
		return ""
	}
}

func TestPingErrorsHideTheURL(t *testing.T) {
	err := Ping(t.Context(), NewHTTPClient(), "http://127.0.0.1:1/ping/SECRET-UUID")
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("got %v", err)
	}
}
