#!/usr/bin/env bash
# deploy/deploy.sh: test, build, ship and switch one GitCourse deploy.
#
#   DEPLOY_HOST=deploy@gitcourse.example.com HEALTH_URL=https://gitcourse.example.com/api/health \
#     deploy/deploy.sh [-h]
#
# Runs from the app's repository (DEPLOY_APP_DIR, default: the current
# directory), on a CI runner or a laptop. Steps, in order:
#
#   test     run the app's tests                          APP_TEST_CMD
#   build    build the frontend                           FRONTEND_BUILD_CMD, FRONTEND_DIST
#   ship     rsync the build (and the backend) over SSH   DEPLOY_HOST, REMOTE_STAGING, BACKEND_DIR
#   preflight  edge preflight on the host (DNS, ports,    REMOTE_PREFLIGHT_CMD
#            upstreams, pg_dump, backup dir); a failure stops before the release
#   release  edge release: switch the frontend           REMOTE_RELEASE_CMD
#   backup   edge backup now, right before migrating      REMOTE_BACKUP_CMD
#   migrate  alembic upgrade head                         REMOTE_MIGRATE_CMD
#   restart  restart the API unit                         REMOTE_RESTART_CMD
#   health   wait for /api/health through edge            HEALTH_URL, HEALTH_TIMEOUT
#
# When a step after "release" fails, the frontend is rolled back (edge
# rollback) and the failure reported; the database stays migrated (restore
# with edge backup restore if needed). Success or failure goes out through
# edge notify. "edge notify", "edge preflight" or "edge backup" answering
# exit 2 "not available" (an edge build without them) is said plainly:
# without notify or preflight the deploy continues; without backup it
# refuses to migrate unless DEPLOY_REQUIRE_BACKUP=0. Re-running a deploy is safe: it makes a new
# release, and alembic upgrade head does nothing when up to date.
#
# Environment (default in brackets):
#   DEPLOY_HOST          user@host to deploy to (required)
#   DEPLOY_SSH_PORT      [22]
#   DEPLOY_SSH_KEY       private key file; none: ssh's defaults / agent
#   DEPLOY_SSH_OPTS      extra ssh options, such as "-o UserKnownHostsFile=known_hosts"
#   DEPLOY_ID            name of this deploy [git short hash, else the UTC time]
#   DEPLOY_APP_DIR       the app's repository [.]
#   APP_TEST_CMD         [cd backend && python3 -m pytest -q]; empty: skip
#   FRONTEND_BUILD_CMD   [cd frontend && npm ci && npm run build]; empty: skip
#   FRONTEND_DIST        the build output [frontend/dist]
#   BACKEND_DIR          backend sources to ship [backend]; empty: do not ship
#   HEALTH_URL           checked through edge, from here (required)
#   HEALTH_CURL_OPTS     extra curl options, such as "--resolve host:443:IP"
#   HEALTH_TIMEOUT       seconds to wait for HEALTH_URL [60]
#   DEPLOY_REQUIRE_BACKUP  1: no migration without a backup [1]
#   REMOTE_BASE          [/var/www/gitcourse]
#   REMOTE_STAGING       uploads [$REMOTE_BASE/deploy]
#   REMOTE_BACKEND_DIR   [$REMOTE_BASE/backend]
#   REMOTE_ENV_FILE      secrets, read by the remote commands [$REMOTE_BASE/.env]
#   REMOTE_EDGE          [/usr/local/bin/edge]
#   REMOTE_EDGE_CONFIG   [/etc/edge/edge.toml]
#   REMOTE_PREFLIGHT_CMD [. $REMOTE_ENV_FILE; $REMOTE_EDGE preflight -config ...]; empty: skip
#                        (behind NAT add -public-ip IP)
#   REMOTE_RELEASE_CMD   [$REMOTE_EDGE release -config $REMOTE_EDGE_CONFIG]; the build dir is appended
#   REMOTE_ROLLBACK_CMD  [$REMOTE_EDGE rollback -config $REMOTE_EDGE_CONFIG]
#   REMOTE_BACKUP_CMD    [. $REMOTE_ENV_FILE; sudo -E -u edge $REMOTE_EDGE backup now -config ...]
#   REMOTE_MIGRATE_CMD   [cd $REMOTE_BACKEND_DIR && . $REMOTE_ENV_FILE && python3 -m alembic upgrade head]
#   REMOTE_RESTART_CMD   [gitcourse-api-restart (deploy/api-restart.sh: instances drained and
#                        restarted one by one, else the socket-activated restart), without it
#                        sudo systemctl restart gitcourse-api.service]; set it to
#                        another command (or "true") where there is no systemd, as the tests do
#   REMOTE_NOTIFY_CMD    [. $REMOTE_ENV_FILE; $REMOTE_EDGE notify -config ...]; -status, -title and the
#                        message are appended; empty: do not notify
# The remote commands run through the remote user's shell; "." loads the
# env file with set -a. docs/deployment.md#automated-deploys has the
# deploy user's groups and sudoers lines.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
"") ;;
*)
	echo "deploy.sh: unknown argument $1 (see -h)" >&2
	exit 2
	;;
esac

: "${DEPLOY_HOST:?set DEPLOY_HOST=user@host (see deploy/deploy.sh -h)}"
: "${HEALTH_URL:?set HEALTH_URL, such as https://gitcourse.example.com/api/health}"
cd "${DEPLOY_APP_DIR:-.}"

q() { printf '%q' "$1"; }

DEPLOY_SSH_PORT=${DEPLOY_SSH_PORT:-22}
DEPLOY_ID=${DEPLOY_ID:-$(git rev-parse --short HEAD 2>/dev/null || date -u +%Y%m%dT%H%M%SZ)}
APP_TEST_CMD=${APP_TEST_CMD-cd backend && python3 -m pytest -q}
FRONTEND_BUILD_CMD=${FRONTEND_BUILD_CMD-cd frontend && npm ci && npm run build}
FRONTEND_DIST=${FRONTEND_DIST:-frontend/dist}
BACKEND_DIR=${BACKEND_DIR-backend}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-60}
DEPLOY_REQUIRE_BACKUP=${DEPLOY_REQUIRE_BACKUP:-1}
REMOTE_BASE=${REMOTE_BASE:-/var/www/gitcourse}
REMOTE_STAGING=${REMOTE_STAGING:-$REMOTE_BASE/deploy}
REMOTE_BACKEND_DIR=${REMOTE_BACKEND_DIR:-$REMOTE_BASE/backend}
REMOTE_ENV_FILE=${REMOTE_ENV_FILE:-$REMOTE_BASE/.env}
REMOTE_EDGE=${REMOTE_EDGE:-/usr/local/bin/edge}
REMOTE_EDGE_CONFIG=${REMOTE_EDGE_CONFIG:-/etc/edge/edge.toml}
load_env="set -a && . $(q "$REMOTE_ENV_FILE") && set +a"
edge_cfg="-config $(q "$REMOTE_EDGE_CONFIG")"
REMOTE_PREFLIGHT_CMD=${REMOTE_PREFLIGHT_CMD-$load_env && $(q "$REMOTE_EDGE") preflight $edge_cfg}
REMOTE_RELEASE_CMD=${REMOTE_RELEASE_CMD:-$(q "$REMOTE_EDGE") release $edge_cfg}
REMOTE_ROLLBACK_CMD=${REMOTE_ROLLBACK_CMD:-$(q "$REMOTE_EDGE") rollback $edge_cfg}
REMOTE_BACKUP_CMD=${REMOTE_BACKUP_CMD:-$load_env && sudo -E -u edge $(q "$REMOTE_EDGE") backup now $edge_cfg}
REMOTE_MIGRATE_CMD=${REMOTE_MIGRATE_CMD:-cd $(q "$REMOTE_BACKEND_DIR") && $load_env && python3 -m alembic upgrade head}
# The safest restart the host has (docs/zero-downtime-deploys.md): drain and
# restart instances one by one, else the socket-activated restart.
REMOTE_RESTART_CMD=${REMOTE_RESTART_CMD-if command -v gitcourse-api-restart >/dev/null; then EDGE_CONFIG=$(q "$REMOTE_EDGE_CONFIG") gitcourse-api-restart; else sudo systemctl restart gitcourse-api.service; fi}
REMOTE_NOTIFY_CMD=${REMOTE_NOTIFY_CMD-$load_env && $(q "$REMOTE_EDGE") notify $edge_cfg}

ssh_cmd=(ssh -p "$DEPLOY_SSH_PORT" -o BatchMode=yes -o ConnectTimeout=10)
if [[ -n "${DEPLOY_SSH_KEY:-}" ]]; then
	ssh_cmd+=(-i "$DEPLOY_SSH_KEY" -o IdentitiesOnly=yes)
fi
if [[ -n "${DEPLOY_SSH_OPTS:-}" ]]; then
	read -ra extra_ssh <<<"$DEPLOY_SSH_OPTS"
	ssh_cmd+=("${extra_ssh[@]}")
fi
health_opts=()
if [[ -n "${HEALTH_CURL_OPTS:-}" ]]; then
	read -ra health_opts <<<"$HEALTH_CURL_OPTS"
fi

START=$SECONDS
STEP=start
RELEASED=0
MIGRATED=0
NOTES=()

log() { printf 'deploy %s: %s\n' "$DEPLOY_ID" "$*"; }
step() {
	STEP=$1
	printf '\n==> %s\n' "$1"
}

# remote CMD runs CMD on the host through its user's shell.
remote() { "${ssh_cmd[@]}" "$DEPLOY_HOST" "$1"; }

# unavailable RC OUTPUT reports whether an edge subcommand is missing from
# the host's edge build (exit 2, "not available").
unavailable() { [[ "$1" == 2 && "$2" == *"not available"* ]]; }

# capture CMD: runs CMD remotely, shows its output, and leaves it in OUT
# and its exit code in RC.
capture() {
	RC=0
	OUT=$(remote "$1" 2>&1) || RC=$?
	[[ -z "$OUT" ]] || printf '%s\n' "$OUT"
}

run_tests() {
	if [[ -z "$APP_TEST_CMD" ]]; then
		log "tests skipped (APP_TEST_CMD is empty)"
		return 0
	fi
	bash -c "$APP_TEST_CMD"
}

build_frontend() {
	if [[ -n "$FRONTEND_BUILD_CMD" ]]; then
		bash -c "$FRONTEND_BUILD_CMD" || return 1
	fi
	if [[ ! -f "$FRONTEND_DIST/index.html" ]]; then
		log "no $FRONTEND_DIST/index.html after the build (fix: FRONTEND_DIST)"
		return 1
	fi
}

ship() {
	local rsh="${ssh_cmd[*]}"
	remote "mkdir -p $(q "$REMOTE_STAGING/frontend")" || return 1
	local out
	out=$(rsync -rlptz --delete --human-readable --stats -e "$rsh" "$FRONTEND_DIST/" "$DEPLOY_HOST:$REMOTE_STAGING/frontend/") || return 1
	grep -E '^(Number of regular files transferred|Total transferred file size)' <<<"$out" || true
	if [[ -n "$BACKEND_DIR" ]]; then
		remote "mkdir -p $(q "$REMOTE_BACKEND_DIR")" || return 1
		rsync -rlptz --delete --exclude=__pycache__ --exclude=.venv --exclude=.pytest_cache --exclude=.env \
			-e "$rsh" "$BACKEND_DIR/" "$DEPLOY_HOST:$REMOTE_BACKEND_DIR/" || return 1
		log "backend shipped to $REMOTE_BACKEND_DIR"
	fi
}

preflight() {
	if [[ -z "$REMOTE_PREFLIGHT_CMD" ]]; then
		log "preflight skipped (REMOTE_PREFLIGHT_CMD is empty)"
		return 0
	fi
	capture "$REMOTE_PREFLIGHT_CMD"
	if ((RC == 0)); then
		return 0
	fi
	if unavailable "$RC" "$OUT"; then
		log "edge preflight is not available in the host's edge build: skipped"
		return 0
	fi
	log "edge preflight failed (exit $RC): not releasing"
	return 1
}

release() {
	remote "$REMOTE_RELEASE_CMD $(q "$REMOTE_STAGING/frontend")" || return 1
	RELEASED=1
}

backup() {
	capture "$REMOTE_BACKUP_CMD"
	if ((RC == 0)); then
		return 0
	fi
	if unavailable "$RC" "$OUT"; then
		if [[ "$DEPLOY_REQUIRE_BACKUP" == 0 ]]; then
			log "edge backup is not available in the host's edge build: migrating WITHOUT a backup (DEPLOY_REQUIRE_BACKUP=0)"
			NOTES+=("no backup: edge backup not available")
			return 0
		fi
		log "edge backup is not available in the host's edge build: refusing to migrate without a backup (upgrade edge, or set DEPLOY_REQUIRE_BACKUP=0)"
		return 1
	fi
	log "edge backup now failed (exit $RC): not migrating"
	return 1
}

migrate() {
	remote "$REMOTE_MIGRATE_CMD" || return 1
	MIGRATED=1
}

restart_api() {
	if [[ -z "$REMOTE_RESTART_CMD" ]]; then
		log "API restart skipped (REMOTE_RESTART_CMD is empty)"
		return 0
	fi
	remote "$REMOTE_RESTART_CMD"
}

wait_health() {
	local deadline=$((SECONDS + HEALTH_TIMEOUT)) tries=0
	while :; do
		tries=$((tries + 1))
		if curl -fsS -o /dev/null --max-time 5 "${health_opts[@]}" "$HEALTH_URL" 2>/dev/null; then
			log "$HEALTH_URL answers (try $tries)"
			return 0
		fi
		if ((SECONDS >= deadline)); then
			log "$HEALTH_URL still failing after ${HEALTH_TIMEOUT}s ($tries tries):"
			curl -sS --max-time 5 "${health_opts[@]}" "$HEALTH_URL" 2>&1 | head -c 300 || true
			echo
			return 1
		fi
		sleep 1
	done
}

# notify STATUS TITLE MESSAGE sends through edge notify on the host; a
# failure to notify never changes the deploy's outcome.
notify() {
	if [[ -z "$REMOTE_NOTIFY_CMD" ]]; then
		log "not notifying (REMOTE_NOTIFY_CMD is empty)"
		return 0
	fi
	capture "$REMOTE_NOTIFY_CMD -status $1 -title $(q "$2") $(q "$3")"
	if ((RC == 0)); then
		log "notified ($1)"
	elif unavailable "$RC" "$OUT"; then
		log "edge notify is not available in the host's edge build: nobody was notified"
	else
		log "edge notify failed (exit $RC): nobody was notified"
	fi
}

fail() {
	local reason="deploy $DEPLOY_ID failed at step $STEP"
	printf '\n' >&2
	log "FAILED at step $STEP" >&2
	if ((RELEASED)); then
		log "rolling back the frontend"
		if remote "$REMOTE_ROLLBACK_CMD"; then
			reason+="; frontend rolled back"
		else
			reason+="; frontend rollback FAILED too"
		fi
	fi
	if ((MIGRATED)); then
		reason+="; the database was migrated (edge backup list, then edge backup restore ID if it must go back)"
	fi
	notify fail "deploy $DEPLOY_ID failed" "$reason"
	log "$reason" >&2
	exit 1
}

for s in "test:run_tests" "build:build_frontend" "ship:ship" "preflight:preflight" "release:release" "backup:backup" \
	"migrate:migrate" "restart:restart_api" "health:wait_health"; do
	step "${s%%:*}"
	"${s#*:}" || fail
done

STEP=finished
summary="deploy $DEPLOY_ID ok in $((SECONDS - START))s"
if ((${#NOTES[@]} > 0)); then
	summary+=" (${NOTES[*]})"
fi
printf '\n'
notify ok "deploy $DEPLOY_ID ok" "$summary"
log "$summary"
