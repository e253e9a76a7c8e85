#!/usr/bin/env bash
# deploy/firewall/ufw.sh: the host firewall for an edge server, with ufw.
#
#   sudo deploy/firewall/ufw.sh [--dry-run] [--ssh-from CIDR]
#
# Sets ufw to deny incoming and allow outgoing by default, lets in SSH on
# 22 (rate-limited by ufw: 6 new connections in 30 s per address), HTTP on
# 80 and HTTPS on 443 (TCP, and UDP for HTTP/3), and enables ufw. 8000 (the API) and 5432
# (PostgreSQL) listen on loopback only and stay closed. Rules already there
# are kept; ones beyond this set are listed so you can delete them.
#
# Idempotent: ufw skips rules it already has. Keep an SSH session open
# while you run it the first time.
#
#   --dry-run        print the ufw commands instead of running them
#   --ssh-from CIDR  let SSH in only from CIDR (such as your office), still rate-limited
#   -h, --help       this help
#
# The same policy for nftables is deploy/firewall/edge.nft; "edge audit"
# checks either.
set -euo pipefail

dry=0
ssh_from=""

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

while (($# > 0)); do
	case "$1" in
	--dry-run) dry=1 ;;
	--ssh-from)
		ssh_from=${2:?--ssh-from needs a CIDR}
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "ufw.sh: unknown argument $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done

run() {
	if ((dry)); then
		printf 'would run: %s\n' "$*"
	else
		"$@"
	fi
}

if ((!dry)); then
	if ((EUID != 0)); then
		echo "ufw.sh: run as root (sudo $0)" >&2
		exit 1
	fi
	if ! command -v ufw >/dev/null; then
		echo "ufw.sh: ufw is not installed (fix: sudo apt-get install ufw; or use deploy/firewall/edge.nft)" >&2
		exit 1
	fi
fi

run ufw default deny incoming
run ufw default allow outgoing
if [[ -n "$ssh_from" ]]; then
	run ufw limit proto tcp from "$ssh_from" to any port 22 comment 'ssh (rate-limited)'
else
	run ufw limit 22/tcp comment 'ssh (rate-limited)'
fi
run ufw allow 80/tcp comment 'edge http'
run ufw allow 443/tcp comment 'edge https'
run ufw allow 443/udp comment 'edge http/3'
run ufw --force enable

if ((dry)); then
	exit 0
fi
ufw status verbose
# Rules beyond 22/80/443: listed, not deleted (one may be how you reach
# this host).
extra=$(ufw status | awk 'NR > 4 && $1 != "" && $1 !~ /^(22|80|443)(\/tcp)?$/ && $1 !~ /^443\/udp$/ { print }' || true)
if [[ -n "$extra" ]]; then
	echo
	echo "ufw.sh: rules beyond 22, 80, 443 (delete with: sudo ufw status numbered; sudo ufw delete N):"
	echo "$extra"
fi
