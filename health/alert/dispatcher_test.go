package alert_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gitcourse/edge/health/alert"
	"github.com/gitcourse/edge/status"
)

// fakeChannel records messages; fail decides each attempt's outcome.
type fakeChannel struct {
	name string
	fail func(attempt int) error
	hang bool

	mu       sync.Mutex
	attempts int
	got      chan alert.Message
}

func newFake(name string) *fakeChannel {
	return &fakeChannel{name: name, got: make(chan alert.Message, 100)}
}

func (f *fakeChannel) Name() string { return f.name }

func (f *fakeChannel) Send(ctx context.Context, m alert.Message) error {
	f.mu.Lock()
	f.attempts++
	n := f.attempts
	f.mu.Unlock()
	if f.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.fail != nil {
		if err := f.fail(n); err != nil {
			return err
		}
	}
	f.got <- m
	return nil
}

func (f *fakeChannel) tries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

func runDispatcher(t *testing.T, d *alert.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func receive(t *testing.T, f *fakeChannel, within time.Duration) alert.Message {
	t.Helper()
	select {
	case m := <-f.got:
		return m
	case <-time.After(within):
		t.Fatalf("%s: no message within %s", f.name, within)
		return alert.Message{}
	}
}

func TestDispatcherRetriesWithBackoff(t *testing.T) {
	flaky := newFake("flaky")
	flaky.fail = func(n int) error {
		if n < 3 {
			return errors.New("temporary")
		}
		return nil
	}
	rejected := newFake("rejected")
	rejected.fail = func(int) error { return alert.Permanent(errors.New("bad token")) }
	reg := status.New()
	d := alert.NewDispatcher([]alert.Target{{Channel: flaky}, {Channel: rejected}},
		alert.Options{Backoff: time.Millisecond, Registry: reg})
	res := d.Send(t.Context(), alert.Message{Event: alert.EventManual, Title: "t"})
	if res[0].Err != nil || flaky.tries() != 3 {
		t.Errorf("flaky: %v after %d tries, want success after 3", res[0].Err, flaky.tries())
	}
	if res[1].Err == nil || rejected.tries() != 1 {
		t.Errorf("permanent: %v after %d tries, want an error after 1", res[1].Err, rejected.tries())
	}
	st := d.Stats()
	if st[0].Sent != 1 || st[0].Failed != 0 || st[1].Sent != 0 || st[1].Failed != 1 {
		t.Errorf("stats %+v", st)
	}
	alerts := reg.Snapshot().Alerts
	oks := 0
	for _, a := range alerts {
		if a.OK {
			oks++
		}
	}
	if len(alerts) != 2 || oks != 1 {
		t.Errorf("registry alerts %+v", alerts)
	}
}

// A channel that hangs and one that refuses delay neither the caller of
// Enqueue nor the other channel.
func TestDispatcherDeadChannelsDoNotBlock(t *testing.T) {
	hang := newFake("hang")
	hang.hang = true
	refuse := newFake("refuse")
	refuse.fail = func(int) error { return errors.New("connection refused") }
	ok := newFake("ok")
	d := alert.NewDispatcher([]alert.Target{{Channel: hang, Timeout: time.Hour}, {Channel: refuse}, {Channel: ok}},
		alert.Options{QueueSize: 2, Backoff: time.Hour})
	runDispatcher(t, d)
	start := time.Now()
	for i := range 10 {
		d.Enqueue(alert.Message{Event: alert.EventDown, Title: string(rune('a' + i))})
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Enqueue took %s with dead channels", took)
	}
	var titles []string
	for len(titles) < 2 {
		titles = append(titles, receive(t, ok, 5*time.Second).Title)
	}
	st := d.Stats()
	if st[0].Dropped == 0 || st[1].Dropped == 0 {
		t.Errorf("dead channels should drop from their bounded queues: %+v", st)
	}
	if st[0].Queued > 2 || st[1].Queued > 2 {
		t.Errorf("queues above their bound: %+v", st)
	}
	t.Logf("ok channel got %v first; stats %+v", titles, st)
}

// Enqueue keeps the newest messages when a queue overflows.
func TestDispatcherKeepsNewest(t *testing.T) {
	ok := newFake("ok")
	d := alert.NewDispatcher([]alert.Target{{Channel: ok}}, alert.Options{QueueSize: 3})
	for i := range 5 {
		d.Enqueue(alert.Message{Title: string(rune('a' + i))})
	}
	runDispatcher(t, d)
	var got string
	for range 3 {
		got += receive(t, ok, 5*time.Second).Title
	}
	if got != "cde" {
		t.Errorf("delivered %q, want the newest three %q", got, "cde")
	}
	if st := d.Stats(); st[0].Dropped != 2 {
		t.Errorf("dropped %d, want 2", st[0].Dropped)
	}
}
