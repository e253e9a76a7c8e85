package cluster

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
)

// The certmagic Storage contract: file/directory semantics, fs.ErrNotExist
// from Load, List and Stat, Delete of a missing key is not an error, a
// cancelled context is honoured.
func TestStorageContract(t *testing.T) {
	s, _ := migratedStorage(t, StorageOptions{Node: "a"})
	ctx := t.Context()
	for k, v := range map[string]string{
		"certificates/acme/localhost/localhost.crt":  "crt",
		"certificates/acme/localhost/localhost.key":  "key",
		"certificates/acme/localhost/localhost.json": "{}",
		"certificates/acme/www/www.crt":              "crt2",
		"acme/account.json":                          "acct",
		"certificatesX":                              "not under certificates/",
	} {
		if err := s.Store(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Load(ctx, "certificates/acme/localhost/localhost.key"); err != nil || string(got) != "key" {
		t.Errorf("Load = %q, %v", got, err)
	}
	if err := s.Store(ctx, "acme/account.json", []byte("acct2")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(ctx, "acme/account.json"); string(got) != "acct2" {
		t.Errorf("Load after overwrite = %q, want acct2", got)
	}
	for _, k := range []string{"missing", "certificates", "certificates/acme/local"} {
		if _, err := s.Load(ctx, k); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(%q) error %v, want fs.ErrNotExist", k, err)
		}
	}
	for k, want := range map[string]bool{"certificates": true, "certificates/acme/localhost": true,
		"certificates/acme/localhost/localhost.crt": true, "certificates/acme/local": false, "nope": false, "certificatesX": true} {
		if got := s.Exists(ctx, k); got != want {
			t.Errorf("Exists(%q) = %v, want %v", k, got, want)
		}
	}

	list, err := s.List(ctx, "certificates/acme", false)
	if want := []string{"certificates/acme/localhost", "certificates/acme/www"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("List non-recursive = %v, %v; want %v", list, err, want)
	}
	list, err = s.List(ctx, "certificates", true)
	want := []string{"certificates/acme", "certificates/acme/localhost", "certificates/acme/localhost/localhost.crt",
		"certificates/acme/localhost/localhost.json", "certificates/acme/localhost/localhost.key",
		"certificates/acme/www", "certificates/acme/www/www.crt"}
	if err != nil || !slices.Equal(list, want) {
		t.Errorf("List recursive =\n%v, %v; want\n%v", list, err, want)
	}
	if root, err := s.List(ctx, "", false); err != nil || !slices.Equal(root, []string{"acme", "certificates", "certificatesX"}) {
		t.Errorf("List root = %v, %v", root, err)
	}
	if _, err := s.List(ctx, "nothing/here", true); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List of a missing dir: %v, want fs.ErrNotExist", err)
	}

	ki, err := s.Stat(ctx, "certificates/acme/localhost/localhost.crt")
	if err != nil || !ki.IsTerminal || ki.Size != 3 || time.Since(ki.Modified) > time.Minute {
		t.Errorf("Stat file = %+v, %v", ki, err)
	}
	if ki, err := s.Stat(ctx, "certificates/acme"); err != nil || ki.IsTerminal {
		t.Errorf("Stat dir = %+v, %v; want a directory", ki, err)
	}
	if _, err := s.Stat(ctx, "certificates/ac"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat missing: %v, want fs.ErrNotExist", err)
	}

	if err := s.Delete(ctx, "certificates/acme/localhost"); err != nil {
		t.Fatal(err)
	}
	if s.Exists(ctx, "certificates/acme/localhost/localhost.key") || !s.Exists(ctx, "certificates/acme/www/www.crt") {
		t.Error("Delete of a directory must remove everything under it and nothing else")
	}
	if err := s.Delete(ctx, "never/stored"); err != nil {
		t.Errorf("Delete of a missing key: %v, want nil", err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Store(cancelled, "x", []byte("y")); !errors.Is(err, context.Canceled) {
		t.Errorf("Store with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := s.Load(cancelled, "acme/account.json"); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context: %v, want context.Canceled", err)
	}
}

// The local copy serves Load, Stat and List when PostgreSQL cannot
// answer, but never overrides PostgreSQL's "not there".
func TestCachedServesWithoutPostgres(t *testing.T) {
	s, _ := migratedStorage(t, StorageOptions{Node: "a"})
	dir := t.TempDir()
	c := NewCached(s, dir)
	ctx := t.Context()
	if err := c.Store(ctx, "certificates/x/x.crt", []byte("pem")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "certificates", "x", "x.crt")); err != nil || string(b) != "pem" {
		t.Fatalf("local copy = %q, %v", b, err)
	}
	// Written by another node: the first Load copies it locally.
	if err := s.Store(ctx, "acme/account.json", []byte("acct")); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Load(ctx, "acme/account.json"); err != nil || string(v) != "acct" {
		t.Fatalf("Load = %q, %v", v, err)
	}
	// Deleted in PostgreSQL by another node: not served from the copy.
	if err := s.Delete(ctx, "acme/account.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(ctx, "acme/account.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a key PostgreSQL says is gone: %v, want fs.ErrNotExist", err)
	}

	port, _ := testutil.FreePort() // nothing listens there: PostgreSQL is "down"
	dead := newPool(t, "postgres://edge:x@127.0.0.1:"+port+"/db?connect_timeout=2")
	down := NewCached(NewStorage(dead, StorageOptions{Node: "a"}), dir)
	if v, err := down.Load(ctx, "certificates/x/x.crt"); err != nil || string(v) != "pem" {
		t.Errorf("Load while PostgreSQL is down = %q, %v; want the local copy", v, err)
	}
	if !down.Exists(ctx, "certificates/x") {
		t.Error("Exists while PostgreSQL is down: false, want the local copy's answer")
	}
	if ki, err := down.Stat(ctx, "certificates/x/x.crt"); err != nil || !ki.IsTerminal {
		t.Errorf("Stat while down = %+v, %v", ki, err)
	}
	if _, err := down.Load(ctx, "certificates/y/y.crt"); err == nil {
		t.Error("Load of a key with no local copy while PostgreSQL is down succeeded")
	}
	if err := down.Store(ctx, "k", []byte("v")); err == nil {
		t.Error("Store while PostgreSQL is down succeeded; it must fail (PostgreSQL is the truth)")
	}
}
