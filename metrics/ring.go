package metrics

import (
	"sort"
	"sync"
	"time"
)

// The ring covers the last Slots × SlotDuration (5 minutes).
const (
	SlotDuration = 10 * time.Second
	Slots        = 30
)

// nBuckets is the number of latency buckets, the last one +Inf.
const nBuckets = 15

// bounds are the upper bounds of the latency buckets (Buckets as an array).
var bounds = func() (b [nBuckets - 1]float64) {
	copy(b[:], Buckets)
	return b
}()

// Ring keeps per-10s request counters of the last few minutes, in total
// and per route, for the status page. It is safe for concurrent use.
type Ring struct {
	now   func() time.Time
	start time.Time // when counting began: the window never reaches before

	mu    sync.Mutex
	slots [Slots]slot
}

type slot struct {
	start  int64 // Unix seconds at the slot's start; 0 when never used
	total  Counts
	routes map[string]*Counts
}

// Counts are the requests of a span of time.
type Counts struct {
	// Requests counts the answered requests.
	Requests uint64
	// Errors5xx counts those answered with a 5xx status.
	Errors5xx uint64
	// Duration is the total time they took.
	Duration time.Duration
	// buckets counts requests per latency bucket (not cumulative).
	buckets [nBuckets]uint64
}

// NewRing returns an empty ring reading the clock now (nil: time.Now).
func NewRing(now func() time.Time) *Ring {
	if now == nil {
		now = time.Now
	}
	return &Ring{now: now, start: now()}
}

// Add counts one request of route.
func (r *Ring) Add(route string, code int, d time.Duration) {
	sec := r.now().Unix()
	first := sec - sec%int64(SlotDuration/time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.slots[(first/int64(SlotDuration/time.Second))%Slots]
	if s.start != first {
		*s = slot{start: first, routes: map[string]*Counts{}}
	}
	s.total.add(code, d)
	c := s.routes[route]
	if c == nil {
		c = &Counts{}
		s.routes[route] = c
	}
	c.add(code, d)
}

func (c *Counts) add(code int, d time.Duration) {
	c.Requests++
	if code >= 500 && code < 600 {
		c.Errors5xx++
	}
	c.Duration += d
	sec := d.Seconds()
	i := 0
	for i < len(bounds) && sec > bounds[i] {
		i++
	}
	c.buckets[i]++
}

func (c *Counts) merge(o *Counts) {
	c.Requests += o.Requests
	c.Errors5xx += o.Errors5xx
	c.Duration += o.Duration
	for i := range c.buckets {
		c.buckets[i] += o.buckets[i]
	}
}

// ErrorRate is the share of 5xx answers, between 0 and 1.
func (c Counts) ErrorRate() float64 {
	if c.Requests == 0 {
		return 0
	}
	return float64(c.Errors5xx) / float64(c.Requests)
}

// Mean is the mean request duration, 0 without requests.
func (c Counts) Mean() time.Duration {
	if c.Requests == 0 {
		return 0
	}
	return c.Duration / time.Duration(c.Requests)
}

// Quantile estimates the q-quantile (0 < q < 1) of the request duration
// from the buckets, interpolating linearly inside a bucket as Prometheus'
// histogram_quantile does. Requests slower than the last bound count as
// that bound. It is 0 without requests.
func (c Counts) Quantile(q float64) time.Duration {
	if c.Requests == 0 {
		return 0
	}
	target := q * float64(c.Requests)
	var below uint64
	for i, n := range c.buckets {
		if n == 0 || float64(below+n) < target {
			below += n
			continue
		}
		if i == len(bounds) {
			break
		}
		lower := 0.0
		if i > 0 {
			lower = bounds[i-1]
		}
		sec := lower + (bounds[i]-lower)*(target-float64(below))/float64(n)
		return time.Duration(sec * float64(time.Second))
	}
	return time.Duration(bounds[len(bounds)-1] * float64(time.Second))
}

// SlotCounts are the requests of one slot of the series.
type SlotCounts struct {
	// Start is when the slot began.
	Start time.Time
	// Requests counts the answered requests.
	Requests uint64
	// Errors5xx counts those answered with a 5xx status.
	Errors5xx uint64
}

// Window is what the ring saw over its span, up to now.
type Window struct {
	// Start and End bound the span: the last Slots × SlotDuration, or
	// since the ring began when that is later.
	Start, End time.Time
	// Total counts every request of the span.
	Total Counts
	// Routes counts the requests of the span per route.
	Routes map[string]Counts
	// Series has one entry per slot, oldest first; the last one is the
	// slot in progress.
	Series []SlotCounts
}

// Seconds is the length of the span in seconds (at least 1).
func (w Window) Seconds() float64 {
	return max(w.End.Sub(w.Start).Seconds(), 1)
}

// PerSecond is n per second over the span.
func (w Window) PerSecond(n uint64) float64 { return float64(n) / w.Seconds() }

// RouteNames lists the routes of the window, sorted.
func (w Window) RouteNames() []string {
	out := make([]string, 0, len(w.Routes))
	for name := range w.Routes {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Window returns the counts of the last Slots × SlotDuration.
func (r *Ring) Window() Window {
	now := r.now()
	step := int64(SlotDuration / time.Second)
	cur := now.Unix() - now.Unix()%step
	oldest := cur - (Slots-1)*step
	w := Window{Start: time.Unix(oldest, 0), End: now, Routes: map[string]Counts{}}
	if r.start.After(w.Start) {
		w.Start = r.start
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for first := oldest; first <= cur; first += step {
		sc := SlotCounts{Start: time.Unix(first, 0)}
		if s := &r.slots[(first/step)%Slots]; s.start == first {
			sc.Requests, sc.Errors5xx = s.total.Requests, s.total.Errors5xx
			w.Total.merge(&s.total)
			for name, c := range s.routes {
				rc := w.Routes[name]
				rc.merge(c)
				w.Routes[name] = rc
			}
		}
		w.Series = append(w.Series, sc)
	}
	return w
}
