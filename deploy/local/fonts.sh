#!/usr/bin/env bash
# The CJK fonts of the posters (venue-registry): Debian's fonts-noto-cjk (SIL OFL 1.1),
# installed with apt-get when missing and running as root, as deploy/local/browser.sh does for
# chromium. Noto Sans and Noto Sans Arabic come from PyPI with the service's dependencies.
# VENUE_REGISTRY_CJK_FONT points elsewhere when the collection lives at another path.
set -euo pipefail
FONT=${VENUE_REGISTRY_CJK_FONT:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}
log() { printf 'fonts: %s\n' "$*" >&2; }
if [[ ! -f $FONT ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        log "$FONT is missing; install it (apt-get install -y fonts-noto-cjk) or set VENUE_REGISTRY_CJK_FONT"
        exit 1
    fi
    mkdir -p .stack
    log "installing fonts-noto-cjk with apt-get (log: .stack/apt-fonts.log)..."
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-cjk; } \
        </dev/null >>.stack/apt-fonts.log 2>&1; then
        log "apt-get install fonts-noto-cjk failed; see .stack/apt-fonts.log"
        exit 1
    fi
fi
echo "$FONT"
