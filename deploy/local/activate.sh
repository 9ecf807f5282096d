# Sourced by the Makefile targets: the virtualenv, and the stack's addresses if it runs here.
# Addresses already in the environment win (existing servers are used as they are).
_lindung_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ -f "$_lindung_root/.stack/env" ]]; then
  _keep_db="${DATABASE_URL:-}"; _keep_kafka="${KAFKA_BOOTSTRAP_SERVERS:-}"
  _keep_registry="${LINDUNG_CIVIL_REGISTRY_URL:-}"; _keep_sms="${NOTIFIER_SMS_URL:-}"
  _keep_push="${NOTIFIER_PUSH_URL:-}"
  # shellcheck disable=SC1091
  source "$_lindung_root/.stack/env"
  [[ -n "$_keep_db" ]] && export DATABASE_URL="$_keep_db"
  [[ -n "$_keep_kafka" ]] && export KAFKA_BOOTSTRAP_SERVERS="$_keep_kafka"
  [[ -n "$_keep_registry" ]] && export LINDUNG_CIVIL_REGISTRY_URL="$_keep_registry"
  [[ -n "$_keep_sms" ]] && export NOTIFIER_SMS_URL="$_keep_sms"
  [[ -n "$_keep_push" ]] && export NOTIFIER_PUSH_URL="$_keep_push"
fi
export PATH="$_lindung_root/.venv/bin:$PATH"
export LINDUNG_KEYS_DIR="${LINDUNG_KEYS_DIR:-$_lindung_root/.keys}"
unset _lindung_root _keep_db _keep_kafka _keep_registry _keep_sms _keep_push
