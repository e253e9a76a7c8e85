// Package cluster lets several edge instances share state in PostgreSQL.
//
// It owns schema "edge" in the configured database (created and migrated
// by edge itself, serialised by an advisory lock so nodes may start at the
// same instant) and never touches other schemas. On top of it:
//
//   - Storage, a certmagic.Storage whose Lock is a renewed lease in
//     edge.locks (see lock.go for the design);
//   - Cached, a Storage that keeps a local copy of every value so a node
//     serves while PostgreSQL is down;
//   - ClaimSlot, which hands each slot of a singleton job (a backup run) to
//     exactly one node;
//   - membership: each node's heartbeat in edge.nodes.
//
// Without [cluster] none of this runs: the other packages use their local
// implementations of the same seams, wired by package server.
package cluster
