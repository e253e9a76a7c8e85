package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
)

func TestAdminToken(t *testing.T) {
	const base = "[site]\ndomains = [\"edge.test\"]\nroot = \"/tmp\"\n\n[admin]\n"
	env := map[string]string{"EDGE_ADMIN_TOKEN": "0123456789abcdef0123", "SHORT": "abc"}
	tests := []struct {
		name, toml string
		wantErr    error // nil: valid
	}{
		{"none", base, nil},
		{"from the environment", base + "token = \"${EDGE_ADMIN_TOKEN}\"\n", nil},
		{"written in the file", base + "token = \"0123456789abcdef0123\"\n", config.ErrSecretInFile},
		{"too short", base + "token = \"${SHORT}\"\n", config.ErrInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(strings.NewReader(tt.toml), "edge.toml", lookupIn(env))
			if err == nil {
				err = cfg.Validate()
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want one wrapping %v", err, tt.wantErr)
			case tt.wantErr != nil && !strings.Contains(err.Error(), "admin.token"):
				t.Errorf("error %q does not name admin.token", err)
			}
			if tt.name == "from the environment" && cfg.Admin.Token.Reveal() != env["EDGE_ADMIN_TOKEN"] {
				t.Errorf("token %q, want the environment's", cfg.Admin.Token.Reveal())
			}
		})
	}
}
