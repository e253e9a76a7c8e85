package config

import (
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
)

// ParseIdentityFile reads age identities (AGE-SECRET-KEY-1...) or an
// unencrypted SSH private key from path. Validate reads
// backup.remote.drill_identity with it, as the drill does at start.
func ParseIdentityFile(path string) ([]age.Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read identity file: %w", err)
	}
	if strings.Contains(string(b), "PRIVATE KEY-----") {
		id, err := agessh.ParseIdentity(b)
		if err != nil {
			return nil, fmt.Errorf("parse SSH identity %s: %w", path, err)
		}
		return []age.Identity{id}, nil
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(b)))
	if err != nil {
		return nil, fmt.Errorf("parse identity file %s: %w", path, err)
	}
	return ids, nil
}

// identityFile checks that path holds an age or SSH identity.
func (v *validator) identityFile(key, path string) {
	if _, err := os.Stat(path); err != nil {
		v.failf(key, ErrNotExist, "%s", path)
		return
	}
	if _, err := ParseIdentityFile(path); err != nil {
		v.failf(key, ErrInvalidValue, "%v (fix: an age identity file from \"age-keygen -o FILE\", or an unencrypted SSH private key)", err)
	}
}
