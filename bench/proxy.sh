#!/usr/bin/env bash
# bench/proxy.sh — reverse-proxy benchmark: edge vs nginx vs Caddy in front
# of the same fast Go stub upstream (bench/stub: GET /api/ping, ~100 B of
# JSON), plus the stub alone as the baseline, each loaded with wrk.
#
#   bash bench/proxy.sh                  # 10 s per server
#   DURATION=30s OUT=/tmp/proxy.md bash bench/proxy.sh
#
# Environment:
#   DURATION    wrk duration per server (default 10s)
#   WARMUP      wrk warm-up per server (default 2s)
#   CONNS       wrk connections (default 50, one thread)
#   ROUNDS      measured rounds, servers interleaved; the round with the most
#               req/s is reported per server, errors are summed (default 1)
#   OUT         also write the markdown report to this file
#   KEEP_TMP=1  keep the temp dir (configs, logs, raw wrk output)
#   STUB_CPU    the CPU of the stub: 0 (default, shares the server's core) or
#               1 (on the load core, so the server's core runs the proxy only)
#   PROXIES     the servers to measure besides the stub (default
#               "edge nginx caddy"; without caddy no Caddy build happens)
#   EDGE_BIN    measure this edge binary instead of building ./cmd/edge
#
# Layout: the stub and the proxy under test share CPU 0 (taskset -c 0,
# GOMAXPROCS=1 for the Go programs, one nginx worker); wrk runs on CPU 1.
# Server CPU per request is the utime + stime the server (nginx: master and
# workers; never the stub) used during the measured run, divided by the
# requests wrk completed: it holds even when wrk is the limit.
# Every proxy keeps upstream connections alive (nginx: keepalive 64) and adds
# the same work: X-Forwarded-For/-Proto/-Host, X-Real-IP, X-Request-ID, and
# the security headers edge sends by default. No access logs.
#
# Needs root on Debian/Ubuntu for apt-get (skipped when nginx, wrk, taskset
# and curl are present). Caddy v2.11.9 is built with go install into
# ~/.cache/edge-bench/bin when missing. All traffic goes to 127.0.0.1; every
# process started here is stopped by PID on exit.
set -euo pipefail

LOG_TAG=proxy-bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init edge-proxy-bench
PATH_PING=/api/ping

# "stub" is the upstream alone: the ceiling for the proxies.
read -r -a SERVERS <<<"stub ${PROXIES:-edge nginx caddy}"
STUB_CPU=${STUB_CPU:-$SERVER_CPU}
declare -A LABEL=([stub]="stub alone (baseline)" [edge]=edge [nginx]=nginx [caddy]=Caddy)
declare -A RPS=() P99=() P50=() ERRS=() STATUS=() BYTES=() CPU_US=()

# The security headers edge sends by default (SPEC §2 [headers]); nginx and
# Caddy are told to send the same ones so that all do the same work.
CSP="default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
declare -A SEC_HEADERS=(
	[Content-Security-Policy]=$CSP
	[X-Frame-Options]=DENY
	[Referrer-Policy]=strict-origin-when-cross-origin
	[Permissions-Policy]="camera=(), microphone=(), geolocation=()"
	[X-Content-Type-Options]=nosniff
)

# ---------------------------------------------------------------- configs ---

write_edge_config() {
	mkdir -p "$TMP/edge-state" "$TMP/site"
	echo '<!doctype html><title>bench</title>' >"$TMP/site/index.html"
	cat >"$TMP/edge.toml" <<EOF
[server]
http = "127.0.0.1:${PORT[edge]}"
https = ""            # empty disables HTTPS for the benchmark
state_dir = "$TMP/edge-state"
admin_socket = "$TMP/edge-admin.sock"
access_log = "off"

[site]
domains = ["localhost", "127.0.0.1"]
root = "$TMP/site"

[[route]]
path = "/api/"
upstreams = ["127.0.0.1:${PORT[stub]}"]
EOF
}

write_nginx_config() {
	local d=$TMP/nginx k
	mkdir -p "$d"
	{
		nginx_prelude "$d"
		cat <<EOF
    server_tokens off;
    upstream stub {
        server 127.0.0.1:${PORT[stub]};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:${PORT[nginx]};
        client_max_body_size 10m;
EOF
		for k in "${!SEC_HEADERS[@]}"; do
			printf '        add_header %s "%s" always;\n' "$k" "${SEC_HEADERS[$k]}"
		done
		cat <<EOF
        add_header X-Request-ID \$request_id always;
        location /api/ {
            proxy_pass http://stub;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$http_host;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header X-Request-ID \$request_id;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
        }
    }
}
EOF
	} >"$d/nginx.conf"
}

write_caddy_config() {
	local d=$TMP/caddy k
	mkdir -p "$d"
	{
		caddy_global "servers {" "	protocols h1" "}"
		cat <<EOF

http://127.0.0.1:${PORT[caddy]} {
	header {
		-Server
		X-Request-ID {http.request.uuid}
EOF
		for k in "${!SEC_HEADERS[@]}"; do
			printf '\t\t%s "%s"\n' "$k" "${SEC_HEADERS[$k]}"
		done
		cat <<EOF
	}
	reverse_proxy /api/* 127.0.0.1:${PORT[stub]} {
		header_up X-Real-IP {remote_host}
		header_up X-Request-ID {http.request.uuid}
		transport http {
			dial_timeout 2s
			response_header_timeout 30s
			keepalive 90s
			keepalive_idle_conns_per_host 64
		}
	}
}
EOF
	} >"$d/Caddyfile"
}

# ---------------------------------------------------------------- servers ---

start_server() {
	local s=$1
	PORT[$s]=$(free_port)
	case $s in
	stub)
		GOMAXPROCS=1 taskset -c "$STUB_CPU" "$TMP/stub" -addr "127.0.0.1:${PORT[stub]}" >"$TMP/stub.log" 2>&1 &
		PID[stub]=$!
		;;
	edge)
		write_edge_config
		launch_go edge "$TMP/edge.log" "$TMP/edge" run -config "$TMP/edge.toml"
		;;
	nginx) write_nginx_config && launch_nginx nginx "$TMP/nginx" || return 1 ;;
	caddy) write_caddy_config && launch_caddy caddy "$TMP/caddy" ;;
	esac
	if ! wait_listening "$s"; then
		WHY_NOT[$s]="${LABEL[$s]} did not start listening on 127.0.0.1:${PORT[$s]}"
		return 1
	fi
	log "${LABEL[$s]} pid ${PID[$s]} on 127.0.0.1:${PORT[$s]}"
}

server_log() {
	case $1 in
	stub) echo "$TMP/stub.log" ;;
	edge) echo "$TMP/edge.log" ;;
	nginx) echo "$TMP/nginx/error.log" ;;
	caddy) echo "$TMP/caddy/caddy.log" ;;
	esac
}

start_servers() {
	local s
	for s in "${SERVERS[@]}"; do
		[[ -n ${AVAILABLE[$s]:-} ]] || continue
		if ! start_or_drop "$s" && [[ $s == stub ]]; then
			return 1 # nothing to proxy to
		fi
	done
}

# --------------------------------------------------------------- measuring ---

url_of() { echo "http://127.0.0.1:${PORT[$1]}$PATH_PING"; }

# One curl first: status and body size, so that a misconfigured proxy is
# flagged instead of measured.
probe() {
	local s=$1 out
	out=$(curl -sS -o "$TMP/body-$s.txt" -D "$TMP/headers-$s.txt" -w '%{http_code} %{size_download}' "$(url_of "$s")") ||
		out="000 0"
	STATUS[$s]=${out% *}
	BYTES[$s]=${out#* }
	if [[ ${STATUS[$s]} != 200 ]]; then
		warn "${LABEL[$s]}: GET $PATH_PING answered ${STATUS[$s]}, want 200"
	elif [[ $s != stub ]] && ! cmp -s "$TMP/body-$s.txt" "$TMP/body-stub.txt"; then
		warn "${LABEL[$s]}: GET $PATH_PING answered ${BYTES[$s]} B that differ from the stub's body"
	fi
}

wrk_run() { # wrk_run SERVER DURATION
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$2" --latency "$(url_of "$1")"
}

# Errors: non-2xx/3xx responses plus socket errors (connect, read, write,
# timeout), summed.
parse_errors() {
	awk '
		/Non-2xx or 3xx responses:/ {n += $NF}
		/Socket errors:/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) {v = $i; sub(/,/, "", v); n += v}}
		END {print n + 0}' "$1"
}

# CPU time (user + system, clock ticks) of a process and its children
# (nginx's workers) so far.
proc_ticks() {
	local total=0 p v
	for p in "$1" $(pgrep -P "$1" || true); do
		v=$(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

run_one() { # run_one SERVER ROUND
	local s=$1 r=$2 f=$TMP/wrk-$1-$2.txt rps
	((r == 1)) && probe "$s"
	log "${LABEL[$s]} (round $r/$ROUNDS): warm-up $WARMUP, then wrk -t1 -c$CONNS -d$DURATION"
	wrk_run "$s" "$WARMUP" >/dev/null 2>&1 || true
	local t0 t1 n us
	t0=$(proc_ticks "${PID[$s]}")
	if ! wrk_run "$s" "$DURATION" >"$f" 2>&1; then
		warn "${LABEL[$s]}: wrk failed: $(tail -1 "$f")"
	fi
	t1=$(proc_ticks "${PID[$s]}")
	rps=$(parse_rps "$f")
	n=$(awk '$2 == "requests" && $3 == "in" {print $1}' "$f")
	if [[ $s != stub && -n $n ]] && ((n > 0)); then
		us=$(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
		if [[ -z ${CPU_US[$s]:-} ]] || awk -v a="$us" -v b="${CPU_US[$s]}" 'BEGIN {exit !(a < b)}'; then
			CPU_US[$s]=$us
		fi
	fi
	local errs
	errs=$(parse_errors "$f")
	ERRS[$s]=$((${ERRS[$s]:-0} + errs))
	((errs == 0)) || warn "${LABEL[$s]} (round $r): $errs errors under load: $(grep -E 'Non-2xx|Socket errors' "$f" | tr '\n' ' ')"
	if [[ -n $rps ]] && ((rps > ${RPS[$s]:-0})); then
		RPS[$s]=$rps
		P50[$s]=$(parse_pct "$f" 50%)
		P99[$s]=$(parse_pct "$f" 99%)
	fi
}

# ------------------------------------------------------------------ report ---

report() {
	local s
	echo "### Reverse proxy: GET $PATH_PING (~100 B JSON from bench/stub)"
	echo
	echo "wrk -t1 -c$CONNS -d$DURATION --latency on CPU $LOAD_CPU; the server under test on CPU $SERVER_CPU (GOMAXPROCS=1 for Go, 1 nginx worker), the stub on CPU $STUB_CPU."
	((ROUNDS > 1)) && echo "Best of $ROUNDS interleaved rounds per server (req/s and its p50/p99); errors summed over all rounds."
	echo
	echo "| server | req/s | p50 ms | p99 ms | errors | of stub alone | edge / this | server CPU µs/req | this / edge CPU |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in "${SERVERS[@]}"; do
		if [[ -n ${RPS[$s]:-} ]]; then
			echo "| ${LABEL[$s]} | ${RPS[$s]} | ${P50[$s]} | ${P99[$s]} | ${ERRS[$s]} | $(ratio "${RPS[$s]}" "${RPS[stub]:-}") | $(ratio "${RPS[edge]:-}" "${RPS[$s]}") | ${CPU_US[$s]:-n/a} | $(ratio "${CPU_US[$s]:-}" "${CPU_US[edge]:-}") |"
		else
			echo "| ${LABEL[$s]} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
		fi
	done
	echo
	echo "Load average before / after: $LOAD_START / $LOAD_END (other work on the machine makes the numbers noisy)."
	echo "Versions: $(go version | awk '{print $3}'), $(nginx -v 2>&1 | sed 's/.*: //'), Caddy $CADDY_VERSION, $(wrk -v 2>&1 | head -1 | awk '{print "wrk", $2}')."
	for s in "${SERVERS[@]}"; do
		[[ -n ${WHY_NOT[$s]:-} ]] && echo "${LABEL[$s]}: n/a — ${WHY_NOT[$s]}."
	done
	print_warnings
}

# -------------------------------------------------------------------- main ---

main() {
	[[ " ${SERVERS[*]} " == *" caddy "* ]] && start_caddy_install
	install_packages nginx:nginx wrk:wrk taskset:util-linux curl:curl
	AVAILABLE[nginx]=1
	build_go stub ./bench/stub
	if [[ -n ${EDGE_BIN:-} ]]; then
		cp "$EDGE_BIN" "$TMP/edge" && AVAILABLE[edge]=1
	else
		build_go edge ./cmd/edge
	fi
	[[ -n ${AVAILABLE[stub]:-} ]] || return 1
	[[ " ${SERVERS[*]} " == *" caddy "* ]] && wait_caddy_install
	note_load_start
	start_servers
	local s r
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in "${SERVERS[@]}"; do
			if [[ -n ${AVAILABLE[$s]:-} ]]; then run_one "$s" "$r"; fi
		done
	done
	finish
}

main "$@"
