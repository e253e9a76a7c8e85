package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestAdminPprof takes a heap profile through {admin.path}/debug/pprof/,
// which the admin guard protects like the status page.
func TestAdminPprof(t *testing.T) {
	e := startEdge(t, Options{})
	c := e.Client()
	url := e.HTTPS("/admin/debug/pprof/heap?debug=1")
	resp, body := get(t, c, url)
	wantStatus(t, resp, body, http.StatusUnauthorized)
	resp, body = get(t, c, url, basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), "heap profile:") {
		t.Errorf("body %.100q, want a heap profile", body)
	}
}
