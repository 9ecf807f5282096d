#!/usr/bin/env bash
# Local infrastructure for Lindung without Docker: PostgreSQL (Debian's server),
# Apache Kafka 4.1 (KRaft, single node, jars fetched from Maven Central) and the development
# external systems (civil registry, SMS and push gateways: deploy/local/devsystems).
#
#   deploy/local/stack.sh up                 start what is missing, wait until ready, write .stack/env
#   deploy/local/stack.sh down [postgres|kafka|devsystems]...   stop (default: all)
#   deploy/local/stack.sh status             what runs where
#   deploy/local/stack.sh logs               paths of the log files
#
# Environment:
#   LINDUNG_PG_PORT                 PostgreSQL port on 127.0.0.1            (default 55432)
#   LINDUNG_KAFKA_PORT              Kafka SASL_PLAINTEXT listener (SCRAM-SHA-512) on 127.0.0.1
#                                   (default 59092)
#   LINDUNG_KAFKA_CONTROLLER_PORT   KRaft controller listener (SASL/PLAIN) on 127.0.0.1 (default 59093)
#   LINDUNG_KAFKA_PASSWORD_<NAME>   the password of a Kafka principal (ADMIN, VENUE_REGISTRY,
#                                   CHECKIN, HEALTH_RECORDS, NOTIFIER); unset: generated once into
#                                   .stack/kafka/sasl/<name>.password (a change re-formats Kafka)
#   LINDUNG_KAFKA_BROKERS           1 (default) or 3: a three-node KRaft cluster (each node broker
#                                   and controller; node i listens on the ports above + 2*(i-1);
#                                   replication factor 3, min.insync.replicas 2), data in
#                                   .stack/kafka/node-<i>
#   LINDUNG_DEVSYSTEMS_PORT         dev civil registry + SMS + push gateways (default 18081)
#   LINDUNG_STACK_TIMEOUT           seconds to wait for readiness / stop    (default 120)
#   LINDUNG_STACK_OWNER             if set, `up` appends the components it started to
#                                   .stack/started-by-<owner> (see with-stack.sh)
#   DATABASE_URL                    if set, `up` starts no PostgreSQL and writes this value to .stack/env
#   KAFKA_BOOTSTRAP_SERVERS         if set, `up` starts no Kafka and writes this value to .stack/env
#                                   (and no SASL settings: the environment's KAFKA_SECURITY_PROTOCOL,
#                                   KAFKA_SASL_* apply, PLAINTEXT when unset)
#   LINDUNG_CIVIL_REGISTRY_URL, NOTIFIER_SMS_URL, NOTIFIER_PUSH_URL
#                                   if all three are set, `up` starts no dev external systems;
#                                   the ones set go to .stack/env as they are
#
# Every daemon gets stdin from /dev/null and writes only to log files, in its own session.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
STACK_DIR="$REPO_ROOT/.stack"
ENV_FILE="$STACK_DIR/env"
LOCK_FILE="$STACK_DIR/.lock"

PG_PORT=${LINDUNG_PG_PORT:-55432}
KAFKA_PORT=${LINDUNG_KAFKA_PORT:-59092}
KAFKA_CONTROLLER_PORT=${LINDUNG_KAFKA_CONTROLLER_PORT:-59093}
TIMEOUT=${LINDUNG_STACK_TIMEOUT:-120}
KAFKA_BROKERS=${LINDUNG_KAFKA_BROKERS:-1}
KAFKA_BASE_PORT=$KAFKA_PORT
KAFKA_BASE_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT
DEV_PORT=${LINDUNG_DEVSYSTEMS_PORT:-18081}

PG_DB_URL="postgresql://lindung:lindung@127.0.0.1:$PG_PORT/lindung"

KAFKA_TEMPLATE_DIR="$SCRIPT_DIR/kafka"
KAFKA_POM="$KAFKA_TEMPLATE_DIR/pom.xml"
KAFKA_HOME="$STACK_DIR/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_LIBS_MARKER="$KAFKA_LIBS/.pom-sha256"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_LOGS="$KAFKA_HOME/logs"
KAFKA_PROPS="$KAFKA_HOME/server.properties"
KAFKA_PID_FILE="$KAFKA_HOME/kafka.pid"
KAFKA_CLUSTER_ID_FILE="$KAFKA_HOME/cluster-id"
# SASL/SCRAM: one password file per principal (shared by every node of a cluster), a client
# config for Kafka's own command-line tools as admin, and the mark a formatted data dir gets
# (a hash of the credentials stored in its metadata by `kafka-storage format --add-scram`).
KAFKA_SASL_DIR="$KAFKA_HOME/sasl"
KAFKA_SASL_MECHANISM=SCRAM-SHA-512
KAFKA_PRINCIPALS=(admin venue-registry checkin health-records notifier)
KAFKA_ADMIN_CLIENT_PROPS="$KAFKA_SASL_DIR/admin-client.properties"
KAFKA_SERVER_LOG="$KAFKA_LOGS/server.log"
KAFKA_OUT_LOG="$KAFKA_LOGS/kafka.out"
KAFKA_FORMAT_LOG="$KAFKA_LOGS/storage-format.log"
MVN_LOG="$KAFKA_HOME/mvn.log"
DEV_HOME="$STACK_DIR/devsystems"
DEV_PID_FILE="$DEV_HOME/devsystems.pid"
DEV_PORT_FILE="$DEV_HOME/port"
DEV_LOG="$DEV_HOME/devsystems.log"
DEV_PYTHON="$REPO_ROOT/.venv/bin/python"
DEV_URL="http://127.0.0.1:$DEV_PORT"
APT_LOG="$STACK_DIR/apt.log"

STARTED=()

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

tail_log() { # tail_log FILE: show the end of a log file on stderr
    if [[ -f $1 ]]; then
        log "---- last lines of $1 ----"
        tail -n 25 "$1" >&2 || true
        log "----"
    fi
}

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

for _v in PG_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT DEV_PORT TIMEOUT; do
    [[ ${!_v} =~ ^[0-9]+$ ]] || die "$_v must be a number, got '${!_v}'"
done
[[ $KAFKA_BROKERS == 1 || $KAFKA_BROKERS == 3 ]] || die "LINDUNG_KAFKA_BROKERS must be 1 or 3, got '$KAFKA_BROKERS'"

kafka_node() { # kafka_node I: point the KAFKA_* paths and ports at node I of the cluster
    local i=$1
    if ((KAFKA_BROKERS == 1)); then
        KAFKA_NODE_HOME=$KAFKA_HOME
    else
        KAFKA_NODE_HOME="$KAFKA_HOME/node-$i"
    fi
    KAFKA_NODE_ID=$i
    KAFKA_PORT=$((KAFKA_BASE_PORT + 2 * (i - 1)))
    KAFKA_CONTROLLER_PORT=$((KAFKA_BASE_CONTROLLER_PORT + 2 * (i - 1)))
    KAFKA_DATA="$KAFKA_NODE_HOME/data"
    KAFKA_LOGS="$KAFKA_NODE_HOME/logs"
    KAFKA_PROPS="$KAFKA_NODE_HOME/server.properties"
    KAFKA_PID_FILE="$KAFKA_NODE_HOME/kafka.pid"
    KAFKA_SERVER_LOG="$KAFKA_LOGS/server.log"
    KAFKA_OUT_LOG="$KAFKA_LOGS/kafka.out"
    KAFKA_FORMAT_LOG="$KAFKA_LOGS/storage-format.log"
    KAFKA_SCRAM_MARK="$KAFKA_DATA/.lindung-scram"
}

kafka_each() { # kafka_each FUNCTION: run it for every node of the cluster
    local i
    for ((i = 1; i <= KAFKA_BROKERS; i++)); do
        kafka_node "$i"
        "$1"
    done
}

kafka_bootstrap() { # every node's broker address, comma-separated
    local i out=()
    for ((i = 1; i <= KAFKA_BROKERS; i++)); do out+=("127.0.0.1:$((KAFKA_BASE_PORT + 2 * (i - 1)))"); done
    local IFS=,
    echo "${out[*]}"
}
kafka_node 1

is_root() { [[ $EUID -eq 0 ]]; }

pid_alive() { # pid_alive PID: exists and is not a zombie (a killed daemon stays a zombie until init reaps it)
    local st
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [[ ${st:0:1} != Z ]]
}

# `bash -c "$CLOSEFDS_SH" NAME CMD...` runs CMD with every file descriptor above 2 closed, so that
# daemons never hold our lock or a pipe of whoever called us (a CI runner would wait on it).
# shellcheck disable=SC2016
CLOSEFDS_SH='fds=(/proc/self/fd/*); for f in "${fds[@]}"; do n=${f##*/}; if ((n > 2)); then eval "exec $n>&-"; fi; done; exec "$@"'
closefds() { bash -c "$CLOSEFDS_SH" closefds "$@"; }

port_listening() { # port_listening PORT: is anything listening on 127.0.0.1:PORT (or any address)?
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

lock() {
    mkdir -p "$STACK_DIR"
    exec 9>>"$LOCK_FILE"
    if ! flock -n 9; then
        log "waiting for another stack.sh to finish (lock $LOCK_FILE)..."
        flock -w 600 9 || die "could not get the lock $LOCK_FILE within 600 s"
    fi
}

record_started() { # record_started COMPONENT
    STARTED+=("$1")
    if [[ -n ${LINDUNG_STACK_OWNER:-} ]]; then
        local owner=${LINDUNG_STACK_OWNER//[^A-Za-z0-9._-]/_}
        echo "$1" >>"$STACK_DIR/started-by-$owner"
    fi
}

apt_install() { # apt_install PACKAGE...
    is_root || die "'$*' is not installed; install it (apt-get install -y $*) or run this script as root"
    log "installing $* with apt-get (log: $APT_LOG)..."
    mkdir -p "$STACK_DIR"
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; } </dev/null >>"$APT_LOG" 2>&1; then
        tail_log "$APT_LOG"
        die "apt-get install $* failed; see $APT_LOG"
    fi
}

# ----------------------------------------------------------------------------------------------
# PostgreSQL
# ----------------------------------------------------------------------------------------------
PG_BIN=""
PG_BASE=""
PG_DATA=""
PG_LOG=""
PG_SOCK_DIR=""

pg_find_bin() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/initdb && -x $d/pg_ctl ]] || continue
        if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n1) == "$d" ]]; then
            best=$d
        fi
    done
    PG_BIN=$best
}

as_pg() { # run a PostgreSQL program as the postgres OS user when we are root (the server refuses root)
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

pg_paths() {
    PG_BASE="$STACK_DIR/postgres"
    if is_root && id postgres >/dev/null 2>&1; then
        local probe=$REPO_ROOT
        [[ -d $STACK_DIR ]] && probe=$STACK_DIR
        if ! runuser -u postgres -- test -x "$probe" 2>/dev/null; then
            # The clone lives where the postgres user cannot go (e.g. a 0700 temp dir).
            local hash
            hash=$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)
            PG_BASE="/var/lib/lindung-stack/$hash/postgres"
        fi
    fi
    PG_DATA="$PG_BASE/data"
    PG_LOG="$PG_BASE/postgres.log"
    PG_SOCK_DIR=$PG_DATA
    # A unix socket path is limited to ~107 bytes: a deep clone gets its socket elsewhere.
    if ((${#PG_DATA} + 20 > 100)); then
        local hash
        hash=$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)
        if is_root; then
            PG_SOCK_DIR="/var/lib/lindung-stack/$hash/socket"
        else
            PG_SOCK_DIR="${TMPDIR:-/tmp}/lindung-pg-$hash"
        fi
    fi
}

pg_running() { # is the server of our data dir up?
    [[ -n $PG_BIN && -f $PG_DATA/postmaster.pid ]] || return 1
    pid_alive "$(pg_pid)" || return 1
    as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

pg_pid() { sed -n 1p "$PG_DATA/postmaster.pid" 2>/dev/null; }
pg_running_port() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null; }

pg_lindung_ok() { # a real TCP connection with the lindung role
    PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -Atq "$PG_DB_URL" -c 'select 1' </dev/null 2>/dev/null | grep -qx 1
}

pg_admin() { # psql as the postgres superuser over the unix socket in the data dir
    as_pg "$PG_BIN/psql" -X -Atq -v ON_ERROR_STOP=1 -h "$PG_SOCK_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_config_text() {
    cat <<EOF
# Written by deploy/local/stack.sh on every start; included from postgresql.conf.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK_DIR'
max_connections = 300
shared_buffers = 512MB
# Durability stays as in production: durability tests rely on it.
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

pg_setup_role_and_db() {
    pg_admin -f - <<'SQL' >/dev/null || return 1
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lindung') THEN
    CREATE ROLE lindung LOGIN SUPERUSER CREATEDB PASSWORD 'lindung';
  ELSE
    ALTER ROLE lindung LOGIN SUPERUSER CREATEDB PASSWORD 'lindung';
  END IF;
END
$$;
SQL
    local exists
    exists=$(pg_admin -c "select 1 from pg_database where datname = 'lindung'" </dev/null) || return 1
    if [[ $exists != 1 ]]; then
        pg_admin -c 'create database lindung owner lindung' </dev/null >/dev/null || return 1
    fi
}

pg_setup_or_die() {
    if ! pg_setup_role_and_db 2>>"$PG_LOG"; then
        tail_log "$PG_LOG"
        die "could not create role/database lindung over $PG_SOCK_DIR; see $PG_LOG"
    fi
}

pg_wait_lindung() {
    local deadline=$((SECONDS + TIMEOUT))
    until pg_lindung_ok; do
        if ! pg_running; then
            tail_log "$PG_LOG"
            die "PostgreSQL exited while starting; see $PG_LOG"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$PG_LOG"
            die "PostgreSQL did not accept 'select 1' as lindung at 127.0.0.1:$PG_PORT within ${TIMEOUT}s; see $PG_LOG"
        fi
        sleep 0.5
    done
}

pg_up() {
    pg_find_bin
    if [[ -z $PG_BIN ]]; then
        apt_install postgresql
        pg_find_bin
        [[ -n $PG_BIN ]] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
    fi
    mkdir -p "$STACK_DIR"
    chmod a+x "$STACK_DIR" 2>/dev/null || true
    pg_paths

    if pg_running; then
        local port
        port=$(pg_running_port)
        if [[ $port != "$PG_PORT" ]]; then
            die "PostgreSQL of $PG_DATA already runs on port $port, not $PG_PORT; run '$0 down postgres' first"
        fi
        if ! pg_lindung_ok; then
            pg_setup_or_die
            pg_wait_lindung
        fi
        if [[ -f $PG_DATA/lindung.conf ]] && ! pg_config_text | cmp -s - "$PG_DATA/lindung.conf"; then
            log "note: PostgreSQL settings changed; restart to apply: $0 down postgres && $0 up"
        fi
        log "postgres: already running (pid $(pg_pid), 127.0.0.1:$PG_PORT)"
        return 0
    fi

    if port_listening "$PG_PORT"; then
        die "port $PG_PORT is already in use by another process (not the PostgreSQL of $PG_DATA); set LINDUNG_PG_PORT or stop it"
    fi

    local owner=""
    if is_root; then owner=postgres; fi
    if [[ -n $owner ]]; then
        mkdir -p "$PG_BASE"
        if [[ $PG_BASE == /var/lib/lindung-stack/* ]]; then
            chmod 755 /var/lib/lindung-stack "$(dirname "$PG_BASE")"
        fi
        chown "$owner:" "$PG_BASE"
        chmod 700 "$PG_BASE"
        touch "$PG_LOG"
        chown "$owner:" "$PG_LOG"
    else
        mkdir -p "$PG_BASE"
        chmod 700 "$PG_BASE"
        touch "$PG_LOG"
    fi
    if [[ $PG_SOCK_DIR != "$PG_DATA" ]]; then
        mkdir -p "$PG_SOCK_DIR"
        if [[ $PG_SOCK_DIR == /var/lib/lindung-stack/* ]]; then
            chmod 755 /var/lib/lindung-stack "$(dirname "$PG_SOCK_DIR")"
        fi
        chmod 700 "$PG_SOCK_DIR"
        if [[ -n $owner ]]; then chown "$owner:" "$PG_SOCK_DIR"; fi
    fi

    # Lock files left by a killed server. Its pid may still be a zombie (until init reaps it),
    # which the new postmaster would take for a running one. Postgres itself still refuses to
    # start if backends of the old server are alive (shared memory check).
    local f lockpid
    for f in "$PG_DATA/postmaster.pid" "$PG_SOCK_DIR"/.s.PGSQL.*.lock; do
        [[ -f $f ]] || continue
        lockpid=$(sed -n 1p "$f" 2>/dev/null || true)
        lockpid=${lockpid#-}
        if ! pid_alive "$lockpid"; then
            log "postgres: removing stale $(basename "$f") (pid $lockpid is gone)"
            rm -f "$f"
        fi
    done
    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
        log "postgres: initdb $PG_DATA (log: $PG_LOG)"
        if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 </dev/null >>"$PG_LOG" 2>&1; then
            tail_log "$PG_LOG"
            die "initdb failed; see $PG_LOG"
        fi
        # The unix socket lives in the 0700 data dir, so 'trust' on it reaches only postgres and root.
    fi
    pg_config_text >"$PG_DATA/lindung.conf"
    if [[ -n $owner ]]; then chown "$owner:" "$PG_DATA/lindung.conf"; fi
    if ! grep -q "^include_if_exists = 'lindung.conf'" "$PG_DATA/postgresql.conf"; then
        printf "\n# local dev settings (deploy/local/stack.sh)\ninclude_if_exists = 'lindung.conf'\n" >>"$PG_DATA/postgresql.conf"
    fi

    log "postgres: starting $(basename "$(dirname "$PG_BIN")") on 127.0.0.1:$PG_PORT (data: $PG_DATA, log: $PG_LOG)"
    record_started postgres
    # pg_ctl puts the server in its own session (setsid) with stdin from /dev/null and output in the log.
    local start=("$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" -s)
    if is_root; then start=(runuser -u postgres -- "${start[@]}"); fi
    if ! (cd / && closefds "${start[@]}") </dev/null >>"$PG_LOG" 2>&1; then
        tail_log "$PG_LOG"
        die "PostgreSQL failed to start; see $PG_LOG"
    fi
    pg_setup_or_die
    pg_wait_lindung
    log "postgres: ready (pid $(pg_pid))"
}

pg_down() {
    pg_find_bin
    if [[ -z $PG_BIN ]]; then
        log "postgres: not installed, nothing to stop"
        return 0
    fi
    pg_paths
    if ! pg_running; then
        log "postgres: not running"
        return 0
    fi
    log "postgres: stopping (pid $(pg_pid), data $PG_DATA)"
    if ! as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t "$TIMEOUT" -s </dev/null >>"$PG_LOG" 2>&1; then
        tail_log "$PG_LOG"
        die "pg_ctl stop failed; see $PG_LOG"
    fi
    log "postgres: stopped"
}

# ----------------------------------------------------------------------------------------------
# Kafka
# ----------------------------------------------------------------------------------------------
kafka_is_our_pid() { # kafka_is_our_pid PID: a live kafka.Kafka JVM running our server.properties?
    local cmdline
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    { cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline"); } 2>/dev/null || return 1
    [[ $cmdline == *" kafka.Kafka $KAFKA_PROPS"* ]]
}

kafka_find_pid() { # prints the pid of our broker, from the pid file or (if that was lost) /proc
    local pid f
    if [[ -f $KAFKA_PID_FILE ]]; then
        pid=$(cat "$KAFKA_PID_FILE" 2>/dev/null || true)
        if kafka_is_our_pid "$pid"; then
            echo "$pid"
            return 0
        fi
    fi
    for f in /proc/[0-9]*; do
        pid=${f#/proc/}
        if kafka_is_our_pid "$pid"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

kafka_ready() { # one real Metadata request as admin (SASL/SCRAM); succeeds once the broker is unfenced
    if command -v python3 >/dev/null 2>&1; then
        python3 "$SCRIPT_DIR/kafka-ready.py" "127.0.0.1:$KAFKA_PORT" --timeout 3 \
            --sasl-mechanism "$KAFKA_SASL_MECHANISM" --sasl-username admin \
            --sasl-password-file "$KAFKA_SASL_DIR/admin.password" 2>/dev/null
    else
        timeout 30 java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$KAFKA_TEMPLATE_DIR/tools-log4j2.properties" \
            org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
            --command-config "$KAFKA_ADMIN_CLIENT_PROPS" </dev/null >/dev/null 2>&1
    fi
}

kafka_password_file() { echo "$KAFKA_SASL_DIR/$1.password"; }

kafka_passwords() { # every principal's password: from LINDUNG_KAFKA_PASSWORD_<NAME>, else kept, else generated
    mkdir -p "$KAFKA_SASL_DIR"
    chmod 700 "$KAFKA_SASL_DIR"
    local name var given file pw
    for name in "${KAFKA_PRINCIPALS[@]}"; do
        var=${name^^}
        var="LINDUNG_KAFKA_PASSWORD_${var//-/_}"
        given=${!var:-}
        file=$(kafka_password_file "$name")
        if [[ -n $given ]]; then
            # It goes into a JAAS line of server.properties (admin) and a SCRAM credential.
            [[ $given =~ ^[A-Za-z0-9._~+-]{12,}$ ]] ||
                die "$var must be at least 12 characters of A-Z a-z 0-9 . _ ~ + -"
            pw=$given
        elif [[ -s $file ]]; then
            continue
        else
            pw=$(head -c 24 /dev/urandom | base64 | tr '+/' '._' | tr -d '=\n')
        fi
        (umask 077 && printf '%s\n' "$pw" >"$file.tmp") && mv -f "$file.tmp" "$file"
    done
    local admin
    admin=$(head -n1 "$(kafka_password_file admin)")
    (
        umask 077
        printf '%s\n' \
            "# Written by deploy/local/stack.sh: Kafka's command-line tools as admin (--command-config)." \
            "security.protocol=SASL_PLAINTEXT" \
            "sasl.mechanism=$KAFKA_SASL_MECHANISM" \
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$admin\";" \
            >"$KAFKA_ADMIN_CLIENT_PROPS.tmp"
    )
    mv -f "$KAFKA_ADMIN_CLIENT_PROPS.tmp" "$KAFKA_ADMIN_CLIENT_PROPS"
}

kafka_scram_hash() { # a hash of every principal and its password: what a formatted data dir holds
    local name
    for name in "${KAFKA_PRINCIPALS[@]}"; do
        printf '%s %s %s\n' "$KAFKA_SASL_MECHANISM" "$name" "$(head -n1 "$(kafka_password_file "$name")")"
    done | sha256sum | cut -d' ' -f1
}

kafka_render_props() { # kafka_render_props OUT (for the current kafka_node)
    local cluster=()
    if ((KAFKA_BROKERS > 1)); then
        local i voters=()
        for ((i = 1; i <= KAFKA_BROKERS; i++)); do
            voters+=("$i@127.0.0.1:$((KAFKA_BASE_CONTROLLER_PORT + 2 * (i - 1)))")
        done
        local IFS=,
        cluster=(
            -e "s|^node.id=.*|node.id=$KAFKA_NODE_ID|"
            -e "s|^controller.quorum.voters=.*|controller.quorum.voters=${voters[*]}|"
            -e "s|^\(.*replication.factor\)=1$|\1=3|"
            -e "s|^\(.*min.isr\)=1$|\1=2|"
            -e "s|^min.insync.replicas=1$|min.insync.replicas=2|"
            # Nodes start one after the other (and slowly on a busy laptop): a broker waits
            # for the quorum of controllers up to 10 minutes instead of giving up after one.
            -e "\$a initial.broker.registration.timeout.ms=600000"
        )
    fi
    sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
        -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@LOG_DIRS@|$KAFKA_DATA|g" \
        -e "s|@ADMIN_PASSWORD@|$(head -n1 "$(kafka_password_file admin)")|g" \
        "${cluster[@]}" \
        "$KAFKA_TEMPLATE_DIR/server.properties" >"$1.tmp"
    chmod 600 "$1.tmp" # it holds the admin password
    mv -f "$1.tmp" "$1"
}

kafka_pom_hash() { sha256sum "$KAFKA_POM" | cut -d' ' -f1; }

kafka_libs_ok() { [[ -f $KAFKA_LIBS_MARKER && $(<"$KAFKA_LIBS_MARKER") == "$(kafka_pom_hash)" ]]; }

kafka_fetch_libs() {
    kafka_libs_ok && return 0
    command -v mvn >/dev/null 2>&1 || apt_install maven
    log "kafka: fetching jars with Maven into $KAFKA_LIBS (only when the pom changes; log: $MVN_LOG)..."
    mkdir -p "$KAFKA_HOME"
    rm -rf "$KAFKA_LIBS.tmp"
    if ! mvn -B -q -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.tmp" </dev/null >"$MVN_LOG" 2>&1; then
        tail_log "$MVN_LOG"
        rm -rf "$KAFKA_LIBS.tmp"
        die "mvn dependency:copy-dependencies failed; see $MVN_LOG"
    fi
    ls "$KAFKA_LIBS.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "Maven produced no kafka_2.13 jar in $KAFKA_LIBS.tmp; see $MVN_LOG"
    kafka_pom_hash >"$KAFKA_LIBS.tmp/.pom-sha256"
    rm -rf "$KAFKA_LIBS"
    mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
}

kafka_new_cluster_id() { # a Kafka Uuid: 16 random bytes, base64url without padding, not starting with '-'
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        [[ ${#id} == 22 && $id != -* ]] && break
    done
    echo "$id"
}

kafka_format() {
    local scram
    scram=$(kafka_scram_hash)
    if [[ -f $KAFKA_DATA/meta.properties ]]; then
        [[ -f $KAFKA_SCRAM_MARK && $(<"$KAFKA_SCRAM_MARK") == "$scram" ]] && return 0
        # Formatted by an older stack (no SCRAM credentials: it took clients without
        # authentication) or with other passwords. Only local development data: topics and
        # ACLs come back with `lindung bootstrap`.
        log "kafka: $KAFKA_DATA holds no (or other) SCRAM credentials; re-formatting it (local dev data; 'lindung bootstrap' re-creates the topics)"
        rm -rf "$KAFKA_DATA"
    fi
    local id
    if [[ -s $KAFKA_CLUSTER_ID_FILE ]]; then
        id=$(<"$KAFKA_CLUSTER_ID_FILE")
    else
        id=$(kafka_new_cluster_id)
        echo "$id" >"$KAFKA_CLUSTER_ID_FILE"
    fi
    log "kafka: formatting $KAFKA_DATA (cluster id $id)"
    mkdir -p "$KAFKA_DATA"
    local name scram_args=()
    for name in "${KAFKA_PRINCIPALS[@]}"; do
        scram_args+=(--add-scram "$KAFKA_SASL_MECHANISM=[name=$name,password=$(head -n1 "$(kafka_password_file "$name")")]")
    done
    if ! java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$KAFKA_TEMPLATE_DIR/tools-log4j2.properties" \
        kafka.tools.StorageTool format --config "$KAFKA_PROPS" --cluster-id "$id" --ignore-formatted \
        "${scram_args[@]}" </dev/null >>"$KAFKA_FORMAT_LOG" 2>&1; then
        tail_log "$KAFKA_FORMAT_LOG"
        die "kafka storage format failed; see $KAFKA_FORMAT_LOG"
    fi
    echo "$scram" >"$KAFKA_SCRAM_MARK"
}

# Starts the broker in the background unless it runs already; kafka_wait then waits for it.
kafka_launch() {
    command -v java >/dev/null 2>&1 || apt_install default-jre-headless
    mkdir -p "$KAFKA_HOME" "$KAFKA_LOGS"
    kafka_passwords
    local pid restarted=0
    if pid=$(kafka_find_pid); then
        echo "$pid" >"$KAFKA_PID_FILE"
        if ! grep -q '^listeners=SASL_PLAINTEXT:' "$KAFKA_PROPS" 2>/dev/null; then
            # Started by an older stack: it takes clients without authentication. It runs
            # again below with SASL (left running afterwards, as it was).
            log "kafka: the running broker (pid $pid) authenticates no one (an older stack); restarting it with SASL/SCRAM"
            kafka_down
            restarted=1
        else
            local tmp="$KAFKA_NODE_HOME/server.properties.new"
            kafka_render_props "$tmp"
            if ! cmp -s "$tmp" "$KAFKA_PROPS"; then
                log "note: Kafka settings changed; restart to apply: $0 down kafka && $0 up"
            fi
            rm -f "$tmp"
            kafka_libs_ok || log "note: deploy/local/kafka/pom.xml changed; restart Kafka to use the new jars"
            log "kafka: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
            return 0
        fi
    fi
    rm -f "$KAFKA_PID_FILE"
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        if port_listening "$p"; then
            die "port $p is already in use by another process (not the Kafka of $KAFKA_HOME); set LINDUNG_KAFKA_PORT / LINDUNG_KAFKA_CONTROLLER_PORT or stop it"
        fi
    done
    kafka_fetch_libs
    kafka_render_props "$KAFKA_PROPS"
    kafka_format

    log "kafka: starting on 127.0.0.1:$KAFKA_PORT (SASL/SCRAM; controller $KAFKA_CONTROLLER_PORT, data: $KAFKA_DATA, log: $KAFKA_SERVER_LOG)"
    ((restarted)) || record_started kafka
    {
        echo "==== $(date -Is) starting kafka.Kafka $KAFKA_PROPS"
    } >>"$KAFKA_OUT_LOG"
    # setsid: own session, so a Ctrl-C in the caller's terminal does not reach it; the inner
    # shell writes its own pid and then becomes the JVM (exec), so the pid file is the JVM's pid.
    # A plain command (not a function) after '&', so no subshell of ours lingers as its parent.
    # shellcheck disable=SC2016
    bash -c "$CLOSEFDS_SH" closefds setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-launch "$KAFKA_PID_FILE" \
        java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_LOGS" \
        -Dlog4j2.configurationFile="$KAFKA_TEMPLATE_DIR/log4j2.properties" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
        </dev/null >>"$KAFKA_OUT_LOG" 2>&1 &
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s $KAFKA_PID_FILE ]] && break
        sleep 0.05
    done
}

kafka_wait() {
    local deadline=$((SECONDS + TIMEOUT)) pid
    until kafka_ready; do
        if ! pid=$(kafka_find_pid); then
            tail_log "$KAFKA_OUT_LOG"
            tail_log "$KAFKA_SERVER_LOG"
            die "Kafka is not running (it exited during startup?); see $KAFKA_SERVER_LOG and $KAFKA_OUT_LOG"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$KAFKA_SERVER_LOG"
            die "Kafka (pid $pid) did not answer a metadata request on 127.0.0.1:$KAFKA_PORT within ${TIMEOUT}s; see $KAFKA_SERVER_LOG and $KAFKA_OUT_LOG"
        fi
        sleep 0.5
    done
    log "kafka: ready (pid $(kafka_find_pid || echo '?'), 127.0.0.1:$KAFKA_PORT)"
}

kafka_down() {
    local pid
    if ! pid=$(kafka_find_pid); then
        rm -f "$KAFKA_PID_FILE"
        log "kafka: not running"
        return 0
    fi
    log "kafka: stopping (pid $pid, SIGTERM: controlled shutdown)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + TIMEOUT))
    while kafka_is_our_pid "$pid"; do
        if ((SECONDS >= deadline)); then
            log "kafka: still running after ${TIMEOUT}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
            break
        fi
        sleep 0.2
    done
    rm -f "$KAFKA_PID_FILE"
    log "kafka: stopped"
}

# ----------------------------------------------------------------------------------------------
# Development external systems (civil registry, SMS gateway, push gateway): one Python process
# ----------------------------------------------------------------------------------------------
dev_wanted() { # unless all three external systems are given, the dev ones run
    [[ -z ${LINDUNG_CIVIL_REGISTRY_URL:-} || -z ${NOTIFIER_SMS_URL:-} || -z ${NOTIFIER_PUSH_URL:-} ]]
}

dev_is_our_pid() { # dev_is_our_pid PID: a live `python -m lindung_devsystems` started in this clone?
    local cmdline cwd
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    pid_alive "$1" || return 1
    { cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline"); } 2>/dev/null || return 1
    [[ $cmdline == *"-m lindung_devsystems"* ]] || return 1
    cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
    [[ $cwd == "$REPO_ROOT" ]]
}

dev_find_pid() {
    local pid
    [[ -f $DEV_PID_FILE ]] || return 1
    pid=$(cat "$DEV_PID_FILE" 2>/dev/null || true)
    dev_is_our_pid "$pid" || return 1
    echo "$pid"
}

dev_ready() { # a real HTTP request to the health route
    python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

dev_up() {
    mkdir -p "$DEV_HOME"
    local pid port
    if pid=$(dev_find_pid); then
        port=$(cat "$DEV_PORT_FILE" 2>/dev/null || true)
        if [[ $port != "$DEV_PORT" ]]; then
            die "the dev external systems already run on port $port, not $DEV_PORT; run '$0 down devsystems' first"
        fi
        log "devsystems: already running (pid $pid, $DEV_URL)"
        return 0
    fi
    rm -f "$DEV_PID_FILE"
    [[ -x $DEV_PYTHON ]] || die "no $DEV_PYTHON: run 'make venv' first (the dev external systems are a Python package)"
    "$DEV_PYTHON" -c 'import lindung_devsystems' 2>/dev/null ||
        die "lindung_devsystems is not installed in .venv: run 'make venv'"
    if port_listening "$DEV_PORT"; then
        die "port $DEV_PORT is already in use by another process (not the dev external systems of this clone); set LINDUNG_DEVSYSTEMS_PORT or stop it"
    fi
    log "devsystems: starting on $DEV_URL (civil registry, SMS and push gateways; log: $DEV_LOG)"
    record_started devsystems
    echo "$DEV_PORT" >"$DEV_PORT_FILE"
    echo "==== $(date -Is) starting lindung_devsystems on port $DEV_PORT" >>"$DEV_LOG"
    # As for Kafka: a plain command after '&' (no subshell of ours lingers holding our output),
    # its own session, the pid file is the process's own pid; it runs in the clone's root.
    # shellcheck disable=SC2016
    bash -c "$CLOSEFDS_SH" closefds setsid bash -c 'echo $$ >"$1"; cd "$2"; shift 2; exec "$@"' \
        devsystems-launch "$DEV_PID_FILE" "$REPO_ROOT" env LINDUNG_DEVSYSTEMS_PORT="$DEV_PORT" \
        "$DEV_PYTHON" -m lindung_devsystems </dev/null >>"$DEV_LOG" 2>&1 &
    local deadline=$((SECONDS + TIMEOUT)) grace=$((SECONDS + 3))
    until dev_ready "$DEV_PORT"; do
        sleep 0.2
        if ! pid=$(dev_find_pid) && ((SECONDS > grace)); then
            tail_log "$DEV_LOG"
            die "the dev external systems exited while starting; see $DEV_LOG"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$DEV_LOG"
            die "the dev external systems did not answer on $DEV_URL within ${TIMEOUT}s; see $DEV_LOG"
        fi
    done
    log "devsystems: ready (pid $(dev_find_pid || echo '?'), $DEV_URL)"
}

dev_down() {
    local pid
    if ! pid=$(dev_find_pid); then
        rm -f "$DEV_PID_FILE"
        log "devsystems: not running"
        return 0
    fi
    log "devsystems: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 20))
    while dev_is_our_pid "$pid"; do
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.1
    done
    rm -f "$DEV_PID_FILE"
    log "devsystems: stopped"
}

# ----------------------------------------------------------------------------------------------
# env file, commands
# ----------------------------------------------------------------------------------------------
write_env() { # write_env OWN_KAFKA (1: the local brokers, whose admin the env file names)
    local db=${DATABASE_URL:-$PG_DB_URL} kb=${KAFKA_BOOTSTRAP_SERVERS:-$(kafka_bootstrap)}
    {
        echo "# Written by deploy/local/stack.sh up. Use: . .stack/env"
        printf 'export DATABASE_URL=%q\n' "$db"
        printf 'export KAFKA_BOOTSTRAP_SERVERS=%q\n' "$kb"
        if (($1)); then
            # The admin principal (a super user): `lindung bootstrap` creates the ACLs with it,
            # the tests use it. Every service process gets its own principal instead
            # (lindung_shared.kafka.security.service_env; deploy/local/run-suite.sh).
            echo "export KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"
            printf 'export KAFKA_SASL_MECHANISM=%q\n' "$KAFKA_SASL_MECHANISM"
            echo "export KAFKA_SASL_USERNAME=admin"
            printf 'export KAFKA_SASL_PASSWORD_FILE=%q\n' "$(kafka_password_file admin)"
            printf 'export LINDUNG_KAFKA_SASL_DIR=%q\n' "$KAFKA_SASL_DIR"
        fi
        printf 'export LINDUNG_CIVIL_REGISTRY_URL=%q\n' "${LINDUNG_CIVIL_REGISTRY_URL:-$DEV_URL/civil-registry}"
        printf 'export NOTIFIER_SMS_URL=%q\n' "${NOTIFIER_SMS_URL:-$DEV_URL/v1/sms}"
        printf 'export NOTIFIER_PUSH_URL=%q\n' "${NOTIFIER_PUSH_URL:-$DEV_URL/v1/messages:send}"
        if dev_wanted; then printf 'export LINDUNG_DEVSYSTEMS_URL=%q\n' "$DEV_URL"; fi
    } >"$ENV_FILE.tmp"
    mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

cmd_up() {
    [[ $# -eq 0 ]] || die "up takes no arguments"
    lock
    local want_pg=1 want_kafka=1
    if [[ -n ${DATABASE_URL:-} ]]; then
        want_pg=0
        log "postgres: DATABASE_URL is set in the environment; starting none (unset it to use the local one)"
    fi
    if [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
        want_kafka=0
        log "kafka: KAFKA_BOOTSTRAP_SERVERS is set in the environment; starting none (unset it to use the local one)"
    fi
    # Kafka's JVM takes longest to come up: launch it first, bring PostgreSQL up meanwhile.
    if ((want_kafka)); then kafka_each kafka_launch; fi
    if ((want_pg)); then pg_up; fi
    if dev_wanted; then
        dev_up
    else
        log "devsystems: LINDUNG_CIVIL_REGISTRY_URL, NOTIFIER_SMS_URL and NOTIFIER_PUSH_URL are set; starting none"
    fi
    if ((want_kafka)); then kafka_each kafka_wait; fi
    write_env "$want_kafka"
    if ((${#STARTED[@]})); then
        log "started: ${STARTED[*]}; env written to $ENV_FILE"
    else
        log "nothing to start; env written to $ENV_FILE"
    fi
}

cmd_down() {
    local comps=("$@") c
    ((${#comps[@]})) || comps=(devsystems kafka postgres)
    for c in "${comps[@]}"; do
        case $c in
        postgres | kafka | devsystems) ;;
        *) die "unknown component '$c' (expected postgres, kafka or devsystems)" ;;
        esac
    done
    lock
    # Kafka first: clients of both may still be draining.
    for c in devsystems kafka postgres; do
        [[ " ${comps[*]} " == *" $c "* ]] || continue
        case $c in
        devsystems) dev_down ;;
        kafka) kafka_each kafka_down ;;
        postgres) pg_down ;;
        esac
    done
}

kafka_status() {
    local pid name=kafka
    ((KAFKA_BROKERS == 1)) || name="kafka-$KAFKA_NODE_ID"
    if pid=$(kafka_find_pid); then
        local ready="not answering yet"
        kafka_ready && ready="ready"
        printf '%-9s running   pid %s  127.0.0.1:%s (controller 127.0.0.1:%s)  %s  data %s  log %s\n' \
            "$name:" "$pid" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$ready" "$KAFKA_DATA" "$KAFKA_SERVER_LOG"
    else
        printf '%-9s stopped   data %s  log %s\n' "$name:" "$KAFKA_DATA" "$KAFKA_SERVER_LOG"
    fi
}

cmd_status() {
    local pid
    pg_find_bin
    if [[ -z $PG_BIN ]]; then
        echo "postgres: not installed (up installs it with apt-get)"
    else
        pg_paths
        if pg_running; then
            echo "postgres: running   pid $(pg_pid)  127.0.0.1:$(pg_running_port)  $(basename "$(dirname "$PG_BIN")")  data $PG_DATA  log $PG_LOG"
        else
            echo "postgres: stopped   data $PG_DATA  log $PG_LOG"
        fi
    fi
    kafka_each kafka_status
    if pid=$(dev_find_pid); then
        echo "devsystems: running pid $pid  http://127.0.0.1:$(cat "$DEV_PORT_FILE" 2>/dev/null)  log $DEV_LOG"
    else
        echo "devsystems: stopped   log $DEV_LOG"
    fi
    if [[ -f $ENV_FILE ]]; then
        echo "env:      $ENV_FILE"
        grep '^export ' "$ENV_FILE" | sed 's/^/          /'
    else
        echo "env:      $ENV_FILE not written yet (run: $0 up)"
    fi
}

cmd_logs() {
    pg_find_bin
    pg_paths
    printf '%s\t%s\n' \
        postgres "$PG_LOG" \
        kafka "$KAFKA_SERVER_LOG" \
        kafka-jvm "$KAFKA_OUT_LOG" \
        kafka-format "$KAFKA_FORMAT_LOG" \
        kafka-sasl "$KAFKA_SASL_DIR" \
        maven "$MVN_LOG" \
        devsystems "$DEV_LOG" \
        apt "$APT_LOG"
}

main() {
    local cmd=${1:-help}
    [[ $# -gt 0 ]] && shift
    case $cmd in
    up) cmd_up "$@" ;;
    down | stop) cmd_down "$@" ;;
    status) cmd_status ;;
    logs) cmd_logs ;;
    help | -h | --help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"
