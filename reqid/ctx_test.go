package reqid

import (
	"context"
	"testing"
	"time"
)

type otherKey struct{}

// TestContext: the id survives contexts derived from the one With returns,
// other values and cancellation pass through it, and a context without an
// id gives "".
func TestContext(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "v"))
	ctx := With(parent, "abc")
	derived, stop := context.WithTimeout(context.WithValue(ctx, otherKey{}, "w"), time.Minute)
	defer stop()
	if got := From(derived); got != "abc" {
		t.Fatalf("From(derived) = %q", got)
	}
	if got := ctx.Value(otherKey{}); got != "v" {
		t.Fatalf("Value(otherKey) through the id context = %v", got)
	}
	if got := From(parent); got != "" {
		t.Fatalf("From(parent) = %q, want none", got)
	}
	cancel()
	select {
	case <-derived.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the parent did not reach a context derived from the id context")
	}
}
