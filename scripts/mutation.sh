#!/usr/bin/env bash
# Mutation testing of the delivery core with Stryker (weekly, by a maintainer; not in CI).
#
#   pnpm test:mutation                 consumer code, then envelope, then runtime, one after another
#   pnpm test:mutation consumer        one scope: consumer | envelope | runtime
#   pnpm test:mutation -- --mutate packages/core/src/consumer/backoff.ts    any Stryker option
#
# Prints the score per file and every surviving mutant (reports/mutation/<scope>/index.html
# has the details). It is CPU-heavy: it runs niced, one mutant at a time. Targets: >= 80% on
# the consumer code (dispatcher, balancer, acked prefix, dead letter), >= 70% on the runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

run_scope() {
  local scope=$1; shift
  local mutate
  case "$scope" in
    consumer) mutate='packages/core/src/consumer/**/*.ts' ;;
    envelope) mutate='packages/core/src/envelope.ts' ;;
    runtime) mutate='packages/core/src/runtime/**/*.ts' ;;
    # The runtime files the agent runtime suite covers quickly (agent-bus.ts and worker.ts take
    # about an hour more: run them with `runtime --mutate packages/core/src/runtime/agent-bus.ts`).
    runtime-quick) mutate='packages/core/src/runtime/a2a.ts,packages/core/src/runtime/caller.ts,packages/core/src/runtime/idempotency.ts,packages/core/src/runtime/registry.ts,packages/core/src/runtime/topics.ts' ;;
    *) echo "unknown scope $scope (consumer | envelope | runtime | runtime-quick)" >&2; exit 2 ;;
  esac
  echo "== mutation testing: $scope ($mutate)"
  MUTATION_SCOPE=${scope%-quick} nice -n 19 pnpm exec stryker run stryker.config.mjs \
    --mutate "$mutate" --concurrency 1 "$@"
}

if [[ $# -gt 0 && $1 != -* ]]; then
  scope=$1; shift
  run_scope "$scope" "$@"
else
  for scope in consumer envelope runtime; do run_scope "$scope" "$@"; done
fi
