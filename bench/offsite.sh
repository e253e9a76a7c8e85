#!/usr/bin/env bash
# bench/offsite.sh — "edge backup push" (off-site upload) against minio-go's
# own uploader (bench/s3put: FPutObject with its defaults), one file, to a
# local S3 server (versitygw on 127.0.0.1): wall time, throughput and peak
# RSS of each; then "edge backup pull" of the same backup.
#
#   bash bench/offsite.sh                    # 1000 MB backup file (SIZE_MB=1000)
#   SIZE_MB=300 OUT=/tmp/offsite.md bash bench/offsite.sh
#
# Environment:
#   SIZE_MB     size of the backup file (random bytes: the cost of an encrypted dump)
#   ROUNDS      uploads of each kind; the best is reported (default 3)
#   OUT         also write the markdown report to this file
#   KEEP_TMP=1  keep the temp dir
#
# Needs versitygw on PATH or in ~/go/bin (scripts/test setup installs it) and
# /usr/bin/time. Every process it starts is stopped by PID on exit.
set -euo pipefail

SIZE_MB=${SIZE_MB:-1000}
OUT=${OUT:-}
KEEP_TMP=${KEEP_TMP:-0}
cd "$(dirname "$0")/.."

VGW=$(command -v versitygw || echo "$HOME/go/bin/versitygw")
if [[ ! -x $VGW ]]; then
	echo "bench/offsite.sh: versitygw is missing (fix: CGO_ENABLED=0 go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)" >&2
	exit 1
fi
TMP=$(mktemp -d /tmp/edge-bench-offsite.XXXXXX)
VGW_PID=
cleanup() {
	[[ -n $VGW_PID ]] && kill "$VGW_PID" 2>/dev/null && wait "$VGW_PID" 2>/dev/null || true
	if [[ "$KEEP_TMP" == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
log() { printf '%s\n' "$*" >&2; }

go build -o "$TMP/edge" ./cmd/edge
go build -o "$TMP/s3put" ./bench/s3put

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$TMP/root/bench" "$TMP/meta" "$TMP/backups" "$TMP/site"
echo x >"$TMP/site/index.html"
env -u ROOT_ACCESS_KEY -u ROOT_SECRET_KEY ROOT_ACCESS_KEY=bench ROOT_SECRET_KEY=bench-secret-123 \
	"$VGW" --port "127.0.0.1:$PORT" --region us-east-1 --health /health posix --sidecar "$TMP/meta" "$TMP/root" >"$TMP/vgw.log" 2>&1 &
VGW_PID=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
	sleep 0.1
done
export S3_ACCESS_KEY=bench S3_SECRET_KEY=bench-secret-123 DATABASE_URL=postgres://bench@127.0.0.1/bench

# A synthetic encrypted backup: random bytes (what age output looks like) and its manifest.
ID=20261201T030000Z
FILE=$ID-bench.dump.age
log "writing a $SIZE_MB MB backup file"
head -c "$((SIZE_MB * 1000000))" /dev/urandom >"$TMP/backups/$FILE"
SUM=$(sha256sum "$TMP/backups/$FILE" | cut -d' ' -f1)
SIZE=$(stat -c %s "$TMP/backups/$FILE")
cat >"$TMP/backups/$ID-bench.json" <<JSON
{"id":"$ID","database":"bench","file":"$FILE","started_at":"2026-12-01T03:00:00Z","finished_at":"2026-12-01T03:01:00Z",
 "size_bytes":$SIZE,"sha256":"$SUM","format":"custom","encrypted":true,"server_version":"15.8","tables":{},"verified":null}
JSON
cat >"$TMP/edge.toml" <<TOML
[server]
http = "127.0.0.1:1"
https = ""
state_dir = "$TMP/state"
[site]
domains = ["bench.test"]
root = "$TMP/site"
[backup]
database_url = "\${DATABASE_URL}"
dir = "$TMP/backups"
encrypt_to = ["age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"]
[backup.remote]
url = "s3://bench/prod"
endpoint = "http://127.0.0.1:$PORT"
access_key = "\${S3_ACCESS_KEY}"
secret_key = "\${S3_SECRET_KEY}"
path_style = true
drill = "off"
TOML

# run NAME CMD...: wall seconds, peak RSS (KB) and CPU seconds of CMD into
# $TMP/NAME.times, one line per round.
run() {
	local name=$1
	shift
	sync
	/usr/bin/time -f "%e %M %U %S" -o "$TMP/time" "$@" >"$TMP/$name.out" 2>&1 || { cat "$TMP/$name.out" >&2; exit 1; }
	cat "$TMP/time" >>"$TMP/$name.times"
}

# row NAME LABEL: the best round (least wall time) of NAME as a table row.
row() {
	sort -n "$TMP/$1.times" | head -1 | {
		read -r secs kb usr sys
		printf '| %s | %s s | %s MB/s | %s MB | %s s |\n' "$2" "$secs" \
			"$(awk -v b="$SIZE" -v s="$secs" 'BEGIN { printf "%.0f", b / 1e6 / s }')" "$((kb / 1024))" \
			"$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
	}
}

ROUNDS=${ROUNDS:-3}
for r in $(seq "$ROUNDS"); do
	log "round $r of $ROUNDS"
	run s3put "$TMP/s3put" -endpoint "http://127.0.0.1:$PORT" -bucket bench -key "ref/$FILE" "$TMP/backups/$FILE"
	run push "$TMP/edge" backup push "$ID" -config "$TMP/edge.toml"
done
mkdir -p "$TMP/pulled"
sed -i "s|^dir = .*|dir = \"$TMP/pulled\"|" "$TMP/edge.toml"
run pull "$TMP/edge" backup pull latest -config "$TMP/edge.toml"
[[ $(sha256sum "$TMP/pulled/$FILE" | cut -d' ' -f1) == "$SUM" ]] || { echo "pulled file differs" >&2; exit 1; }
{
	echo "### Off-site upload: $SIZE_MB MB to versitygw on 127.0.0.1 ($(nproc) CPUs, best of $ROUNDS)"
	echo
	echo "| command | wall | throughput | peak RSS | CPU (user+sys) |"
	echo "|---|---|---|---|---|"
	row s3put "s3put (minio-go FPutObject, its defaults)"
	row push "edge backup push ID"
	row pull "edge backup pull latest (sha256 checked)"
} | tee "$TMP/report.md"
[[ -z $OUT ]] || cp "$TMP/report.md" "$OUT"
