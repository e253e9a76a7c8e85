#!/usr/bin/env bash
# bench/h3.sh: HTTP/3 keep-alive against HTTP/2 keep-alive, edge and Caddy
# side by side, one run. Each server serves the same 2 KB index.html over
# HTTPS (one self-signed ECDSA P-256 certificate for localhost) with HTTP/3
# on UDP at the same port, pinned to CPU 0 with GOMAXPROCS=1; the load
# generator (bench/h3load: quic-go's HTTP/3 client, Go's HTTP/2 client) runs
# pinned to CPU 1 with CONNS requests in flight over H3_CONNS connections.
# It reports requests/s, latency and the server's CPU time per request
# (from /proc/PID/stat), and the ratios edge/Caddy and HTTP/3 / HTTP/2.
#
#   bash bench/h3.sh                         # DURATION=10s per row
#   DURATION=20s OUT=/tmp/h3.md bash bench/h3.sh
#
# Variables as in run.sh (DURATION, WARMUP, CONNS, OUT, KEEP_TMP) plus
# H3_CONNS (default 10). Caddy is built with go install on first use (see
# lib.sh); without it the Caddy rows are n/a. Every process it starts is
# stopped by PID on exit; exit status 1 when edge could not be measured.
set -euo pipefail
LOG_TAG=h3bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
H3_CONNS=${H3_CONNS:-10}
declare -A RESULT=()

write_site() {
	mkdir -p "$TMP/site"
	{
		echo '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title></head><body>'
		for _ in $(seq 1 30); do echo '<p>padding so that the index is about two kilobytes long</p>'; done
		echo '</body></html>'
	} >"$TMP/site/index.html"
}

make_cert() {
	mkdir -p "$TMP/tls"
	CERT=$TMP/tls/cert.pem KEY=$TMP/tls/key.pem
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 7 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost \
		-keyout "$KEY" -out "$CERT" >"$TMP/tls/openssl.log" 2>&1
}

start_server() {
	local k=$1
	PORT[$k]=$(free_port)
	case $k in
	edge)
		PORT[edge-http]=$(free_port)
		mkdir -p "$TMP/edge-state"
		cat >"$TMP/edge.toml" <<EOF
[server]
http = "127.0.0.1:${PORT[edge-http]}"
https = "127.0.0.1:${PORT[edge]}"
http3 = true
state_dir = "$TMP/edge-state"
admin_socket = "$TMP/edge-admin.sock"
access_log = "off"

[site]
domains = ["localhost"]
root = "$TMP/site"

[tls]
certificates = [{ cert = "$CERT", key = "$KEY" }]
EOF
		launch_go edge "$TMP/edge.log" "$TMP/edge" run -config "$TMP/edge.toml"
		;;
	caddy)
		mkdir -p "$TMP/caddy"
		{
			caddy_global "servers {" "	protocols h1 h2 h3" "}"
			cat <<EOF

https://localhost:${PORT[caddy]} {
	bind 127.0.0.1
	tls $CERT $KEY
	root * $TMP/site
	file_server
}
EOF
		} >"$TMP/caddy/Caddyfile"
		launch_caddy caddy "$TMP/caddy"
		;;
	esac
	wait_listening "$k" || { WHY_NOT[$k]="$k did not start on 127.0.0.1:${PORT[$k]}"; return 1; }
	sleep 1
}

server_log() { [[ $1 == edge ]] && echo "$TMP/edge.log" || echo "$TMP/caddy/caddy.log"; }

measure() { # measure SERVER PROTO
	local s=$1 p=$2 out=$TMP/$1-$2.txt
	log "$s over $p: $DURATION"
	if taskset -c "$LOAD_CPU" "$TMP/h3load" -proto "$p" -addr "127.0.0.1:${PORT[$s]}" -sni localhost \
		-cacert "$CERT" -c "$CONNS" -conns "$H3_CONNS" -d "$DURATION" -warmup "$WARMUP" -pid "${PID[$s]}" >"$out" 2>&1; then
		RESULT[$s,$p]=$(cat "$out")
		log "${RESULT[$s,$p]}"
	else
		warn "$s over $p failed: $(tail -1 "$out")"
	fi
}

field() { # field SERVER PROTO KEY
	local line=${RESULT[$1,$2]:-}
	[[ -n $line ]] || { echo ""; return; }
	tr ' ' '\n' <<<"$line" | awk -F= -v k="$3" '$1 == k {print $2}'
}

report() {
	local s p
	echo "### HTTP/3 and HTTP/2 keep-alive: GET / (2 KB), $CONNS in flight over $H3_CONNS connections, $DURATION"
	echo
	echo "Load average before/after: $LOAD_START / $LOAD_END. Server on CPU $SERVER_CPU (GOMAXPROCS=1), h3load on CPU $LOAD_CPU."
	echo
	echo "| server | protocol | req/s | p50 ms | p99 ms | server CPU µs/req | errors |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	for s in edge caddy; do
		for p in h3 h2; do
			if [[ -z ${RESULT[$s,$p]:-} ]]; then
				echo "| $s | $p | n/a | | | | |"
				continue
			fi
			echo "| $s | $p | $(field "$s" "$p" rps) | $(field "$s" "$p" p50_ms) | $(field "$s" "$p" p99_ms) | $(field "$s" "$p" server_cpu_us_per_req) | $(field "$s" "$p" errors) |"
		done
	done
	echo
	for p in h3 h2; do
		echo "- $p edge/Caddy: req/s $(ratio "$(field edge "$p" rps)" "$(field caddy "$p" rps)"), CPU per request $(ratio "$(field edge "$p" server_cpu_us_per_req)" "$(field caddy "$p" server_cpu_us_per_req)") (below 1: edge uses less)"
	done
	echo "- edge h3/h2: req/s $(ratio "$(field edge h3 rps)" "$(field edge h2 rps)"), CPU per request $(ratio "$(field edge h3 server_cpu_us_per_req)" "$(field edge h2 server_cpu_us_per_req)")"
	print_warnings
}

main() {
	bench_init edge-h3bench
	start_caddy_install
	build_go edge ./cmd/edge
	build_go h3load ./bench/h3load
	[[ -n ${AVAILABLE[edge]:-} && -n ${AVAILABLE[h3load]:-} ]] || { finish; return 1; }
	write_site
	make_cert
	wait_caddy_install
	note_load_start
	for s in edge caddy; do
		[[ $s == edge || -n ${AVAILABLE[caddy]:-} ]] || continue
		start_or_drop "$s" || continue
		AVAILABLE[$s]=1
		measure "$s" h3
		measure "$s" h2
		stop_pid "${PID[$s]}"
	done
	finish
}

main "$@"
