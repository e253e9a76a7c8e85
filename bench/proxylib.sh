# bench/proxylib.sh — shell shared by bench/proxy.sh and bench/api.sh;
# sourced after bench/lib.sh, never run. Provides the reverse-proxy configs
# of edge, nginx and Caddy (the same work for all three: keep-alive to the
# upstream, X-Forwarded-For/-Proto/-Host, X-Real-IP, X-Request-ID, edge's
# default security headers, no access log) and one measured wrk run with the
# CPU time of chosen process trees.
# shellcheck shell=bash
# shellcheck disable=SC2034 # LAST_* are read by the sourcing scripts
# shellcheck disable=SC2153 # PORT, PID, TMP come from lib.sh

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

# proxy_edge_config DIR PORT UPSTREAM: DIR/edge.toml, edge on 127.0.0.1:PORT
# proxying /api/ to UPSTREAM (host:port); state and a one-line site in DIR.
proxy_edge_config() {
	local d=$1 port=$2 up=$3
	mkdir -p "$d/state" "$d/site"
	echo '<!doctype html><title>bench</title>' >"$d/site/index.html"
	cat >"$d/edge.toml" <<EOF
[server]
http = "127.0.0.1:$port"
https = ""            # empty disables HTTPS for the benchmark
state_dir = "$d/state"
admin_socket = "$d/admin.sock"
access_log = "off"

[site]
domains = ["localhost", "127.0.0.1"]
root = "$d/site"

[[route]]
path = "/api/"
upstreams = ["$up"]
EOF
}

# proxy_nginx_config DIR PORT UPSTREAM: DIR/nginx.conf (nginx_prelude's
# SERVER_PROCS workers), 64 idle upstream connections kept per worker.
proxy_nginx_config() {
	local d=$1 port=$2 up=$3 k
	mkdir -p "$d"
	{
		nginx_prelude "$d"
		cat <<EOF
    server_tokens off;
    upstream app {
        server $up;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port;
        client_max_body_size 10m;
EOF
		for k in "${!SEC_HEADERS[@]}"; do
			printf '        add_header %s "%s" always;\n' "$k" "${SEC_HEADERS[$k]}"
		done
		cat <<EOF
        add_header X-Request-ID \$request_id always;
        location /api/ {
            proxy_pass http://app;
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

# proxy_caddy_config DIR PORT UPSTREAM: DIR/Caddyfile, HTTP/1.1 only.
proxy_caddy_config() {
	local d=$1 port=$2 up=$3 k
	mkdir -p "$d"
	{
		caddy_global "servers {" "	protocols h1" "}"
		cat <<EOF

http://127.0.0.1:$port {
	header {
		-Server
		X-Request-ID {http.request.uuid}
EOF
		for k in "${!SEC_HEADERS[@]}"; do
			printf '\t\t%s "%s"\n' "$k" "${SEC_HEADERS[$k]}"
		done
		cat <<EOF
	}
	reverse_proxy /api/* $up {
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

# start_proxy KEY DIR UPSTREAM: writes KEY's config (edge, nginx or caddy)
# into DIR, starts it on PORT[KEY] with launch_*, waits for the port.
start_proxy() {
	local k=$1 d=$2 up=$3
	case $k in
	edge)
		proxy_edge_config "$d" "${PORT[$k]}" "$up"
		launch_go edge "$d/edge.log" "$TMP/edge" run -config "$d/edge.toml"
		;;
	nginx) proxy_nginx_config "$d" "${PORT[$k]}" "$up" && launch_nginx nginx "$d" || return 1 ;;
	caddy) proxy_caddy_config "$d" "${PORT[$k]}" "$up" && launch_caddy caddy "$d" ;;
	gofloor) mkdir -p "$d" && launch_go gofloor "$d/gofloor.log" "$TMP/gofloor" -mode proxy -addr "127.0.0.1:${PORT[$k]}" -upstream "$up" ;;
	esac
}

# proxy_log KEY DIR: the log to show when KEY did not start.
proxy_log() {
	case $1 in
	edge) echo "$2/edge.log" ;;
	nginx) echo "$2/error.log" ;;
	caddy) echo "$2/caddy.log" ;;
	gofloor) echo "$2/gofloor.log" ;;
	esac
}

# measure URL FILE NAME=PID...: a warm-up, then the measured run of
# wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency on LOAD_CPU into FILE.
# Sets LAST_N (requests completed), LAST_ERRS (errors) and LAST_US[NAME]:
# the CPU µs per request the process tree PID used during the measured run.
WRK_THREADS=${WRK_THREADS:-1}
declare -A LAST_US=()
LAST_N="" LAST_ERRS=0
measure() {
	local url=$1 f=$2 m
	shift 2
	taskset -c "$LOAD_CPU" wrk -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "$url" >/dev/null 2>&1 || true
	local -A t0=()
	for m in "$@"; do t0[${m%%=*}]=$(tree_ticks "${m#*=}"); done
	if ! taskset -c "$LOAD_CPU" wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" >"$f" 2>&1; then
		warn "$url: wrk failed: $(tail -1 "$f")"
	fi
	LAST_US=()
	LAST_N=$(parse_requests "$f")
	for m in "$@"; do
		LAST_US[${m%%=*}]=$(us_per_req $(($(tree_ticks "${m#*=}") - ${t0[${m%%=*}]})) "$LAST_N")
	done
	LAST_ERRS=$(parse_errors "$f")
}

# keep_lower VAR VALUE: sets the named variable to VALUE when it is empty or
# higher (CPU per request: interference from other work only adds to it).
keep_lower() {
	local -n ref=$1
	[[ -n $2 ]] || return 0
	if [[ -z ${ref:-} ]] || awk -v a="$2" -v b="$ref" 'BEGIN {exit !(a < b)}'; then
		ref=$2
	fi
}
