#!/usr/bin/env bash
# A separate redis-server that only speaks TLS and only lets ACL users in, for the
# security tests. State (certs, ACL file, pid, log, credentials) lives in STATE.
#
#   scripts/security/redis.sh start|stop
#
# Environment:
#   REDIS_TLS_PORT   TLS port (default 41379); the plain port is off (port 0)
#   A2A_BUS_STATE    state dir (default /tmp/a2a-bus-redis-secure)
#
# Users (passwords random per state dir, in $STATE/credentials.env, never in the repo):
#   agents   keys ~agents:* and channels &agents:* only — the namespace `agents:`
#   outsider keys ~outsider:* only — for the "not authorized" case
#   default  off
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${REDIS_TLS_PORT:-41379}"
STATE="${A2A_BUS_STATE:-/tmp/a2a-bus-redis-secure}"
PIDFILE="$STATE/redis.pid"

# The commands a2a-bus uses (streams, strings, sorted sets, Lua leases, pub/sub, scan),
# not the dangerous ones (CONFIG, FLUSHALL, KEYS, DEBUG, ACL, ...).
COMMANDS="-@all +@stream +@string +@sortedset +@hash +@keyspace +@scripting +@pubsub +@connection -@dangerous +client|setname +client|id +info +time"

start() {
  mkdir -p "$STATE"
  bash "$SCRIPT_DIR/certs.sh" "$STATE/certs"
  if [[ ! -f "$STATE/credentials.env" ]]; then
    umask 077
    {
      echo "REDIS_AGENTS_PASSWORD=$(openssl rand -hex 16)"
      echo "REDIS_OUTSIDER_PASSWORD=$(openssl rand -hex 16)"
    } >"$STATE/credentials.env"
  fi
  # shellcheck disable=SC1091
  source "$STATE/credentials.env"
  umask 077
  cat >"$STATE/users.acl" <<ACL
user default off
user agents on >$REDIS_AGENTS_PASSWORD ~agents:* &agents:* resetchannels &agents:* $COMMANDS
user outsider on >$REDIS_OUTSIDER_PASSWORD ~outsider:* resetchannels &outsider:* $COMMANDS
ACL
  redis-server --port 0 --bind 127.0.0.1 --tls-port "$PORT" \
    --tls-cert-file "$STATE/certs/server.pem" --tls-key-file "$STATE/certs/server.key" \
    --tls-ca-cert-file "$STATE/certs/ca.pem" --tls-auth-clients no \
    --aclfile "$STATE/users.acl" --dir "$STATE" --save "" --appendonly no \
    --daemonize yes --pidfile "$PIDFILE" --logfile "$STATE/redis.log" --loglevel warning
  # Up to 30 s: a loaded CI machine (a JVM starting beside us) can be slow.
  for _ in $(seq 1 300); do
    if redis-cli --tls --cacert "$STATE/certs/ca.pem" -h 127.0.0.1 -p "$PORT" \
      --user agents --pass "$REDIS_AGENTS_PASSWORD" --no-auth-warning PING 2>/dev/null | grep -q PONG; then
      echo "redis-secure: ready on rediss://127.0.0.1:$PORT (state $STATE)"
      return 0
    fi
    sleep 0.1
  done
  echo "redis-secure: not ready on port $PORT; log:" >&2
  tail -n 20 "$STATE/redis.log" >&2 || true
  exit 1
}

stop() {
  if [[ -f "$PIDFILE" ]]; then
    local pid
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
