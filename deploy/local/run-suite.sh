#!/usr/bin/env bash
# The body of `make run` (called inside with-stack.sh, so the stack is up and .stack/env set):
# create and migrate the databases, create the topics, then run every service's API and
# worker as separate processes under one supervisor (lindung_shared.supervisor) with prefixed
# logs. A process that dies is restarted with backoff while the others keep serving.
# Ctrl-C stops every process; with-stack.sh then stops the stack it started.
#
# Adding a process is one line: `proc NAME COMMAND...` below (the command is exec'd by sh).
# LINDUNG_WORKER_INSTANCES=N (default 1) runs N instances of every worker in one consumer
# group; instance i > 1 serves its metrics on the service's worker metrics port + 30*(i-1).
# On the stack's SASL/SCRAM Kafka each service's processes connect as the service's own
# principal (its generated password file; `lindung bootstrap` created its ACLs as admin),
# the portal and the citizen app with no Kafka credentials at all.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
source deploy/local/activate.sh

lindung bootstrap

procfile="$(mktemp -t lindung-procfile.XXXXXX)"
trap 'rm -f "$procfile"' EXIT
proc() { # proc NAME COMMAND...: one supervised process
  local name=$1
  shift
  echo "$name: exec $*" >>"$procfile"
}
instances=${LINDUNG_WORKER_INSTANCES:-1}
[[ $instances =~ ^[1-9][0-9]*$ ]] || { echo "LINDUNG_WORKER_INSTANCES must be >= 1" >&2; exit 2; }
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
declare -A metrics=([venue-registry]=9101 [checkin]=9102 [health-records]=9103 [notifier]=9104)
kafka_env() { # kafka_env SERVICE: the `env ...` its processes start with (nothing on PLAINTEXT)
  [[ -n ${LINDUNG_KAFKA_SASL_DIR:-} && ${KAFKA_SECURITY_PROTOCOL:-} == SASL* ]] || return 0
  local clear="env -u KAFKA_SASL_USERNAME -u KAFKA_SASL_PASSWORD -u KAFKA_SASL_PASSWORD_FILE"
  case $1 in
  portal | citizen-app) echo "$clear" ;;
  *) printf '%s KAFKA_SASL_USERNAME=%q KAFKA_SASL_PASSWORD_FILE=%q\n' "$clear" "$1" \
    "$LINDUNG_KAFKA_SASL_DIR/$1.password" ;;
  esac
}
urls=()
for service in venue-registry checkin health-records notifier portal citizen-app; do
  package="${packages[$service]}"
  if [[ ! -f "services/$service/src/$package/api.py" ]]; then
    echo "skipping $service: not built yet" >&2
    continue
  fi
  prefix=${service^^}
  prefix=${prefix//-/_}
  metrics_var=${prefix}_WORKER_METRICS_PORT
  kenv=$(kafka_env "$service")
  # shellcheck disable=SC2086 # $kenv is words: env and its assignments
  proc "$service-api" $kenv python -m "$package.api"
  if [[ -f "services/$service/src/$package/worker.py" ]]; then
    if ((instances == 1)); then
      # shellcheck disable=SC2086
      proc "$service-worker" $kenv python -m "$package.worker"
    else
      base=${!metrics_var:-${metrics[$service]:-}}
      for ((i = 1; i <= instances; i++)); do
        if [[ -n $base ]]; then
          # shellcheck disable=SC2086
          proc "$service-worker-$i" $kenv env "$metrics_var=$((base + 30 * (i - 1)))" \
            python -m "$package.worker"
        else
          # shellcheck disable=SC2086
          proc "$service-worker-$i" $kenv python -m "$package.worker"
        fi
      done
    fi
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
echo "  a process that dies is restarted (backoff 1 s doubling to 30 s); Ctrl-C stops everything."
echo
exec python -m lindung_shared.supervisor -f "$procfile"
