#!/usr/bin/env bash
# bench/api.sh — the realistic row: edge vs nginx vs Caddy in front of the
# real GitCourse API (testdata/gitcourse-api: FastAPI on uvicorn with 2
# workers, SQLAlchemy, a real PostgreSQL), GET /api/courses loaded with wrk;
# plus uvicorn alone (wrk straight at it) as the baseline. Reports req/s,
# p50/p99, errors, and the CPU per request of the proxy process alone, of
# uvicorn (supervisor + workers) and of PostgreSQL (all its processes), so
# that the CPU edge adds per request stands next to nginx's.
#
#   sudo bash bench/api.sh               # 10 s per row, 4 connections
#   DURATION=30s ROUNDS=2 OUT=/tmp/api.md sudo -E bash bench/api.sh
#
# Environment:
#   DURATION        wrk duration per row (default 10s; use 30s or more for
#                   CPU figures to compare: /proc counts 10 ms ticks and the
#                   app serves a few hundred requests a second at most)
#   WARMUP          wrk warm-up per row (default 2s)
#   CONNS           wrk connections (default 4: the app's SQLAlchemy pool
#                   keeps 5 PostgreSQL connections per worker; with more
#                   requests in flight on a worker it opens and closes
#                   PostgreSQL connections per request, and the row measures
#                   PostgreSQL's connection set-up more than the proxy; the
#                   report counts the connections opened)
#   WRK_THREADS     wrk threads (default 1)
#   ROUNDS          measured rounds, rows interleaved; per row the round with
#                   the most req/s (and its p50/p99) and the round with the
#                   lowest total CPU per request are reported (default 1)
#   UVICORN_WORKERS uvicorn --workers (default 2)
#   SEED_COURSES    courses in the database; GET /api/courses returns up to
#                   50 (default 20: about 7 KB of JSON)
#   UPSTREAM_CPUS   pin uvicorn and PostgreSQL to these CPUs (taskset list,
#                   such as "1"); default empty: not pinned, as on a VPS
#   PROXIES         the proxies to measure (default "edge nginx caddy";
#                   without caddy no Caddy build happens)
#   EDGE_BIN        measure this edge binary instead of building ./cmd/edge
#   OUT             also write the markdown report to this file
#   KEEP_TMP=1      keep the temp dir (configs, logs, raw wrk output, cluster)
#
# Layout: the proxy under test on CPU 0 (GOMAXPROCS=1, one nginx worker),
# wrk on CPU 1, uvicorn's workers and PostgreSQL on any CPU (the scheduler
# places them, so they share both cores with the proxy and wrk). One
# PostgreSQL cluster and one uvicorn serve all rows; the proxies run one at a
# time, each with the same config as in bench/proxy.sh (keep-alive to
# uvicorn, X-Forwarded-*, X-Request-ID, security headers, no access log).
# uvicorn runs with the flags of deploy/systemd/gitcourse-api.service
# (--proxy-headers, --no-server-header, --timeout-keep-alive 120, its access
# log on, here into a file).
#
# CPU per request: utime + stime from /proc/PID/stat of each process tree
# during the measured run, divided by the requests wrk completed.
#
# Needs Debian/Ubuntu; as root it installs what is missing (nginx, wrk,
# PostgreSQL, python3-fastapi/-uvicorn/-sqlalchemy/-alembic/-psycopg2 from
# apt) and runs the throwaway cluster as the postgres user (initdb refuses
# root). Caddy v2.11.9 is built with go install into ~/.cache/edge-bench/bin
# when missing. All traffic goes to 127.0.0.1; every process started here is
# stopped by PID (PostgreSQL by pg_ctl, then by its PID) on exit.
set -euo pipefail

LOG_TAG=api-bench
API_CONNS=${CONNS:-4} # lib.sh's default is 50
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=bench/proxylib.sh
source "$(dirname "${BASH_SOURCE[0]}")/proxylib.sh"

PATH_API=/api/courses
CONNS=$API_CONNS
UVICORN_WORKERS=${UVICORN_WORKERS:-2}
SEED_COURSES=${SEED_COURSES:-20}
UPSTREAM_CPUS=${UPSTREAM_CPUS:-}
API_DIR=$REPO/testdata/gitcourse-api
PY=/usr/bin/python3 # Debian's: a python3 earlier on PATH may not see python3-* packages
PG_SUPER_PW=bench-super
DB_PW=bench-gitcourse

for v in UVICORN_WORKERS SEED_COURSES; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		log "$v=${!v}: want a whole number above 0"
		exit 2
	fi
done
if [[ -n $UPSTREAM_CPUS ]] && ! taskset -c "$UPSTREAM_CPUS" true 2>/dev/null; then
	log "UPSTREAM_CPUS=$UPSTREAM_CPUS: not a CPU list taskset accepts on this machine (such as \"1\" or \"0,1\")"
	exit 2
fi

# "uvicorn" is the app alone: the ceiling for the proxies.
read -r -a SERVERS <<<"uvicorn ${PROXIES:-edge nginx caddy}"
declare -A LABEL=([uvicorn]="uvicorn alone (baseline)" [edge]=edge [nginx]=nginx [caddy]=Caddy)
declare -A RPS=() P99=() P50=() ERRS=() STATUS=() BYTES=() CPU_US=() NEW_CONNS=()
PARTS=(proxy uvicorn postgres total)
PIN=() # taskset for uvicorn and PostgreSQL, when UPSTREAM_CPUS is set
[[ -n $UPSTREAM_CPUS ]] && PIN=(taskset -c "$UPSTREAM_CPUS")
bench_init edge-api-bench

# -------------------------------------------------------------- PostgreSQL ---

PGBIN="" PG_DIR="" PG_PID=""
AS_PG=() # runuser -u postgres -- when root

# pg_tool NAME ARGS...: a PostgreSQL server program (as postgres when root).
pg_tool() {
	local name=$1
	shift
	"${PIN[@]}" "${AS_PG[@]}" "$PGBIN/$name" "$@"
}

# pg_sql DB SQL: psql as the superuser, stopping at the first error.
pg_sql() {
	PGPASSWORD=$PG_SUPER_PW PGCONNECT_TIMEOUT=10 psql -h 127.0.0.1 -p "${PORT[postgres]}" -U postgres \
		-d "$1" -v ON_ERROR_STOP=1 -X -q -c "$2" >>"$PG_DIR/psql.log" 2>&1
}

# pg_connections: connections PostgreSQL has accepted so far.
pg_connections() { grep -c 'connection authorized' "$PG_DIR/log" 2>/dev/null || true; }

db_url() { echo "postgresql://gitcourse:$DB_PW@127.0.0.1:${PORT[postgres]}/gitcourse"; }

# start_postgres: initdb in the temp dir, pg_ctl start on a free port
# (loopback only, fsync off: a benchmark, not a database to keep; every
# new connection logged, so that the report can count them).
start_postgres() {
	PGBIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1 || true)
	if [[ -z $PGBIN || ! -x $PGBIN/initdb ]]; then
		log "no /usr/lib/postgresql/*/bin/initdb (fix: apt-get install postgresql)"
		return 1
	fi
	PG_DIR=$TMP/pg
	mkdir -p "$PG_DIR"
	echo "$PG_SUPER_PW" >"$PG_DIR/pw"
	if ((EUID == 0)); then
		chown -R postgres: "$PG_DIR"
		AS_PG=(runuser -u postgres --)
	fi
	log "PostgreSQL ($PGBIN): initdb in $PG_DIR"
	if ! pg_tool initdb -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/pw" --auth-host=scram-sha-256 \
		--auth-local=peer --no-sync -E UTF8 --locale=C.UTF-8 >"$TMP/initdb.log" 2>&1; then
		tail -20 "$TMP/initdb.log" >&2
		return 1
	fi
	PORT[postgres]=$(free_port)
	if ! pg_tool pg_ctl -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 -o \
		"-c listen_addresses=127.0.0.1 -p ${PORT[postgres]} -k $PG_DIR -c fsync=off -c full_page_writes=off -c log_connections=on" \
		start >"$TMP/pg_ctl.log" 2>&1; then
		cat "$TMP/pg_ctl.log" >&2
		tail -20 "$PG_DIR/log" >&2 || true
		return 1
	fi
	PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
	log "PostgreSQL pid $PG_PID on 127.0.0.1:${PORT[postgres]}"
}

# after_cleanup (lib.sh calls it on exit, after uvicorn and the proxies are
# stopped): pg_ctl stop, then the postmaster by its PID if still there.
after_cleanup() {
	[[ -n $PG_PID ]] || return 0
	pg_tool pg_ctl -D "$PG_DIR/data" -m fast -w -t 20 stop >/dev/null 2>&1 || true
	stop_pid "$PG_PID"
}

# make_database: role and database "gitcourse", the app's Alembic
# migrations, then the seed: 3 instructors and SEED_COURSES courses.
make_database() {
	if ! pg_sql postgres "CREATE ROLE gitcourse LOGIN PASSWORD '$DB_PW'" ||
		! pg_sql postgres "CREATE DATABASE gitcourse OWNER gitcourse"; then
		tail -5 "$PG_DIR/psql.log" >&2
		return 1
	fi
	log "alembic upgrade head"
	if ! (cd "$API_DIR" && DATABASE_URL=$(db_url) PYTHONDONTWRITEBYTECODE=1 "$PY" -m alembic upgrade head) \
		>"$TMP/alembic.log" 2>&1; then
		tail -20 "$TMP/alembic.log" >&2
		return 1
	fi
	pg_sql gitcourse "
INSERT INTO users (email, name, role) VALUES
  ('ada@example.com', 'Ada Lovelace', 'instructor'),
  ('grace@example.com', 'Grace Hopper', 'instructor'),
  ('junio@example.com', 'Junio Hamano', 'instructor');
INSERT INTO courses (slug, title, description, instructor_id)
SELECT 'git-course-' || i,
       (ARRAY['Branching without fear', 'Rebase, step by step', 'Undoing things with the reflog',
              'Merge conflicts, calmly', 'Remotes and pull requests'])[1 + i % 5] || ' (' || i || ')',
       'A hands-on course in a real repository: ' ||
         repeat('short lessons, each checked as you type, with hints when you are stuck. ', 2),
       (SELECT id FROM users ORDER BY id LIMIT 1 OFFSET i % 3)
FROM generate_series(1, $SEED_COURSES) AS i;
ANALYZE;" || {
		tail -5 "$PG_DIR/psql.log" >&2
		return 1
	}
	log "database seeded: $SEED_COURSES courses"
}

# ---------------------------------------------------------------- servers ---

# start_uvicorn: the app with UVICORN_WORKERS workers, ready when
# /api/health answers 200 (a database round trip).
start_uvicorn() {
	(cd "$API_DIR" && exec env DATABASE_URL="$(db_url)" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
		"${PIN[@]}" "$PY" -m uvicorn app:app --host 127.0.0.1 --port "${PORT[uvicorn]}" \
		--workers "$UVICORN_WORKERS" --proxy-headers --forwarded-allow-ips=127.0.0.1 \
		--no-server-header --timeout-keep-alive 120) >"$TMP/uvicorn.log" 2>&1 &
	PID[uvicorn]=$!
	wait_listening uvicorn || return 1
	local _
	for _ in $(seq 1 300); do
		kill -0 "${PID[uvicorn]}" 2>/dev/null || return 1
		curl -sf -m 5 -o /dev/null "http://127.0.0.1:${PORT[uvicorn]}/api/health" && return 0
		sleep 0.1
	done
	WHY_NOT[uvicorn]="uvicorn did not answer GET /api/health with 200 within 30 s"
	return 1
}

start_server() {
	local s=$1
	PORT[$s]=$(free_port)
	case $s in
	uvicorn) start_uvicorn || return 1 ;;
	*) start_proxy "$s" "$TMP/proxy-$s" "127.0.0.1:${PORT[uvicorn]}" || return 1 ;;
	esac
	if ! wait_listening "$s"; then
		WHY_NOT[$s]="${LABEL[$s]} did not start listening on 127.0.0.1:${PORT[$s]}"
		return 1
	fi
	log "${LABEL[$s]} pid ${PID[$s]} on 127.0.0.1:${PORT[$s]}"
}

server_log() {
	case $1 in
	uvicorn) echo "$TMP/uvicorn.log" ;;
	*) proxy_log "$1" "$TMP/proxy-$1" ;;
	esac
}

start_servers() {
	local s
	for s in "${SERVERS[@]}"; do
		[[ -n ${AVAILABLE[$s]:-} ]] || continue
		if ! start_or_drop "$s" && [[ $s == uvicorn ]]; then
			return 1 # nothing to proxy to
		fi
	done
}

# --------------------------------------------------------------- measuring ---

url_of() { echo "http://127.0.0.1:${PORT[$1]}$PATH_API"; }

# One curl first: status and body, which must be uvicorn's own answer.
probe() {
	local s=$1 out
	out=$(curl -sS -m 10 -o "$TMP/body-$s.txt" -D "$TMP/headers-$s.txt" -w '%{http_code} %{size_download}' "$(url_of "$s")") ||
		out="000 0"
	STATUS[$s]=${out% *}
	BYTES[$s]=${out#* }
	if [[ ${STATUS[$s]} != 200 ]]; then
		warn "${LABEL[$s]}: GET $PATH_API answered ${STATUS[$s]}, want 200"
	elif [[ $s != uvicorn ]] && ! cmp -s "$TMP/body-$s.txt" "$TMP/body-uvicorn.txt"; then
		warn "${LABEL[$s]}: GET $PATH_API answered ${BYTES[$s]} B that differ from uvicorn's body"
	fi
}

run_one() { # run_one SERVER ROUND
	local s=$1 r=$2 f=$TMP/wrk-$1-$2.txt rps p meters=()
	((r == 1)) && probe "$s"
	log "${LABEL[$s]} (round $r/$ROUNDS): warm-up $WARMUP, then wrk -t$WRK_THREADS -c$CONNS -d$DURATION"
	[[ $s != uvicorn ]] && meters=("proxy=${PID[$s]}")
	local c0
	c0=$(pg_connections)
	measure "$(url_of "$s")" "$f" "${meters[@]}" "uvicorn=${PID[uvicorn]}" "postgres=$PG_PID"
	LAST_US[total]=$(awk -v a="${LAST_US[proxy]:-0}" -v b="${LAST_US[uvicorn]:-0}" -v c="${LAST_US[postgres]:-0}" \
		'BEGIN {printf "%.1f", a + b + c}')
	if [[ -n ${LAST_N:-} ]] && ((LAST_N > 0)); then
		if [[ -z ${CPU_US[$s,total]:-} ]] || awk -v a="${LAST_US[total]}" -v b="${CPU_US[$s,total]}" 'BEGIN {exit !(a < b)}'; then
			for p in "${PARTS[@]}"; do CPU_US[$s,$p]=${LAST_US[$p]:-}; done
		fi
	fi
	NEW_CONNS[$s]=$((${NEW_CONNS[$s]:-0} + $(pg_connections) - c0))
	ERRS[$s]=$((${ERRS[$s]:-0} + LAST_ERRS))
	((LAST_ERRS == 0)) || warn "${LABEL[$s]} (round $r): $LAST_ERRS errors under load: $(grep -E 'Non-2xx|Socket errors' "$f" | tr '\n' ' ')"
	rps=$(parse_rps "$f")
	log "  ${rps:-?} req/s, p99 $(parse_pct "$f" 99%) ms, CPU µs/request: proxy ${LAST_US[proxy]:-n/a}, uvicorn ${LAST_US[uvicorn]:-?}, PostgreSQL ${LAST_US[postgres]:-?}"
	if [[ -n $rps ]] && ((rps > ${RPS[$s]:-0})); then
		RPS[$s]=$rps
		P50[$s]=$(parse_pct "$f" 50%)
		P99[$s]=$(parse_pct "$f" 99%)
	fi
}

# ------------------------------------------------------------------ report ---

cpu_cell() { echo "${CPU_US[$1,$2]:-n/a}"; }

# proxy_cells ROW: the proxy CPU and its ratio to edge's ("—" for uvicorn alone).
proxy_cells() {
	if [[ $1 == uvicorn ]]; then
		echo "— | —"
	else
		echo "$(cpu_cell "$1" proxy) | $(ratio "${CPU_US[$1,proxy]:-}" "${CPU_US[edge,proxy]:-}")"
	fi
}

upstream_where() {
	if [[ -n $UPSTREAM_CPUS ]]; then echo "on CPU $UPSTREAM_CPUS"; else echo "not pinned (any CPU)"; fi
}

# edge_adds: the proxy CPU edge spends per request next to nginx's.
edge_adds() {
	local e=${CPU_US[edge,proxy]:-} n=${CPU_US[nginx,proxy]:-} te=${CPU_US[edge,total]:-} tn=${CPU_US[nginx,total]:-}
	if [[ -z $e || -z $n ]]; then
		echo "CPU edge adds per request next to nginx: n/a (edge or nginx not measured)."
		return
	fi
	awk -v e="$e" -v n="$n" -v te="$te" -v tn="$tn" 'BEGIN {
		printf "CPU the proxy adds per request: edge %.1f µs, nginx %.1f µs: edge %+.1f µs per request (%.2f× nginx'"'"'s)", e, n, e - n, e / n
		if (te > 0 && tn > 0) printf "; the proxy is %.0f %% of the CPU of the whole request with edge (%.1f µs) and %.0f %% with nginx (%.1f µs).", 100 * e / te, te, 100 * n / tn, tn
		else printf "."
		print ""
	}'
}

report() {
	local s
	echo "### Realistic row: GET $PATH_API from the GitCourse API (FastAPI on uvicorn, $UVICORN_WORKERS workers, PostgreSQL $("$PGBIN/postgres" --version 2>/dev/null | awk '{print $3}'))"
	echo
	echo "${BYTES[uvicorn]:-?} B of JSON ($SEED_COURSES courses) per response. wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency on CPU $LOAD_CPU; the proxy on CPU $SERVER_CPU (GOMAXPROCS=1 for Go, 1 nginx worker); uvicorn and PostgreSQL $(upstream_where)."
	((ROUNDS > 1)) && echo "Best of $ROUNDS interleaved rounds per row (req/s with its p50/p99; the CPU columns from the round with the lowest total); errors summed over all rounds."
	echo
	echo "| row | req/s | p50 ms | p99 ms | errors | of uvicorn alone | edge / this | proxy CPU µs/req | this / edge proxy CPU | uvicorn µs/req | PostgreSQL µs/req | total µs/req | new PostgreSQL connections |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in "${SERVERS[@]}"; do
		if [[ -n ${RPS[$s]:-} ]]; then
			echo "| ${LABEL[$s]} | ${RPS[$s]} | ${P50[$s]} | ${P99[$s]} | ${ERRS[$s]} | $(ratio "${RPS[$s]}" "${RPS[uvicorn]:-}") | $(ratio "${RPS[edge]:-}" "${RPS[$s]}") | $(proxy_cells "$s") | $(cpu_cell "$s" uvicorn) | $(cpu_cell "$s" postgres) | $(cpu_cell "$s" total) | ${NEW_CONNS[$s]} |"
		else
			echo "| ${LABEL[$s]} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
		fi
	done
	echo
	edge_adds
	echo
	echo "CPU per request: utime + stime from /proc/PID/stat during the measured run / requests completed; proxy = the proxy's process (nginx: master + worker), uvicorn = its supervisor and workers, PostgreSQL = the postmaster and all its backends; total = the three. New PostgreSQL connections: opened during the measured runs (the app's SQLAlchemy pool keeps 5 per worker and opens up to 5 more for the moment; each new one costs a backend fork and a SCRAM login on both sides)."
	echo "Load average before / after: $LOAD_START / $LOAD_END (other work on the machine makes the numbers noisy)."
	echo "Versions: $(go version | awk '{print $3}'), $(nginx -v 2>&1 | sed 's/.*: //'), Caddy $CADDY_VERSION, uvicorn $("$PY" -c 'import uvicorn; print(uvicorn.__version__)' 2>/dev/null), FastAPI $("$PY" -c 'import fastapi; print(fastapi.__version__)' 2>/dev/null), $(wrk -v 2>&1 | head -1 | awk '{print "wrk", $2}')."
	for s in "${SERVERS[@]}"; do
		[[ -n ${WHY_NOT[$s]:-} ]] && echo "${LABEL[$s]}: n/a — ${WHY_NOT[$s]}."
	done
	print_warnings
}

# -------------------------------------------------------------------- main ---

install_all() {
	install_packages nginx:nginx wrk:wrk taskset:util-linux curl:curl pgrep:procps psql:postgresql-client
	install_debs postgresql python3-fastapi python3-uvicorn python3-sqlalchemy python3-alembic python3-psycopg2
	if ! "$PY" -c 'import fastapi, uvicorn, sqlalchemy, alembic, psycopg2' 2>"$TMP/imports.log"; then
		tail -3 "$TMP/imports.log" >&2
		log "$PY cannot import the API's modules (fix: apt-get install python3-fastapi python3-uvicorn python3-sqlalchemy python3-alembic python3-psycopg2)"
		return 1
	fi
}

main() {
	[[ " ${SERVERS[*]} " == *" caddy "* ]] && start_caddy_install
	install_all
	AVAILABLE[nginx]=1 AVAILABLE[uvicorn]=1
	if [[ -n ${EDGE_BIN:-} ]]; then
		cp "$EDGE_BIN" "$TMP/edge" && AVAILABLE[edge]=1
	else
		build_go edge ./cmd/edge
	fi
	start_postgres || return 1
	make_database || return 1
	[[ " ${SERVERS[*]} " == *" caddy "* ]] && wait_caddy_install
	note_load_start
	start_servers || return 1
	local s r
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in "${SERVERS[@]}"; do
			if [[ -n ${AVAILABLE[$s]:-} ]]; then run_one "$s" "$r"; fi
		done
	done
	finish
}

main "$@"
