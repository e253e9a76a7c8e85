package alert

import (
	"context"
	"sync"
)

// Serve delivers queued messages like Run until ctx ends. When last is
// closed first (the caller enqueues nothing more), each channel delivers
// what it still has queued, with the usual retries, and Serve returns:
// a reload that replaces the dispatcher loses no alert.
func (d *Dispatcher) Serve(ctx context.Context, last <-chan struct{}) error {
	var wg sync.WaitGroup
	for _, l := range d.lanes {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-l.q:
					_ = d.deliver(ctx, l, m)
				case <-last:
					d.flush(ctx, l)
					return
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// flush delivers l's queued messages until the queue is empty or ctx ends.
func (d *Dispatcher) flush(ctx context.Context, l *lane) {
	for ctx.Err() == nil {
		select {
		case m := <-l.q:
			_ = d.deliver(ctx, l, m)
		default:
			return
		}
	}
}
