#!/usr/bin/env bash
# bench/run.sh — serve the same SPA fixture with edge, nginx and Caddy and load
# each of them with wrk, side by side, in one run; over HTTP and over HTTPS
# with one shared ECDSA P-256 certificate. See bench/README.md and
# docs/benchmarks.md.
#
#   bash bench/run.sh                    # 10 s per scenario and server
#   DURATION=30s OUT=/tmp/bench.md bash bench/run.sh
#
# Environment:
#   DURATION    wrk duration per scenario and server (default 10s)
#   WARMUP      wrk warm-up per scenario and server (default 2s)
#   CONNS       wrk (and tlsload) connections (default 50)
#   OUT         also write the markdown report to this file
#   GZIP_LEVEL  on-the-fly gzip level for nginx and Caddy (default 5, Caddy's default)
#   BR_LEVEL    on-the-fly brotli level for nginx's brotli filter (default 5)
#               (edge's levels are built in; see docs/benchmarks.md)
#   HS_CURVES   key exchanges bench/tlsload offers in the handshake row
#               (default x25519,p256: an X25519 key share, which all three
#               pick; "default" = Go's client defaults, X25519MLKEM768 first,
#               which edge and Caddy pick and nginx 1.22 cannot)
#   ROUNDS      run the whole matrix N times, keep each cell's best (default 1)
#   SERVER_CPUS CPUs of each server (default 1): N pins the servers to CPUs
#               0..N-1 with GOMAXPROCS=N for edge and Caddy and N nginx
#               workers; the load generators run on CPU N, or on the same
#               CPUs when the machine has no more (SERVER_CPUS=2 on 2 cores)
#   KEEP_TMP=1  keep the temp dir (configs, logs, raw wrk output)
#
# Needs root on Debian/Ubuntu for the apt-get step (skipped when all tools are
# present). All traffic goes to 127.0.0.1. Every process started here is
# stopped by PID on exit.
set -euo pipefail

LOG_TAG=bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set_server_cpus "${SERVER_CPUS:-1}" || exit 2
bench_init edge-bench

GZIP_LEVEL=${GZIP_LEVEL:-5}
BR_LEVEL=${BR_LEVEL:-5}
HS_CURVES=${HS_CURVES:-x25519,p256}
JS_NAME=app-3f9a1c.js
TLS_NAME=localhost # the certificate's name, the SNI and the Host of the HTTPS rows

# Logical servers; each runs as two instances: KEY (plain HTTP) and KEY-tls
# (HTTPS only; edge redirects plain HTTP to HTTPS once HTTPS is on, so the
# HTTP rows need an instance without it).
SERVERS=(edge nginx caddy)
declare -A LABEL=([edge]=edge [nginx]=nginx [caddy]=Caddy)
declare -A RPS=() P99=() BYTES=() ENC=() STATUS=() FLAG=() HS_INFO=() CPU_US=()
declare -A IDLE_RSS=() PEAK_RSS=() COLD=()
NGINX_BR=0

# Scenarios: id, title, path, Accept-Encoding ("" = header not sent), TLS.
SC_IDS=(small spa gzip br tls hs)
declare -A SC_TITLE=(
	[small]="small static: GET / (2 KB index.html)"
	[spa]="SPA fallback: GET /courses/42/lessons"
	[gzip]="200 KB JS, Accept-Encoding: gzip"
	[br]="200 KB JS, Accept-Encoding: br"
	[tls]="HTTPS keep-alive: GET / (2 KB index.html)"
	[hs]="HTTPS new full handshake per request: GET / (handshakes/s)"
)
declare -A SC_PATH=([small]=/ [spa]=/courses/42/lessons [gzip]=/assets/$JS_NAME [br]=/assets/$JS_NAME [tls]=/ [hs]=/)
declare -A SC_AE=([small]="" [spa]="" [gzip]=gzip [br]=br [tls]="" [hs]="")
declare -A SC_TLS=([tls]=1 [hs]=1)

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

# One self-signed ECDSA P-256 certificate for $TLS_NAME, used by all three
# servers; curl and tlsload trust it as their CA.
CERT="" KEY=""
make_cert() {
	mkdir -p "$TMP/tls"
	if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 7 \
		-subj "/CN=$TLS_NAME" -addext "subjectAltName=DNS:$TLS_NAME" \
		-keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" >"$TMP/tls/openssl.log" 2>&1; then
		CERT=$TMP/tls/cert.pem KEY=$TMP/tls/key.pem
		log "certificate: $(openssl x509 -in "$CERT" -noout -subject -ext subjectAltName | tr '\n' ' ')($(openssl x509 -in "$CERT" -noout -text | awk '/Public Key Algorithm|NIST CURVE/ {sub(/^ +/, ""); printf "%s; ", $0}'))"
	else
		cat "$TMP/tls/openssl.log" >&2
		warn "openssl could not make the test certificate: the HTTPS rows are n/a"
	fi
	# wrk connects to the first address of $TLS_NAME; the servers listen on 127.0.0.1.
	[[ $(getent ahosts "$TLS_NAME" | awk 'NR == 1 {print $1}') == 127.0.0.1 ]] ||
		warn "$TLS_NAME does not resolve to 127.0.0.1 first (getent ahosts): wrk's HTTPS row may fail"
}

# ------------------------------------------------------------- utilities ---

status_kib() { # status_kib PID FIELD -> value in KiB from /proc/PID/status
	awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# RSS of an instance: the process itself plus its children (nginx's worker).
rss_kib() {
	local field=$1 pid=${PID[$2]} total=0 p v
	for p in "$pid" $(pgrep -P "$pid" || true); do
		v=$(status_kib "$p" "$field")
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# CPU time (user + system, clock ticks) an instance has used so far: the
# process plus its children (nginx's worker).
cpu_ticks() {
	local pid=${PID[$1]} total=0 p v
	for p in "$pid" $(pgrep -P "$pid" || true); do
		# Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends
		# the command name.
		v=$(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# ---------------------------------------------------------------- servers ---

# Instance keys: edge nginx caddy (HTTP), edge-tls nginx-tls caddy-tls (HTTPS).
write_edge_config() { # write_edge_config KEY
	local k=$1 listen tls=""
	mkdir -p "$TMP/$k-state"
	if [[ $k == *-tls ]]; then
		listen="http = \"127.0.0.1:${PORT[$k-http]}\"   # redirects to HTTPS; not measured
https = \"127.0.0.1:${PORT[$k]}\"
http3 = false         # h1 and h2 only, like the Caddy instance (HTTP/3: bench/h3.sh)"
		tls="
[tls]
certificates = [{ cert = \"$CERT\", key = \"$KEY\" }]"
	else
		listen="http = \"127.0.0.1:${PORT[$k]}\"
https = \"\"            # empty disables HTTPS for the benchmark"
	fi
	cat >"$TMP/$k.toml" <<EOF
[server]
$listen
state_dir = "$TMP/$k-state"
admin_socket = "$TMP/$k-admin.sock"
access_log = "off"

[site]
domains = [$([[ $k == *-tls ]] && echo "\"$TLS_NAME\"" || echo '"localhost", "127.0.0.1"')]
root = "$TMP/site"
spa = true
immutable = ["/assets/"]
compress = ["br", "gzip"]
$tls
EOF
}

write_nginx_config() { # write_nginx_config KEY
	local k=$1 d=$TMP/$1 listen="listen 127.0.0.1:${PORT[$1]};" tls=""
	mkdir -p "$d"
	if [[ $k == *-tls ]]; then
		listen="listen 127.0.0.1:${PORT[$k]} ssl http2;"
		tls="
        server_name $TLS_NAME;
        ssl_certificate $CERT;
        ssl_certificate_key $KEY;
        ssl_protocols TLSv1.2 TLSv1.3;   # nginx 1.22's default stops at TLSv1.2"
	fi
	{
		nginx_prelude "$d" "$( ((NGINX_BR)) && echo "load_module $BROTLI_SO;")"
		cat <<EOF
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;

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
        $listen$tls
        root $TMP/site;
        location / {
            try_files \$uri /index.html;
        }
    }
}
EOF
	} >"$d/nginx.conf"
}

write_caddy_config() { # write_caddy_config KEY
	local k=$1 d=$TMP/$1 site="http://127.0.0.1:${PORT[$1]}" tls=""
	mkdir -p "$d"
	if [[ $k == *-tls ]]; then
		site="https://$TLS_NAME:${PORT[$k]}"
		tls="
	tls $CERT $KEY"
	fi
	{
		# h1 and h2 over ALPN like edge and nginx (Caddy's default adds h3 on UDP).
		if [[ $k == *-tls ]]; then caddy_global "servers {" "	protocols h1 h2" "}"; else caddy_global; fi
		cat <<EOF

$site {
	bind 127.0.0.1$tls
	root * $TMP/site
	encode {
		gzip $GZIP_LEVEL
		zstd
	}
	try_files {path} /index.html
	file_server
}
EOF
	} >"$d/Caddyfile"
}

server_of() { echo "${1%-tls}"; } # instance key -> logical server

label_of() { # instance key -> label
	local l=${LABEL[$(server_of "$1")]:-$1}
	[[ $1 == *-tls ]] && l+=" (HTTPS)"
	echo "$l"
}

start_server() {
	local k=$1
	PORT[$k]=$(free_port)
	case $k in
	edge | edge-tls)
		[[ $k == edge-tls ]] && PORT[$k-http]=$(free_port)
		write_edge_config "$k"
		launch_go "$k" "$TMP/$k.log" "$TMP/edge" run -config "$TMP/$k.toml"
		;;
	nginx | nginx-tls) write_nginx_config "$k" && launch_nginx "$k" "$TMP/$k" || return 1 ;;
	caddy | caddy-tls) write_caddy_config "$k" && launch_caddy "$k" "$TMP/$k" ;;
	esac
	if ! wait_listening "$k"; then
		WHY_NOT[$k]="$(label_of "$k") did not start listening on 127.0.0.1:${PORT[$k]}"
		return 1
	fi
	sleep 1
	IDLE_RSS[$k]=$(rss_kib VmRSS "$k")
	log "$(label_of "$k") pid ${PID[$k]} on 127.0.0.1:${PORT[$k]}, idle RSS $(mib "${IDLE_RSS[$k]}") MiB"
	[[ $k == *-tls ]] || cold_probe "$k"
}

server_log() {
	case $1 in
	edge*) echo "$TMP/$1.log" ;;
	nginx*) echo "$TMP/$1/error.log" ;;
	caddy*) echo "$TMP/$1/caddy.log" ;;
	esac
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
	local s k
	for s in "${SERVERS[@]}"; do
		[[ -n ${AVAILABLE[$s]:-} && -n $CERT ]] && AVAILABLE[$s-tls]=1
	done
	for s in "${SERVERS[@]}"; do
		for k in "$s" "$s-tls"; do
			[[ -n ${AVAILABLE[$k]:-} ]] || continue
			start_or_drop "$k" || true
		done
	done
}

# --------------------------------------------------------------- measuring ---

inst_of() { # inst_of SERVER SCENARIO -> the instance that serves it
	if [[ -n ${SC_TLS[$2]:-} ]]; then echo "$1-tls"; else echo "$1"; fi
}

url_of() {
	local k
	k=$(inst_of "$1" "$2")
	if [[ -n ${SC_TLS[$2]:-} ]]; then
		echo "https://$TLS_NAME:${PORT[$k]}${SC_PATH[$2]}"
	else
		echo "http://127.0.0.1:${PORT[$k]}${SC_PATH[$2]}"
	fi
}

# One curl with the scenario's headers: status, body bytes, Content-Encoding.
# HTTPS is verified against the test certificate.
probe() {
	local s=$1 sc=$2 hdr=() out k
	k=$(inst_of "$s" "$sc")
	[[ -n ${SC_AE[$sc]} ]] && hdr=(-H "Accept-Encoding: ${SC_AE[$sc]}")
	[[ -n ${SC_TLS[$sc]:-} ]] && hdr+=(--cacert "$CERT" --resolve "$TLS_NAME:${PORT[$k]}:127.0.0.1")
	out=$(curl -sS -o /dev/null -D "$TMP/headers-$s-$sc.txt" "${hdr[@]}" \
		-w '%{http_code} %{size_download}' "$(url_of "$s" "$sc")" 2>"$TMP/curl-$s-$sc.err") || {
		out="000 0"
		warn "$(label_of "$k"): ${SC_TITLE[$sc]}: curl: $(tail -1 "$TMP/curl-$s-$sc.err")"
	}
	STATUS[$s,$sc]=${out% *}
	BYTES[$s,$sc]=${out#* }
	ENC[$s,$sc]=$(awk -F': *' 'tolower($1) == "content-encoding" {gsub(/\r/, "", $2); print $2}' \
		"$TMP/headers-$s-$sc.txt" 2>/dev/null)
	ENC[$s,$sc]=${ENC[$s,$sc]:-identity}
}

# load_cmd SERVER SCENARIO DURATION: wrk, or bench/tlsload for the handshake
# row, pinned to LOAD_CPU.
load_cmd() {
	local s=$1 sc=$2 dur=$3 hdr=()
	if [[ $sc == hs ]]; then
		GOMAXPROCS=1 taskset -c "$LOAD_CPU" "$TMP/tlsload" -addr "127.0.0.1:${PORT[$s-tls]}" \
			-sni "$TLS_NAME" -path "${SC_PATH[$sc]}" -cacert "$CERT" -curves "$HS_CURVES" \
			-c "$CONNS" -d "$dur"
		return
	fi
	[[ -n ${SC_AE[$sc]} ]] && hdr=(-H "Accept-Encoding: ${SC_AE[$sc]}")
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$dur" --latency "${hdr[@]}" "$(url_of "$s" "$sc")"
}

tlsload_field() { # tlsload_field FILE KEY -> value of KEY=value
	awk -v k="$2" '{for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) {print substr($i, length(k) + 2); exit}}' "$1"
}

check_result() {
	local s=$1 sc=$2 f=$3 non2xx errs cpu
	FLAG[$s,$sc]=""
	if [[ ${STATUS[$s,$sc]} != 200 ]]; then
		FLAG[$s,$sc]=" (HTTP ${STATUS[$s,$sc]}!)"
		warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: status ${STATUS[$s,$sc]}, want 200"
	fi
	if [[ $sc != gzip && $sc != br ]] && [[ ${BYTES[$s,$sc]} != 2048 ]]; then
		warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: body ${BYTES[$s,$sc]} B, want the 2048 B index.html"
	fi
	if [[ $sc == gzip || $sc == br ]] && [[ ${ENC[$s,$sc]} != "${SC_AE[$sc]}" ]]; then
		warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: Content-Encoding ${ENC[$s,$sc]}, not ${SC_AE[$sc]}"
	fi
	if [[ $sc == hs ]]; then
		non2xx=$(tlsload_field "$f" non200)
		errs=$(tlsload_field "$f" errors)
		cpu=$(tlsload_field "$f" client_cpu)
		if [[ -n $non2xx && $non2xx != 0 ]]; then
			FLAG[$s,$sc]+=" ($non2xx non-200)"
			warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: $non2xx non-200 responses under load"
		fi
		[[ -n $errs && $errs != 0 ]] &&
			warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: $errs failed requests, first: $(sed 's/.*first_error=//' "$f")"
		awk -v c="${cpu:-0}" 'BEGIN {exit !(c >= 0.95)}' &&
			warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: tlsload used ${cpu} of its CPU: the load generator may be the limit"
		return 0
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
	local s=$1 sc=$2 round=$3 f=$TMP/load-$1-$2-r$3.txt rps p99 k t0 t1 n us
	k=$(inst_of "$s" "$sc")
	probe "$s" "$sc"
	log "round $round: ${LABEL[$s]}: ${SC_TITLE[$sc]} (HTTP ${STATUS[$s,$sc]}, ${BYTES[$s,$sc]} B ${ENC[$s,$sc]})"
	load_cmd "$s" "$sc" "$WARMUP" >/dev/null 2>&1 || true
	t0=$(cpu_ticks "$k")
	if ! load_cmd "$s" "$sc" "$DURATION" >"$f" 2>&1; then
		warn "${LABEL[$s]}: ${SC_TITLE[$sc]}: $([[ $sc == hs ]] && echo tlsload || echo wrk) failed: $(tail -1 "$f")"
	fi
	t1=$(cpu_ticks "$k")
	if [[ $sc == hs ]]; then
		rps=$(tlsload_field "$f" handshakes_per_sec)
		p99=$(tlsload_field "$f" p99_ms)
		n=$(tlsload_field "$f" requests)
	else
		rps=$(parse_rps "$f")
		p99=$(parse_pct "$f" 99%)
		n=$(awk '$2 == "requests" && $3 == "in" {print $1}' "$f")
	fi
	# Server CPU per request: unlike req/s it does not drop when the load
	# generator, not the server, is the limit. The lowest of the rounds is kept
	# (interference only adds to it).
	us=""
	[[ ${n:-0} -gt 0 ]] && us=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
	if [[ -n $us ]] && [[ -z ${CPU_US[$s,$sc]:-} ]] || ((${us:-0} > 0 && ${us:-0} < ${CPU_US[$s,$sc]:-0})); then
		CPU_US[$s,$sc]=$us
	fi
	log "  ${rps:-?} req/s, p99 ${p99:-?} ms, server CPU ${us:-?} µs/request"
	if [[ -n $rps ]] && [[ -z ${RPS[$s,$sc]:-} ]] || ((${rps:-0} > ${RPS[$s,$sc]:-0})); then
		RPS[$s,$sc]=$rps
		P99[$s,$sc]=$p99
		[[ $sc == hs ]] && HS_INFO[$s]="$(tlsload_field "$f" version) $(tlsload_field "$f" curve) $(tlsload_field "$f" cipher), client CPU $(tlsload_field "$f" client_cpu)"
	fi
	check_result "$s" "$sc" "$f"
}

# Scenario-major order: each scenario runs against the three servers back to
# back, so slow drift of the machine affects all servers alike.
run_scenarios() {
	local sc s k round
	for round in $(seq 1 "$ROUNDS"); do
		for sc in "${SC_IDS[@]}"; do
			for s in "${SERVERS[@]}"; do
				[[ -n ${AVAILABLE[$(inst_of "$s" "$sc")]:-} ]] || continue
				if [[ $s == nginx && $sc == br ]] && ((NGINX_BR == 0)); then
					continue
				fi
				[[ $sc == hs && -z ${AVAILABLE[tlsload]:-} ]] && continue
				run_one "$s" "$sc" "$round"
			done
		done
	done
	for s in "${SERVERS[@]}"; do
		for k in "$s" "$s-tls"; do
			[[ -n ${AVAILABLE[$k]:-} ]] && PEAK_RSS[$k]=$(rss_kib VmHWM "$k")
		done
	done
	return 0
}

# ------------------------------------------------------------------ report ---

cell_rps() { # rps with a flag, or n/a
	local k=$1,$2
	if [[ -n ${RPS[$k]:-} ]]; then echo "${RPS[$k]}${FLAG[$k]:-}"; else echo "n/a"; fi
}

cell_p99() { [[ -n ${P99[$1,$2]:-} ]] && echo "${P99[$1,$2]}" || echo "n/a"; }

cell_ratio() { # edge req/s divided by other's
	local r
	r=$(ratio "${RPS[edge,$2]:-}" "${RPS[$1,$2]:-}")
	[[ $r == n/a ]] && echo "$r" || echo "$r×"
}

cpu_ratio() { # other's CPU per request divided by edge's
	local r
	r=$(ratio "${CPU_US[$1,$2]:-}" "${CPU_US[edge,$2]:-}")
	[[ $r == n/a ]] && echo "$r" || echo "$r×"
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
	local sc s k
	local rounds=""
	((ROUNDS > 1)) && rounds=", best of $ROUNDS rounds"
	echo "### Throughput (wrk -t1 -c$CONNS -d$DURATION$rounds, $(layout_note))"
	echo
	echo "| scenario | edge req/s | nginx req/s | Caddy req/s | edge/nginx | edge/Caddy | p99 ms edge | p99 ms nginx | p99 ms Caddy | response bytes edge / nginx / Caddy |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for sc in "${SC_IDS[@]}"; do
		echo "| ${SC_TITLE[$sc]} | $(cell_rps edge "$sc") | $(cell_rps nginx "$sc") | $(cell_rps caddy "$sc") | $(cell_ratio nginx "$sc") | $(cell_ratio caddy "$sc") | $(cell_p99 edge "$sc") | $(cell_p99 nginx "$sc") | $(cell_p99 caddy "$sc") | $(cell_bytes "$sc") |"
	done
	echo
	echo "### Server CPU time per request (µs; utime + stime of the server instance during the measured run / requests; lowest of the rounds)"
	echo
	echo "Capacity independent of the load generator: 1 s / this = req/s one fully busy core could serve. Ratios are other / edge (above 1: edge needs less CPU)."
	echo
	echo "| scenario | edge µs | nginx µs | Caddy µs | nginx/edge | Caddy/edge |"
	echo "|---|---:|---:|---:|---:|---:|"
	for sc in "${SC_IDS[@]}"; do
		echo "| ${SC_TITLE[$sc]} | ${CPU_US[edge,$sc]:-n/a} | ${CPU_US[nginx,$sc]:-n/a} | ${CPU_US[caddy,$sc]:-n/a} | $(cpu_ratio nginx "$sc") | $(cpu_ratio caddy "$sc") |"
	done
	echo
	echo "### Memory (VmRSS / VmHWM from /proc/PID/status; nginx = master + worker$( ((SERVER_PROCS > 1)) && echo s))"
	echo
	echo "| server | idle RSS after start (MiB) | peak RSS during scenarios (MiB) | first JS request, gzip (ms) | first JS request, br (ms) |"
	echo "|---|---:|---:|---:|---:|"
	for k in "${SERVERS[@]}" edge-tls nginx-tls caddy-tls; do
		if [[ -n ${IDLE_RSS[$k]:-} ]]; then
			echo "| $(label_of "$k") | $(mib "${IDLE_RSS[$k]}") | $(mib "${PEAK_RSS[$k]:-0}") | ${COLD[$k,gzip]:-n/a} | ${COLD[$k,br]:-n/a} |"
		else
			echo "| $(label_of "$k") | n/a | n/a | n/a | n/a |"
		fi
	done
	echo
	echo "First JS request: curl time_total of the first request for the 200 KB JS after start, before any load (cold caches)."
	echo "HTTPS rows: a second instance of each server serving HTTPS only, with the same self-signed ECDSA P-256 certificate for $TLS_NAME; keep-alive row with wrk, handshake row with bench/tlsload (GOMAXPROCS=1 on CPU $LOAD_CPU, $CONNS connections, a new TCP connection and full TLS handshake per request: no session cache, no tickets; client offers: $HS_CURVES; p99 covers connect + handshake + request)."
	for s in "${SERVERS[@]}"; do
		[[ -n ${HS_INFO[$s]:-} ]] && echo "Handshake row, ${LABEL[$s]}: ${HS_INFO[$s]}."
	done
	echo "Load average before / after the run: $LOAD_START / $LOAD_END (other work on the machine makes the numbers noisy)."
	echo "Compression: edge uses its built-in levels (see docs/benchmarks.md); nginx gzip_comp_level $GZIP_LEVEL$( ((NGINX_BR)) && echo ", brotli_comp_level $BR_LEVEL"); Caddy gzip $GZIP_LEVEL (encode gzip zstd: Caddy has no brotli encoder, so it answers br requests uncompressed)."
	((NGINX_BR)) || echo "nginx br: n/a — no libnginx-mod-http-brotli-filter available from apt on this machine."
	for k in "${SERVERS[@]}" edge-tls nginx-tls caddy-tls tlsload; do
		[[ -n ${WHY_NOT[$k]:-} ]] && echo "$(label_of "$k"): n/a — ${WHY_NOT[$k]}."
	done
	print_warnings
}

# -------------------------------------------------------------------- main ---

main() {
	start_caddy_install
	install_packages -b nginx:nginx wrk:wrk taskset:util-linux pgrep:procps curl:curl openssl:openssl
	[[ -e $BROTLI_SO ]] && NGINX_BR=1
	AVAILABLE[nginx]=1
	build_go edge ./cmd/edge
	build_go tlsload ./bench/tlsload
	make_site
	make_cert
	wait_caddy_install
	note_load_start
	start_servers
	run_scenarios
	finish
}

main "$@"
