package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReadShellView(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		p := filepath.Join(dir, "edge.toml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("EDGE_TEST_RUN", "/run/x")
	// Secrets that are not set do not matter: only two keys are read.
	p := write("[server]\nadmin_socket = \"${EDGE_TEST_RUN}/admin.sock\"\n[site]\nroot = \"/srv/current\"\n" +
		"[backup]\ndatabase_url = \"${NOT_SET_HERE}\"\n")
	v, err := ReadShellView(p)
	if err != nil || v.AdminSocket != "/run/x/admin.sock" || v.SiteRoot != "/srv/current" {
		t.Errorf("ReadShellView = %+v, %v", v, err)
	}
	// Defaults.
	v, err = ReadShellView(write("[site]\n"))
	if err != nil || v.AdminSocket != defaultAdminSocket || v.SiteRoot != "" {
		t.Errorf("defaults: %+v, %v", v, err)
	}
	// An unset variable in one key is reported with that key; the other
	// key is still read.
	v, err = ReadShellView(write("[server]\nadmin_socket = \"${NOT_SET_HERE}/a.sock\"\n[site]\nroot = \"/srv/current\"\n"))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "server.admin_socket" || v.SiteRoot != "/srv/current" || v.AdminSocket != defaultAdminSocket {
		t.Errorf("unset variable: %+v, %v", v, err)
	}
	if _, err := AdminSocket(filepath.Join(dir, "edge.toml")); err == nil {
		t.Error("AdminSocket ignored an admin_socket it could not expand")
	}
	if _, err := ReadShellView(filepath.Join(dir, "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ReadShellView(write("[server\n")); err == nil {
		t.Error("a broken file was read")
	}
}
