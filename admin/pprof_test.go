package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPprof serves the profile index, a named profile and a 404 for an
// unknown one under {admin.path}/debug/pprof/.
func TestPprof(t *testing.T) {
	h := Handler("/admin", func() Status { return Status{} }, nil)
	for _, tc := range []struct {
		path, want string
		code       int
	}{
		{"/admin/debug/pprof/", "goroutine", http.StatusOK},
		{"/admin/debug/pprof/goroutine?debug=1", "goroutine profile:", http.StatusOK},
		{"/admin/debug/pprof/cmdline", "", http.StatusOK},
		{"/admin/debug/pprof/no-such-profile", "Unknown profile", http.StatusNotFound},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s: %d %.80q, want %d with %q", tc.path, w.Code, w.Body.String(), tc.code, tc.want)
		}
	}
}
