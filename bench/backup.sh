#!/usr/bin/env bash
# bench/backup.sh — "edge backup" against the bare tools it replaces, on one
# generated database: wall time and output size of
#
#   edge backup now (custom)   vs  pg_dump -Fc  vs  pg_dump | gzip
#   edge backup now (plain-gzip, for reference)
#   edge backup verify (scratch-cluster: initdb, restore, count, drop)
#                              vs  pg_restore into an empty database
#
#   sudo bash bench/backup.sh                 # ~200 MB database (SIZE_MB=200)
#   SIZE_MB=1000 OUT=/tmp/backup.md sudo -E bash bench/backup.sh   # ~1 GB: about 10x longer
#
# Environment:
#   SIZE_MB     database size to generate, pg_total_relation_size (default 200)
#   OUT         also write the markdown report to this file
#   KEEP_TMP=1  keep the temp dir (cluster, dumps, edge config)
#   EDGE_BIN    use this edge binary instead of building ./cmd/edge
#
# Needs root on Debian/Ubuntu with PostgreSQL installed (apt-get install postgresql):
# the throwaway cluster runs as the postgres user. It listens on 127.0.0.1 on a free
# port and is stopped by pg_ctl on exit. Each command runs once (no warm-up): the
# numbers are indicative, and noisy when something else runs on the machine.
set -euo pipefail

SIZE_MB=${SIZE_MB:-200}
OUT=${OUT:-}
KEEP_TMP=${KEEP_TMP:-0}

cd "$(dirname "$0")/.."

PGBIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$PGBIN" || ! -x "$PGBIN/initdb" ]]; then
	echo "bench/backup.sh: no /usr/lib/postgresql/*/bin/initdb (fix: apt-get install postgresql)" >&2
	exit 1
fi
if ((EUID != 0)); then
	echo "bench/backup.sh: run as root (the throwaway cluster runs as the postgres user)" >&2
	exit 1
fi

TMP=$(mktemp -d /tmp/edge-bench-backup.XXXXXX)
chmod 0755 "$TMP"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PG=$TMP/pg
cleanup() {
	if [[ -f $PG/data/postmaster.pid ]]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [[ "$KEEP_TMP" == 1 ]]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

# Time a command (its stdout discarded): prints the wall seconds.
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

mb() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }

if [[ -n "${EDGE_BIN:-}" ]]; then
	cp "$EDGE_BIN" "$TMP/edge"
else
	log "==> building edge"
	go build -o "$TMP/edge" ./cmd/edge
fi

log "==> starting PostgreSQL ($PGBIN) on 127.0.0.1:$PORT"
mkdir -p "$PG"
echo superpw >"$PG/pw"
chown -R postgres: "$PG"
runuser -u postgres -- "$PGBIN/initdb" -D "$PG/data" -U postgres --pwfile="$PG/pw" \
	--auth-host=scram-sha-256 --auth-local=peer --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/log" -w -t 60 \
	-o "-c listen_addresses=127.0.0.1 -p $PORT -k $PG -c shared_buffers=256MB -c max_wal_size=4GB" start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=edge PGPASSWORD=s3cret
PGPASSWORD=superpw psql -q -U postgres -d postgres -v ON_ERROR_STOP=1 \
	-c "CREATE ROLE edge LOGIN CREATEDB PASSWORD 's3cret'" -c "CREATE DATABASE gitcourse OWNER edge"

log "==> generating a ~${SIZE_MB} MB GitCourse-like database"
psql -q -d gitcourse -v ON_ERROR_STOP=1 <<'SQL'
CREATE TYPE user_role AS ENUM ('student', 'instructor', 'admin');
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL,
  role user_role NOT NULL DEFAULT 'student', created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE courses (id bigserial PRIMARY KEY, slug text NOT NULL UNIQUE, title text NOT NULL,
  instructor_id bigint REFERENCES users(id), created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE enrollments (user_id bigint REFERENCES users(id), course_id bigint REFERENCES courses(id),
  progress numeric(5,2) NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (user_id, course_id));
CREATE TABLE submissions (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id),
  course_id bigint NOT NULL REFERENCES courses(id), body text NOT NULL, score int,
  created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO users (email, name, role) SELECT 'user' || i || '@example.com', 'User ' || md5(i::text),
  (ARRAY['student', 'student', 'student', 'instructor', 'admin'])[1 + i % 5]::user_role FROM generate_series(1, 20000) i;
INSERT INTO courses (slug, title, instructor_id) SELECT 'course-' || i, 'Course ' || i, 4 + 5 * (i % 100) FROM generate_series(1, 200) i;
INSERT INTO enrollments (user_id, course_id, progress) SELECT u, c, (u * c) % 100
  FROM generate_series(1, 20000) u, generate_series(1, 200) c WHERE (u + c) % 25 = 0;
SQL
# Submissions in batches until the database reaches SIZE_MB: code-like text
# (words and hex), which compresses about as well as real rows do.
while :; do
	size=$(psql -At -d gitcourse -c "SELECT pg_database_size('gitcourse')")
	((size >= SIZE_MB * 1000000)) && break
	psql -q -d gitcourse -v ON_ERROR_STOP=1 -c "INSERT INTO submissions (user_id, course_id, body, score)
	  SELECT 1 + (random() * 19999)::int, 1 + (random() * 199)::int,
	    'def solve(x):  # ' || md5(random()::text) || E'\n    return ' || (random() * 1e6)::int || ' + x * '
	      || md5(random()::text) || E'\n' || repeat(substr(md5(random()::text), 1, 12) || ' ', 8),
	    (random() * 100)::int
	  FROM generate_series(1, 100000)"
done
psql -q -d gitcourse -c "VACUUM ANALYZE users, courses, enrollments, submissions"
DBSIZE=$(psql -At -d gitcourse -c "SELECT pg_database_size('gitcourse')")
ROWS=$(psql -At -d gitcourse -c "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM courses) + (SELECT count(*) FROM enrollments) + (SELECT count(*) FROM submissions)")
log "    $(mb "$DBSIZE") MB, $ROWS rows"

mkdir -p "$TMP/site" "$TMP/out"
echo '<h1>bench</h1>' >"$TMP/site/index.html"
edge_config() { # NAME FORMAT DIR
	cat >"$TMP/edge-$1.toml" <<EOF
[server]
http = "127.0.0.1:1"
https = ""
state_dir = "$TMP/state"
admin_socket = "$TMP/admin.sock"
[site]
domains = ["bench.test"]
root = "$TMP/site"
[backup]
database_url = "\${DATABASE_URL}"
dir = "$3"
format = "$2"
verify = "none"
pg_bin = "$PGBIN"
EOF
}
export DATABASE_URL="postgres://edge:s3cret@127.0.0.1:$PORT/gitcourse"
edge_config custom custom "$TMP/b-custom"
edge_config plain plain-gzip "$TMP/b-plain"
filesize() { stat -c %s "$1"; }
newest() { find "$1" -maxdepth 1 -name "*$2" | sort | tail -1; }

log "==> edge backup now (custom)"
T_EDGE=$(timed "$TMP/edge" backup now -config "$TMP/edge-custom.toml")
S_EDGE=$(filesize "$(newest "$TMP/b-custom" .dump)")
log "==> pg_dump -Fc"
T_FC=$(timed "$PGBIN/pg_dump" -d gitcourse -Fc -f "$TMP/out/bare.dump")
S_FC=$(filesize "$TMP/out/bare.dump")
log "==> pg_dump | gzip"
T_GZ=$(timed sh -c "'$PGBIN/pg_dump' -d gitcourse --no-owner | gzip > '$TMP/out/bare.sql.gz'")
S_GZ=$(filesize "$TMP/out/bare.sql.gz")
log "==> edge backup now (plain-gzip)"
T_EDGEGZ=$(timed "$TMP/edge" backup now -config "$TMP/edge-plain.toml")
S_EDGEGZ=$(filesize "$(newest "$TMP/b-plain" .sql.gz)")

log "==> edge backup verify (scratch-cluster)"
T_VERIFY=$(timed "$TMP/edge" backup verify -scratch scratch-cluster -config "$TMP/edge-custom.toml")
log "==> pg_restore into an empty database"
psql -q -d postgres -c "CREATE DATABASE restored"
T_RESTORE=$(timed "$PGBIN/pg_restore" -d restored --no-owner --exit-on-error --single-transaction "$TMP/out/bare.dump")

report() {
	cat <<EOF
## edge backup vs pg_dump ($(date -u +%Y-%m-%d), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), $(nproc) cores)

Database: $(mb "$DBSIZE") MB on disk, $ROWS rows (users, courses, enrollments, submissions).

| backup | wall s | output MB |
|---|---:|---:|
| \`edge backup now\` (custom, verify=none) | $T_EDGE | $(mb "$S_EDGE") |
| \`pg_dump -Fc\` | $T_FC | $(mb "$S_FC") |
| \`pg_dump \| gzip\` | $T_GZ | $(mb "$S_GZ") |
| \`edge backup now\` (plain-gzip, verify=none) | $T_EDGEGZ | $(mb "$S_EDGEGZ") |

| verification | wall s |
|---|---:|
| \`edge backup verify -scratch scratch-cluster\` (sha256, initdb, restore, count rows, stop, delete) | $T_VERIFY |
| \`pg_restore --single-transaction\` into an empty database on the running server | $T_RESTORE |

\`edge backup now\` adds to pg_dump: the row counts of every table in the dump's snapshot,
SHA-256, fsync and rename, the manifest, and retention.
EOF
}
report
if [[ -n "$OUT" ]]; then
	report >"$OUT"
fi
