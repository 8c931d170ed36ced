#!/usr/bin/env bash
# One entry point for a fresh machine: installs what the repo needs, then runs a root script.
#   scripts/run.sh demo     start the local stack and run the main demo
#   scripts/run.sh test     start the local stack and run every test
#   scripts/run.sh <script> any root package.json script (bench, stack:up, stack:down, ...)
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[ $# -ge 1 ] || kp_die "usage: scripts/run.sh <demo|test|bench|stack:up|stack:down> [args...]"
kp_bootstrap
kp_install
cd "$KP_ROOT"
exec pnpm run "$@"
