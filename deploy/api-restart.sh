#!/usr/bin/env bash
# deploy/api-restart.sh (installed as /usr/local/bin/gitcourse-api-restart):
# restart the GitCourse API the safest way this host allows, so that users
# see no error. Run by deploy/deploy.sh's restart step.
#
#   two or more gitcourse-api@PORT.service instances running:
#       one at a time: edge upstream drain 127.0.0.1:PORT (edge stops sending
#       it requests and waits for those in flight), restart it, wait for its
#       health check, edge upstream enable 127.0.0.1:PORT
#   otherwise: systemctl restart gitcourse-api.service; with
#       gitcourse-api.socket the listening socket stays open across the
#       restart (requests wait in the kernel), without it edge's
#       retry_window waits for the new process
#
# Environment (default in brackets):
#   EDGE             [/usr/local/bin/edge]
#   EDGE_CONFIG      [/etc/edge/edge.toml]
#   HEALTH_PATH      [/api/health], asked of each instance directly
#   HEALTH_TIMEOUT   seconds an instance may take to answer it [60]
#   SYSTEMCTL        querying units [systemctl]
#   RESTART          restarting a unit [sudo systemctl restart]
# Exit 0: restarted and healthy. Exit 1: a step failed; an instance that did
# not come back stays drained (edge keeps serving from the others).
set -euo pipefail

EDGE=${EDGE:-/usr/local/bin/edge}
EDGE_CONFIG=${EDGE_CONFIG:-/etc/edge/edge.toml}
HEALTH_PATH=${HEALTH_PATH:-/api/health}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-60}
read -ra systemctl <<<"${SYSTEMCTL:-systemctl}"
read -ra restart <<<"${RESTART:-sudo systemctl restart}"

case "${1:-}" in
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
"") ;;
*)
	echo "api-restart: unknown argument $1 (see -h)" >&2
	exit 2
	;;
esac

# healthy ADDR waits until http://ADDR$HEALTH_PATH answers 2xx.
healthy() {
	local deadline=$((SECONDS + HEALTH_TIMEOUT))
	until curl -fsS -o /dev/null --max-time 2 "http://$1$HEALTH_PATH" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			return 1
		fi
		sleep 0.2
	done
}

mapfile -t units < <("${systemctl[@]}" list-units --plain --no-legend --state=active 'gitcourse-api@*.service' |
	awk '{print $1}')
if ((${#units[@]} >= 2)); then
	for unit in "${units[@]}"; do
		port=${unit#gitcourse-api@}
		port=${port%.service}
		addr=127.0.0.1:$port
		"$EDGE" upstream drain "$addr" -config "$EDGE_CONFIG"
		"${restart[@]}" "$unit"
		if ! healthy "$addr"; then
			echo "api-restart: $unit did not answer $HEALTH_PATH within ${HEALTH_TIMEOUT}s; it stays drained" >&2
			exit 1
		fi
		"$EDGE" upstream enable "$addr" -config "$EDGE_CONFIG"
	done
	echo "api-restart: restarted ${#units[@]} instances one at a time, each drained first"
	exit 0
fi
"${restart[@]}" gitcourse-api.service
if "${systemctl[@]}" is-active --quiet gitcourse-api.socket; then
	echo "api-restart: restarted gitcourse-api.service; gitcourse-api.socket kept its socket open"
else
	echo "api-restart: restarted gitcourse-api.service without gitcourse-api.socket; edge's retry_window covered the gap"
fi
