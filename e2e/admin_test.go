package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestAdmin(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{})
	c := e.Client()
	statusJSON := e.HTTPS("/admin/status.json")

	t.Run("no-credentials-401", func(t *testing.T) {
		resp, body := get(t, c, statusJSON)
		wantStatus(t, resp, body, http.StatusUnauthorized)
		if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
			t.Errorf("WWW-Authenticate %q, want a Basic challenge", got)
		}
		if strings.Contains(string(body), "domains") {
			t.Errorf("401 body shows the status: %q", body)
		}
	})

	t.Run("wrong-credentials-401", func(t *testing.T) {
		for _, cred := range [][2]string{{adminUser, "wrong"}, {"root", adminPassword}, {adminUser, ""}} {
			resp, body := get(t, c, statusJSON, basicAuth(cred[0], cred[1]))
			wantStatus(t, resp, body, http.StatusUnauthorized)
		}
	})

	t.Run("correct-credentials-200", func(t *testing.T) {
		resp, body := get(t, c, statusJSON, basicAuth(adminUser, adminPassword))
		wantStatus(t, resp, body, http.StatusOK)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		var st struct {
			Domains []string `json:"domains"`
			Version string   `json:"version"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("status.json %q: %v", body, err)
		}
		if !slices.Equal(st.Domains, []string{domain, wwwDomain}) {
			t.Errorf("status.json domains %q, want [%s %s]", st.Domains, domain, wwwDomain)
		}

		resp, body = get(t, c, e.HTTPS("/admin/status"), basicAuth(adminUser, adminPassword))
		wantStatus(t, resp, body, http.StatusOK)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("/admin/status Content-Type %q, want text/html", ct)
		}
		if !strings.Contains(string(body), domain) {
			t.Errorf("/admin/status does not list %s", domain)
		}
	})
}

func TestAdminAllow(t *testing.T) {
	t.Parallel()
	// The test client is 127.0.0.1, outside 10.0.0.0/8 (no traffic goes there).
	e := startEdge(t, Options{AdminAllow: []string{"10.0.0.0/8"}})
	c := e.Client()
	for _, opts := range [][]reqOpt{{basicAuth(adminUser, adminPassword)}, nil} {
		resp, body := get(t, c, e.HTTPS("/admin/status.json"), opts...)
		wantStatus(t, resp, body, http.StatusForbidden)
		if strings.Contains(string(body), "domains") {
			t.Errorf("403 body shows the status: %q", body)
		}
	}
	resp, body := get(t, c, e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
}
