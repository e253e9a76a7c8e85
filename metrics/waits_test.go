package metrics

import "testing"

// Waits of retry_window are counted by route and outcome.
func TestWaitsByRouteAndOutcome(t *testing.T) {
	m := New(Options{Version: "test"})
	m.Waited("/api/", "served")
	m.Waited("/api/", "served")
	m.Waited("/api/", "rejected")
	m.Waited("/ws/", "gone")
	got := series(scrape(t, m)["edge_upstream_waits_total"])
	want := map[string]float64{
		"outcome=served,route=/api/": 2, "outcome=rejected,route=/api/": 1, "outcome=gone,route=/ws/": 1,
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
