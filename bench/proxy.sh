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
#
# Layout: the stub and the proxy under test share CPU 0 (taskset -c 0,
# GOMAXPROCS=1 for the Go programs, one nginx worker); wrk runs on CPU 1.
# Every proxy keeps upstream connections alive (nginx: keepalive 64) and adds
# the same work: X-Forwarded-For/-Proto/-Host, X-Real-IP, X-Request-ID, and
# the security headers edge sends by default. No access logs.
#
# Needs root on Debian/Ubuntu for apt-get (skipped when nginx, wrk, taskset
# and curl are present). Caddy v2.11.9 is built with go install into
# ~/.cache/edge-bench/bin when missing. All traffic goes to 127.0.0.1; every
# process started here is stopped by PID on exit.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-1}
OUT=${OUT:-}
KEEP_TMP=${KEEP_TMP:-0}

CADDY_VERSION=v2.11.9
CACHE_DIR=${EDGE_BENCH_CACHE:-$HOME/.cache/edge-bench}
CADDY_BIN=$CACHE_DIR/bin/caddy
SERVER_CPU=0
LOAD_CPU=1
PATH_PING=/api/ping

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d /tmp/edge-proxy-bench.XXXXXX)
chmod 0755 "$TMP"

# "stub" is the upstream alone: the ceiling for the proxies.
SERVERS=(stub edge nginx caddy)
declare -A LABEL=([stub]="stub alone (baseline)" [edge]=edge [nginx]=nginx [caddy]=Caddy)
declare -A PID=() PORT=() AVAILABLE=() WHY_NOT=()
declare -A RPS=() P99=() P50=() ERRS=() STATUS=() BYTES=()
CADDY_INSTALL_PID=""
WARNINGS=()

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

log() { printf '[proxy-bench] %s\n' "$*" >&2; }
warn() {
	WARNINGS+=("$*")
	log "WARNING: $*"
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
	local s
	for s in "${SERVERS[@]}"; do
		[[ -n ${PID[$s]:-} ]] && stop_pid "${PID[$s]}"
	done
	[[ -n $CADDY_INSTALL_PID ]] && stop_pid "$CADDY_INSTALL_PID"
	wait 2>/dev/null || true
	if [[ $KEEP_TMP == 1 ]]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- install ---

caddy_installed() {
	[[ -x $CADDY_BIN ]] || return 1
	go version -m "$CADDY_BIN" 2>/dev/null |
		awk -v v="$CADDY_VERSION" '$1 == "mod" && $2 == "github.com/caddyserver/caddy/v2" && $3 == v {ok = 1} END {exit !ok}'
}

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
		wait "$CADDY_INSTALL_PID" || tail -20 "$TMP/caddy-install.log" >&2 || true
		CADDY_INSTALL_PID=""
	fi
	if caddy_installed; then
		AVAILABLE[caddy]=1
	else
		WHY_NOT[caddy]="caddy $CADDY_VERSION could not be built"
		warn "${WHY_NOT[caddy]}"
	fi
}

install_packages() {
	local want=()
	command -v nginx >/dev/null || want+=(nginx)
	command -v wrk >/dev/null || want+=(wrk)
	command -v taskset >/dev/null || want+=(util-linux)
	command -v curl >/dev/null || want+=(curl)
	((${#want[@]} == 0)) && return 0
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update; apt-get install ${want[*]}"
	apt-get update -qq >&2
	# Keep the package's own nginx (port 80) from being started by the install.
	local policy=/usr/sbin/policy-rc.d made_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made_policy=1
	fi
	local rc=0
	apt-get install -y -qq --no-install-recommends "${want[@]}" >&2 || rc=$?
	((made_policy)) && rm -f "$policy"
	return "$rc"
}

# ----------------------------------------------------------------- build ---

build_go() { # build_go NAME PACKAGE
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

free_port() {
	local p used q
	while :; do
		p=$((20000 + RANDOM % 40000))
		used=0
		for q in "${PORT[@]}"; do [[ $q == "$p" ]] && used=1; done
		((used == 0)) && ! port_in_use "$p" && break
	done
	echo "$p"
}

wait_listening() {
	local s=$1 _
	for _ in $(seq 1 100); do
		kill -0 "${PID[$s]}" 2>/dev/null || return 1
		port_in_use "${PORT[$s]}" && return 0
		sleep 0.1
	done
	return 1
}

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
	local d=$TMP/nginx user="" k
	mkdir -p "$d"
	[[ $(id -u) == 0 ]] && id www-data >/dev/null 2>&1 && user="user www-data;"
	{
		cat <<EOF
$user
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;   # Go servers have no per-connection limit
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
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
		cat <<EOF
{
	admin off
	auto_https off
	persist_config off
	servers {
		protocols h1
	}
}

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
		GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$TMP/stub" -addr "127.0.0.1:${PORT[stub]}" >"$TMP/stub.log" 2>&1 &
		;;
	edge)
		write_edge_config
		GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$TMP/edge" run -config "$TMP/edge.toml" >"$TMP/edge.log" 2>&1 &
		;;
	nginx)
		write_nginx_config
		if ! nginx -t -q -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx/test.log"; then
			cat "$TMP/nginx/test.log" >&2
			WHY_NOT[nginx]="nginx -t failed"
			return 1
		fi
		taskset -c "$SERVER_CPU" nginx -c "$TMP/nginx/nginx.conf" >"$TMP/nginx/stdout.log" 2>&1 &
		;;
	caddy)
		write_caddy_config
		GOMAXPROCS=1 XDG_CONFIG_HOME=$TMP/caddy/config XDG_DATA_HOME=$TMP/caddy/data \
			taskset -c "$SERVER_CPU" "$CADDY_BIN" run --adapter caddyfile --config "$TMP/caddy/Caddyfile" \
			>"$TMP/caddy/caddy.log" 2>&1 &
		;;
	esac
	PID[$s]=$!
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
		if ! start_server "$s"; then
			AVAILABLE[$s]=""
			[[ -n ${PID[$s]:-} ]] && stop_pid "${PID[$s]}"
			warn "${WHY_NOT[$s]}"
			tail -20 "$(server_log "$s")" >&2 || true
			if [[ $s == stub ]]; then
				return 1 # nothing to proxy to
			fi
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

# Latency percentile from wrk's distribution, in milliseconds.
parse_pct() {
	awk -v p="$2" '$1 == p {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
		printf "%.2f", v
	}' "$1"
}

parse_rps() { awk '$1 == "Requests/sec:" {printf "%.0f", $2}' "$1"; }

# Errors: non-2xx/3xx responses plus socket errors (connect, read, write,
# timeout), summed.
parse_errors() {
	awk '
		/Non-2xx or 3xx responses:/ {n += $NF}
		/Socket errors:/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) {v = $i; sub(/,/, "", v); n += v}}
		END {print n + 0}' "$1"
}

run_one() { # run_one SERVER ROUND
	local s=$1 r=$2 f=$TMP/wrk-$1-$2.txt rps
	((r == 1)) && probe "$s"
	log "${LABEL[$s]} (round $r/$ROUNDS): warm-up $WARMUP, then wrk -t1 -c$CONNS -d$DURATION"
	wrk_run "$s" "$WARMUP" >/dev/null 2>&1 || true
	if ! wrk_run "$s" "$DURATION" >"$f" 2>&1; then
		warn "${LABEL[$s]}: wrk failed: $(tail -1 "$f")"
	fi
	rps=$(parse_rps "$f")
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

ratio() { # ratio A B -> A/B with two decimals, or n/a
	if [[ -n ${1:-} && -n ${2:-} && ${2:-0} != 0 ]]; then
		awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
	else
		echo "n/a"
	fi
}

report() {
	local s
	echo "### Reverse proxy: GET $PATH_PING (~100 B JSON from bench/stub)"
	echo
	echo "wrk -t1 -c$CONNS -d$DURATION --latency on CPU $LOAD_CPU; the stub and the server under test on CPU $SERVER_CPU (GOMAXPROCS=1 for Go, 1 nginx worker)."
	((ROUNDS > 1)) && echo "Best of $ROUNDS interleaved rounds per server (req/s and its p50/p99); errors summed over all rounds."
	echo
	echo "| server | req/s | p50 ms | p99 ms | errors | of stub alone | edge / this |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for s in "${SERVERS[@]}"; do
		if [[ -n ${RPS[$s]:-} ]]; then
			echo "| ${LABEL[$s]} | ${RPS[$s]} | ${P50[$s]} | ${P99[$s]} | ${ERRS[$s]} | $(ratio "${RPS[$s]}" "${RPS[stub]:-}") | $(ratio "${RPS[edge]:-}" "${RPS[$s]}") |"
		else
			echo "| ${LABEL[$s]} | n/a | n/a | n/a | n/a | n/a | n/a |"
		fi
	done
	echo
	echo "Load average before / after: $LOAD_START / $LOAD_END (other work on the machine makes the numbers noisy)."
	echo "Versions: $(go version | awk '{print $3}'), $(nginx -v 2>&1 | sed 's/.*: //'), Caddy $CADDY_VERSION, $(wrk -v 2>&1 | head -1 | awk '{print "wrk", $2}')."
	for s in "${SERVERS[@]}"; do
		[[ -n ${WHY_NOT[$s]:-} ]] && echo "${LABEL[$s]}: n/a — ${WHY_NOT[$s]}."
	done
	if ((${#WARNINGS[@]})); then
		echo
		echo "Warnings:"
		local w
		for w in "${WARNINGS[@]}"; do echo "- $w"; done
	fi
	return 0
}

# -------------------------------------------------------------------- main ---

main() {
	start_caddy_install
	install_packages
	AVAILABLE[nginx]=1
	build_go stub ./bench/stub
	build_go edge ./cmd/edge
	[[ -n ${AVAILABLE[stub]:-} ]] || return 1
	wait_caddy_install
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	awk '$1 > 0.7 {exit 1}' /proc/loadavg ||
		warn "load average $LOAD_START before the run: something else is using the CPUs, numbers will be noisy"
	start_servers
	local s r
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in "${SERVERS[@]}"; do
			if [[ -n ${AVAILABLE[$s]:-} ]]; then run_one "$s" "$r"; fi
		done
	done
	LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
	local md
	md=$(report)
	printf '%s\n' "$md"
	if [[ -n $OUT ]]; then
		printf '%s\n' "$md" >"$OUT"
		log "report written to $OUT"
	fi
	[[ -n ${AVAILABLE[edge]:-} ]] || return 1
}

main "$@"
