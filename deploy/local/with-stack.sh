#!/usr/bin/env bash
# shellcheck disable=SC2317  # the signal handlers below are only called from traps
# Run a command against the local stack, then stop what this invocation started:
#
#   deploy/local/with-stack.sh CMD [ARG...]
#
# 1. `stack.sh up` with a unique LINDUNG_STACK_OWNER (PostgreSQL/Kafka that already run are reused,
#    DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS already set in the environment are respected);
# 2. sources .stack/env (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS) and runs CMD;
# 3. on exit - CMD passed or failed, Ctrl-C, SIGTERM, SIGHUP - stops exactly the components that
#    step 1 started (recorded in .stack/started-by-<owner>), not ones that ran before;
# 4. exits with CMD's exit code (or 128+signal if interrupted before CMD ran).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
STACK="$SCRIPT_DIR/stack.sh"

if [[ $# -eq 0 || $1 == -h || $1 == --help ]]; then
    sed -n '3,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi

log() { printf 'with-stack: %s\n' "$*" >&2; }

OWNER="with-stack-$(hostname 2>/dev/null || echo host)-$$-$(date +%s%N)-$RANDOM"
OWNER=${OWNER//[^A-Za-z0-9._-]/_}
export LINDUNG_STACK_OWNER=$OWNER
STARTED_FILE="$REPO_ROOT/.stack/started-by-$OWNER"

child=""
signals=0
cleaned=0

cleanup() {
    ((cleaned)) && return 0
    cleaned=1
    [[ -f $STARTED_FILE ]] || return 0
    local comps=()
    mapfile -t comps < <(sort -u "$STARTED_FILE")
    if ((${#comps[@]})); then
        log "stopping what this run started: ${comps[*]}"
        "$STACK" down "${comps[@]}" || log "warning: '$STACK down ${comps[*]}' failed"
    fi
    rm -f "$STARTED_FILE"
}

# Is our process group the terminal's foreground group? Then a Ctrl-C has already reached the
# command itself (same process group), and forwarding SIGINT would deliver it twice.
tty_delivers_sigint() {
    local stat rest
    stat=$(cat "/proc/$$/stat" 2>/dev/null) || return 1
    rest=${stat##*) }
    # fields after "(comm) ": state ppid pgrp session tty_nr tpgid
    local _state _ppid pgrp _session _tty tpgid
    read -r _state _ppid pgrp _session _tty tpgid _ <<<"$rest"
    [[ $tpgid == "$pgrp" ]]
}

on_signal() {
    local sig=$1 code=$2
    signals=$((signals + 1))
    if [[ -z $child ]]; then
        # Interrupted while the stack was starting: stop what got started, exit.
        trap - INT TERM HUP
        cleanup
        exit "$code"
    fi
    kill -0 "$child" 2>/dev/null || return 0
    if ((signals >= 3)); then
        log "SIGKILL to the command (pid $child)"
        kill -KILL "$child" 2>/dev/null || true
    elif ((signals == 2)); then
        log "SIGTERM to the command (pid $child)"
        kill -TERM "$child" 2>/dev/null || true
    elif [[ $sig != INT ]] || ! tty_delivers_sigint; then
        kill "-$sig" "$child" 2>/dev/null || true
    fi
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP
trap cleanup EXIT

rc=0
"$STACK" up || rc=$?
if ((rc != 0)); then
    log "stack.sh up failed (exit $rc)"
    exit "$rc"
fi

# shellcheck source=/dev/null
. "$REPO_ROOT/.stack/env"

# CMD runs in the background so that our traps run at once on a signal; `env --default-signal`
# undoes the SIGINT/SIGQUIT ignoring that bash applies to background commands, and `<&0` keeps
# our stdin (bash would give a background command /dev/null).
env --default-signal=INT,QUIT -- "$@" <&0 &
child=$!
# wait also returns (>128) when one of our traps ran: loop until CMD really ended, then ask
# bash for its saved exit status.
while kill -0 "$child" 2>/dev/null; do
    wait "$child" || true
done
rc=0
wait "$child" || rc=$?
child=""
cleanup
exit "$rc"
