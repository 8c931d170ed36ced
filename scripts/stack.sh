#!/usr/bin/env bash
# The local stack: a real Kafka broker, PostgreSQL (wal_level=logical), Redis and an S3 server.
#
#   scripts/stack.sh up [kafka]             start what is missing (a no-op when everything runs);
#                                           `kafka`: the broker only, no PostgreSQL or Redis
#   scripts/stack.sh down [--wipe] [kafka]  stop the brokers this script started (--wipe or
#                                           KP_WIPE=1 also deletes their data for a fresh start);
#                                           `kafka`: leave the other compose services alone
#   scripts/stack.sh status                 what runs where
#
# Kafka, first match wins:
#   1. KAFKA_BOOTSTRAP_SERVERS is set: that cluster is used as is (only checked to answer).
#   2. A Docker engine answers: `docker compose up -d --wait kafka` with docker-compose.yml.
#   3. Otherwise the Apache Kafka broker is run from its Maven Central jars with the machine's
#      Java (17+), everything of one version in .stack/kafka/<version>/: jars in libs/, data in
#      data/, logs in logs/. A broker of another version started from here that holds the port
#      (an older default, or KP_KAFKA_VERSION) is stopped first and keeps its data, so switching
#      versions never runs a broker on storage another version formatted. Files of the layout
#      before per-version directories (.stack/kafka/{libs,data,...}) move into
#      .stack/kafka/<their version>/.
# PostgreSQL and Redis are checked on 127.0.0.1 (or PGHOST/PGPORT/PGUSER, DATABASE_URL, REDIS_URL)
# and started with the machine's own servers when they are down and that is possible.
# S3, first match wins: S3_ENDPOINT is set (that server is used as is, with S3_REGION,
# S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY); something already answers on 127.0.0.1:KP_S3_PORT
# (an s3rver started from here or by another checkout); a Docker engine answers (the compose
# minio service, on 9000); otherwise s3rver from the npm registry, installed into .tools/ and run
# by scripts/s3/s3rver.mjs (which adds aws-chunked uploads) on 127.0.0.1:KP_S3_PORT with its data
# in .stack/s3/ and a bucket named kafka-pattern.
# A Schema Registry (Apicurio Registry, Confluent-compatible API): scripts/schema-registry.sh.
# The endpoints are written to .stack/env for tests and demos.
#
# The broker run from the jars has a second listener, SASL_SSL on 127.0.0.1:KP_KAFKA_SASL_SSL_PORT,
# for clients configured as for a managed Kafka: TLS with a certificate of the stack's own CA
# (generated once with openssl into .stack/tls/: ca.pem, the CA clients trust, and broker.p12, the
# broker's key and certificate for 127.0.0.1 and localhost) and SASL PLAIN, SCRAM-SHA-256 and
# SCRAM-SHA-512 as user kafka-pattern, or OAUTHBEARER with an unsigned token (Kafka's unsecured
# validator: a local stack only). SCRAM credentials are added when the storage is formatted,
# and once with kafka-configs on storage formatted before the listener existed. .stack/env then
# also holds KAFKA_SASL_SSL_BOOTSTRAP_SERVERS, KAFKA_SSL_CA_FILE, KAFKA_SASL_USERNAME and
# KAFKA_SASL_PASSWORD. Without openssl the broker runs without that listener (an error in CI).
#
# CI=true: any service that is not available is an error (outside CI, PostgreSQL, Redis or S3
# missing is a warning and the service is left out of .stack/env).
#
# Overrides: KP_KAFKA_MODE=auto|jars|docker, KP_KAFKA_VERSION (4.4.0), KP_KAFKA_PORT (9092),
# KP_KAFKA_CONTROLLER_PORT (9093), KP_KAFKA_SASL_SSL_PORT (KP_KAFKA_PORT + 2: 9094),
# KP_KAFKA_HEAP (-Xmx768m), KP_KAFKA_START_TIMEOUT (60 s),
# KP_KAFKA_STOP_TIMEOUT (30 s), KP_S3_PORT (4568), KP_S3RVER_VERSION (3.7.1), KP_JAVA (java), KP_MVN (mvn), KP_STACK_DIR (.stack: a second,
# separate stack such as the one scripts/test-on-kafka.sh runs), KP_KAFKA_ADVERTISED_PORT
# (KP_KAFKA_PORT: the port the broker tells clients to connect to, when something such as a
# proxy listens there and forwards to KP_KAFKA_PORT).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

KAFKA_VERSION="${KP_KAFKA_VERSION:-4.4.0}"
[[ "$KAFKA_VERSION" =~ ^[0-9][0-9A-Za-z.-]*$ ]] || kp_die "KP_KAFKA_VERSION must be a Kafka version such as 4.4.0 (got '$KAFKA_VERSION')"

STACK_DIR="${KP_STACK_DIR:-$KP_ROOT/.stack}"
ENV_FILE="$STACK_DIR/env"
K_BASE="$STACK_DIR/kafka"
K_DIR="$K_BASE/$KAFKA_VERSION"
K_LIBS="$K_DIR/libs"
K_DATA="$K_DIR/data"
K_LOGS="$K_DIR/logs"
K_PIDFILE="$K_DIR/broker.pid"
K_PROPS="$K_DIR/server.properties"
K_TEMPLATES="$KP_ROOT/scripts/kafka"
COMPOSE_FILE="$KP_ROOT/docker-compose.yml"

K_HOST=127.0.0.1
K_PORT="${KP_KAFKA_PORT:-9092}"
K_CPORT="${KP_KAFKA_CONTROLLER_PORT:-9093}"
K_APORT="${KP_KAFKA_ADVERTISED_PORT:-$K_PORT}"
[[ "$K_PORT" =~ ^[0-9]+$ ]] || kp_die "KP_KAFKA_PORT must be a port number (got '$K_PORT')"
K_SPORT="${KP_KAFKA_SASL_SSL_PORT:-$((K_PORT + 2))}"
[[ "$K_SPORT" =~ ^[0-9]+$ ]] || kp_die "KP_KAFKA_SASL_SSL_PORT must be a port number (got '$K_SPORT')"
[[ "$K_APORT" =~ ^[0-9]+$ ]] || kp_die "KP_KAFKA_ADVERTISED_PORT must be a port number (got '$K_APORT')"
K_HEAP="${KP_KAFKA_HEAP:--Xmx768m -Xms256m}"
K_START_TIMEOUT="${KP_KAFKA_START_TIMEOUT:-60}"
K_STOP_TIMEOUT="${KP_KAFKA_STOP_TIMEOUT:-30}"
K_MODE="${KP_KAFKA_MODE:-auto}"
if [ -n "${KP_JAVA:-}" ]; then JAVA="$KP_JAVA"
elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA="$JAVA_HOME/bin/java"
else JAVA=java; fi
MVN="${KP_MVN:-mvn}"

PG_DB=kafka_pattern
PG_HOST="${PGHOST:-127.0.0.1}"
PG_PORT="${PGPORT:-5432}"
PG_USER="${PGUSER:-postgres}"
REDIS_URL_RESOLVED="${REDIS_URL:-redis://127.0.0.1:6379}"

# The SASL_SSL listener: TLS material shared by every broker version of the stack, the user
# (PLAIN and SCRAM) and a marker saying the SCRAM credentials exist in this version's storage.
TLS_DIR="$STACK_DIR/tls"
TLS_KEYSTORE_PASSWORD=kafka-pattern-keystore
SASL_USER=kafka-pattern
SASL_PASSWORD=kafka-pattern-secret
K_SCRAM_MARKER="$K_DIR/scram-users"
K_SASL=0 # 1 once the listener is configured (ensure_tls)

S3_HOST=127.0.0.1
S3_PORT="${KP_S3_PORT:-4568}"
[[ "$S3_PORT" =~ ^[0-9]+$ ]] || kp_die "KP_S3_PORT must be a port number (got '$S3_PORT')"
S3RVER_VERSION="${KP_S3RVER_VERSION:-3.7.1}"
S3_DIR="$STACK_DIR/s3"
S3_PIDFILE="$S3_DIR/s3rver.pid"
S3_BUCKET=kafka-pattern

is_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }
say() { echo "stack: $*"; }
warn() { echo "warning: $*" >&2; }
rel() { echo "${1#"$KP_ROOT"/}"; }
is_local_host() { case "$1" in 127.0.0.1 | localhost | ::1 | "") return 0 ;; *) return 1 ;; esac; }
is_root() { [ "$(id -u)" = 0 ]; }

# A service that is optional outside CI: an error in CI, a warning otherwise.
soft_fail() {
  if is_ci; then kp_die "$*"; fi
  warn "$* (continuing without it; with CI=true this is an error)"
}

port_open() { # host port: true when something accepts TCP connections there
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

port_owner() { # port: "name pid N" of the listener when ss can tell, else nothing
  command -v ss >/dev/null 2>&1 || return 0
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 pid \2/p' | head -n1
}

docker_ok() { # a Docker engine answers and the compose plugin is there (checked once)
  if [ -z "${KP_DOCKER_OK:-}" ]; then
    KP_DOCKER_OK=no
    if command -v docker >/dev/null 2>&1 && timeout 15 docker info >/dev/null 2>&1 &&
      docker compose version >/dev/null 2>&1; then KP_DOCKER_OK=yes; fi
  fi
  [ "$KP_DOCKER_OK" = yes ]
}


compose() { (detached docker compose -f "$COMPOSE_FILE" "$@"); }

lock_stack() { # serialises concurrent up/down; the lock goes away with this process
  mkdir -p "$K_BASE"
  command -v flock >/dev/null 2>&1 || return 0
  exec 9<"$K_BASE"
  flock -n 9 && return 0
  say "waiting for another scripts/stack.sh to finish"
  flock -w 180 9 || kp_die "another scripts/stack.sh is still running (waited 180 s): wait for it, or stop it"
}

# ---------------------------------------------------------------------------------------------
# Kafka: the broker run from Maven Central jars
# ---------------------------------------------------------------------------------------------

stack_brokers() { # "pid config" of every broker started from $K_BASE: any version, either layout
  local pid cmd props
  command -v pgrep >/dev/null 2>&1 || return 0
  while read -r pid cmd; do
    [[ "$cmd" == *"kafka.Kafka "* ]] || continue
    props="${cmd##*kafka.Kafka }"
    props="${props%% *}"
    case "${props#"$K_BASE"/}" in
      "$props") ;;                                    # not under $K_BASE
      server.properties) echo "$pid $props" ;;        # the layout before per-version directories
      */*/*) ;;
      */server.properties) echo "$pid $props" ;;      # .stack/kafka/<version>/server.properties
    esac
  done < <(pgrep -af -- 'kafka\.Kafka ' 2>/dev/null || true)
}

broker_pid() { # pid of our running broker (this version), or nothing
  local pid="" props
  if [ -f "$K_PIDFILE" ]; then
    pid="$(tr -dc 0-9 <"$K_PIDFILE")"
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
      tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $K_PROPS"; then
      echo "$pid"
      return 0
    fi
    rm -f "$K_PIDFILE" # stale
  fi
  # A broker started from this checkout whose pid file was lost.
  while read -r pid props; do
    if [ "$props" = "$K_PROPS" ]; then
      echo "$pid" >"$K_PIDFILE"
      echo "$pid"
      return 0
    fi
  done < <(stack_brokers)
}

broker_version() { # config-file: the Kafka version of the broker that runs with it
  local dir v
  dir="$(dirname "$1")"
  if [ "$dir" != "$K_BASE" ]; then
    basename "$dir"
    return 0
  fi
  v="$(sed -n 's/^kafka=\([^ ]*\).*/\1/p' "$dir/libs/.resolved" 2>/dev/null || true)"
  echo "${v:-of unknown version}"
}

config_ports() { # config-file: the ports its listeners bind, one a line
  sed -n 's/^listeners=//p' "$1" 2>/dev/null | tr ',' '\n' | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p'
}

stop_displaced_brokers() { # stops brokers of other versions started from here that hold our ports
  local pid props v p
  while read -r pid props; do
    [ "$props" = "$K_PROPS" ] && continue
    for p in $(config_ports "$props"); do
      if [ "$p" = "$K_PORT" ] || [ "$p" = "$K_CPORT" ] || [ "$p" = "$K_SPORT" ]; then
        v="$(broker_version "$props")"
        say "stopping Kafka $v (pid $pid, from $(rel "$(dirname "$props")")/): Kafka $KAFKA_VERSION takes its place on port $K_PORT; its data is kept"
        stop_pid "$pid" "$K_STOP_TIMEOUT"
        rm -f "$(dirname "$props")/broker.pid" "$(dirname "$props")/broker.logoffset"
        break
      fi
    done
  done < <(stack_brokers)
}

migrate_flat_layout() { # moves files of the layout before per-version directories into one
  local f found="" v dest
  for f in libs data logs cluster.id server.properties; do [ -e "$K_BASE/$f" ] && found=1; done
  [ -n "$found" ] || return 0
  local running
  running="$(stack_brokers)"
  case "$running" in *" $K_BASE/server.properties"*) return 0 ;; esac # still running
  v="$(broker_version "$K_BASE/server.properties")"
  case "$v" in *" "*) v=earlier-layout ;; esac
  dest="$K_BASE/$v"
  if [ -e "$dest/data" ] || [ -e "$dest/libs" ]; then dest="$K_BASE/earlier-layout"; fi
  if [ -e "$dest/data" ] || [ -e "$dest/libs" ]; then
    warn "$(rel "$K_BASE") holds files of an earlier layout, and $(rel "$dest") exists: left in place"
    return 0
  fi
  mkdir -p "$dest"
  for f in libs data logs cluster.id server.properties log4j2.properties; do
    if [ -e "$K_BASE/$f" ]; then mv "$K_BASE/$f" "$dest/$f"; fi
  done
  rm -rf "$K_BASE/broker.pid" "$K_BASE/broker.logoffset" "$K_BASE/build" "$K_BASE/libs.tmp"
  say "moved the Kafka $v broker's jars, data and logs from $(rel "$K_BASE")/ into $(rel "$dest")/"
}

broker_started_in_log() { # offset: true when the log written after offset says the broker started
  local log="$K_LOGS/server.log"
  [ -f "$log" ] || return 1
  tail -c "+$(($1 + 1))" "$log" 2>/dev/null | grep -q "Kafka Server started"
}

check_java() {
  local remedy="apt-get install openjdk-17-jre-headless maven, or start Docker, or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster"
  command -v "$JAVA" >/dev/null 2>&1 || kp_die "java not found (the local Kafka broker needs Java 17+): $remedy"
  local v major
  v="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${v%%.*}"
  [ "$major" = 1 ] && major=8
  [[ "$major" =~ ^[0-9]+$ ]] || kp_die "could not run $JAVA -version (the local Kafka broker needs Java 17+): $remedy"
  [ "$major" -ge 17 ] || kp_die "java $v is too old (the local Kafka broker needs Java 17+): $remedy"
}

resolve_jars() {
  local stamp="$K_LIBS/.resolved" want
  want="kafka=$KAFKA_VERSION pom=$(sha256sum "$K_TEMPLATES/pom.xml" | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$K_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]; then
    return 0
  fi
  command -v "$MVN" >/dev/null 2>&1 ||
    kp_die "mvn not found (needed once to fetch the Kafka $KAFKA_VERSION jars from Maven Central): apt-get install maven, or start Docker, or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster"
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $(rel "$K_LIBS") (once)"
  local build="$K_DIR/build" tmp="$K_DIR/libs.tmp"
  rm -rf "$build" "$tmp"
  mkdir -p "$build" "$K_LOGS"
  cp "$K_TEMPLATES/pom.xml" "$build/pom.xml"
  if ! (cd "$build" && "$MVN" -B -q -Dstyle.color=never -f pom.xml dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$tmp" -DincludeScope=runtime) >"$K_LOGS/maven.log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$K_LOGS/maven.log" | grep -m 1 '^\[ERROR\] [^ ]' | cut -c1-400 >&2 || true
    kp_die "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION: Maven Central must be reachable and the version must exist (log: $(rel "$K_LOGS")/maven.log)"
  fi
  [ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ] ||
    kp_die "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing (log: $(rel "$K_LOGS")/maven.log)"
  rm -rf "$K_LIBS" "$build"
  mv "$tmp" "$K_LIBS"
  echo "$want" >"$stamp"
}

# The CA and the broker's certificate of the SASL_SSL listener, generated once. Sets K_SASL=1
# when they are there; without openssl the broker runs with its PLAINTEXT listener only.
ensure_tls() {
  K_SASL=0
  if [ -f "$TLS_DIR/ca.pem" ] && [ -f "$TLS_DIR/broker.p12" ]; then
    K_SASL=1
    return 0
  fi
  if ! command -v openssl >/dev/null 2>&1; then
    soft_fail "openssl not found (it generates the certificates of the SASL_SSL listener on port $K_SPORT): apt-get install openssl; the broker starts without that listener"
    return 0
  fi
  say "generating the stack's CA and the broker's TLS certificate into $(rel "$TLS_DIR")/ (once)"
  local tmp="$TLS_DIR.tmp" log="$STACK_DIR/tls.log"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$tmp/broker.ext"
  if ! {
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=kafka-pattern local CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$tmp/ca.key" -out "$tmp/ca.pem" &&
      openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
        -keyout "$tmp/broker.key" -out "$tmp/broker.csr" &&
      openssl x509 -req -sha256 -days 3650 -in "$tmp/broker.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -extfile "$tmp/broker.ext" -out "$tmp/broker.pem" &&
      openssl pkcs12 -export -name broker -in "$tmp/broker.pem" -inkey "$tmp/broker.key" \
        -certfile "$tmp/ca.pem" -passout "pass:$TLS_KEYSTORE_PASSWORD" -out "$tmp/broker.p12"
  } >"$log" 2>&1; then
    tail -n 5 "$log" >&2 || true
    rm -rf "$tmp"
    soft_fail "openssl could not generate the SASL_SSL listener's certificates (log: $(rel "$log")); the broker starts without that listener"
    return 0
  fi
  rm -f "$tmp/broker.csr" "$tmp/broker.ext"
  chmod 600 "$tmp/ca.key" "$tmp/broker.key" "$tmp/broker.p12"
  rm -rf "$TLS_DIR"
  mv "$tmp" "$TLS_DIR"
  K_SASL=1
}

write_broker_config() {
  mkdir -p "$K_DATA" "$K_LOGS"
  local sasl_listener=""
  [ "$K_SASL" = 1 ] && sasl_listener=",SASL_SSL://$K_HOST:$K_SPORT"
  {
    sed -e "s|@HOST@|$K_HOST|g" -e "s|@PORT@|$K_PORT|g" -e "s|@CONTROLLER_PORT@|$K_CPORT|g" \
      -e "s|@ADVERTISED_PORT@|$K_APORT|g" -e "s|@SASL_SSL_LISTENER@|$sasl_listener|g" \
      -e "s|@DATA_DIR@|$K_DATA|g" "$K_TEMPLATES/server.properties"
    if [ "$K_SASL" = 1 ]; then
      sed -e "s|@TLS_DIR@|$TLS_DIR|g" -e "s|@KEYSTORE_PASSWORD@|$TLS_KEYSTORE_PASSWORD|g" \
        -e "s|@SASL_USERNAME@|$SASL_USER|g" -e "s|@SASL_PASSWORD@|$SASL_PASSWORD|g" \
        "$K_TEMPLATES/sasl-ssl.properties"
    fi
  } >"$K_PROPS.tmp"
  mv "$K_PROPS.tmp" "$K_PROPS"
  cp "$K_TEMPLATES/log4j2.properties" "$K_DIR/log4j2.properties"
}

kafka_java() { # runs a Kafka class with the resolved jars; output to the given log
  local log="$1"
  shift
  "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$K_DIR/log4j2.properties" -Dkafka.logs.dir="$K_LOGS" \
    -cp "$K_LIBS/*" "$@" >>"$log" 2>&1
}

format_storage() {
  [ -f "$K_DATA/meta.properties" ] && return 0
  local id_file="$K_DIR/cluster.id" id
  if [ -s "$id_file" ]; then
    id="$(cat "$id_file")"
  else
    id="$("$JAVA" -cp "$K_LIBS/*" kafka.tools.StorageTool random-uuid 2>>"$K_LOGS/storage.log" | tail -n1)"
    [ -n "$id" ] || kp_die "could not generate a Kafka cluster id (log: $(rel "$K_LOGS")/storage.log)"
    echo "$id" >"$id_file"
  fi
  say "formatting broker storage in $(rel "$K_DATA") (cluster id $id)"
  local scram=()
  if [ "$K_SASL" = 1 ]; then
    scram=(--add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]"
      --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]")
  fi
  rm -f "$K_SCRAM_MARKER"
  kafka_java "$K_LOGS/storage.log" kafka.tools.StorageTool format -t "$id" -c "$K_PROPS" --standalone --ignore-formatted ${scram[@]+"${scram[@]}"} ||
    kp_die "could not format Kafka storage in $(rel "$K_DATA") (log: $(rel "$K_LOGS")/storage.log); 'scripts/stack.sh down --wipe' starts fresh"
  [ "$K_SASL" = 1 ] && echo "$SASL_USER" >"$K_SCRAM_MARKER"
  return 0
}

# Storage formatted before the SASL_SSL listener existed has no SCRAM credentials: they are added
# once on the running broker (kafka-configs over the PLAINTEXT listener), as for any KRaft cluster.
ensure_scram_users() {
  [ "$K_SASL" = 1 ] || return 0
  [ "$(cat "$K_SCRAM_MARKER" 2>/dev/null)" = "$SASL_USER" ] && return 0
  say "adding the SCRAM-SHA-256 and SCRAM-SHA-512 credentials of user $SASL_USER"
  local mechanism ok=1
  # One mechanism per request: the broker refuses two credentials of one user in one request.
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    kafka_java "$K_LOGS/scram.log" org.apache.kafka.tools.ConfigCommand --bootstrap-server "$K_HOST:$K_PORT" \
      --alter --entity-type users --entity-name "$SASL_USER" \
      --add-config "$mechanism=[password=$SASL_PASSWORD]" || ok=0
  done
  if [ "$ok" = 1 ]; then
    echo "$SASL_USER" >"$K_SCRAM_MARKER"
  else
    tail -n 5 "$K_LOGS/scram.log" >&2 || true
    soft_fail "could not add the SCRAM credentials of user $SASL_USER (log: $(rel "$K_LOGS")/scram.log): SCRAM logins on port $K_SPORT fail, PLAIN works"
  fi
}

# Whether the running broker has the SASL_SSL listener (a broker started before it existed has
# not): sets K_SASL.
running_broker_sasl() {
  K_SASL=0
  if grep -q "^listeners=.*SASL_SSL://" "$K_PROPS" 2>/dev/null && [ -f "$TLS_DIR/ca.pem" ]; then
    K_SASL=1
    grep -q "^listener.name.sasl_ssl.sasl.enabled.mechanisms=.*OAUTHBEARER" "$K_PROPS" ||
      warn "the running Kafka broker's SASL_SSL listener was started without OAUTHBEARER: 'scripts/stack.sh down kafka' then 'scripts/stack.sh up' adds it"
  else
    warn "the running Kafka broker was started without the SASL_SSL listener: 'scripts/stack.sh down kafka' then 'scripts/stack.sh up' adds it on port $K_SPORT"
  fi
}

stop_pid() { # pid timeout-seconds: SIGTERM, wait, then SIGKILL
  local pid="$1" limit="$2" i=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$i" -ge $((limit * 5)) ]; then
      warn "broker (pid $pid) did not stop within ${limit}s: sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
    i=$((i + 1))
  done
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
}

print_broker_logs() {
  echo "---- last lines of $(rel "$K_LOGS")/server.log ----" >&2
  tail -n 30 "$K_LOGS/server.log" >&2 2>/dev/null || true
  if [ -s "$K_LOGS/broker.out" ]; then
    echo "---- $(rel "$K_LOGS")/broker.out ----" >&2
    tail -n 15 "$K_LOGS/broker.out" >&2
  fi
}

wait_broker_ready() { # pid log-offset
  local pid="$1" offset="$2" deadline=$((SECONDS + K_START_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$K_PIDFILE"
      print_broker_logs
      kp_die "the Kafka broker exited during startup (logs above, in $(rel "$K_LOGS")/)"
    fi
    if broker_started_in_log "$offset" && port_open "$K_HOST" "$K_PORT"; then
      return 0
    fi
    sleep 0.5
  done
  print_broker_logs
  stop_pid "$pid" 10
  rm -f "$K_PIDFILE"
  kp_die "the Kafka broker was not ready within ${K_START_TIMEOUT}s (logs above, in $(rel "$K_LOGS")/)"
}

kafka_up_jars() {
  local pid
  pid="$(broker_pid)"
  if [ -n "$pid" ]; then
    running_broker_sasl
    if port_open "$K_HOST" "$K_PORT"; then
      say "Kafka already running at $K_HOST:$K_PORT (pid $pid): nothing to do"
      KAFKA_WAS_RUNNING=1
      ensure_scram_users
      return 0
    fi
    say "Kafka broker (pid $pid) is starting: waiting for it"
    wait_broker_ready "$pid" "$(cat "$K_DIR/broker.logoffset" 2>/dev/null || echo 0)"
    say "Kafka ready at $K_HOST:$K_PORT (pid $pid)"
    ensure_scram_users
    return 0
  fi
  stop_displaced_brokers
  migrate_flat_layout
  local p owner
  for p in "$K_PORT" "$K_CPORT" "$K_SPORT"; do
    if port_open "$K_HOST" "$p"; then
      owner="$(port_owner "$p")"
      kp_die "port $p on $K_HOST is taken by another process${owner:+ ($owner)}: stop it, or set KAFKA_BOOTSTRAP_SERVERS=host:port to use a running cluster"
    fi
  done
  check_java
  resolve_jars
  ensure_tls
  write_broker_config
  format_storage

  local offset=0
  [ -f "$K_LOGS/server.log" ] && offset="$(stat -c %s "$K_LOGS/server.log")"
  local advertised=""
  [ "$K_APORT" = "$K_PORT" ] || advertised=", advertised to clients as $K_HOST:$K_APORT"
  say "starting Apache Kafka $KAFKA_VERSION (KRaft, single node) at $K_HOST:$K_PORT$advertised"
  # shellcheck disable=SC2086 # K_HEAP holds several JVM flags
  detached setsid nohup "$JAVA" $K_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$K_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$K_LOGS" -cp "$K_LIBS/*" kafka.Kafka "$K_PROPS" \
    </dev/null >"$K_LOGS/broker.out" 2>&1 &
  pid=$!
  echo "$pid" >"$K_PIDFILE"
  echo "$offset" >"$K_DIR/broker.logoffset"
  wait_broker_ready "$pid" "$offset"
  say "Kafka ready at $K_HOST:$K_PORT (pid $pid, logs in $(rel "$K_LOGS")/)"
  if [ "$K_SASL" = 1 ]; then
    port_open "$K_HOST" "$K_SPORT" || kp_die "the broker is up but its SASL_SSL listener $K_HOST:$K_SPORT does not answer (log: $(rel "$K_LOGS")/server.log)"
    say "Kafka SASL_SSL listener at $K_HOST:$K_SPORT (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER; CA $(rel "$TLS_DIR")/ca.pem)"
    ensure_scram_users
  fi
}

kafka_down_jars() { # every broker started from $K_BASE, whatever its version
  local pid props v n=0
  while read -r pid props; do
    v="$(broker_version "$props")"
    say "stopping Kafka $v broker (pid $pid)"
    stop_pid "$pid" "$K_STOP_TIMEOUT"
    rm -f "$(dirname "$props")/broker.pid" "$(dirname "$props")/broker.logoffset"
    say "Kafka $v broker stopped"
    n=$((n + 1))
  done < <(stack_brokers)
  [ "$n" -gt 0 ] || say "Kafka broker not running"
  migrate_flat_layout
}

# ---------------------------------------------------------------------------------------------
# Kafka: mode selection
# ---------------------------------------------------------------------------------------------

kafka_external_check() {
  local hp host port ok=0
  IFS=',' read -r -a hps <<<"$KAFKA_BOOTSTRAP_SERVERS"
  for hp in "${hps[@]}"; do
    hp="${hp// /}"
    hp="${hp#*://}"
    [ -n "$hp" ] || continue
    host="${hp%:*}"
    port="${hp##*:}"
    host="${host#[}"
    host="${host%]}"
    if port_open "$host" "$port"; then ok=1; else warn "Kafka bootstrap server $hp does not answer"; fi
  done
  [ "$ok" = 1 ] || kp_die "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS does not answer: start that cluster, or unset KAFKA_BOOTSTRAP_SERVERS to run the local broker"
  say "Kafka: using the existing cluster at $KAFKA_BOOTSTRAP_SERVERS"
}

kafka_mode() { # external | docker | jars
  if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then echo external; return; fi
  case "$K_MODE" in
    jars) echo jars ;;
    docker) echo docker ;;
    auto) if docker_ok; then echo docker; else echo jars; fi ;;
    *) kp_die "KP_KAFKA_MODE must be auto, jars or docker (got $K_MODE)" ;;
  esac
}

kafka_up() {
  case "$1" in
    external) kafka_external_check; KAFKA_RESOLVED="$KAFKA_BOOTSTRAP_SERVERS" ;;
    docker)
      docker_ok || kp_die "KP_KAFKA_MODE=docker but no Docker engine answers: start Docker, or use KP_KAFKA_MODE=jars"
      if [ -z "$(broker_pid)" ] && port_open "$K_HOST" "$K_PORT" && [ -z "$(compose ps -q kafka 2>/dev/null)" ]; then
        kp_die "port $K_PORT on $K_HOST is taken by another process: stop it, or set KAFKA_BOOTSTRAP_SERVERS=host:port to use a running cluster"
      fi
      say "starting Kafka with docker compose"
      compose up -d --wait kafka || kp_die "docker compose could not start Kafka: see 'docker compose logs kafka'"
      port_open "$K_HOST" "$K_PORT" || kp_die "Kafka container is up but $K_HOST:$K_PORT does not answer: see 'docker compose logs kafka'"
      say "Kafka ready at $K_HOST:$K_PORT (docker compose)"
      KAFKA_RESOLVED="$K_HOST:$K_PORT"
      ;;
    jars)
      kafka_up_jars
      KAFKA_RESOLVED="$K_HOST:$K_PORT"
      [ "$K_SASL" = 1 ] && KAFKA_SASL_RESOLVED="$K_HOST:$K_SPORT"
      ;;
  esac
  return 0
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

pg_cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n1; }

pg_can_manage() { # true when this machine's cluster can be started/restarted from here
  is_local_host "$PG_HOST" && is_root && command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(pg_cluster_version)" ]
}

pg_ctl() { (detached pg_ctlcluster --skip-systemctl-redirect "$(pg_cluster_version)" main "$1"); }

pg_conn() { # connection string for database $1 (or the configured DATABASE_URL)
  if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; else echo "postgresql://$PG_USER@$PG_HOST:$PG_PORT/$1"; fi
}

pg_query() { # db sql
  PGCONNECT_TIMEOUT=3 psql "$(pg_conn "$1")" -v ON_ERROR_STOP=1 -qAtX -c "$2"
}

pg_ready() { pg_query postgres "select 1" >/dev/null 2>&1; }

pg_wait_ready() {
  local i
  for i in $(seq 1 60); do
    pg_ready && return 0
    sleep 0.5
  done
  return 1
}

postgres_up() { # sets PG_RESOLVED
  PG_RESOLVED=""
  local where
  if [ -n "${DATABASE_URL:-}" ]; then where="DATABASE_URL"; else where="$PG_HOST:$PG_PORT"; fi
  command -v psql >/dev/null 2>&1 ||
    { soft_fail "psql not found (PostgreSQL client): apt-get install postgresql-client, or set DATABASE_URL and install psql"; return 0; }
  if ! pg_ready; then
    if [ -z "${DATABASE_URL:-}" ] && pg_can_manage; then
      say "starting PostgreSQL $(pg_cluster_version) (pg_ctlcluster)"
      pg_ctl start >/dev/null 2>&1 || true
      pg_wait_ready || { soft_fail "PostgreSQL did not start at $where: see /var/log/postgresql/, or set DATABASE_URL"; return 0; }
    elif [ -z "${DATABASE_URL:-}" ] && is_local_host "$PG_HOST" && docker_ok; then
      say "starting PostgreSQL with docker compose"
      compose up -d --wait postgres || { soft_fail "docker compose could not start PostgreSQL: see 'docker compose logs postgres'"; return 0; }
    else
      soft_fail "PostgreSQL does not answer at $where: start it (pg_ctlcluster <version> main start), or set DATABASE_URL/PGHOST/PGPORT/PGUSER"
      return 0
    fi
  fi

  if [ -z "${DATABASE_URL:-}" ] && [ -z "$(pg_query postgres "select 1 from pg_database where datname = '$PG_DB'")" ]; then
    say "creating database $PG_DB"
    pg_query postgres "create database $PG_DB" >/dev/null ||
      { soft_fail "could not create database $PG_DB at $where: create it, or set DATABASE_URL"; return 0; }
  fi

  # CDC needs logical decoding: wal_level=logical, and room for replication slots.
  local wal slots senders changed=0
  wal="$(pg_query postgres "show wal_level")"
  slots="$(pg_query postgres "show max_replication_slots")"
  senders="$(pg_query postgres "show max_wal_senders")"
  if [ "$wal" != logical ]; then
    pg_query postgres "alter system set wal_level = logical" >/dev/null ||
      { soft_fail "PostgreSQL wal_level is $wal and could not be changed (needs a superuser): set wal_level=logical and restart it"; return 0; }
    changed=1
  fi
  if [ "$slots" -lt 4 ]; then pg_query postgres "alter system set max_replication_slots = 10" >/dev/null && changed=1; fi
  if [ "$senders" -lt 4 ]; then pg_query postgres "alter system set max_wal_senders = 10" >/dev/null && changed=1; fi
  if [ "$changed" = 1 ]; then
    if [ -z "${DATABASE_URL:-}" ] && pg_can_manage; then
      say "restarting PostgreSQL once to apply wal_level=logical"
      pg_ctl restart >/dev/null 2>&1 || true
      pg_wait_ready || { soft_fail "PostgreSQL did not come back after the restart: see /var/log/postgresql/"; return 0; }
      wal="$(pg_query postgres "show wal_level")"
      [ "$wal" = logical ] || { soft_fail "PostgreSQL wal_level is still $wal after a restart: set wal_level=logical in postgresql.conf"; return 0; }
    else
      soft_fail "PostgreSQL at $where needs a restart to apply wal_level=logical: restart it, then run this again"
      return 0
    fi
  fi
  # Only when the broker starts afresh: while it runs, a test or demo between restarts of its capture
  # may hold an inactive slot it still needs.
  [ "${KAFKA_WAS_RUNNING:-0}" = 1 ] || pg_drop_stale_slots
  PG_RESOLVED="$(if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; else echo "postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"; fi)"
  say "PostgreSQL ready at $where (database ${DATABASE_URL:+from DATABASE_URL}${DATABASE_URL:-$PG_DB}, wal_level=logical)"
}

# A replication slot nobody reads holds WAL back for good. Slots of demos (kp_demo_*) and tests
# (kpt_*, slot_*) that stopped without dropping theirs are dropped; other slots, such as those of
# captures a team runs, are left alone.
pg_drop_stale_slots() {
  local dropped
  dropped="$(pg_query "$PG_DB" "select count(pg_drop_replication_slot(slot_name)) from pg_replication_slots where not active and database = current_database() and (slot_name like 'kp\_demo\_%' or slot_name like 'kpt\_%' or slot_name like 'slot\_%')" 2>/dev/null || echo 0)"
  [ "${dropped:-0}" = 0 ] || say "dropped $dropped replication slots left behind by stopped demos and tests"
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------

redis_host_port() { # prints "host port" of REDIS_URL
  local u="${REDIS_URL_RESOLVED#*://}"
  u="${u##*@}"
  u="${u%%/*}"
  local host="${u%:*}" port="${u##*:}"
  [ "$host" = "$u" ] && port=6379
  echo "${host:-127.0.0.1} ${port:-6379}"
}

redis_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(timeout 3 redis-cli -u "$REDIS_URL_RESOLVED" ping 2>/dev/null)" = PONG ]
  else
    local host port
    read -r host port <<<"$(redis_host_port)"
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf "PING\r\n" >&3; head -c 5 <&3' "$host" "$port" 2>/dev/null | grep -q PONG
  fi
}

redis_up() { # sets REDIS_RESOLVED
  REDIS_RESOLVED=""
  local host port i
  read -r host port <<<"$(redis_host_port)"
  if ! redis_ping; then
    if is_local_host "$host" && [ "$port" = 6379 ] && is_root && command -v redis-server >/dev/null 2>&1; then
      say "starting Redis (redis-server)"
      mkdir -p /var/lib/redis /var/log/redis
      (detached redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log) >/dev/null 2>&1 || true
      for i in $(seq 1 40); do redis_ping && break; sleep 0.25; done
      redis_ping || { soft_fail "Redis did not start at $host:$port: see /var/log/redis/ci.log, or set REDIS_URL"; return 0; }
    elif is_local_host "$host" && docker_ok; then
      say "starting Redis with docker compose"
      compose up -d --wait redis || { soft_fail "docker compose could not start Redis: see 'docker compose logs redis'"; return 0; }
    else
      soft_fail "Redis does not answer at $host:$port: start it (redis-server), or set REDIS_URL"
      return 0
    fi
  fi
  REDIS_RESOLVED="$REDIS_URL_RESOLVED"
  say "Redis ready at $host:$port"
}

# ---------------------------------------------------------------------------------------------
# S3: an S3-compatible server on loopback (s3rver from the npm registry, or MinIO in compose)
# ---------------------------------------------------------------------------------------------

s3rver_pid() { # pid of the s3rver started from this stack directory, or nothing
  local pid
  [ -f "$S3_PIDFILE" ] || return 0
  pid="$(tr -dc 0-9 <"$S3_PIDFILE")"
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "s3rver"; then
    echo "$pid"
  else
    rm -f "$S3_PIDFILE"
  fi
}

s3_answers() { # url: true when an S3 API answers there (any HTTP status)
  local hp="${1#*://}" host port
  hp="${hp%%/*}"
  host="${hp%:*}"
  port="${hp##*:}"
  [ "$host" = "$hp" ] && port=80
  port_open "$host" "$port"
}

s3_use() { # endpoint region access-key secret-key description
  S3_RESOLVED="$1" S3_REGION_RESOLVED="$2" S3_KEY_RESOLVED="$3" S3_SECRET_RESOLVED="$4"
  say "S3 ready at $1 ($5)"
}

s3_up() { # sets S3_RESOLVED, S3_REGION_RESOLVED, S3_KEY_RESOLVED, S3_SECRET_RESOLVED
  S3_RESOLVED=""
  if [ -n "${S3_ENDPOINT:-}" ]; then
    s3_answers "$S3_ENDPOINT" ||
      { soft_fail "S3_ENDPOINT=$S3_ENDPOINT does not answer: start that server, or unset S3_ENDPOINT to run the local one"; return 0; }
    s3_use "$S3_ENDPOINT" "${S3_REGION:-us-east-1}" "${S3_ACCESS_KEY_ID:-}" "${S3_SECRET_ACCESS_KEY:-}" "S3_ENDPOINT"
    return 0
  fi
  local pid endpoint="http://$S3_HOST:$S3_PORT"
  pid="$(s3rver_pid)"
  if port_open "$S3_HOST" "$S3_PORT"; then
    if [ -n "$pid" ]; then
      s3_use "$endpoint" us-east-1 S3RVER S3RVER "s3rver, pid $pid: already running"
    else
      s3_use "$endpoint" us-east-1 S3RVER S3RVER "already running, started by another checkout ($(port_owner "$S3_PORT"))"
    fi
    return 0
  fi
  if docker_ok; then
    say "starting MinIO with docker compose"
    compose up -d --wait minio || { soft_fail "docker compose could not start MinIO: see 'docker compose logs minio'"; return 0; }
    s3_use "http://$S3_HOST:9000" us-east-1 minioadmin minioadmin "MinIO, docker compose"
    return 0
  fi
  local bin="$KP_TOOLS/node_modules/s3rver/bin/s3rver.js"
  if [ ! -f "$bin" ] || [ "$(node -p "require('$KP_TOOLS/node_modules/s3rver/package.json').version" 2>/dev/null)" != "$S3RVER_VERSION" ]; then
    say "installing s3rver $S3RVER_VERSION from the npm registry into .tools/ (once)"
    mkdir -p "$KP_TOOLS"
    npm install --prefix "$KP_TOOLS" --no-audit --no-fund --loglevel=error "s3rver@$S3RVER_VERSION" >&2 ||
      { soft_fail "could not install s3rver $S3RVER_VERSION from the npm registry: check that the registry is reachable, or set S3_ENDPOINT to an S3 server"; return 0; }
  fi
  mkdir -p "$S3_DIR/data"
  say "starting s3rver $S3RVER_VERSION at $endpoint (data in $(rel "$S3_DIR")/data)"
  detached setsid nohup node "$KP_ROOT/scripts/s3/s3rver.mjs" "$KP_TOOLS/node_modules/s3rver" "$S3_DIR/data" \
    "$S3_HOST" "$S3_PORT" "$S3_BUCKET" </dev/null >"$S3_DIR/s3rver.log" 2>&1 &
  pid=$!
  echo "$pid" >"$S3_PIDFILE"
  local i
  for i in $(seq 1 60); do
    port_open "$S3_HOST" "$S3_PORT" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if ! port_open "$S3_HOST" "$S3_PORT"; then
    tail -n 20 "$S3_DIR/s3rver.log" >&2 2>/dev/null || true
    stop_pid "$pid" 5
    rm -f "$S3_PIDFILE"
    soft_fail "s3rver did not start at $endpoint (log above, in $(rel "$S3_DIR")/s3rver.log): free port $S3_PORT (KP_S3_PORT), or set S3_ENDPOINT"
    return 0
  fi
  s3_use "$endpoint" us-east-1 S3RVER S3RVER "s3rver, pid $pid"
}

s3_down() {
  local pid
  pid="$(s3rver_pid)"
  if [ -n "$pid" ]; then
    say "stopping s3rver (pid $pid)"
    stop_pid "$pid" 10
    rm -f "$S3_PIDFILE"
  else
    say "s3rver not running"
  fi
}

s3_status() {
  local pid
  if [ -n "${S3_ENDPOINT:-}" ]; then
    if s3_answers "$S3_ENDPOINT"; then echo "s3        up    $S3_ENDPOINT (S3_ENDPOINT)"; else echo "s3        down  $S3_ENDPOINT (S3_ENDPOINT)"; fi
    return 0
  fi
  pid="$(s3rver_pid)"
  if [ -n "$pid" ] && port_open "$S3_HOST" "$S3_PORT"; then
    echo "s3        up    http://$S3_HOST:$S3_PORT (s3rver $S3RVER_VERSION, pid $pid, data $(rel "$S3_DIR")/data)"
  elif port_open "$S3_HOST" "$S3_PORT"; then
    echo "s3        up    http://$S3_HOST:$S3_PORT (not started from here: $(port_owner "$S3_PORT"))"
  elif docker_ok && [ -n "$(compose ps -q minio 2>/dev/null)" ]; then
    echo "s3        up    http://$S3_HOST:9000 (MinIO, docker compose)"
  else
    echo "s3        down  (scripts/stack.sh up starts s3rver at http://$S3_HOST:$S3_PORT)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

write_env() { # kafka-only: only the Kafka line changes, the others stay as they were
  local kafka_only="$1" line
  mkdir -p "$STACK_DIR"
  {
    echo "# Endpoints of the local stack, written by scripts/stack.sh up; read by tests and demos."
    echo "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_RESOLVED"
    if [ -n "$KAFKA_SASL_RESOLVED" ]; then
      echo "KAFKA_SASL_SSL_BOOTSTRAP_SERVERS=$KAFKA_SASL_RESOLVED"
      echo "KAFKA_SSL_CA_FILE=$TLS_DIR/ca.pem"
      echo "KAFKA_SASL_USERNAME=$SASL_USER"
      echo "KAFKA_SASL_PASSWORD=$SASL_PASSWORD"
    else
      echo "# KAFKA_SASL_SSL_BOOTSTRAP_SERVERS: no SASL_SSL listener (the broker from the jars has one; one started before it existed gets it after scripts/stack.sh down kafka)"
    fi
    if [ "$kafka_only" = 1 ]; then
      if [ -f "$ENV_FILE" ]; then
        while IFS= read -r line; do
          case "$line" in
            "#"*Endpoints* | KAFKA_BOOTSTRAP_SERVERS=* | KAFKA_SASL_* | KAFKA_SSL_* | "# KAFKA_SASL_"*) ;;
            *) echo "$line" ;;
          esac
        done <"$ENV_FILE"
      else
        echo "# DATABASE_URL, REDIS_URL, S3_*: not checked (scripts/stack.sh up kafka)"
      fi
    else
      if [ -n "$PG_RESOLVED" ]; then echo "DATABASE_URL=$PG_RESOLVED"; else echo "# DATABASE_URL: PostgreSQL not available"; fi
      if [ -n "$REDIS_RESOLVED" ]; then echo "REDIS_URL=$REDIS_RESOLVED"; else echo "# REDIS_URL: Redis not available"; fi
      if [ -n "$S3_RESOLVED" ]; then
        echo "S3_ENDPOINT=$S3_RESOLVED"
        echo "S3_REGION=$S3_REGION_RESOLVED"
        echo "S3_ACCESS_KEY_ID=$S3_KEY_RESOLVED"
        echo "S3_SECRET_ACCESS_KEY=$S3_SECRET_RESOLVED"
      else
        echo "# S3_ENDPOINT: S3 not available"
      fi
    fi
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  say "endpoints written to $(rel "$ENV_FILE")"
}

parse_services() { # [kafka]: sets KAFKA_ONLY
  KAFKA_ONLY=0
  case "${1:-}" in
    "") ;;
    kafka) KAFKA_ONLY=1 ;;
    *) kp_die "unknown service '$1' (only 'kafka' can be named: the broker alone)" ;;
  esac
}

cmd_up() {
  [ $# -le 1 ] || kp_die "usage: scripts/stack.sh up [kafka]"
  parse_services "${1:-}"
  lock_stack
  KAFKA_RESOLVED="" KAFKA_SASL_RESOLVED="" PG_RESOLVED="" REDIS_RESOLVED="" S3_RESOLVED=""
  kafka_up "$(kafka_mode)"
  if [ "$KAFKA_ONLY" = 0 ]; then
    postgres_up
    redis_up
    s3_up
  fi
  write_env "$KAFKA_ONLY"
  [ "$KAFKA_ONLY" = 1 ] || bash "$KP_ROOT/scripts/schema-registry.sh" up 9<&-
}

cmd_down() {
  local wipe="${KP_WIPE:-0}" arg service=""
  for arg in "$@"; do
    case "$arg" in
      --wipe) wipe=1 ;;
      *) [ -z "$service" ] || kp_die "usage: scripts/stack.sh down [--wipe] [kafka]"; service="$arg" ;;
    esac
  done
  parse_services "$service"
  lock_stack
  if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    say "Kafka at $KAFKA_BOOTSTRAP_SERVERS is an existing cluster: not managed here"
  fi
  kafka_down_jars
  [ "$KAFKA_ONLY" = 1 ] || s3_down
  [ "$KAFKA_ONLY" = 1 ] || bash "$KP_ROOT/scripts/schema-registry.sh" down
  if docker_ok; then
    if [ "$KAFKA_ONLY" = 1 ]; then
      if [ -n "$(compose ps -q kafka 2>/dev/null)" ]; then
        say "stopping the docker compose kafka service"
        if [ "$wipe" = 1 ]; then
          compose rm -fsv kafka
          warn "the compose volume kafka-data is kept: 'scripts/stack.sh down --wipe' removes it"
        else
          compose stop kafka
        fi
      fi
    elif [ -n "$(compose ps -q 2>/dev/null)" ]; then
      say "stopping docker compose services"
      if [ "$wipe" = 1 ]; then compose down -v; else compose down; fi
    fi
  fi
  if [ "$wipe" = 1 ]; then
    local d wiped=()
    for d in "$K_BASE"/*/; do
      d="${d%/}"
      if [ -e "$d/data" ] || [ -e "$d/cluster.id" ]; then
        rm -rf "$d/data" "$d/cluster.id" "$d/scram-users"
        wiped+=("$(rel "$d")/data")
      fi
    done
    if [ "$KAFKA_ONLY" = 0 ] && [ -d "$S3_DIR/data" ]; then
      rm -rf "$S3_DIR/data"
      wiped+=("$(rel "$S3_DIR")/data")
    fi
    if [ ${#wiped[@]} -gt 0 ]; then say "broker data wiped (${wiped[*]})"; else say "no broker data to wipe"; fi
  fi
}

cmd_status() {
  local pid mode
  mode="$(kafka_mode)"
  if [ "$mode" = external ]; then
    if kafka_external_check >/dev/null 2>&1; then
      echo "kafka     up    $KAFKA_BOOTSTRAP_SERVERS (existing cluster, KAFKA_BOOTSTRAP_SERVERS)"
    else
      echo "kafka     DOWN  $KAFKA_BOOTSTRAP_SERVERS (existing cluster, KAFKA_BOOTSTRAP_SERVERS)"
    fi
  else
    local props other_pid="" other_props="" others=() p
    while read -r pid props; do
      [ "$props" = "$K_PROPS" ] && continue
      for p in $(config_ports "$props"); do
        if [ "$p" = "$K_PORT" ]; then other_pid="$pid" other_props="$props"; fi
      done
      [ "$pid" = "$other_pid" ] ||
        others+=("Kafka $(broker_version "$props") (pid $pid, port$(config_ports "$props" | head -n1 | sed 's/^/ /'))")
    done < <(stack_brokers)
    pid="$(broker_pid)"
    if [ -n "$pid" ] && port_open "$K_HOST" "$K_PORT"; then
      echo "kafka     up    $K_HOST:$K_PORT (Apache Kafka $KAFKA_VERSION from Maven Central jars, pid $pid, logs $(rel "$K_LOGS")/server.log)"
      if grep -q "^listeners=.*SASL_SSL://" "$K_PROPS" 2>/dev/null && port_open "$K_HOST" "$K_SPORT"; then
        echo "          SASL_SSL $K_HOST:$K_SPORT (user $SASL_USER; CA $(rel "$TLS_DIR")/ca.pem)"
      else
        echo "          no SASL_SSL listener (started before it existed: down kafka, then up)"
      fi
    elif [ -n "$pid" ]; then
      echo "kafka     starting  $K_HOST:$K_PORT (pid $pid)"
    elif [ -n "$other_pid" ]; then
      echo "kafka     up    $K_HOST:$K_PORT (Apache Kafka $(broker_version "$other_props") from $(rel "$(dirname "$other_props")")/, pid $other_pid; scripts/stack.sh up replaces it with $KAFKA_VERSION)"
    elif [ "$mode" = docker ] && [ -n "$(compose ps -q kafka 2>/dev/null)" ]; then
      echo "kafka     up    $K_HOST:$K_PORT (docker compose)"
    elif port_open "$K_HOST" "$K_PORT"; then
      echo "kafka     ??    $K_HOST:$K_PORT answers but is not managed here ($(port_owner "$K_PORT"))"
    else
      echo "kafka     down  (scripts/stack.sh up starts Apache Kafka $KAFKA_VERSION)"
    fi
    if [ ${#others[@]} -gt 0 ]; then echo "          also running from $(rel "$K_BASE"): ${others[*]}"; fi
  fi
  if command -v psql >/dev/null 2>&1 && pg_ready; then
    echo "postgres  up    ${DATABASE_URL:-postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB} (wal_level=$(pg_query postgres "show wal_level" 2>/dev/null))"
  else
    echo "postgres  down  ${DATABASE_URL:-$PG_HOST:$PG_PORT}"
  fi
  if redis_ping; then echo "redis     up    $REDIS_URL_RESOLVED"; else echo "redis     down  $REDIS_URL_RESOLVED"; fi
  s3_status
  bash "$KP_ROOT/scripts/schema-registry.sh" status
  if [ -f "$ENV_FILE" ]; then echo "env       $(rel "$ENV_FILE")"; else echo "env       (none: run scripts/stack.sh up)"; fi
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  *) kp_die "usage: scripts/stack.sh up [kafka] | down [--wipe] [kafka] | status" ;;
esac
