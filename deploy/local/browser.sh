#!/usr/bin/env bash
# Make sure a headless browser is there for the browser tests (portal, citizen app):
# Debian's `chromium`, installed with apt-get when missing and running as root. Playwright is
# pointed at it (LINDUNG_CHROMIUM, default /usr/bin/chromium): its own browser downloads are not
# reachable from every machine, and a distribution browser gets security updates.
# Prints the browser's path; exits non-zero when it cannot be had.
set -euo pipefail
CHROMIUM=${LINDUNG_CHROMIUM:-/usr/bin/chromium}
log() { printf 'browser: %s\n' "$*" >&2; }
if [[ ! -x $CHROMIUM ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        log "$CHROMIUM is missing; install it (apt-get install -y chromium) or set LINDUNG_CHROMIUM"
        exit 1
    fi
    mkdir -p .stack
    log "installing chromium with apt-get (log: .stack/apt-chromium.log)..."
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } \
        </dev/null >>.stack/apt-chromium.log 2>&1; then
        log "apt-get install chromium failed; see .stack/apt-chromium.log"
        exit 1
    fi
fi
echo "$CHROMIUM"
