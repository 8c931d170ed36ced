# Sourced by the repo's scripts: puts a Node >= 22.22 and the pinned pnpm on PATH.
# Where the machine's Node is older, Node 24 is installed from the npm registry (package
# `node`, which ships the binary) into .tools/ inside the repo; nothing else is touched.
set -euo pipefail
KP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KP_TOOLS="$KP_ROOT/.tools"
KP_NODE_VERSION="${KP_NODE_VERSION:-24}"
KP_PNPM_VERSION="12.4.2"

kp_die() { echo "error: $*" >&2; exit 1; }

kp_node_ok() { # true when `node` on PATH is >= 22.22
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=22)?0:1)' 2>/dev/null
}

kp_bootstrap() {
  if [ -x "$KP_TOOLS/node_modules/.bin/node" ]; then
    export PATH="$KP_TOOLS/node_modules/.bin:$PATH"
  fi
  if ! kp_node_ok; then
    command -v npm >/dev/null 2>&1 || kp_die "no Node.js or npm found: install any Node.js with npm (the setup then fetches Node $KP_NODE_VERSION from the npm registry)"
    echo "setup: installing Node $KP_NODE_VERSION from the npm registry into .tools/ (machine has $(node --version 2>/dev/null || echo none))" >&2
    mkdir -p "$KP_TOOLS"
    npm install --prefix "$KP_TOOLS" --no-audit --no-fund --loglevel=error "node@$KP_NODE_VERSION" "pnpm@$KP_PNPM_VERSION" >&2 \
      || kp_die "could not install Node $KP_NODE_VERSION from the npm registry: check that the registry is reachable (npm config get registry)"
    export PATH="$KP_TOOLS/node_modules/.bin:$PATH"
    kp_node_ok || kp_die "Node in .tools/ does not run: remove .tools/ and try again"
  fi
  if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$KP_PNPM_VERSION" ]; then
    if [ ! -x "$KP_TOOLS/node_modules/.bin/pnpm" ]; then
      echo "setup: installing pnpm $KP_PNPM_VERSION into .tools/" >&2
      npm install --prefix "$KP_TOOLS" --no-audit --no-fund --loglevel=error "pnpm@$KP_PNPM_VERSION" >&2 \
        || kp_die "could not install pnpm $KP_PNPM_VERSION from the npm registry"
    fi
    export PATH="$KP_TOOLS/node_modules/.bin:$PATH"
  fi
}

kp_install() { # pnpm install once per lockfile change
  local stamp="$KP_ROOT/node_modules/.kp-installed"
  if [ ! -f "$stamp" ] || [ "$KP_ROOT/pnpm-lock.yaml" -nt "$stamp" ] || [ "$KP_ROOT/package.json" -nt "$stamp" ]; then
    (cd "$KP_ROOT" && pnpm install --frozen-lockfile=false --reporter=append-only >&2) \
      || kp_die "pnpm install failed (see above): check the npm registry is reachable"
    touch "$stamp"
  fi
}

kp_node22() { # prints the path of a Node 22 (>= 22.22), installed from the npm registry into .tools/node22 when missing
  local dir="$KP_TOOLS/node22" bin="$KP_TOOLS/node22/node_modules/.bin/node"
  if ! kp_node22_ok "$bin"; then
    command -v npm >/dev/null 2>&1 || kp_die "no npm found to install Node 22 with: install any Node.js with npm"
    echo "setup: installing Node 22 from the npm registry into .tools/node22" >&2
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "node@22" >&2 \
      || kp_die "could not install Node 22 from the npm registry: check that the registry is reachable (npm config get registry)"
    kp_node22_ok "$bin" || kp_die "Node in .tools/node22 does not run or is older than 22.22: remove .tools/node22 and try again"
  fi
  echo "$bin"
}

kp_node22_ok() { # true when $1 is a Node 22 >= 22.22
  [ -x "$1" ] || return 1
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a===22&&b>=22?0:1)' 2>/dev/null
}

# Daemons started from here must not inherit a lock descriptor, or they would hold the lock for
# as long as they run: scripts/stack.sh's own (fd 9), and any a caller holds, such as the one
# `flock <file> scripts/stack.sh up` passes down. detached execs a command with every
# descriptor above 2 closed; it replaces the shell it runs in, so it runs in a subshell of its
# own: `detached cmd &` (then $! is the command's pid) or `(detached cmd)`.
detached() {
  local fd
  if [ -d "/proc/$BASHPID/fd" ]; then
    for fd in /proc/"$BASHPID"/fd/*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-"; fi
    done
  fi
  exec "$@"
}
