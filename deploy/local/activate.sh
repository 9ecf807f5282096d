# Sourced by the Makefile targets: the virtualenv, and the stack's addresses if it runs here.
# Addresses already in the environment win (existing servers are used as they are); so do the
# Kafka security settings that come with an address from the environment (the stack's SASL
# admin belongs to the stack's own brokers only).
_lindung_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ -f "$_lindung_root/.stack/env" ]]; then
  _keep_db="${DATABASE_URL:-}"; _keep_kafka="${KAFKA_BOOTSTRAP_SERVERS:-}"
  _keep_registry="${LINDUNG_CIVIL_REGISTRY_URL:-}"; _keep_sms="${NOTIFIER_SMS_URL:-}"
  _keep_push="${NOTIFIER_PUSH_URL:-}"
  _kafka_security_vars=(KAFKA_SECURITY_PROTOCOL KAFKA_SASL_MECHANISM KAFKA_SASL_USERNAME
    KAFKA_SASL_PASSWORD KAFKA_SASL_PASSWORD_FILE LINDUNG_KAFKA_SASL_DIR)
  _kept_security=()
  for _v in "${_kafka_security_vars[@]}"; do
    if [[ -n "${!_v+set}" ]]; then _kept_security+=("$_v=${!_v}"); fi
  done
  # shellcheck disable=SC1091
  source "$_lindung_root/.stack/env"
  [[ -n "$_keep_db" ]] && export DATABASE_URL="$_keep_db"
  if [[ -n "$_keep_kafka" ]]; then
    export KAFKA_BOOTSTRAP_SERVERS="$_keep_kafka"
    for _v in "${_kafka_security_vars[@]}"; do unset "$_v"; done
    for _kv in "${_kept_security[@]}"; do export "${_kv?}"; done
  fi
  [[ -n "$_keep_registry" ]] && export LINDUNG_CIVIL_REGISTRY_URL="$_keep_registry"
  [[ -n "$_keep_sms" ]] && export NOTIFIER_SMS_URL="$_keep_sms"
  [[ -n "$_keep_push" ]] && export NOTIFIER_PUSH_URL="$_keep_push"
fi
export PATH="$_lindung_root/.venv/bin:$PATH"
export LINDUNG_KEYS_DIR="${LINDUNG_KEYS_DIR:-$_lindung_root/.keys}"
unset _lindung_root _keep_db _keep_kafka _keep_registry _keep_sms _keep_push _kafka_security_vars \
  _kept_security _v _kv
