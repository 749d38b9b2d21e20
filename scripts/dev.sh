#!/usr/bin/env bash
# One entry point for a fresh machine: installs what a2a-bus needs, then runs a job.
#
#   bash scripts/dev.sh demo [demo flags]   # the multi-agent demo, in-memory backend by default
#   bash scripts/dev.sh test [vitest args]  # every test, against real Redis, NATS and Kafka
#   bash scripts/dev.sh bench               # benchmarks, raw clients beside a2a-bus
#   bash scripts/dev.sh gateway [flags]     # an A2A HTTP gateway in front of the demo agents
#
# Installs, only when missing: Node 24 from the npm registry (package node@24) when the
# machine's Node is older, pnpm, the workspace dependencies; for test and bench it also
# starts Redis and NATS if they are down and a local Kafka broker (scripts/kafka/broker.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${A2A_BUS_CACHE:-$HOME/.cache/a2a-bus}"
NODE_MAJOR=24
job="${1:-}"
[[ -n "$job" ]] || { echo "usage: bash scripts/dev.sh demo|test|bench|gateway [args]" >&2; exit 2; }
shift

say() { echo "[dev] $*"; }

ensure_node() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if (( major >= NODE_MAJOR )); then return; fi
  local prefix="$CACHE/node$NODE_MAJOR"
  if [[ ! -x "$prefix/node_modules/.bin/node" ]]; then
    say "Node $major is older than $NODE_MAJOR: installing node@$NODE_MAJOR into $prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR" >/dev/null
  fi
  export PATH="$prefix/node_modules/.bin:$PATH"
}

ensure_pnpm() {
  if command -v pnpm >/dev/null && [[ "$(pnpm --version 2>/dev/null | cut -d. -f1)" -ge 10 ]]; then return; fi
  local prefix="$CACHE/pnpm"
  if [[ ! -x "$prefix/node_modules/.bin/pnpm" ]]; then
    say "installing pnpm into $prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error pnpm@latest >/dev/null
  fi
  export PATH="$prefix/node_modules/.bin:$PATH"
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
  say "Redis is down: starting it on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && return; sleep 0.2; done
  echo "[dev] Redis did not come up" >&2; exit 1
}

ensure_nats() {
  if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then return; fi
  say "NATS is down: starting it on 127.0.0.1:4222"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && return; sleep 0.2; done
  echo "[dev] NATS did not come up" >&2; exit 1
}

ensure_kafka() {
  if [[ -n "${KAFKA_BROKERS:-}" ]]; then say "using Kafka at $KAFKA_BROKERS"; return; fi
  bash "$ROOT/scripts/kafka/broker.sh" start
  export KAFKA_BROKERS="127.0.0.1:${KAFKA_PORT:-19092}"
}

ensure_chromium() {
  # The console's browser tests drive Debian's chromium with playwright-core (no browser download).
  if [[ -x /usr/bin/chromium ]]; then return; fi
  say "chromium is missing: installing Debian's chromium package"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

cd "$ROOT"
ensure_node
ensure_pnpm
say "node $(node --version), pnpm $(pnpm --version)"
pnpm install --frozen-lockfile --reporter=append-only | tail -n 3

case "$job" in
  demo) exec pnpm demo "$@" ;;
  gateway) exec pnpm gateway "$@" ;;
  test)
    ensure_redis; ensure_nats; ensure_kafka; ensure_chromium
    say "typecheck, lint, build and pack (publint, attw)"
    pnpm typecheck
    pnpm lint
    pnpm release:dry
    exec pnpm test "$@"
    ;;
  bench)
    ensure_redis; ensure_nats; ensure_kafka
    exec pnpm bench "$@"
    ;;
  *) echo "unknown job: $job (demo|test|bench|gateway)" >&2; exit 2 ;;
esac
