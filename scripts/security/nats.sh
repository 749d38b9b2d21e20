#!/usr/bin/env bash
# A separate nats-server (JetStream) that requires TLS and a user/password, for the security
# tests. State (certs, config, JetStream store, pid, log, credentials) lives in STATE.
#
#   scripts/security/nats.sh start|stop
#
# Environment:
#   NATS_TLS_PORT    client port, TLS only (default 41422)
#   A2A_BUS_STATE    state dir (default /tmp/a2a-bus-nats-secure)
#
# The namespace boundary is an account: JetStream streams belong to an account, so the
# AGENTS account's streams are invisible to every other account. Inside it the `agents`
# user may publish only on the namespace's subjects (agents.>), the JetStream API and
# acks, and subscribe only to the namespace's nudges and its own inboxes.
# Passwords are random per state dir, in $STATE/credentials.env, never in the repo.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${NATS_TLS_PORT:-41422}"
STATE="${A2A_BUS_STATE:-/tmp/a2a-bus-nats-secure}"
PIDFILE="$STATE/nats.pid"
NATS_SERVER="${NATS_SERVER_BIN:-/usr/sbin/nats-server}"

start() {
  mkdir -p "$STATE/jetstream"
  bash "$SCRIPT_DIR/certs.sh" "$STATE/certs"
  if [[ ! -f "$STATE/credentials.env" ]]; then
    (umask 077; echo "NATS_AGENTS_PASSWORD=$(openssl rand -hex 16)" >"$STATE/credentials.env")
  fi
  # shellcheck disable=SC1091
  source "$STATE/credentials.env"
  (umask 077; cat >"$STATE/nats.conf" <<CONF
listen: 127.0.0.1:$PORT
server_name: a2a-bus-secure-$PORT
http: 0
tls {
  cert_file: "$STATE/certs/server.pem"
  key_file: "$STATE/certs/server.key"
  timeout: 2
}
jetstream {
  store_dir: "$STATE/jetstream"
  max_memory_store: 64MB
  max_file_store: 512MB
}
accounts {
  AGENTS: {
    jetstream: enabled
    users: [
      {
        user: agents
        password: "$NATS_AGENTS_PASSWORD"
        permissions: {
          publish: { allow: ["agents.>", "\$JS.API.INFO", "\$JS.API.STREAM.>", "\$JS.API.CONSUMER.>", "\$JS.ACK.>"] }
          subscribe: { allow: ["agents.n.>", "_INBOX.>"] }
        }
      }
    ]
  }
}
CONF
)
  nohup setsid "$NATS_SERVER" -c "$STATE/nats.conf" -P "$PIDFILE" -l "$STATE/nats.log" >/dev/null 2>&1 </dev/null &
  # Up to 30 s: a loaded CI machine (a JVM starting beside us) can be slow.
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && head -c 4 <&3 | grep -q INFO) 2>/dev/null; then
      echo "nats-secure: ready on tls://127.0.0.1:$PORT (state $STATE)"
      return 0
    fi
    sleep 0.1
  done
  echo "nats-secure: not ready on port $PORT; log:" >&2
  tail -n 20 "$STATE/nats.log" >&2 || true
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
