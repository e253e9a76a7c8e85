package backupjob

import "sync"

// retirement is how a reload ends a job's schedule without cancelling a
// backup in progress.
type retirement struct {
	once, closed sync.Once
	ch           chan struct{}
}

func (r *retirement) done() <-chan struct{} {
	r.once.Do(func() { r.ch = make(chan struct{}) })
	return r.ch
}

// Retire ends Run's schedule: Run returns at its next wait, after the
// backup in progress (if any) finished under this job's settings. It
// returns at once; Run's return says when the job is done.
func (j *Job) Retire() {
	j.retired.done()
	j.retired.closed.Do(func() { close(j.retired.ch) })
}

// Retired reports whether Retire was called.
func (j *Job) Retired() bool {
	select {
	case <-j.retired.done():
		return true
	default:
		return false
	}
}
