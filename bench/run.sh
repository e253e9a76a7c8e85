#!/usr/bin/env bash
# bench/run.sh — serve the same SPA fixture with edge, nginx and Caddy and load
# each of them with wrk, side by side, in one run. See bench/README.md and
# docs/benchmarks.md.
#
#   bash bench/run.sh                    # 10 s per scenario and server
#   DURATION=30s OUT=/tmp/bench.md bash bench/run.sh
#
# Environment:
#   DURATION    wrk duration per scenario and server (default 10s)
#   WARMUP      wrk warm-up per scenario and server (default 2s)
#   CONNS       wrk connections (default 50)
#   OUT         also write the markdown report to this file
#   GZIP_LEVEL  on-the-fly gzip level for nginx and Caddy (default 5, Caddy's default)
#   BR_LEVEL    on-the-fly brotli level for nginx's brotli filter (default 5)
#               (edge's levels are built in; see docs/benchmarks.md)
#   ROUNDS      run the whole matrix N times, keep each cell's best (default 1)
#   KEEP_TMP=1  keep the temp dir (configs, logs, raw wrk output)
#
# Needs root on Debian/Ubuntu for the apt-get step (skipped when all tools are
# present). All traffic goes to 127.0.0.1. Every process started here is
# stopped by PID on exit.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-50}
OUT=${OUT:-}
GZIP_LEVEL=${GZIP_LEVEL:-5}
BR_LEVEL=${BR_LEVEL:-5}
KEEP_TMP=${KEEP_TMP:-0}
ROUNDS=${ROUNDS:-1}

CADDY_VERSION=v2.11.9
CACHE_DIR=${EDGE_BENCH_CACHE:-$HOME/.cache/edge-bench}
CADDY_BIN=$CACHE_DIR/bin/caddy
SERVER_CPU=0
LOAD_CPU=1
JS_NAME=app-3f9a1c.js

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d /tmp/edge-bench.XXXXXX)
chmod 0755 "$TMP" # nginx workers run as www-data and must read the site

SERVERS=(edge nginx caddy)
declare -A LABEL=([edge]=edge [nginx]=nginx [caddy]=Caddy)
declare -A PID=() PORT=() AVAILABLE=() WHY_NOT=()
declare -A RPS=() P99=() BYTES=() ENC=() STATUS=() FLAG=()
declare -A IDLE_RSS=() PEAK_RSS=() COLD=()
LOAD_START="" LOAD_END=""
CADDY_INSTALL_PID=""
NGINX_BR=0
WARNINGS=()

# Scenarios: id, title, path, Accept-Encoding ("" = header not sent).
SC_IDS=(small spa gzip br)
declare -A SC_TITLE=(
	[small]="small static: GET / (2 KB index.html)"
	[spa]="SPA fallback: GET /courses/42/lessons"
	[gzip]="200 KB JS, Accept-Encoding: gzip"
	[br]="200 KB JS, Accept-Encoding: br"
)
declare -A SC_PATH=([small]=/ [spa]=/courses/42/lessons [gzip]=/assets/$JS_NAME [br]=/assets/$JS_NAME)
declare -A SC_AE=([small]="" [spa]="" [gzip]=gzip [br]=br)

log() { printf '[bench] %s\n' "$*" >&2; }
declare -A WARNED=()
warn() {
	log "WARNING: $*"
	[[ -n ${WARNED[$*]:-} ]] && return 0 # once per message in the report
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

BROTLI_MODS=(libnginx-mod-http-brotli-filter libnginx-mod-http-brotli-static)
BROTLI_SO=/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so

install_packages() {
	local want=()
	command -v nginx >/dev/null || want+=(nginx)
	command -v wrk >/dev/null || want+=(wrk)
	command -v taskset >/dev/null || want+=(util-linux)
	command -v pgrep >/dev/null || want+=(procps)
	command -v curl >/dev/null || want+=(curl)
	if ((${#want[@]} == 0)) && [[ -e $BROTLI_SO ]]; then
		log "nginx, wrk, taskset, procps, curl and nginx brotli already installed"
		return
	fi
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update"
	apt-get update -qq >&2
	if [[ ! -e $BROTLI_SO ]]; then
		if [[ -n $(apt_candidate "${BROTLI_MODS[0]}") ]]; then
			want+=("${BROTLI_MODS[@]}")
		else
			log "no ${BROTLI_MODS[0]} in apt (apt-cache policy): nginx br will be n/a"
		fi
	fi
	# Keep the package's own nginx (port 80) from being started by the install.
	local policy=/usr/sbin/policy-rc.d made_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made_policy=1
	fi
	log "apt-get install ${want[*]}"
	apt-get install -y -qq --no-install-recommends "${want[@]}" >&2 || {
		((made_policy)) && rm -f "$policy"
		return 1
	}
	((made_policy)) && rm -f "$policy"
	return 0
}

# ---------------------------------------------------------------- fixture ---

# index.html of exactly 2048 bytes, like a Vite build's entry page.
make_index() {
	local f=$1 head tail pad LC_ALL=C # ${#var} counts bytes
	head='<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="GitCourse: learn Git by doing, one small lesson at a time.">
<meta name="theme-color" content="#0f172a">
<title>GitCourse — learn Git by doing</title>
<link rel="icon" type="image/svg+xml" href="/favicon.svg">
<link rel="manifest" href="/manifest.webmanifest">
<script type="module" crossorigin src="/assets/'$JS_NAME'"></script>
<link rel="modulepreload" crossorigin href="/assets/vendor-91be07.js">
<link rel="stylesheet" crossorigin href="/assets/index-8c2d4e.css">
</head>
<body>
<noscript>GitCourse needs JavaScript to run. Please enable it and reload the page.</noscript>
<div id="root"></div>
<!-- '
	tail=' -->
</body>
</html>
'
	pad=$((2048 - ${#head} - ${#tail}))
	{
		printf '%s' "$head"
		awk -v n="$pad" 'BEGIN {
			s = ""
			while (length(s) < n) s = s "build metadata: vite production bundle, chunks hashed, legacy polyfills off. "
			printf "%s", substr(s, 1, n)
		}'
		printf '%s' "$tail"
	} >"$f"
}

# ~200 KB of minified-bundle-like JavaScript, generated deterministically
# (integer Park-Miller LCG, exact in awk's doubles), so it compresses like
# real code and is identical on every run.
make_js() {
	awk -v target=204800 '
	function rnd(n) { seed = (seed * 16807) % 2147483647; return seed % n }
	function w() { return words[rnd(nw) + 1] }
	function id(  s, n) { n = ++ids; s = ""; do { s = s substr(alpha, n % 52 + 1, 1); n = int(n / 52) } while (n > 0); return s rnd(10) }
	function cap(s) { return toupper(substr(s, 1, 1)) substr(s, 2) }
	BEGIN {
		seed = 42; ids = 0; size = 0
		alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		nw = split("course lesson user repo commit branch merge diff state props render effect ref memo query fetch route link title body status error items index count value key id progress quiz answer hint step editor terminal output token session theme layout modal button input label rebase stash remote origin upstream tag reflog cherry bisect blame staged tracked conflict resolve history graph avatar profile settings billing invite team chapter exercise solution feedback score badge streak locale timezone cursor scroll focus blur submit cancel retry loading empty", words, " ")
		while (size < target) {
			t = rnd(8)
			if (t == 0) s = sprintf("function %s(e,t){const n=e.filter(r=>r.%s===t);return n.length?n[0]:null}", id(), w())
			else if (t == 1) { a = w(); b = w(); s = sprintf("const %s=({%s,%s})=>h(\"div\",{className:\"%s-%s\",onClick:()=>set%s(%s)},%s);", cap(id()), a, b, a, b, cap(a), a, b) }
			else if (t == 2) s = sprintf("export const %s={%s:\"%s\",%s:%d,%s:[%d,%d,%d],enabled:!0};", id(), w(), w(), w(), rnd(1000), w(), rnd(100), rnd(100), rnd(100))
			else if (t == 3) { a = w(); s = sprintf("async function %s(e){const t=await fetch(\"/api/%s/\"+e,{headers:{Accept:\"application/json\"}});if(!t.ok)throw new Error(\"%s failed: \"+t.status);return t.json()}", id(), a, a) }
			else if (t == 4) s = sprintf("var %s=function(e){return e&&e.__esModule?e:{default:e}},%s=\"%x%x\",%s=%d.%d;", id(), id(), rnd(65536), rnd(65536), id(), rnd(100000), rnd(1000))
			else if (t == 5) s = sprintf("%s(\"%s.%s.%s\",\"The %s %s could not be loaded, try again in %d seconds.\");", id(), w(), w(), w(), w(), w(), rnd(60))
			else if (t == 6) { a = w(); s = sprintf("function use%s(){const[e,t]=useState(null);return useEffect(()=>{let n=!1;return %s().then(r=>{n||t(r.%s)}),()=>{n=!0}},[]),e}", cap(a), id(), a) }
			else s = sprintf("for(let %s=0;%s<%s.length;%s++){const o=%s[%s];if(o.%s>%d)break;o.%s=(o.%s||0)+1}", "i", "i", w() "s", "i", w() "s", "i", w(), rnd(500), w(), w())
			print s
			size += length(s) + 1
		}
	}' >"$1"
}

make_site() {
	mkdir -p "$TMP/site/assets"
	make_index "$TMP/site/index.html"
	make_js "$TMP/site/assets/$JS_NAME"
	chmod -R a+rX "$TMP/site"
	log "fixture: index.html $(stat -c %s "$TMP/site/index.html") B, assets/$JS_NAME $(stat -c %s "$TMP/site/assets/$JS_NAME") B (gzip -5: $(gzip -5c "$TMP/site/assets/$JS_NAME" | wc -c) B)"
}

# ------------------------------------------------------------- utilities ---

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
	local p used
	while :; do
		p=$((20000 + RANDOM % 40000))
		used=0
		for q in "${PORT[@]}"; do [[ $q == "$p" ]] && used=1; done
		((used == 0)) && ! port_in_use "$p" && break
	done
	echo "$p"
}

# Wait until the port accepts TCP connections (no HTTP request, so the idle
# RSS is measured before the first request).
wait_listening() {
	local s=$1 _
	for _ in $(seq 1 100); do
		kill -0 "${PID[$s]}" 2>/dev/null || return 1
		port_in_use "${PORT[$s]}" && return 0
		sleep 0.1
	done
	return 1
}

status_kib() { # status_kib PID FIELD -> value in KiB from /proc/PID/status
	awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# RSS of a server: the process itself plus its children (nginx's worker).
rss_kib() {
	local field=$1 pid=${PID[$2]} total=0 p v
	for p in "$pid" $(pgrep -P "$pid" || true); do
		v=$(status_kib "$p" "$field")
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# ---------------------------------------------------------------- servers ---

build_edge() {
	log "go build -o $TMP/edge ./cmd/edge"
	if (cd "$REPO" && go build -o "$TMP/edge" ./cmd/edge) >"$TMP/edge-build.log" 2>&1; then
		AVAILABLE[edge]=1
	else
		tail -20 "$TMP/edge-build.log" >&2
		WHY_NOT[edge]="edge did not build (go build ./cmd/edge)"
		warn "${WHY_NOT[edge]}"
	fi
}

write_edge_config() {
	mkdir -p "$TMP/edge-state"
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
spa = true
immutable = ["/assets/"]
compress = ["br", "gzip"]
EOF
}

write_nginx_config() {
	local d=$TMP/nginx user=""
	mkdir -p "$d"
	[[ $(id -u) == 0 ]] && id www-data >/dev/null 2>&1 && user="user www-data;"
	{
		if ((NGINX_BR)); then
			echo "load_module $BROTLI_SO;"
		fi
		cat <<EOF
$user
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;   # Go servers have no per-connection limit
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;

    gzip on;
    gzip_comp_level $GZIP_LEVEL;
    gzip_vary on;
    gzip_types text/javascript application/javascript text/css application/json image/svg+xml;
EOF
		if ((NGINX_BR)); then
			cat <<EOF
    brotli on;
    brotli_comp_level $BR_LEVEL;
    brotli_types text/javascript application/javascript text/css application/json image/svg+xml;
EOF
		fi
		cat <<EOF

    server {
        listen 127.0.0.1:${PORT[nginx]};
        root $TMP/site;
        location / {
            try_files \$uri /index.html;
        }
    }
}
EOF
	} >"$d/nginx.conf"
}

write_caddy_config() {
	mkdir -p "$TMP/caddy"
	cat >"$TMP/caddy/Caddyfile" <<EOF
{
	admin off
	auto_https off
	persist_config off
}

http://127.0.0.1:${PORT[caddy]} {
	bind 127.0.0.1
	root * $TMP/site
	encode {
		gzip $GZIP_LEVEL
		zstd
	}
	try_files {path} /index.html
	file_server
}
EOF
}

start_server() {
	local s=$1
	PORT[$s]=$(free_port)
	case $s in
	edge)
		write_edge_config
		GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$TMP/edge" run -config "$TMP/edge.toml" \
			>"$TMP/edge.log" 2>&1 &
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
	sleep 1
	IDLE_RSS[$s]=$(rss_kib VmRSS "$s")
	log "${LABEL[$s]} pid ${PID[$s]} on 127.0.0.1:${PORT[$s]}, idle RSS $(mib "${IDLE_RSS[$s]}") MiB"
	cold_probe "$s"
}

# Time of the very first compressed request for the JS, before any load: shows
# what a first visitor waits for when a server compresses (and caches) lazily.
cold_probe() {
	local s=$1 ae t
	for ae in gzip br; do
		# No br encoder: Caddy at all, nginx without the brotli module.
		[[ $ae == br && ($s == caddy || ($s == nginx && NGINX_BR -eq 0)) ]] && continue
		t=$(curl -sS -o /dev/null -H "Accept-Encoding: $ae" -w '%{time_total}' \
			"http://127.0.0.1:${PORT[$s]}/assets/$JS_NAME") || t=""
		[[ -n $t ]] && COLD[$s,$ae]=$(awk -v t="$t" 'BEGIN {printf "%.1f", t * 1000}')
	done
	return 0
}

start_servers() {
	local s
	for s in "${SERVERS[@]}"; do
		[[ -n ${AVAILABLE[$s]:-} ]] || continue
		if ! start_server "$s"; then
			AVAILABLE[$s]=""
			[[ -n ${PID[$s]:-} ]] && stop_pid "${PID[$s]}"
			warn "${WHY_NOT[$s]}"
			case $s in
			edge) tail -20 "$TMP/edge.log" >&2 || true ;;
			caddy) tail -20 "$TMP/caddy/caddy.log" >&2 || true ;;
			nginx) tail -20 "$TMP/nginx/error.log" >&2 || true ;;
			esac
		fi
	done
}

# --------------------------------------------------------------- measuring ---

url_of() { echo "http://127.0.0.1:${PORT[$1]}${SC_PATH[$2]}"; }

# One curl with the scenario's headers: status, body bytes, Content-Encoding.
probe() {
	local s=$1 sc=$2 hdr=() out
	[[ -n ${SC_AE[$sc]} ]] && hdr=(-H "Accept-Encoding: ${SC_AE[$sc]}")
	out=$(curl -sS -o /dev/null -D "$TMP/headers-$s-$sc.txt" "${hdr[@]}" \
		-w '%{http_code} %{size_download}' "$(url_of "$s" "$sc")") || out="000 0"
	STATUS[$s,$sc]=${out% *}
	BYTES[$s,$sc]=${out#* }
	ENC[$s,$sc]=$(awk -F': *' 'tolower($1) == "content-encoding" {gsub(/\r/, "", $2); print $2}' \
		"$TMP/headers-$s-$sc.txt" 2>/dev/null)
	ENC[$s,$sc]=${ENC[$s,$sc]:-identity}
}

wrk_cmd() {
	local s=$1 sc=$2 dur=$3 hdr=()
	[[ -n ${SC_AE[$sc]} ]] && hdr=(-H "Accept-Encoding: ${SC_AE[$sc]}")
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$dur" --latency "${hdr[@]}" "$(url_of "$s" "$sc")"
}

# p99 from wrk's latency distribution, in milliseconds.
parse_p99() {
	awk '$1 == "99%" {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
		printf "%.2f", v
	}' "$1"
}

parse_rps() { awk '$1 == "Requests/sec:" {printf "%.0f", $2}' "$1"; }

check_result() {
	local s=$1 sc=$2 f=$3 non2xx errs
	FLAG[$s,$sc]=""
	if [[ ${STATUS[$s,$sc]} != 200 ]]; then
		FLAG[$s,$sc]=" (HTTP ${STATUS[$s,$sc]}!)"
		warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: status ${STATUS[$s,$sc]}, want 200"
	fi
	if [[ $sc == small || $sc == spa ]] && [[ ${BYTES[$s,$sc]} != 2048 ]]; then
		warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: body ${BYTES[$s,$sc]} B, want the 2048 B index.html"
	fi
	if [[ $sc == gzip || $sc == br ]] && [[ ${ENC[$s,$sc]} != "${SC_AE[$sc]}" ]]; then
		warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: Content-Encoding ${ENC[$s,$sc]}, not ${SC_AE[$sc]}"
	fi
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$f")
	if [[ -n $non2xx ]]; then
		FLAG[$s,$sc]+=" ($non2xx non-2xx/3xx)"
		warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: $non2xx non-2xx/3xx responses under load"
	fi
	errs=$(awk '/Socket errors:/ {sub(/.*Socket errors: */, ""); print}' "$f")
	[[ -n $errs ]] && warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: socket errors: $errs"
	return 0
}

# One measured run; with ROUNDS > 1 the round with the most req/s is kept
# (interference from other work on the machine only ever lowers throughput).
run_one() {
	local s=$1 sc=$2 round=$3 f=$TMP/wrk-$1-$2-r$3.txt rps
	probe "$s" "$sc"
	log "round $round: ${LABEL[$s]}: ${SC_TITLE[$sc]} (HTTP ${STATUS[$s,$sc]}, ${BYTES[$s,$sc]} B ${ENC[$s,$sc]})"
	wrk_cmd "$s" "$sc" "$WARMUP" >/dev/null 2>&1 || true
	if ! wrk_cmd "$s" "$sc" "$DURATION" >"$f" 2>&1; then
		warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: wrk failed: $(tail -1 "$f")"
	fi
	rps=$(parse_rps "$f")
	log "  ${rps:-?} req/s, p99 $(parse_p99 "$f") ms"
	if [[ -z ${RPS[$s,$sc]:-} ]] || ((${rps:-0} > ${RPS[$s,$sc]})); then
		RPS[$s,$sc]=$rps
		P99[$s,$sc]=$(parse_p99 "$f")
	fi
	check_result "$s" "$sc" "$f"
}

# Scenario-major order: each scenario runs against the three servers back to
# back, so slow drift of the machine affects all servers alike.
run_scenarios() {
	local sc s round
	for round in $(seq 1 "$ROUNDS"); do
		for sc in "${SC_IDS[@]}"; do
			for s in "${SERVERS[@]}"; do
				[[ -n ${AVAILABLE[$s]:-} ]] || continue
				if [[ $s == nginx && $sc == br ]] && ((NGINX_BR == 0)); then
					continue
				fi
				run_one "$s" "$sc" "$round"
			done
		done
	done
	for s in "${SERVERS[@]}"; do
		[[ -n ${AVAILABLE[$s]:-} ]] || continue
		PEAK_RSS[$s]=$(rss_kib VmHWM "$s")
	done
}

# ------------------------------------------------------------------ report ---

cell_rps() { # rps with a flag, or n/a
	local k=$1,$2
	if [[ -n ${RPS[$k]:-} ]]; then echo "${RPS[$k]}${FLAG[$k]:-}"; else echo "n/a"; fi
}

cell_p99() { [[ -n ${P99[$1,$2]:-} ]] && echo "${P99[$1,$2]}" || echo "n/a"; }

cell_ratio() { # edge req/s divided by other's
	local a=${RPS[edge,$2]:-} b=${RPS[$1,$2]:-}
	if [[ -n $a && -n $b && $b != 0 ]]; then
		awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f×", a / b}'
	else
		echo "n/a"
	fi
}

cell_bytes() {
	local sc=$1 s parts=()
	for s in "${SERVERS[@]}"; do
		if [[ -n ${RPS[$s,$sc]:-} ]]; then
			if [[ $sc == gzip || $sc == br ]]; then
				parts+=("${BYTES[$s,$sc]} ${ENC[$s,$sc]}")
			else
				parts+=("${BYTES[$s,$sc]}")
			fi
		else
			parts+=("n/a")
		fi
	done
	local out=${parts[0]} i
	for ((i = 1; i < ${#parts[@]}; i++)); do out+=" / ${parts[i]}"; done
	echo "$out"
}

report() {
	local sc s
	local rounds=""
	((ROUNDS > 1)) && rounds=", best of $ROUNDS rounds"
	echo "### Throughput (wrk -t1 -c$CONNS -d$DURATION$rounds, servers on CPU $SERVER_CPU, wrk on CPU $LOAD_CPU)"
	echo
	echo "| scenario | edge req/s | nginx req/s | Caddy req/s | edge/nginx | edge/Caddy | p99 ms edge | p99 ms nginx | p99 ms Caddy | response bytes edge / nginx / Caddy |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for sc in "${SC_IDS[@]}"; do
		echo "| ${SC_TITLE[$sc]} | $(cell_rps edge "$sc") | $(cell_rps nginx "$sc") | $(cell_rps caddy "$sc") | $(cell_ratio nginx "$sc") | $(cell_ratio caddy "$sc") | $(cell_p99 edge "$sc") | $(cell_p99 nginx "$sc") | $(cell_p99 caddy "$sc") | $(cell_bytes "$sc") |"
	done
	echo
	echo "### Memory (VmRSS / VmHWM from /proc/PID/status; nginx = master + worker)"
	echo
	echo "| server | idle RSS after start (MiB) | peak RSS during scenarios (MiB) | first JS request, gzip (ms) | first JS request, br (ms) |"
	echo "|---|---:|---:|---:|---:|"
	for s in "${SERVERS[@]}"; do
		if [[ -n ${IDLE_RSS[$s]:-} ]]; then
			echo "| ${LABEL[$s]} | $(mib "${IDLE_RSS[$s]}") | $(mib "${PEAK_RSS[$s]:-0}") | ${COLD[$s,gzip]:-n/a} | ${COLD[$s,br]:-n/a} |"
		else
			echo "| ${LABEL[$s]} | n/a | n/a | n/a | n/a |"
		fi
	done
	echo
	echo "First JS request: curl time_total of the first request for the 200 KB JS after start, before any load (cold caches)."
	echo "Load average before / after the run: $LOAD_START / $LOAD_END (other work on the machine makes the numbers noisy)."
	echo "Compression: edge uses its built-in levels (see docs/benchmarks.md); nginx gzip_comp_level $GZIP_LEVEL$( ((NGINX_BR)) && echo ", brotli_comp_level $BR_LEVEL"); Caddy gzip $GZIP_LEVEL (encode gzip zstd: Caddy has no brotli encoder, so it answers br requests uncompressed)."
	((NGINX_BR)) || echo "nginx br: n/a — no libnginx-mod-http-brotli-filter available from apt on this machine."
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
	[[ -e $BROTLI_SO ]] && NGINX_BR=1
	AVAILABLE[nginx]=1
	build_edge
	make_site
	wait_caddy_install
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	awk '$1 > 0.7 {exit 1}' /proc/loadavg ||
		warn "load average $LOAD_START before the run: something else is using the CPUs, numbers will be noisy"
	start_servers
	run_scenarios
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
