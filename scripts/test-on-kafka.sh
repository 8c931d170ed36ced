#!/usr/bin/env bash
# Runs the integration tests against a second Apache Kafka broker of the version given, for
# checking that the framework still works with brokers older (or newer) than the stack's:
#
#   scripts/test-on-kafka.sh 4.1.1                        every integration test (test/)
#   scripts/test-on-kafka.sh 4.1.1 test/client            only some files (vitest filters)
#   scripts/test-on-kafka.sh 4.1.1 test/runtime/word-count.test.ts -t exactly_once_v2
#
# The broker runs from its Maven Central jars (Java 17+ and Maven, as for scripts/stack.sh) on
# 127.0.0.1:19092, controller 19093, SASL_SSL listener 19094 (KP_KAFKA_PORT, KP_KAFKA_CONTROLLER_PORT
# and KP_KAFKA_SASL_SSL_PORT override; the tests read it from the stack's env file), as a
# separate stack of its own: jars, data and logs in .stack/test-kafka/kafka/<version>/. It is
# stopped and its data deleted when the tests end, pass or fail; the jars stay for the next run.
# The main stack (.stack/, port 9092) is left alone. The differential tests are not run: they
# need no broker. The exit status is vitest's.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

[ $# -ge 1 ] && [[ "$1" =~ ^[0-9] ]] ||
  kp_die "usage: scripts/test-on-kafka.sh <kafka-version> [vitest filters and options...], e.g. scripts/test-on-kafka.sh 4.1.1 test/client"
version="$1"
shift

export KP_STACK_DIR="$KP_ROOT/.stack/test-kafka"
export KP_KAFKA_VERSION="$version"
export KP_KAFKA_MODE=jars
export KP_KAFKA_PORT="${KP_KAFKA_PORT:-19092}"
export KP_KAFKA_CONTROLLER_PORT="${KP_KAFKA_CONTROLLER_PORT:-19093}"
[ "$KP_KAFKA_PORT" != 9092 ] && [ "$KP_KAFKA_CONTROLLER_PORT" != 9093 ] ||
  kp_die "ports 9092 and 9093 belong to the main stack: choose others with KP_KAFKA_PORT and KP_KAFKA_CONTROLLER_PORT"
# This broker, not a cluster named by the caller's environment.
unset KAFKA_BOOTSTRAP_SERVERS

kp_bootstrap
stack=(bash "$KP_ROOT/scripts/stack.sh")
server_log="$KP_STACK_DIR/kafka/$version/logs/server.log"

stop_broker() {
  "${stack[@]}" down --wipe kafka || echo "warning: could not stop the Kafka $version test broker: run KP_STACK_DIR=$KP_STACK_DIR KP_KAFKA_VERSION=$version scripts/stack.sh down --wipe kafka" >&2
}
trap stop_broker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${stack[@]}" up kafka
seen="$(grep -o 'Kafka version: [^ ]*' "$server_log" 2>/dev/null | tail -n1 || true)"
echo "test-on-kafka: broker at 127.0.0.1:$KP_KAFKA_PORT reports ${seen:-no version in $server_log}"

cd "$KP_ROOT"
rc=0
KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KP_KAFKA_PORT" \
  pnpm exec vitest run --project integration --exclude 'test/differential/**' "$@" || rc=$?
echo "test-on-kafka: integration tests on Apache Kafka $version finished with status $rc"
exit "$rc"
