#!/usr/bin/env bash
# bench/cluster.sh — cost of cluster mode's PostgreSQL operations on a
# throwaway local PostgreSQL (started and stopped by the Go benchmarks):
#
#   certmagic Storage Load of a 3 KiB certificate   p50 / p99
#   Lock + Unlock (uncontended lease)                p50 / p99
#   one membership heartbeat                         p50 / p99
#
#   sudo bash bench/cluster.sh              # N=2000 iterations each
#   N=10000 bash bench/cluster.sh
#
# Needs PostgreSQL installed (apt-get install postgresql); as root the
# server runs as the postgres user.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
go test -run '^$' -bench 'BenchmarkStorageLoad|BenchmarkLockUnlock|BenchmarkHeartbeat' -benchtime "${N}x" ./cluster |
	awk '/^Benchmark/ { printf "| %s | %s | %s µs | %s µs |\n", $1, $3 " " $4, $5, $7 } BEGIN { print "| benchmark | mean | p50 | p99 |"; print "|---|---|---|---|" }'
