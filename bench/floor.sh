#!/usr/bin/env bash
# bench/floor.sh — CPU per request of edge next to nginx and the Go floor
# (bench/gofloor) on the plain request path, servers alternating run after
# run so that drift of a shared machine hits all of them alike; the median
# of the rounds is reported. Meant for before/after comparisons of edge
# builds: EDGE_BINS names them.
#
#   bash bench/floor.sh
#   ROUNDS=5 EDGE_BINS="before=/tmp/edge-old after=/tmp/edge-new" bash bench/floor.sh
#
# Environment:
#   ROUNDS     rounds; each runs every row with every server once (default 3)
#   DURATION   measured wrk run (default 6s), after a WARMUP (default 2s)
#   CONNS      wrk connections (default 50)
#   ROWS       rows to run (default "proxy static ico spa")
#   EDGE_BINS  "NAME=PATH ..." edge binaries to compare (default: ./cmd/edge
#              built as "edge")
#   OUT        also write the markdown report to this file
#
# Rows: proxy = GET /api/ping through the server to bench/stub (the stub on
# the load core, so the server's core runs the proxy only); static = GET /
# (2048-byte index.html); ico = GET /favicon.ico (a 1 KB icon that
# compresses, so edge answers it with Vary); spa = GET /courses/42/lessons
# (SPA fallback to index.html). The server runs alone on CPU 0
# (GOMAXPROCS=1, one nginx worker), wrk -t1 and the stub on CPU 1. CPU per
# request = utime + stime of the server's process tree during the measured
# run / requests completed. gofloor answers every static row with 2 KB from
# memory and the header fields edge sends (see bench/gofloor).
set -euo pipefail

LOG_TAG=floor-bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=bench/proxylib.sh
source "$(dirname "${BASH_SOURCE[0]}")/proxylib.sh"
bench_init edge-floor-bench
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6s}
read -r -a ROW_LIST <<<"${ROWS:-proxy static ico spa}"
declare -A ROW_PATH=([proxy]=/api/ping [static]=/ [ico]=/favicon.ico [spa]=/courses/42/lessons)
declare -A EDGE=() SAMPLES=() P99S=()
EDGE_NAMES=()

make_site() {
	local d=$TMP/site
	mkdir -p "$d"
	# index.html of exactly 2048 bytes, the icon: a 22-byte ICO header
	# and zeros (compressible), 1024 bytes in all.
	{ printf '<!doctype html><title>bench</title>'; head -c 2013 /dev/zero | tr '\0' 'x'; } >"$d/index.html"
	{ printf '\0\0\1\0\1\0\20\20\0\0\1\0\40\0\352\3\0\0\26\0\0\0'; head -c 1002 /dev/zero; } >"$d/favicon.ico"
}

# nginx: the static site with try_files (SPA) and /api/ proxied, the same
# headers as edge (proxylib's proxy config, with a root).
floor_nginx_config() {
	local d=$TMP/nginx
	proxy_nginx_config "$d" "$1" "$2"
	sed -i "s|^\(\s*listen 127.0.0.1:$1;\)|\1\n        root $TMP/site;\n        include /etc/nginx/mime.types;\n        location / { try_files \$uri /index.html; }|" "$d/nginx.conf"
}

floor_edge_config() { # floor_edge_config NAME PORT UPSTREAM: proxylib's config, the fixture as root
	proxy_edge_config "$TMP/$1" "$2" "$3"
	sed -i "s|^root = .*|root = \"$TMP/site\"|" "$TMP/$1/edge.toml"
}

# run_cell SERVER ROW: one measured run; appends to SAMPLES and P99S.
run_cell() {
	local s=$1 row=$2 port url f
	port=$(free_port)
	PORT[$s]=$port
	case $s in
	nginx)
		floor_nginx_config "$port" "127.0.0.1:${PORT[stub]}"
		launch_nginx "$s" "$TMP/nginx"
		;;
	gofloor)
		local mode=static
		[[ $row == proxy ]] && mode=proxy
		launch_go "$s" "$TMP/gofloor.log" "$TMP/gofloor" -mode "$mode" -addr "127.0.0.1:$port" -upstream "127.0.0.1:${PORT[stub]}"
		;;
	*)
		floor_edge_config "$s" "$port" "127.0.0.1:${PORT[stub]}"
		launch_go "$s" "$TMP/$s.log" "${EDGE[$s]}" run -config "$TMP/$s/edge.toml"
		;;
	esac
	if ! wait_listening "$s"; then
		warn "$s did not start for row $row: $(tail -c 300 "$TMP/$s.log" 2>/dev/null | tr '\n' ' ')"
		[[ -n ${PID[$s]:-} ]] && stop_pid "${PID[$s]}"
		unset "PID[$s]" "PORT[$s]"
		return 0
	fi
	url="http://127.0.0.1:$port${ROW_PATH[$row]}"
	f=$TMP/$s-$row.wrk
	measure "$url" "$f" "$s=${PID[$s]}"
	SAMPLES[$s,$row]+="${LAST_US[$s]} "
	P99S[$s,$row]+="$(parse_p99 "$f") "
	((LAST_ERRS == 0)) || warn "$s $row: $LAST_ERRS errors"
	stop_pid "${PID[$s]}"
	unset "PID[$s]" "PORT[$s]"
}

parse_p99() { awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; printf "%.2f", v}' "$1"; }

# median "V V ...": the median, or nothing when there are no samples.
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {if (NR % 2) {print a[(NR + 1) / 2]} else if (NR) {printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2}}' || true; }
cell() { local v; v=$(median "$1"); echo "${v:-n/a}"; }

report() {
	local servers=(nginx gofloor "${EDGE_NAMES[@]}") s row head="| row |" sep="|---|"
	for s in "${servers[@]}"; do head+=" $s µs/req |"; sep+="---:|"; done
	for s in "${EDGE_NAMES[@]}"; do head+=" nginx / $s CPU |"; sep+="---:|"; done
	for s in "${servers[@]}"; do head+=" $s p99 ms |"; sep+="---:|"; done
	echo "### CPU per request: edge next to nginx and the Go floor (median of $ROUNDS alternating rounds)"
	echo
	echo "$head"
	echo "$sep"
	for row in "${ROW_LIST[@]}"; do
		local line="| $row ${ROW_PATH[$row]} |"
		for s in "${servers[@]}"; do line+=" $(cell "${SAMPLES[$s,$row]:-}") |"; done
		for s in "${EDGE_NAMES[@]}"; do line+=" $(ratio "$(median "${SAMPLES[nginx,$row]:-}")" "$(median "${SAMPLES[$s,$row]:-}")") |"; done
		for s in "${servers[@]}"; do line+=" $(cell "${P99S[$s,$row]:-}") |"; done
		echo "$line"
	done
	echo
	echo "Each sample: wrk -t1 -c$CONNS -d$DURATION on CPU $LOAD_CPU after a $WARMUP warm-up; the server alone on CPU $SERVER_CPU (GOMAXPROCS=1, one nginx worker); bench/stub on CPU $LOAD_CPU. Samples per cell:"
	for row in "${ROW_LIST[@]}"; do
		for s in "${servers[@]}"; do echo "- $row, $s: ${SAMPLES[$s,$row]:-none}"; done
	done
	echo
	echo "Load average before / after: $LOAD_START / $LOAD_END."
	print_warnings
}

main() {
	install_packages nginx:nginx wrk:wrk taskset:util-linux curl:curl pgrep:procps
	make_site
	build_go stub ./bench/stub
	build_go gofloor ./bench/gofloor
	local e
	if [[ -n ${EDGE_BINS:-} ]]; then
		for e in $EDGE_BINS; do
			EDGE[${e%%=*}]=${e#*=}
			EDGE_NAMES+=("${e%%=*}")
		done
	else
		build_go edge ./cmd/edge
		EDGE[edge]=$TMP/edge
		EDGE_NAMES=(edge)
	fi
	PORT[stub]=$(free_port)
	GOMAXPROCS=1 taskset -c "$LOAD_CPU" "$TMP/stub" -addr "127.0.0.1:${PORT[stub]}" >"$TMP/stub.log" 2>&1 &
	PID[stub]=$!
	wait_listening stub || { warn "the stub did not start"; return 1; }
	note_load_start
	local r row s
	for ((r = 1; r <= ROUNDS; r++)); do
		log "round $r of $ROUNDS"
		for row in "${ROW_LIST[@]}"; do
			for s in nginx gofloor "${EDGE_NAMES[@]}"; do run_cell "$s" "$row"; done
		done
	done
	finish
}

main "$@"
