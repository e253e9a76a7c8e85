package alert

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/status"
)

// Dispatcher defaults.
const (
	DefaultQueueSize  = 32
	DefaultRetries    = 3
	DefaultBackoff    = 2 * time.Second
	DefaultMaxBackoff = time.Minute
	DefaultTimeout    = 10 * time.Second
)

// Target is a channel with the time limit of one delivery attempt.
type Target struct {
	// Channel delivers the messages.
	Channel Channel
	// Timeout bounds one attempt. Default: DefaultTimeout.
	Timeout time.Duration
}

// Options tune a Dispatcher; the zero value takes the defaults.
type Options struct {
	// Logger receives delivery failures; nil means slog.Default().
	Logger *slog.Logger
	// Registry receives a status.Alert per delivered or abandoned message;
	// nil records nothing.
	Registry *status.Registry
	// QueueSize bounds the messages waiting per channel; when a queue is
	// full its oldest message is dropped. Default: DefaultQueueSize.
	QueueSize int
	// Retries is how many times a failed delivery is tried again (with
	// exponential backoff); negative means none. Default: DefaultRetries.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next
	// one up to MaxBackoff. Default: DefaultBackoff.
	Backoff time.Duration
	// MaxBackoff caps the wait between retries. Default: DefaultMaxBackoff.
	MaxBackoff time.Duration
	// Now is the clock of the records; nil means time.Now.
	Now func() time.Time
}

// ChannelStats counts one channel's deliveries, for metrics.
type ChannelStats struct {
	// Channel is the channel's name.
	Channel string `json:"channel"`
	// Sent counts messages the channel accepted.
	Sent uint64 `json:"sent"`
	// Failed counts messages abandoned after the last retry.
	Failed uint64 `json:"failed"`
	// Dropped counts messages pushed out of a full queue.
	Dropped uint64 `json:"dropped"`
	// Queued is how many messages wait now.
	Queued int `json:"queued"`
}

// Result is the outcome of a synchronous Send on one channel.
type Result struct {
	// Channel is the channel's name.
	Channel string
	// Err is nil when the channel accepted the message.
	Err error
}

// Dispatcher fans messages out to channels, one lane (queue and
// goroutine) per channel.
type Dispatcher struct {
	opts  Options
	log   *slog.Logger
	lanes []*lane
}

type lane struct {
	Target
	q       chan Message
	sent    atomic.Uint64
	failed  atomic.Uint64
	dropped atomic.Uint64
}

// NewDispatcher returns a dispatcher for targets. It starts no goroutines:
// Enqueue only queues until Run delivers.
func NewDispatcher(targets []Target, opts Options) *Dispatcher {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Retries == 0 {
		opts.Retries = DefaultRetries
	} else if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Dispatcher{opts: opts, log: opts.Logger.With("component", "alert")}
	for _, t := range targets {
		if t.Timeout <= 0 {
			t.Timeout = DefaultTimeout
		}
		d.lanes = append(d.lanes, &lane{Target: t, q: make(chan Message, opts.QueueSize)})
	}
	return d
}

// Channels returns the names of the channels, in order.
func (d *Dispatcher) Channels() []string {
	names := make([]string, len(d.lanes))
	for i, l := range d.lanes {
		names[i] = l.Channel.Name()
	}
	return names
}

// Enqueue queues m on every channel and returns at once. A full queue
// drops its oldest message to make room.
func (d *Dispatcher) Enqueue(m Message) {
	for _, l := range d.lanes {
		for !l.offer(m) {
			select {
			case old := <-l.q:
				l.dropped.Add(1)
				d.log.Warn("alert queue full; dropped the oldest message", "channel", l.Channel.Name(), "dropped", old.String())
			default:
			}
		}
	}
}

// offer queues m unless the queue is full.
func (l *lane) offer(m Message) bool {
	select {
	case l.q <- m:
		return true
	default:
		return false
	}
}

// Run delivers queued messages until ctx ends; it always returns nil.
// It is Serve without a last call: a nil channel is never ready.
func (d *Dispatcher) Run(ctx context.Context) error { return d.Serve(ctx, nil) }

// Send delivers m on every channel at once, with the same timeouts and
// retries as queued messages, and waits for all of them.
func (d *Dispatcher) Send(ctx context.Context, m Message) []Result {
	out := make([]Result, len(d.lanes))
	var wg sync.WaitGroup
	for i, l := range d.lanes {
		wg.Go(func() { out[i] = Result{Channel: l.Channel.Name(), Err: d.deliver(ctx, l, m)} })
	}
	wg.Wait()
	return out
}

// Stats returns the delivery counters of every channel.
func (d *Dispatcher) Stats() []ChannelStats {
	out := make([]ChannelStats, len(d.lanes))
	for i, l := range d.lanes {
		out[i] = ChannelStats{Channel: l.Channel.Name(), Sent: l.sent.Load(), Failed: l.failed.Load(),
			Dropped: l.dropped.Load(), Queued: len(l.q)}
	}
	return out
}

// deliver tries m on l's channel until it is accepted, the error is
// permanent, the retries are spent or ctx ends.
func (d *Dispatcher) deliver(ctx context.Context, l *lane, m Message) error {
	wait := d.opts.Backoff
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeoutCause(ctx, l.Timeout,
			fmt.Errorf("%s: no answer within %s", l.Channel.Name(), l.Timeout))
		err := safeSend(actx, l.Channel, m)
		if err != nil && actx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w (%w)", err, context.Cause(actx))
		}
		cancel()
		if err == nil {
			l.sent.Add(1)
			d.record(l, m, nil)
			return nil
		}
		if IsPermanent(err) || attempt >= d.opts.Retries || ctx.Err() != nil {
			l.failed.Add(1)
			d.record(l, m, err)
			d.log.Warn("alert not delivered", "channel", l.Channel.Name(), "alert", m.String(),
				"attempts", attempt+1, "error", err)
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait = min(2*wait, d.opts.MaxBackoff)
	}
}

// safeSend calls ch.Send, turning a panic into an error.
func safeSend(ctx context.Context, ch Channel, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: panic: %v\n%s", ch.Name(), r, debug.Stack())
		}
	}()
	return ch.Send(ctx, m)
}

func (d *Dispatcher) record(l *lane, m Message, err error) {
	if d.opts.Registry == nil {
		return
	}
	a := status.Alert{At: d.opts.Now(), Check: m.Check, State: m.Event, Channel: l.Channel.Name(), OK: err == nil}
	if err != nil {
		a.Error = err.Error()
	}
	d.opts.Registry.AddAlert(a)
}
