#!/usr/bin/env bash
# Install edge on a Debian/Ubuntu host, idempotently.
#
#   sudo deploy/install.sh [--dry-run] [--binary PATH] [--destdir DIR]
#        [--journal-upload URL [--journal-upload-ca FILE]
#         [--journal-upload-cert FILE --journal-upload-key FILE]]
#
# Creates the edge user and group, installs the binary and the systemd
# units, writes /etc/edge/edge.toml from the example when absent, sets
# owners and modes (env file 0640 root:edge, state 0700, backups 0750),
# reloads systemd and enables the sockets. --dry-run prints the plan and
# changes nothing. --destdir installs into a staging root (packaging and
# tests): users are not created and systemctl is not called there.
# --journal-upload URL also installs systemd-journal-upload (Debian's
# systemd-journal-remote package) and points it at URL, a
# systemd-journal-remote receiver, to forward the whole host journal.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dry=0
destdir=""
binary=""

journal_url=""
journal_ca=""
journal_cert=""
journal_key=""

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift ;;
    --binary) binary=${2:?--binary needs a path}; shift ;;
    --journal-upload) journal_url=${2:?--journal-upload needs the receiver URL}; shift ;;
    --journal-upload-ca) journal_ca=${2:?--journal-upload-ca needs a PEM file}; shift ;;
    --journal-upload-cert) journal_cert=${2:?--journal-upload-cert needs a PEM file}; shift ;;
    --journal-upload-key) journal_key=${2:?--journal-upload-key needs a PEM file}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -z "$binary" ]; then
  for candidate in "$here/../edge" "$(command -v edge 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then binary=$candidate; break; fi
  done
fi
if [ -z "$binary" ] && [ "$dry" = 0 ]; then
  echo "install.sh: no edge binary found (fix: go build -o edge ./cmd/edge, or pass --binary PATH)" >&2
  exit 1
fi

case "$journal_url" in
  ""|https://*) ;;
  http://127.*|http://localhost*|http://\[::1\]*) ;;
  *) echo "install.sh: --journal-upload $journal_url: use https:// (the journal leaves the host; http:// only to a loopback receiver)" >&2; exit 2 ;;
esac
if [ -z "$journal_url" ] && [ -n "$journal_ca$journal_cert$journal_key" ]; then
  echo "install.sh: --journal-upload-ca/-cert/-key need --journal-upload URL" >&2; exit 2
fi
if { [ -n "$journal_cert" ] && [ -z "$journal_key" ]; } || { [ -z "$journal_cert" ] && [ -n "$journal_key" ]; }; then
  echo "install.sh: --journal-upload-cert and --journal-upload-key go together" >&2; exit 2
fi

root=${destdir%/}
staging=0
[ -n "$root" ] && staging=1

run() {
  if [ "$dry" = 1 ]; then
    printf 'would run: %s\n' "$*"
  else
    "$@"
  fi
}

# owner USER:GROUP PATH: chown only on a real install (a staging root has
# no edge user); the modes are set everywhere.
owner() {
  if [ "$staging" = 1 ]; then
    [ "$dry" = 1 ] && printf 'would chown %s %s (skipped in a staging root)\n' "$1" "$2"
    return 0
  fi
  run chown "$1" "$2"
}

ensure_user() {
  if [ "$staging" = 1 ]; then
    echo "skip: creating user edge (staging root)"
    return 0
  fi
  if getent passwd edge >/dev/null; then
    echo "ok: user edge exists"
  else
    run useradd --system --user-group --home-dir /var/lib/edge --no-create-home --shell /usr/sbin/nologin edge
  fi
}

ensure_dir() { # ensure_dir PATH MODE OWNER
  run install -d -m "$2" "$root$1"
  owner "$3" "$root$1"
}

install_file() { # install_file SRC DEST MODE
  run install -m "$3" "$1" "$root$2"
}

ensure_user
ensure_dir /usr/local/bin 0755 root:root
if [ -n "$binary" ]; then
  install_file "$binary" /usr/local/bin/edge 0755
else
  echo "would install: the edge binary to /usr/local/bin/edge (none given)"
fi
install_file "$here/api-restart.sh" /usr/local/bin/gitcourse-api-restart 0755
ensure_dir /etc/systemd/system 0755 root:root
for unit in edge-http.socket edge-https.socket edge-h3.socket edge.service gitcourse-api.socket gitcourse-api.service \
  gitcourse-api@.socket gitcourse-api@.service; do
  install_file "$here/systemd/$unit" "/etc/systemd/system/$unit" 0644
done
ensure_dir /etc/edge 0750 root:edge
if [ -e "$root/etc/edge/edge.toml" ]; then
  echo "ok: /etc/edge/edge.toml exists; left as it is"
else
  install_file "$here/edge.example.toml" /etc/edge/edge.toml 0640
  owner root:edge /etc/edge/edge.toml
fi
ensure_dir /var/lib/edge 0700 edge:edge
ensure_dir /var/backups/gitcourse 0750 edge:edge
ensure_dir /var/www/gitcourse 0755 root:root
ensure_dir /var/www/gitcourse/frontend 0755 root:root
ensure_dir /var/www/gitcourse/frontend/releases 0755 root:root
ensure_dir /var/log/edge 0750 edge:edge
ensure_dir /usr/local/share/doc/edge 0755 root:root
for doc in "$here"/../docs/*.md; do
  [ -e "$doc" ] && install_file "$doc" "/usr/local/share/doc/edge/$(basename "$doc")" 0644
done
if [ -e "$root/var/www/gitcourse/.env" ]; then
  run chmod 0640 "$root/var/www/gitcourse/.env"
  echo "ok: /var/www/gitcourse/.env exists; mode set to 0640"
else
  install_file "$here/env.example" /var/www/gitcourse/.env 0640
fi
owner root:edge /var/www/gitcourse/.env
ensure_dir /etc/sysctl.d 0755 root:root
install_file "$here/sysctl/60-edge.conf" /etc/sysctl.d/60-edge.conf 0644
ensure_dir /etc/logrotate.d 0755 root:root
install_file "$here/logrotate/edge" /etc/logrotate.d/edge 0644

# install_journal_upload: the uploader's config and drop-in, and its TLS
# files readable by the service's dynamic user (group systemd-journal).
install_journal_upload() {
  if [ "$staging" = 0 ]; then
    if dpkg -s systemd-journal-remote >/dev/null 2>&1; then
      echo "ok: systemd-journal-remote is installed"
    else
      run apt-get install -y systemd-journal-remote
    fi
  fi
  ensure_dir /etc/systemd/journal-upload.conf.d 0755 root:root
  if [ "$dry" = 1 ]; then
    echo "would write: /etc/systemd/journal-upload.conf.d/edge.conf with URL=$journal_url"
  else
    sed "s|@URL@|$journal_url|" "$here/journal-upload/journal-upload.conf" >"$root/etc/systemd/journal-upload.conf.d/edge.conf"
    chmod 0644 "$root/etc/systemd/journal-upload.conf.d/edge.conf"
  fi
  ensure_dir /etc/systemd/system/systemd-journal-upload.service.d 0755 root:root
  install_file "$here/journal-upload/systemd-journal-upload.service.d/edge.conf" \
    /etc/systemd/system/systemd-journal-upload.service.d/edge.conf 0644
  ensure_dir /etc/systemd/journal-upload-tls 0750 root:systemd-journal
  for pair in "ca.pem:$journal_ca" "cert.pem:$journal_cert" "key.pem:$journal_key"; do
    src=${pair#*:}
    [ -n "$src" ] || continue
    install_file "$src" "/etc/systemd/journal-upload-tls/${pair%%:*}" 0640
    owner root:systemd-journal "$root/etc/systemd/journal-upload-tls/${pair%%:*}"
  done
}
if [ -n "$journal_url" ]; then install_journal_upload; fi

if [ "$staging" = 1 ]; then
  echo "skip: systemctl (staging root)"
else
  run systemctl daemon-reload
  run sysctl -p /etc/sysctl.d/60-edge.conf
  run systemctl enable edge-http.socket edge-https.socket edge-h3.socket edge.service
  if [ -n "$journal_url" ]; then
    run systemctl enable systemd-journal-upload.service
    run systemctl restart systemd-journal-upload.service
  fi
  # The API's socket outlives its restarts (docs/zero-downtime-deploys.md).
  run systemctl enable gitcourse-api.socket gitcourse-api.service
  echo "next: run edge hash-password and write its output to /var/www/gitcourse/.env as EDGE_ADMIN_BCRYPT='HASH'"
  echo "next: edit /etc/edge/edge.toml and /var/www/gitcourse/.env, check with edge validate -print, then: systemctl start edge-http.socket edge-https.socket edge-h3.socket edge.service"
  echo "next: systemctl start gitcourse-api.socket gitcourse-api.service (an API already running on 127.0.0.1:8000 without the socket: systemctl stop gitcourse-api.service first)"
fi
echo "done${root:+ (in $root)}"
