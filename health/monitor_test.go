package health

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health/alert"
	"github.com/gitcourse/edge/health/alert/alerttest"
	"github.com/gitcourse/edge/health/history"
)

// fakeClock is the injected clock of a scenario.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// receiver is a local HTTP server standing in for the Telegram API or a
// webhook receiver; it hands every request body to got.
type receiver struct {
	*httptest.Server
	got  chan string
	hang chan struct{} // when not nil, requests wait until it is closed
}

func newReceiver(t *testing.T, reply string, hang bool) *receiver {
	r := &receiver{got: make(chan string, 100)}
	if hang {
		r.hang = make(chan struct{})
	}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		if r.hang != nil {
			select {
			case <-r.hang:
			case <-req.Context().Done():
				return
			}
		}
		r.got <- string(b)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(func() {
		if r.hang != nil {
			close(r.hang)
		}
		r.Close()
	})
	return r
}

// next returns the next body, or fails after d.
func (r *receiver) next(t *testing.T, what string, d time.Duration) string {
	t.Helper()
	select {
	case b := <-r.got:
		return b
	case <-time.After(d):
		t.Fatalf("%s: nothing received within %s", what, d)
		return ""
	}
}

// none checks that nothing more was received.
func (r *receiver) none(t *testing.T, what string) {
	t.Helper()
	select {
	case b := <-r.got:
		t.Errorf("%s: unexpected extra message %s", what, b)
	default:
	}
}

// scenario is a Monitor with one check whose result the test sets, real
// channels, and an injected clock; the test runs the check by hand.
type scenario struct {
	m       *Monitor
	c       *check
	clock   *fakeClock
	failing atomic.Bool
	ctx     context.Context
}

func newScenario(t *testing.T, alerts config.Alerts) *scenario {
	t.Helper()
	s := &scenario{clock: &fakeClock{t: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)}}
	cfg := &config.Config{Alerts: alerts}
	spec := Spec{Name: "api", Kind: "http", Interval: 30 * time.Second, Timeout: 5 * time.Second, Failures: 3, Successes: 2,
		Checker: CheckFunc(func(context.Context) error {
			if s.failing.Load() {
				return errors.New("GET http://127.0.0.1:8000/api/health: status 502 Bad Gateway")
			}
			return nil
		})}
	m, err := New(cfg, Options{Now: s.clock.Now, Host: "web1", HistoryDir: t.TempDir(), Specs: []Spec{spec},
		Alert: alert.Options{Backoff: 10 * time.Millisecond}, History: history.Options{NoSync: true}})
	if err != nil {
		t.Fatal(err)
	}
	s.m, s.c = m, m.checks[0]
	ctx, cancel := context.WithCancel(context.Background())
	s.ctx = ctx
	done := make(chan struct{})
	go func() { _ = m.alerts.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; m.Close() })
	return s
}

// run advances the clock by the interval and runs the check once; it
// fails the test when that takes long (a channel must never delay it).
func (s *scenario) run(t *testing.T, n int) {
	t.Helper()
	for range n {
		s.clock.Add(s.c.Interval)
		start := time.Now()
		s.m.runOnce(s.ctx, s.c)
		if took := time.Since(start); took > time.Second {
			t.Fatalf("a check run took %s", took)
		}
	}
}

func alertsConfig(smtp, telegram, webhook string) config.Alerts {
	d := func(s string) config.Duration {
		v, _ := time.ParseDuration(s)
		return config.Duration{Duration: v}
	}
	return config.Alerts{
		Repeat:   d("4h"),
		Email:    &config.Email{SMTP: smtp, From: "edge@example.com", To: []string{"ops@example.com"}, Timeout: d("5s")},
		Telegram: &config.Telegram{API: telegram, Token: "42:TOKEN", ChatID: "7", Timeout: d("5s")},
		Webhook:  &config.Webhook{URL: config.Secret(webhook), Timeout: d("30s")},
	}
}

// A check that goes down after 3 failures sends exactly one alert per
// channel, repeats it after alerts.repeat, and sends one "resolved".
func TestAlertsDownRepeatResolved(t *testing.T) {
	sink := alerttest.StartSink(t, "", nil)
	tg := newReceiver(t, `{"ok":true}`, false)
	wh := newReceiver(t, `ok`, false)
	s := newScenario(t, alertsConfig(sink.Addr, tg.URL, wh.URL))
	s.failing.Store(true)
	s.run(t, 2)
	if !s.c.m.up {
		t.Fatal("down after 2 failures, want 3")
	}
	s.run(t, 1)
	downAt := s.clock.Now()
	if s.c.m.up {
		t.Fatal("still up after 3 failures")
	}
	const wait = 10 * time.Second
	for _, body := range []string{tg.next(t, "telegram down", wait), wh.next(t, "webhook down", wait)} {
		for _, want := range []string{"DOWN: api on web1", "since 2026-11-25 03:01:30 UTC", "status 502 Bad Gateway"} {
			if !strings.Contains(body, want) {
				t.Errorf("down alert lacks %q: %s", want, body)
			}
		}
	}
	mails, err := sink.WaitMessages(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mails[0].Subject(), "DOWN: api on web1") || !strings.Contains(mails[0].Body, "Last error: GET") {
		t.Errorf("down mail: %q\n%s", mails[0].Subject(), mails[0].Body)
	}
	// Still down, within alerts.repeat: silence.
	s.run(t, 10)
	// alerts.repeat after the first alert: one repeat per channel.
	s.clock.Add(4*time.Hour - 11*s.c.Interval)
	s.run(t, 1)
	s.run(t, 3)
	for _, body := range []string{tg.next(t, "telegram repeat", wait), wh.next(t, "webhook repeat", wait)} {
		if !strings.Contains(body, "STILL DOWN: api on web1") {
			t.Errorf("repeat alert: %s", body)
		}
	}
	// Recovery after 2 passes: one "resolved" per channel.
	s.failing.Store(false)
	s.run(t, 1)
	if s.c.m.up {
		t.Fatal("up after 1 pass, want 2")
	}
	s.run(t, 5)
	var webhook map[string]any
	for i, body := range []string{tg.next(t, "telegram resolved", wait), wh.next(t, "webhook resolved", wait)} {
		if !strings.Contains(body, "resolved") || !strings.Contains(body, "RESOLVED: api on web1") {
			t.Errorf("resolved alert: %s", body)
		}
		if i == 1 {
			_ = json.Unmarshal([]byte(body), &webhook)
		}
	}
	if webhook["status"] != "ok" || webhook["event"] != "resolved" || webhook["since"] != downAt.Format(time.RFC3339) {
		t.Errorf("resolved webhook fields: %v", webhook)
	}
	mails, err = sink.WaitMessages(3, wait)
	if err != nil {
		t.Fatal(err)
	}
	// Each lane is FIFO: with "resolved" in, nothing else is on its way.
	if len(mails) != 3 || !strings.Contains(mails[1].Subject(), "STILL DOWN") || !strings.Contains(mails[2].Body, "resolved") {
		t.Errorf("mails: got %d: %q, %q", len(mails), subjects(mails), mails[len(mails)-1].Body)
	}
	tg.none(t, "telegram")
	wh.none(t, "webhook")
	// A channel counts a message once the server has answered, which can
	// be a moment after the receiver has it.
	sent := func() bool {
		for _, ch := range s.m.Stats().Channels {
			if ch.Sent != 3 || ch.Failed != 0 {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !sent() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !sent() {
		t.Errorf("channel stats %+v, want 3 sent on each", s.m.Stats().Channels)
	}
	if tr := s.m.History().Transitions("api", time.Time{}); len(tr) != 2 || tr[0].Up || !tr[1].Up || !strings.Contains(tr[0].Error, "502") {
		t.Errorf("history transitions %+v", tr)
	}
}

func subjects(ms []alerttest.Mail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject())
	}
	return out
}

// A channel that hangs (webhook) and one that refuses (SMTP) delay
// neither the checks nor the other channel.
func TestDeadChannelsDelayNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	tg := newReceiver(t, `{"ok":true}`, false)
	wh := newReceiver(t, `ok`, true)
	s := newScenario(t, alertsConfig(refused, tg.URL, wh.URL))
	s.failing.Store(true)
	start := time.Now()
	s.run(t, 3) // fails the test if a run takes over a second
	tg.next(t, "telegram down", 5*time.Second)
	s.failing.Store(false)
	s.run(t, 2)
	if body := tg.next(t, "telegram resolved", 5*time.Second); !strings.Contains(body, "resolved") {
		t.Errorf("resolved: %s", body)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s with a hanging webhook (30 s timeout)", took)
	}
	st := s.m.Stats()
	if st.Channels[0].Channel != "email" || st.Channels[0].Sent != 0 {
		t.Errorf("email stats %+v", st.Channels[0])
	}
	if st.Channels[2].Channel != "webhook" || st.Channels[2].Sent != 0 {
		t.Errorf("webhook stats %+v", st.Channels[2])
	}
}

// A restart remembers an outage: no second "down", and a "resolved" when
// the check passes again.
func TestRestartRemembersOutage(t *testing.T) {
	dir := t.TempDir()
	store, err := history.Open(dir, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	if err := store.Transition("api", history.Transition{At: since, Error: "status 502"}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	wh := newReceiver(t, "ok", false)
	cfg := &config.Config{Alerts: config.Alerts{Repeat: config.Duration{Duration: 4 * time.Hour}}}
	clock := &fakeClock{t: since.Add(time.Hour)}
	m, err := New(cfg, Options{Now: clock.Now, Host: "web1", HistoryDir: dir,
		Targets: []alert.Target{{Channel: &alert.Webhook{URL: wh.URL}}},
		Specs:   []Spec{{Name: "api", Kind: "tcp", Interval: time.Minute, Failures: 1, Successes: 1, Checker: CheckFunc(func(context.Context) error { return nil })}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.opts.Registry.Snapshot().Checks; len(got) != 1 || got[0].Up || !got[0].Since.Equal(since) {
		t.Fatalf("registry after restart: %+v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.alerts.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	m.runOnce(ctx, m.checks[0])
	var p alert.Payload
	_ = json.Unmarshal([]byte(wh.next(t, "webhook", 5*time.Second)), &p)
	if p.Event != "resolved" || p.Since == nil || !p.Since.Equal(since) || !strings.Contains(p.Text, "down since 2026-11-25 01:00:00 UTC (for 1h0m0s)") {
		t.Errorf("resolved after restart: %+v", p)
	}
	if got := m.Uptime("api", time.Hour); got != -1 {
		t.Errorf("uptime before any sample %v", got)
	}
	if err := m.sample(clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := m.Uptime("api", time.Hour); got != 100 {
		t.Errorf("uptime %v, want 100", got)
	}
}
