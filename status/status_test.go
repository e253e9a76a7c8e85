package status

import (
	"sync"
	"testing"
	"time"
)

func TestSnapshotIsACopyAndSorted(t *testing.T) {
	r := New()
	r.SetCheck(Check{Name: "b", Up: true})
	r.SetCheck(Check{Name: "a", Up: false})
	r.SetUpstream(Upstream{Route: "/api/", Addr: "127.0.0.1:8001", Up: true})
	r.SetUpstream(Upstream{Route: "/api/", Addr: "127.0.0.1:8000", Up: false})
	s := r.Snapshot()
	if s.Checks[0].Name != "a" || s.Upstreams[0].Addr != "127.0.0.1:8000" {
		t.Fatalf("not sorted: %+v %+v", s.Checks, s.Upstreams)
	}
	s.Checks[0].Name = "changed"
	if r.Snapshot().Checks[0].Name != "a" {
		t.Error("snapshot shares memory with the registry")
	}
	r.ReplaceUpstreams([]Upstream{{Route: "/x/", Addr: "h:1"}})
	if got := r.Snapshot().Upstreams; len(got) != 1 || got[0].Route != "/x/" {
		t.Errorf("ReplaceUpstreams: got %+v", got)
	}
}

func TestAlertsBounded(t *testing.T) {
	r := New()
	for i := 0; i < maxAlerts+10; i++ {
		r.AddAlert(Alert{At: time.Unix(int64(i), 0), Check: "c"})
	}
	a := r.Snapshot().Alerts
	if len(a) != maxAlerts || a[0].At.Unix() != 10 {
		t.Fatalf("got %d alerts starting at %d, want %d starting at 10", len(a), a[0].At.Unix(), maxAlerts)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				r.SetCheck(Check{Name: "c", Up: j%2 == 0})
				r.AddAlert(Alert{Check: "c"})
				_ = r.Snapshot()
			}
		}()
	}
	wg.Wait()
}

func TestReplaceCertificates(t *testing.T) {
	r := New()
	r.SetCertificate(Certificate{Domain: "old.example"})
	r.ReplaceCertificates([]Certificate{{Domain: "b.example"}, {Domain: "a.example"}})
	got := r.Snapshot().Certificates
	if len(got) != 2 || got[0].Domain != "a.example" || got[1].Domain != "b.example" {
		t.Errorf("ReplaceCertificates: got %+v, want a.example and b.example only", got)
	}
}
