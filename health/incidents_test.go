package health

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health/alert"
	"github.com/gitcourse/edge/health/history"
)

// verdicts is an Incidents whose answers the test sets (the PostgreSQL
// implementation is tested in package cluster and end to end).
type verdicts struct {
	open, resolve bool
	err           error
	asked         []string
}

func (v *verdicts) OpenIncident(_ context.Context, check string) (bool, error) {
	v.asked = append(v.asked, "open "+check)
	return v.open, v.err
}

func (v *verdicts) ResolveIncident(_ context.Context, check string) (bool, error) {
	v.asked = append(v.asked, "resolve "+check)
	return v.resolve, v.err
}

// With Incidents, down, repeat and resolved alerts go out only when the
// cluster says this instance notifies; an unreachable table sends anyway.
func TestIncidentsGateAlerts(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    verdicts
		want []string // webhook events received, in order
	}{
		{"this node opened and resolved", verdicts{open: true, resolve: true}, []string{"down", "repeat", "resolved"}},
		{"another node notifies", verdicts{}, nil},
		{"opened here, resolved elsewhere", verdicts{open: true}, []string{"down", "repeat"}},
		{"table unreachable", verdicts{err: errors.New("connection refused")}, []string{"down", "repeat", "resolved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wh := newReceiver(t, "ok", false)
			clock := &fakeClock{t: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)}
			var failing atomic.Bool
			spec := Spec{Name: "api", Kind: "http", Interval: 30 * time.Second, Timeout: time.Second, Failures: 1, Successes: 1,
				Checker: CheckFunc(func(context.Context) error {
					if failing.Load() {
						return errors.New("status 502")
					}
					return nil
				})}
			v := tc.v
			cfg := &config.Config{Alerts: config.Alerts{Repeat: config.Duration{Duration: time.Hour},
				Webhook: &config.Webhook{URL: config.Secret(wh.URL)}}}
			m, err := New(cfg, Options{Now: clock.Now, Host: "web1", HistoryDir: t.TempDir(), Specs: []Spec{spec},
				Incidents: &v, Alert: alert.Options{Backoff: 10 * time.Millisecond}, History: history.Options{NoSync: true}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { _ = m.alerts.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done; m.Close() })
			c := m.checks[0]
			step := func(fail bool, d time.Duration) {
				failing.Store(fail)
				clock.Add(d)
				m.runOnce(ctx, c)
				for len(m.incidents.ch) > 0 {
					m.decide(ctx, <-m.incidents.ch)
				}
			}
			step(true, 30*time.Second)  // down
			step(true, 2*time.Hour)     // repeat
			step(false, 30*time.Second) // resolved
			var got []string
			for range tc.want {
				body := wh.next(t, "webhook", 10*time.Second)
				for _, ev := range []string{"down", "repeat", "resolved"} {
					if strings.Contains(body, `"event":"`+ev+`"`) {
						got = append(got, ev)
					}
				}
			}
			time.Sleep(100 * time.Millisecond) // let a wrongly sent extra alert arrive
			wh.none(t, "webhook")
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("alerts sent %v, want %v", got, tc.want)
			}
			if want := "open api,resolve api"; strings.Join(v.asked, ",") != want {
				t.Errorf("asked %v, want %s", v.asked, want)
			}
		})
	}
}
