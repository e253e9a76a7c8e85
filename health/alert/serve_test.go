package alert

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// gate is a channel whose deliveries wait until it is opened.
type gate struct {
	open chan struct{}
	mu   sync.Mutex
	got  []string
}

func (g *gate) Name() string { return "gate" }

func (g *gate) Send(ctx context.Context, m Message) error {
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.got = append(g.got, m.Check)
	return nil
}

// When last closes, Serve delivers the message in flight and the queued
// ones before it returns; ending ctx instead stops it without delivering.
func TestServeFlushesOnLast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gate{open: make(chan struct{})}
		d := NewDispatcher([]Target{{Channel: g, Timeout: time.Hour}}, Options{Logger: slog.New(slog.DiscardHandler)})
		last := make(chan struct{})
		done := make(chan struct{})
		go func() { _ = d.Serve(t.Context(), last); close(done) }()
		for _, c := range []string{"a", "b", "c"} {
			d.Enqueue(Message{Check: c})
		}
		synctest.Wait() // "a" is in flight, "b" and "c" queued
		close(last)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Serve returned with messages still queued")
		default:
		}
		close(g.open)
		<-done
		if len(g.got) != 3 {
			t.Errorf("delivered %v, want a, b and c", g.got)
		}

		g2 := &gate{open: make(chan struct{})}
		d2 := NewDispatcher([]Target{{Channel: g2, Timeout: time.Hour}}, Options{Logger: slog.New(slog.DiscardHandler)})
		ctx, cancel := context.WithCancel(t.Context())
		done2 := make(chan struct{})
		go func() { _ = d2.Serve(ctx, make(chan struct{})); close(done2) }()
		d2.Enqueue(Message{Check: "x"})
		d2.Enqueue(Message{Check: "y"})
		synctest.Wait()
		cancel()
		<-done2
		if len(g2.got) != 0 {
			t.Errorf("after ctx ended: delivered %v, want none", g2.got)
		}
	})
}
