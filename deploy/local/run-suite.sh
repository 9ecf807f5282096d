#!/usr/bin/env bash
# The body of `make run` (called inside with-stack.sh, so the stack is up and .stack/env set):
# create and migrate the databases, create the topics, then run every service's API and
# worker as separate processes under one supervisor (honcho) with prefixed logs.
# Ctrl-C stops every process; with-stack.sh then stops the stack it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
source deploy/local/activate.sh

lindung bootstrap

procfile="$(mktemp -t lindung-procfile.XXXXXX)"
trap 'rm -f "$procfile"' EXIT
declare -A packages=(
  [venue-registry]=lindung_venues [checkin]=lindung_checkin
  [health-records]=lindung_health [notifier]=lindung_notifier
  [portal]=lindung_portal [citizen-app]=lindung_citizen
)
declare -A ports=(
  [venue-registry]=${VENUE_REGISTRY_HTTP_PORT:-8001} [checkin]=${CHECKIN_HTTP_PORT:-8002}
  [health-records]=${HEALTH_RECORDS_HTTP_PORT:-8003} [notifier]=${NOTIFIER_HTTP_PORT:-8004}
  [portal]=${PORTAL_HTTP_PORT:-8005} [citizen-app]=${CITIZEN_APP_HTTP_PORT:-8006}
)
urls=()
for service in venue-registry checkin health-records notifier portal citizen-app; do
  package="${packages[$service]}"
  if [[ ! -f "services/$service/src/$package/api.py" ]]; then
    echo "skipping $service: not built yet" >&2
    continue
  fi
  echo "$service-api: exec python -m $package.api" >>"$procfile"
  if [[ -f "services/$service/src/$package/worker.py" ]]; then
    echo "$service-worker: exec python -m $package.worker" >>"$procfile"
  fi
  urls+=("$service  http://127.0.0.1:${ports[$service]}  (docs: /docs, health: /readyz)")
done

echo
echo "Lindung is starting:"
printf '  %s\n' "${urls[@]}"
echo "  portal (venue managers, health offices): http://127.0.0.1:${ports[portal]}"
echo "    an officer: .venv/bin/lindung-portal create-officer --email E --name N --regency 3171"
echo "  the citizen app (PWA): http://127.0.0.1:${ports[citizen-app]}/"
echo "  dev external systems (civil registry, SMS + push gateways): http://127.0.0.1:${LINDUNG_DEVSYSTEMS_PORT:-18081}"
echo "  development tokens: .venv/bin/lindung token --role citizen --subject <person-id>"
echo "  Ctrl-C stops everything."
echo
exec honcho start --no-colour -f "$procfile"
