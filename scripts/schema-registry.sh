#!/usr/bin/env bash
# A Schema Registry for the local stack: Apicurio Registry, whose Confluent-compatible API is at
# /apis/ccompat/v7, run from its distribution on Maven Central
# (io.apicurio:apicurio-registry-app:<version>:tar.gz:all, a Quarkus application) with in-memory
# storage, on 127.0.0.1.
#
#   scripts/schema-registry.sh up       start it when nothing answers there yet (a no-op when one does)
#   scripts/schema-registry.sh down     stop the registry this script started
#   scripts/schema-registry.sh status   what runs where
#
# The distribution is fetched with Maven once and unpacked into .tools/apicurio-registry/<version>/;
# the registry's log and pid file are in .stack/schema-registry/. `up` writes
# SCHEMA_REGISTRY_URL (the ccompat base URL) to .stack/env, replacing an earlier line.
# scripts/stack.sh up and down call this script.
#
# SCHEMA_REGISTRY_URL set: that registry is used as is (only checked to answer).
# The registry needs Java 21 or later: KP_REGISTRY_JAVA, else `java` on PATH when it is 21+, else
# the newest 21+ under /usr/lib/jvm.
# CI=true: a registry that cannot be started is an error (otherwise a warning, and the tests
# that need it fail with a message saying so).
#
# Overrides: KP_REGISTRY_VERSION (3.3.3), KP_REGISTRY_PORT (8081), KP_REGISTRY_HEAP (-Xmx384m),
# KP_REGISTRY_START_TIMEOUT (120 s), KP_REGISTRY_JAVA, KP_MVN (mvn), KP_STACK_DIR (.stack).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

R_VERSION="${KP_REGISTRY_VERSION:-3.3.3}"
[[ "$R_VERSION" =~ ^[0-9][0-9A-Za-z.-]*$ ]] || kp_die "KP_REGISTRY_VERSION must be a version such as 3.3.3 (got '$R_VERSION')"
R_PORT="${KP_REGISTRY_PORT:-8081}"
[[ "$R_PORT" =~ ^[0-9]+$ ]] || kp_die "KP_REGISTRY_PORT must be a port number (got '$R_PORT')"
R_HOST=127.0.0.1
R_HEAP="${KP_REGISTRY_HEAP:--Xmx384m}"
R_START_TIMEOUT="${KP_REGISTRY_START_TIMEOUT:-120}"
MVN="${KP_MVN:-mvn}"
STACK_DIR="${KP_STACK_DIR:-$KP_ROOT/.stack}"
ENV_FILE="$STACK_DIR/env"
R_DIR="$STACK_DIR/schema-registry"
R_PIDFILE="$R_DIR/registry.pid"
R_LOG="$R_DIR/registry.log"
R_APP="$KP_TOOLS/apicurio-registry/$R_VERSION"
R_URL="http://$R_HOST:$R_PORT/apis/ccompat/v7"

is_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }
say() { echo "schema-registry: $*"; }
warn() { echo "warning: $*" >&2; }
rel() { echo "${1#"$KP_ROOT"/}"; }
soft_fail() {
  if is_ci; then kp_die "$*"; fi
  warn "$* (continuing without it; with CI=true this is an error)"
  exit 0
}

answers() { # url: true when the Confluent-compatible API answers there (GET /subjects is 200)
  if command -v curl >/dev/null 2>&1; then
    curl -sf -m 3 -o /dev/null "$1/subjects" 2>/dev/null
  else
    node -e 'fetch(process.argv[1] + "/subjects", { signal: AbortSignal.timeout(3000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1" 2>/dev/null
  fi
}

java_major() { # java binary: its major version, or nothing
  local v
  v="$("$1" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  v="${v%%.*}"
  [[ "$v" =~ ^[0-9]+$ ]] && echo "$v"
}

find_java() { # sets JAVA to a Java 21+ or fails
  if [ -n "${KP_REGISTRY_JAVA:-}" ]; then
    JAVA="$KP_REGISTRY_JAVA"
    [ "$(java_major "$JAVA" || echo 0)" -ge 21 ] || soft_fail "KP_REGISTRY_JAVA=$JAVA is not a Java 21 or later"
    return 0
  fi
  if command -v java >/dev/null 2>&1 && [ "$(java_major java || echo 0)" -ge 21 ]; then
    JAVA=java
    return 0
  fi
  local candidate best="" best_major=0 major
  for candidate in /usr/lib/jvm/*/bin/java; do
    [ -x "$candidate" ] || continue
    major="$(java_major "$candidate" || echo 0)"
    if [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then best="$candidate" best_major="$major"; fi
  done
  [ -n "$best" ] ||
    soft_fail "Apicurio Registry needs Java 21 or later and none was found (java on PATH, /usr/lib/jvm): apt-get install openjdk-21-jre-headless, or set KP_REGISTRY_JAVA, or SCHEMA_REGISTRY_URL to a running registry"
  JAVA="$best"
}

fetch_app() {
  [ -f "$R_APP/quarkus-run.jar" ] && return 0
  command -v "$MVN" >/dev/null 2>&1 ||
    soft_fail "mvn not found (needed once to fetch Apicurio Registry $R_VERSION from Maven Central): apt-get install maven, or set SCHEMA_REGISTRY_URL to a running registry"
  say "fetching Apicurio Registry $R_VERSION from Maven Central into $(rel "$R_APP") (once, about 160 MB)"
  local tmp="$R_APP.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp" "$R_DIR"
  if ! "$MVN" -B -q -Dstyle.color=never dependency:copy \
    -Dartifact="io.apicurio:apicurio-registry-app:$R_VERSION:tar.gz:all" -DoutputDirectory="$tmp" >"$R_DIR/maven.log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$R_DIR/maven.log" | grep -m 1 '^\[ERROR\] [^ ]' | cut -c1-400 >&2 || true
    rm -rf "$tmp"
    soft_fail "Maven could not fetch io.apicurio:apicurio-registry-app:$R_VERSION:tar.gz:all (log: $(rel "$R_DIR")/maven.log)"
  fi
  tar -xzf "$tmp/apicurio-registry-app-$R_VERSION-all.tar.gz" -C "$tmp"
  rm -f "$tmp/apicurio-registry-app-$R_VERSION-all.tar.gz"
  [ -f "$tmp/quarkus-run.jar" ] || { rm -rf "$tmp"; soft_fail "the Apicurio Registry $R_VERSION distribution has no quarkus-run.jar"; }
  rm -rf "$R_APP"
  mv "$tmp" "$R_APP"
}

registry_pid() { # pid of the registry started from here, when it runs
  [ -f "$R_PIDFILE" ] || return 0
  local pid
  pid="$(cat "$R_PIDFILE")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q quarkus-run.jar "/proc/$pid/cmdline" 2>/dev/null; then echo "$pid"; fi
}

write_url() { # url: SCHEMA_REGISTRY_URL in the env file, in place of an earlier line
  mkdir -p "$STACK_DIR"
  touch "$ENV_FILE"
  grep -v '^SCHEMA_REGISTRY_URL=\|^# SCHEMA_REGISTRY_URL' "$ENV_FILE" >"$ENV_FILE.sr.tmp" || true
  echo "SCHEMA_REGISTRY_URL=$1" >>"$ENV_FILE.sr.tmp"
  mv "$ENV_FILE.sr.tmp" "$ENV_FILE"
}

cmd_up() {
  if [ -n "${SCHEMA_REGISTRY_URL:-}" ]; then
    answers "$SCHEMA_REGISTRY_URL" || soft_fail "SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL does not answer (GET /subjects): start that registry, or unset SCHEMA_REGISTRY_URL to run the local one"
    say "using SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL"
    write_url "$SCHEMA_REGISTRY_URL"
    return 0
  fi
  local pid
  pid="$(registry_pid)"
  if answers "$R_URL"; then
    if [ -n "$pid" ]; then say "Apicurio Registry at $R_URL (pid $pid): already running"; else say "a registry already answers at $R_URL"; fi
    write_url "$R_URL"
    return 0
  fi
  find_java
  fetch_app
  mkdir -p "$R_DIR"
  say "starting Apicurio Registry $R_VERSION at $R_URL (log in $(rel "$R_LOG"))"
  # shellcheck disable=SC2086 # R_HEAP holds several options
  (cd "$R_DIR" && detached setsid nohup "$JAVA" $R_HEAP -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    -Dquarkus.http.host="$R_HOST" -Dquarkus.http.port="$R_PORT" -Dapicurio.storage.kind=sql \
    -Dapicurio.storage.sql.kind=h2 -Dquarkus.otel.sdk.disabled=true -Dquarkus.log.level=WARN \
    -jar "$R_APP/quarkus-run.jar" </dev/null >"$R_LOG" 2>&1) &
  pid=$!
  echo "$pid" >"$R_PIDFILE"
  local i
  for i in $(seq 1 $((R_START_TIMEOUT * 2))); do
    answers "$R_URL" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! answers "$R_URL"; then
    tail -n 30 "$R_LOG" >&2 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    rm -f "$R_PIDFILE"
    soft_fail "Apicurio Registry did not answer at $R_URL within ${R_START_TIMEOUT}s (log above, in $(rel "$R_LOG")): free port $R_PORT (KP_REGISTRY_PORT)"
  fi
  say "Apicurio Registry up after $((i / 2))s (pid $pid)"
  write_url "$R_URL"
}

cmd_down() {
  local pid i=0
  pid="$(registry_pid)"
  if [ -z "$pid" ]; then
    say "Apicurio Registry not running (from here)"
    return 0
  fi
  say "stopping Apicurio Registry (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$i" -ge 100 ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.2
    i=$((i + 1))
  done
  rm -f "$R_PIDFILE"
}

cmd_status() {
  local url="${SCHEMA_REGISTRY_URL:-$R_URL}" pid
  pid="$(registry_pid)"
  if answers "$url"; then
    echo "registry  up    $url${pid:+ (Apicurio Registry $R_VERSION, pid $pid)}"
  else
    echo "registry  down  $url"
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) kp_die "usage: scripts/schema-registry.sh up | down | status" ;;
esac
