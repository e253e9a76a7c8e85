# bench/lib.sh — shell shared by the bench/*.sh scripts; sourced, never
# run. Provides: the common settings, logging and warnings, the temp dir and
# stopping by PID on exit, the installs (apt-get, Caddy via go install),
# building Go programs, port picking, the CPU layout (SERVER_CPU,
# SERVER_PROCS, LOAD_CPU), starting nginx/Caddy/Go servers pinned to
# SERVER_CPU, the common parts of the nginx and Caddy configs, wrk output
# parsing, CPU time of process trees, and the report plumbing.
#
# The sourcing script sets LOG_TAG (log prefix) before sourcing and calls
# bench_init PREFIX to create TMP and install the exit trap. Every server or
# helper process it starts goes into PID[key] (launch_* do that), so cleanup
# stops all of them. A script defines server_log KEY (the log to show when
# KEY fails to start) and start_server KEY, and may define after_cleanup
# (run on exit after those processes are stopped, before the temp dir goes).
# shellcheck shell=bash
# shellcheck disable=SC2034 # settings used by the sourcing scripts

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-1}
OUT=${OUT:-}
KEEP_TMP=${KEEP_TMP:-0}

CADDY_VERSION=v2.11.9
CACHE_DIR=${EDGE_BENCH_CACHE:-$HOME/.cache/edge-bench}
CADDY_BIN=$CACHE_DIR/bin/caddy
# The CPU layout: the server under test is pinned to the CPU list
# SERVER_CPU with SERVER_PROCS threads of work (GOMAXPROCS of the Go
# servers, nginx worker_processes); load generators run on LOAD_CPU.
# set_server_cpus changes them.
SERVER_CPU=0
SERVER_PROCS=1
LOAD_CPU=1
BROTLI_MODS=(libnginx-mod-http-brotli-filter libnginx-mod-http-brotli-static)
BROTLI_SO=/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=""
LOG_TAG=${LOG_TAG:-bench}

declare -A PID=() PORT=() AVAILABLE=() WHY_NOT=() WARNED=()
WARNINGS=()
CADDY_INSTALL_PID=""
LOAD_START="" LOAD_END=""

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }

# warn logs every time and lists each distinct message once in the report.
warn() {
	log "WARNING: $*"
	[[ -n ${WARNED[$*]:-} ]] && return 0
	WARNED[$*]=1
	WARNINGS+=("$*")
}

# ---------------------------------------------------------------- cleanup ---

stop_pid() {
	local pid=$1 _
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
	local p
	for p in "${PID[@]}"; do
		[[ -n $p ]] && stop_pid "$p"
	done
	[[ -n $CADDY_INSTALL_PID ]] && stop_pid "$CADDY_INSTALL_PID"
	wait 2>/dev/null || true
	if declare -F after_cleanup >/dev/null; then after_cleanup || true; fi
	[[ -n $TMP ]] || return 0
	if [[ $KEEP_TMP == 1 ]]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}

# bench_init PREFIX: the temp dir (readable by nginx's www-data workers) and
# the traps that stop everything on exit.
bench_init() {
	TMP=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 0755 "$TMP"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ---------------------------------------------------------------- install ---

caddy_installed() {
	[[ -x $CADDY_BIN ]] || return 1
	# "caddy version" says "unknown" for a go-install build; the module info does not.
	go version -m "$CADDY_BIN" 2>/dev/null |
		awk -v v="$CADDY_VERSION" '$1 == "mod" && $2 == "github.com/caddyserver/caddy/v2" && $3 == v {ok = 1} END {exit !ok}'
}

# Caddy is built from source (a few minutes), so start it first and in the
# background; the cache lives outside the repo and is reused across runs.
start_caddy_install() {
	if caddy_installed; then
		log "caddy $CADDY_VERSION already in $CADDY_BIN"
		return
	fi
	mkdir -p "$CACHE_DIR/bin"
	log "building caddy $CADDY_VERSION in the background (log: $TMP/caddy-install.log)"
	(cd / && GOBIN=$CACHE_DIR/bin exec go install "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION") \
		>"$TMP/caddy-install.log" 2>&1 &
	CADDY_INSTALL_PID=$!
}

wait_caddy_install() {
	if [[ -n $CADDY_INSTALL_PID ]]; then
		log "waiting for the caddy build to finish"
		if ! wait "$CADDY_INSTALL_PID"; then
			tail -20 "$TMP/caddy-install.log" >&2 || true
		fi
		CADDY_INSTALL_PID=""
	fi
	if caddy_installed; then
		AVAILABLE[caddy]=1
	else
		WHY_NOT[caddy]="caddy $CADDY_VERSION could not be built"
		warn "${WHY_NOT[caddy]}"
	fi
}

apt_candidate() { # prints the candidate version of a package, or nothing
	apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}'
}

# install_packages [-b] COMMAND:PACKAGE...: apt-get install the packages whose
# command is missing; with -b also nginx's brotli modules when apt has them.
install_packages() {
	local brotli=0 want=() pair
	if [[ ${1:-} == -b ]]; then
		brotli=1
		shift
	fi
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null || want+=("${pair#*:}")
	done
	((brotli)) && [[ -e $BROTLI_SO ]] && brotli=0 # already there
	if ((${#want[@]} == 0 && brotli == 0)); then
		log "all needed packages already installed"
		return 0
	fi
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update"
	apt-get update -qq >&2
	if ((brotli)) && [[ ! -e $BROTLI_SO ]]; then
		if [[ -n $(apt_candidate "${BROTLI_MODS[0]}") ]]; then
			want+=("${BROTLI_MODS[@]}")
		else
			log "no ${BROTLI_MODS[0]} in apt (apt-cache policy): nginx br will be n/a"
		fi
	fi
	((${#want[@]} == 0)) && return 0
	apt_install "${want[@]}"
}

# apt_install PACKAGE...: apt-get install, with the packages' own services
# (nginx on port 80, PostgreSQL's main cluster) kept from starting.
apt_install() {
	local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
	export DEBIAN_FRONTEND=noninteractive
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made_policy=1
	fi
	log "apt-get install $*"
	apt-get install -y -qq --no-install-recommends "$@" >&2 || rc=$?
	((made_policy)) && rm -f "$policy"
	return "$rc"
}

# install_debs PACKAGE...: apt-get install the Debian packages that are not
# installed yet (for what is no command, such as python3-* modules).
install_debs() {
	local want=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
	done
	if ((${#want[@]} == 0)); then
		log "packages already installed: $*"
		return 0
	fi
	log "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	apt_install "${want[@]}"
}

# build_go NAME PACKAGE: go build -o $TMP/NAME; AVAILABLE[NAME] on success.
build_go() {
	log "go build -o $TMP/$1 $2"
	if (cd "$REPO" && go build -o "$TMP/$1" "$2") >"$TMP/$1-build.log" 2>&1; then
		AVAILABLE[$1]=1
	else
		tail -20 "$TMP/$1-build.log" >&2
		WHY_NOT[$1]="$1 did not build (go build $2)"
		warn "${WHY_NOT[$1]}"
	fi
}

# ------------------------------------------------------------- utilities ---

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: a free port on 127.0.0.1 that no PORT[] entry has taken yet.
free_port() {
	local p used q
	while :; do
		# Below Linux's ephemeral range (32768-60999): a port there may be
		# bound by a client socket (wrk's, a proxy's upstream connections)
		# that a connect test does not see.
		p=$((20000 + RANDOM % 12000))
		used=0
		for q in "${PORT[@]}"; do [[ $q == "$p" ]] && used=1; done
		((used == 0)) && ! port_in_use "$p" && break
	done
	echo "$p"
}

# wait_listening KEY: until PORT[KEY] accepts TCP connections (no HTTP
# request, so an idle RSS is measured before the first request).
wait_listening() {
	local k=$1 _
	for _ in $(seq 1 100); do
		kill -0 "${PID[$k]}" 2>/dev/null || return 1
		port_in_use "${PORT[$k]}" && return 0
		sleep 0.1
	done
	return 1
}

# cpu_count LIST: how many CPUs a taskset list ("0", "0,1", "2-5") names.
cpu_count() {
	awk -v l="$1" 'BEGIN {
		n = split(l, parts, ",")
		for (i = 1; i <= n; i++) {
			if (split(parts[i], r, "-") == 2) c += r[2] - r[1] + 1; else c++
		}
		print c
	}'
}

# cpus_from N: the CPUs from N to the last one, or "" when there are none.
cpus_from() {
	local last
	last=$(($(nproc) - 1))
	if (($1 > last)); then
		echo ""
	elif (($1 == last)); then
		echo "$1"
	else
		echo "$1-$last"
	fi
}

# set_server_cpus N: the server under test on CPUs 0..N-1 with N threads of
# work; the load generator on the next CPU, or on the same CPUs when the
# machine has no more (then load and server share them). Fails with a
# message naming the fix when N is not a number from 1 to the CPU count.
set_server_cpus() {
	local n=$1 have
	have=$(nproc)
	if ! [[ $n =~ ^[1-9][0-9]*$ ]] || ((n > have)); then
		log "SERVER_CPUS=$n: want a whole number from 1 to $have (the CPUs of this machine)"
		return 1
	fi
	SERVER_PROCS=$n
	SERVER_CPU=0
	((n > 1)) && SERVER_CPU=0-$((n - 1))
	((n == 2)) && SERVER_CPU=0,1
	LOAD_CPU=$n
	((n < have)) || LOAD_CPU=$SERVER_CPU
}

# layout_note: the CPU layout in words, for the reports.
layout_note() {
	local procs="GOMAXPROCS=$SERVER_PROCS for Go, $SERVER_PROCS nginx worker"
	((SERVER_PROCS > 1)) && procs+=s
	echo "servers on CPU $SERVER_CPU ($procs), load generator on CPU $LOAD_CPU"
}

# tree_ticks PID: CPU time (user + system, clock ticks) that PID and all
# its descendants (nginx's workers, uvicorn's workers, PostgreSQL's
# backends) have used so far, including descendants that have exited (a
# PostgreSQL backend of a closed connection): a live process's own time plus
# the time of its children that exited and that it waited for.
tree_ticks() {
	local total=0 p v
	for p in $(tree_pids "$1"); do
		# Fields 14-17 of /proc/PID/stat (utime, stime, cutime, cstime),
		# counted after the ")" that ends the command name.
		v=$(awk '{sub(/.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

tree_pids() { # tree_pids PID: PID and its descendants
	local c
	echo "$1"
	for c in $(pgrep -P "$1" || true); do tree_pids "$c"; done
}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# us_per_req TICKS REQUESTS: CPU µs per request, one decimal; "" without requests.
us_per_req() {
	[[ -n ${2:-} ]] && (($2 > 0)) || return 0
	awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}'
}

# ---------------------------------------------------------------- servers ---
# Each launch_* starts one server in the background pinned to SERVER_CPU
# with SERVER_PROCS threads of work and records its PID under KEY.

launch_go() { # launch_go KEY LOGFILE BINARY ARGS...
	local k=$1 logf=$2
	shift 2
	GOMAXPROCS=$SERVER_PROCS taskset -c "$SERVER_CPU" "$@" >"$logf" 2>&1 &
	PID[$k]=$!
}

launch_nginx() { # launch_nginx KEY DIR (DIR/nginx.conf)
	local k=$1 d=$2
	if ! nginx -t -q -c "$d/nginx.conf" 2>"$d/test.log"; then
		cat "$d/test.log" >&2
		WHY_NOT[$k]="nginx -t failed"
		return 1
	fi
	taskset -c "$SERVER_CPU" nginx -c "$d/nginx.conf" >"$d/stdout.log" 2>&1 &
	PID[$k]=$!
}

launch_caddy() { # launch_caddy KEY DIR (DIR/Caddyfile; config and data under DIR)
	local k=$1 d=$2
	GOMAXPROCS=$SERVER_PROCS XDG_CONFIG_HOME=$d/config XDG_DATA_HOME=$d/data \
		taskset -c "$SERVER_CPU" "$CADDY_BIN" run --adapter caddyfile --config "$d/Caddyfile" \
		>"$d/caddy.log" 2>&1 &
	PID[$k]=$!
}

# start_or_drop KEY: start_server KEY (the script's); on failure stop what
# was started, warn, show the server's log and return 1.
start_or_drop() {
	local k=$1
	start_server "$k" && return 0
	AVAILABLE[$k]=""
	[[ -n ${PID[$k]:-} ]] && stop_pid "${PID[$k]}"
	warn "${WHY_NOT[$k]:-$k did not start}"
	tail -20 "$(server_log "$k")" >&2 || true
	return 1
}

# nginx_prelude DIR [FIRST-LINE]: the main and events blocks and the start of
# the http block (left open) shared by all nginx configs: SERVER_PROCS
# workers, no daemon, files under DIR, no access log, no keep-alive request limit (the Go
# servers have none).
nginx_prelude() {
	local d=$1 user=""
	[[ $(id -u) == 0 ]] && id www-data >/dev/null 2>&1 && user="user www-data;"
	[[ -n ${2:-} ]] && echo "$2"
	cat <<EOF
$user
worker_processes $SERVER_PROCS;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;   # Go servers have no per-connection limit
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
EOF
}

# caddy_global [LINE...]: Caddy's global options block: no admin endpoint,
# no automatic HTTPS or redirects, nothing persisted; extra lines go inside.
caddy_global() {
	local l
	printf '{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n'
	for l in "$@"; do printf '\t%s\n' "$l"; done
	printf '}\n'
}

# ------------------------------------------------------------------- wrk ---

# parse_pct FILE PCT: a latency percentile ("99%") of wrk --latency, in ms.
parse_pct() {
	awk -v p="$2" '$1 == p {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
		printf "%.2f", v
	}' "$1"
}

parse_rps() { awk '$1 == "Requests/sec:" {printf "%.0f", $2}' "$1"; }

# parse_requests FILE: the requests wrk completed in the run.
parse_requests() { awk '$2 == "requests" && $3 == "in" {print $1}' "$1"; }

# parse_errors FILE: non-2xx/3xx responses plus socket errors (connect,
# read, write, timeout) of a wrk run, summed.
parse_errors() {
	awk '
		/Non-2xx or 3xx responses:/ {n += $NF}
		/Socket errors:/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) {v = $i; sub(/,/, "", v); n += v}}
		END {print n + 0}' "$1"
}

# ---------------------------------------------------------------- report ---

ratio() { # ratio A B -> A/B with two decimals, or n/a
	if [[ -n ${1:-} && -n ${2:-} && ${2:-0} != 0 ]]; then
		awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
	else
		echo "n/a"
	fi
}

# note_load_start: the load average before the run, with a warning when the
# machine is busy.
note_load_start() {
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	awk '$1 > 0.7 {exit 1}' /proc/loadavg ||
		warn "load average $LOAD_START before the run: something else is using the CPUs, numbers will be noisy"
}

print_warnings() {
	((${#WARNINGS[@]})) || return 0
	local w
	echo
	echo "Warnings:"
	for w in "${WARNINGS[@]}"; do echo "- $w"; done
}

# emit_report MARKDOWN: to stdout, and to $OUT when set.
emit_report() {
	printf '%s\n' "$1"
	if [[ -n $OUT ]]; then
		printf '%s\n' "$1" >"$OUT"
		log "report written to $OUT"
	fi
}

# finish: the load average after the run, then the report (the script's
# report function) to stdout and $OUT; fails when edge was not measured.
finish() {
	LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
	emit_report "$(report)"
	[[ -n ${AVAILABLE[edge]:-} ]] || return 1
}
