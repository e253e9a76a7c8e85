#!/usr/bin/env bash
# bench/proxy.sh — reverse-proxy benchmark: edge vs nginx vs Caddy in front
# of the same fast Go stub upstream (bench/stub: GET /api/ping, ~100 B of
# JSON), plus the stub alone as the baseline, each loaded with wrk; in up to
# three CPU layouts, one table each.
#
#   bash bench/proxy.sh                  # all three layouts, 10 s per server
#   LAYOUTS=shared bash bench/proxy.sh   # one layout
#   DURATION=30s OUT=/tmp/proxy.md bash bench/proxy.sh
#
# Environment:
#   LAYOUTS     the CPU layouts to run, in this order (default
#               "shared split twocore"):
#                 shared   server on CPU 0 (GOMAXPROCS=1, 1 nginx worker),
#                          the stub on CPU 0 too, wrk on CPU 1
#                 split    server on CPU 0 (GOMAXPROCS=1, 1 nginx worker),
#                          the stub on CPU 1 with wrk
#                 twocore  server on CPUs 0,1 (GOMAXPROCS=2, 2 nginx
#                          workers); the stub (GOMAXPROCS=2) and wrk on
#                          CPUs 0,1 too, or on CPUs 2.. when the machine
#                          has more than 2
#   STUB_CPU    older switch, used only when LAYOUTS is unset: 0 = shared,
#               1 = split
#   DURATION    wrk duration per server (default 10s)
#   WARMUP      wrk warm-up per server (default 2s)
#   CONNS       wrk connections (default 50)
#   WRK_THREADS wrk threads (default 1)
#   ROUNDS      measured rounds per layout, servers interleaved; the round
#               with the most req/s is reported per server, the lowest CPU
#               per request, errors are summed (default 1)
#   OUT         also write the markdown report to this file
#   KEEP_TMP=1  keep the temp dir (configs, logs, raw wrk output)
#   PROXIES     the servers to measure besides the stub (default
#               "edge nginx caddy gofloor"; without caddy no Caddy build
#               happens). gofloor is bench/gofloor -mode proxy: the least a
#               Go net/http server does to forward the request, the floor
#               for edge's own cost (not a proxy to use)
#   EDGE_BIN    measure this edge binary instead of building ./cmd/edge
#
# Server CPU per request is the utime + stime the server (nginx: master and
# workers; never the stub) used during the measured run, divided by the
# requests wrk completed: it holds even when wrk is the limit. The servers
# are started again for each layout. Every proxy keeps upstream connections
# alive (nginx: keepalive 64) and adds the same work: X-Forwarded-For/-Proto/
# -Host, X-Real-IP, X-Request-ID, and the security headers edge sends by
# default. No access logs.
#
# Needs root on Debian/Ubuntu for apt-get (skipped when nginx, wrk, taskset
# and curl are present). Caddy v2.11.9 is built with go install into
# ~/.cache/edge-bench/bin when missing. All traffic goes to 127.0.0.1; every
# process started here is stopped by PID on exit.
set -euo pipefail

LOG_TAG=proxy-bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=bench/proxylib.sh
source "$(dirname "${BASH_SOURCE[0]}")/proxylib.sh"
PATH_PING=/api/ping

# "stub" is the upstream alone: the ceiling for the proxies.
read -r -a SERVERS <<<"stub ${PROXIES:-edge nginx caddy gofloor}"
declare -A LABEL=([stub]="stub alone (baseline)" [edge]=edge [nginx]=nginx [caddy]=Caddy [gofloor]="Go floor (bench/gofloor)")
# Results per "LAYOUT,SERVER".
declare -A RPS=() P99=() P50=() ERRS=() STATUS=() BYTES=() CPU_US=() BUILT=()
declare -A LAYOUT_NOTE=() LAYOUT_TITLE=(
	[shared]="stub on the server's core"
	[split]="stub on the load core"
	[twocore]="two cores for the server"
)

if [[ -z ${LAYOUTS:-} ]]; then
	case ${STUB_CPU:-} in
	"") LAYOUTS="shared split twocore" ;;
	0) LAYOUTS="shared" ;;
	1) LAYOUTS="split" ;;
	*)
		log "STUB_CPU=$STUB_CPU: want 0 (LAYOUTS=shared) or 1 (LAYOUTS=split); LAYOUTS replaces it"
		exit 2
		;;
	esac
fi
read -r -a LAYOUT_LIST <<<"$LAYOUTS"
for l in "${LAYOUT_LIST[@]}"; do
	if [[ -z ${LAYOUT_TITLE[$l]:-} ]]; then
		log "LAYOUTS: unknown layout \"$l\": want some of shared, split, twocore"
		exit 2
	fi
done
bench_init edge-proxy-bench

# ----------------------------------------------------------------- layouts ---

L="" LDIR="" STUB_CPUS="" STUB_PROCS=1

# apply_layout LAYOUT: the CPUs and threads of server, stub and wrk; fails
# when the machine has too few CPUs for it.
apply_layout() {
	L=$1
	LDIR=$TMP/$L
	mkdir -p "$LDIR"
	chmod 0755 "$LDIR"
	case $L in
	shared | split)
		SERVER_CPU=0 SERVER_PROCS=1 LOAD_CPU=1 STUB_PROCS=1
		STUB_CPUS=0
		[[ $L == split ]] && STUB_CPUS=1
		;;
	twocore)
		if (($(nproc) < 2)); then
			warn "layout twocore: this machine has $(nproc) CPU, it needs 2"
			return 1
		fi
		SERVER_CPU=0,1 SERVER_PROCS=2
		LOAD_CPU=$(cpus_from 2)
		[[ -n $LOAD_CPU ]] || LOAD_CPU=0,1
		STUB_CPUS=$LOAD_CPU
		STUB_PROCS=$(cpu_count "$STUB_CPUS")
		((STUB_PROCS > 2)) && STUB_PROCS=2
		;;
	esac
	local workers="1 nginx worker"
	((SERVER_PROCS == 1)) || workers="$SERVER_PROCS nginx workers"
	LAYOUT_NOTE[$L]="wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency on CPU $LOAD_CPU; the server under test on CPU $SERVER_CPU (GOMAXPROCS=$SERVER_PROCS for Go, $workers); the stub on CPU $STUB_CPUS (GOMAXPROCS=$STUB_PROCS)."
	log "layout $L: ${LAYOUT_NOTE[$L]}"
}

# ---------------------------------------------------------------- servers ---

start_server() {
	local s=$1
	PORT[$s]=$(free_port)
	case $s in
	stub)
		GOMAXPROCS=$STUB_PROCS taskset -c "$STUB_CPUS" "$TMP/stub" -addr "127.0.0.1:${PORT[stub]}" \
			>"$LDIR/stub.log" 2>&1 &
		PID[stub]=$!
		;;
	*) start_proxy "$s" "$LDIR/$s" "127.0.0.1:${PORT[stub]}" || return 1 ;;
	esac
	if ! wait_listening "$s"; then
		WHY_NOT[$s]="${LABEL[$s]} did not start listening on 127.0.0.1:${PORT[$s]}"
		return 1
	fi
	log "${LABEL[$s]} pid ${PID[$s]} on 127.0.0.1:${PORT[$s]}"
}

server_log() {
	case $1 in
	stub) echo "$LDIR/stub.log" ;;
	*) proxy_log "$1" "$LDIR/$1" ;;
	esac
}

start_servers() {
	local s
	for s in "${SERVERS[@]}"; do
		AVAILABLE[$s]=${BUILT[$s]:-}
		[[ -n ${AVAILABLE[$s]} ]] || continue
		if ! start_or_drop "$s" && [[ $s == stub ]]; then
			return 1 # nothing to proxy to
		fi
	done
}

stop_servers() {
	local s
	for s in "${SERVERS[@]}"; do
		[[ -n ${PID[$s]:-} ]] && stop_pid "${PID[$s]}"
		unset "PID[$s]" "PORT[$s]"
	done
}

# --------------------------------------------------------------- measuring ---

url_of() { echo "http://127.0.0.1:${PORT[$1]}$PATH_PING"; }

# One curl first: status and body size, so that a misconfigured proxy is
# flagged instead of measured.
probe() {
	local s=$1 k=$L,$1 out
	out=$(curl -sS -o "$LDIR/body-$s.txt" -D "$LDIR/headers-$s.txt" -w '%{http_code} %{size_download}' "$(url_of "$s")") ||
		out="000 0"
	STATUS[$k]=${out% *}
	BYTES[$k]=${out#* }
	if [[ ${STATUS[$k]} != 200 ]]; then
		warn "${LABEL[$s]} ($L): GET $PATH_PING answered ${STATUS[$k]}, want 200"
	elif [[ $s != stub ]] && ! cmp -s "$LDIR/body-$s.txt" "$LDIR/body-stub.txt"; then
		warn "${LABEL[$s]} ($L): GET $PATH_PING answered ${BYTES[$k]} B that differ from the stub's body"
	fi
}

run_one() { # run_one SERVER ROUND
	local s=$1 r=$2 k=$L,$1 f=$LDIR/wrk-$1-$2.txt rps
	((r == 1)) && probe "$s"
	log "$L: ${LABEL[$s]} (round $r/$ROUNDS): warm-up $WARMUP, then wrk -t$WRK_THREADS -c$CONNS -d$DURATION"
	measure "$(url_of "$s")" "$f" "server=${PID[$s]}"
	[[ $s != stub ]] && keep_lower "CPU_US[$k]" "${LAST_US[server]:-}"
	ERRS[$k]=$((${ERRS[$k]:-0} + LAST_ERRS))
	((LAST_ERRS == 0)) || warn "${LABEL[$s]} ($L, round $r): $LAST_ERRS errors under load: $(grep -E 'Non-2xx|Socket errors' "$f" | tr '\n' ' ')"
	rps=$(parse_rps "$f")
	log "  ${rps:-?} req/s, p99 $(parse_pct "$f" 99%) ms, server CPU ${LAST_US[server]:-?} µs/request"
	if [[ -n $rps ]] && ((rps > ${RPS[$k]:-0})); then
		RPS[$k]=$rps
		P50[$k]=$(parse_pct "$f" 50%)
		P99[$k]=$(parse_pct "$f" 99%)
	fi
}

# ------------------------------------------------------------------ report ---

layout_table() {
	local l=$1 s k
	echo "### Reverse proxy, ${LAYOUT_TITLE[$l]} ($l): GET $PATH_PING (~100 B JSON from bench/stub)"
	echo
	echo "${LAYOUT_NOTE[$l]:-not run.}"
	((ROUNDS > 1)) && echo "Best of $ROUNDS interleaved rounds per server (req/s and its p50/p99; lowest CPU per request); errors summed over all rounds."
	echo
	echo "| server | req/s | p50 ms | p99 ms | errors | of stub alone | edge / this | server CPU µs/req | this / edge CPU |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in "${SERVERS[@]}"; do
		k=$l,$s
		if [[ -n ${RPS[$k]:-} ]]; then
			echo "| ${LABEL[$s]} | ${RPS[$k]} | ${P50[$k]} | ${P99[$k]} | ${ERRS[$k]} | $(ratio "${RPS[$k]}" "${RPS[$l,stub]:-}") | $(ratio "${RPS[$l,edge]:-}" "${RPS[$k]}") | ${CPU_US[$k]:-n/a} | $(ratio "${CPU_US[$k]:-}" "${CPU_US[$l,edge]:-}") |"
		else
			echo "| ${LABEL[$s]} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
		fi
	done
	echo
}

# summary: edge against nginx and Caddy, one line per layout.
summary() {
	local l
	echo "### Reverse proxy, edge against nginx and Caddy per layout"
	echo
	echo "Above 1: edge ahead (req/s: edge / other; CPU and p99: other / edge)."
	echo
	echo "| layout | req/s vs nginx | req/s vs Caddy | CPU/req vs nginx | CPU/req vs Caddy | p99 vs nginx | p99 vs Caddy | errors edge / nginx / Caddy |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|"
	for l in "${LAYOUT_LIST[@]}"; do
		echo "| $l | $(ratio "${RPS[$l,edge]:-}" "${RPS[$l,nginx]:-}") | $(ratio "${RPS[$l,edge]:-}" "${RPS[$l,caddy]:-}") | $(ratio "${CPU_US[$l,nginx]:-}" "${CPU_US[$l,edge]:-}") | $(ratio "${CPU_US[$l,caddy]:-}" "${CPU_US[$l,edge]:-}") | $(ratio "${P99[$l,nginx]:-}" "${P99[$l,edge]:-}") | $(ratio "${P99[$l,caddy]:-}" "${P99[$l,edge]:-}") | ${ERRS[$l,edge]:-n/a} / ${ERRS[$l,nginx]:-n/a} / ${ERRS[$l,caddy]:-n/a} |"
	done
	echo
}

report() {
	local l s
	for l in "${LAYOUT_LIST[@]}"; do layout_table "$l"; done
	((${#LAYOUT_LIST[@]} > 1)) && summary
	echo "Server CPU per request: utime + stime of the server (nginx: master + workers; never the stub) during the measured run / requests completed."
	echo "Load average before / after: $LOAD_START / $LOAD_END (other work on the machine makes the numbers noisy)."
	echo "Versions: $(go version | awk '{print $3}'), $(nginx -v 2>&1 | sed 's/.*: //'), Caddy $CADDY_VERSION, $(wrk -v 2>&1 | head -1 | awk '{print "wrk", $2}')."
	for s in "${SERVERS[@]}"; do
		[[ -n ${WHY_NOT[$s]:-} ]] && echo "${LABEL[$s]}: n/a — ${WHY_NOT[$s]}."
	done
	print_warnings
}

# -------------------------------------------------------------------- main ---

run_layout() {
	local s r
	apply_layout "$1" || return 0
	if start_servers; then
		for ((r = 1; r <= ROUNDS; r++)); do
			for s in "${SERVERS[@]}"; do
				if [[ -n ${AVAILABLE[$s]:-} ]]; then run_one "$s" "$r"; fi
			done
		done
	else
		warn "layout $1: the stub did not start, nothing measured"
	fi
	stop_servers
}

main() {
	[[ " ${SERVERS[*]} " == *" caddy "* ]] && start_caddy_install
	install_packages nginx:nginx wrk:wrk taskset:util-linux curl:curl pgrep:procps
	AVAILABLE[nginx]=1
	build_go stub ./bench/stub
	if [[ -n ${EDGE_BIN:-} ]]; then
		cp "$EDGE_BIN" "$TMP/edge" && AVAILABLE[edge]=1
	else
		build_go edge ./cmd/edge
	fi
	[[ " ${SERVERS[*]} " == *" gofloor "* ]] && build_go gofloor ./bench/gofloor
	[[ -n ${AVAILABLE[stub]:-} ]] || return 1
	[[ " ${SERVERS[*]} " == *" caddy "* ]] && wait_caddy_install
	local s l
	for s in "${SERVERS[@]}"; do BUILT[$s]=${AVAILABLE[$s]:-}; done
	note_load_start
	for l in "${LAYOUT_LIST[@]}"; do run_layout "$l"; done
	AVAILABLE[edge]=${BUILT[edge]:-}
	for l in "${LAYOUT_LIST[@]}"; do
		[[ -n ${RPS[$l,edge]:-} ]] || AVAILABLE[edge]=""
	done
	finish
}

main "$@"
