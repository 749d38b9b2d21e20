#!/usr/bin/env bash
# A real single-node Apache Kafka broker for local tests and CI, without Docker:
# KRaft mode, one JVM that is both broker and controller, bound to 127.0.0.1 only.
# The jars come from Maven Central (scripts/kafka/pom.xml) into a cache outside
# the repo; the data, config, pid file and logs live in a state dir.
#
#   scripts/kafka/broker.sh start    # fetch jars if needed, format, start, wait until it answers
#   scripts/kafka/broker.sh stop     # TERM (bounded wait), then KILL
#   scripts/kafka/broker.sh status   # exit 0 iff the broker answers on $KAFKA_PORT
#
# Environment (all optional):
#   KAFKA_PORT             client listener port           (default 19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port          (default 19093)
#   KAFKA_VERSION          Kafka version to fetch/run     (default: <kafka.version> in pom.xml)
#   A2A_BUS_CACHE          cache root                     (default ~/.cache/a2a-bus)
#   A2A_BUS_STATE          state dir: data, config, logs  (default /tmp/a2a-bus-kafka)
#   KAFKA_HEAP_OPTS        JVM heap                       (default -Xms256m -Xmx768m)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness  (default 90)
#   JAVA                   java binary                    (default $JAVA_HOME/bin/java or java)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$SCRIPT_DIR/pom.xml"

# One source of truth for the default version: the pom's <kafka.version>.
POM_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
KAFKA_VERSION="${KAFKA_VERSION:-$POM_VERSION}"
CACHE="${A2A_BUS_CACHE:-$HOME/.cache/a2a-bus}/kafka-$KAFKA_VERSION"
LIB="$CACHE/lib"
STATE="${A2A_BUS_STATE:-/tmp/a2a-bus-kafka}"
PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
HOST=127.0.0.1
BOOTSTRAP="$HOST:$PORT"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
if [[ -n "${JAVA:-}" ]]; then :
elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"
else JAVA=java
fi

PROPS="$STATE/server.properties"
CLIENT_PROPS="$STATE/client.properties"
LOG4J_CONF="$STATE/log4j2.properties"
DATA="$STATE/data"
LOG_DIR="$STATE/logs"
LOG="$LOG_DIR/server.log"   # everything the JVM prints (log4j writes to stdout)
PIDFILE="$STATE/kafka.pid"

say() { echo "kafka-broker: $*"; }
die() { echo "kafka-broker: error: $*" >&2; exit 1; }

# --- jars --------------------------------------------------------------------

# Download into a temp dir and rename, so an interrupted download never looks
# like a complete cache.
fetch_jars() {
  if [[ -f "$LIB/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch Kafka $KAFKA_VERSION jars)"
  say "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIB"
  mkdir -p "$CACHE"
  local tmp="$CACHE/lib.tmp.$$"
  rm -rf "$tmp"
  mvn -B -q -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$tmp" \
    || { rm -rf "$tmp"; die "mvn could not fetch Kafka $KAFKA_VERSION"; }
  touch "$tmp/.complete"
  rm -rf "$LIB"
  mv "$tmp" "$LIB"
}

# --- config ------------------------------------------------------------------

write_config() {
  mkdir -p "$DATA" "$LOG_DIR"
  # Rewritten on every start so env changes (ports) take effect; the data dir
  # only depends on node.id and the cluster id, which never change.
  cat >"$PROPS" <<EOF
# Written by scripts/kafka/broker.sh; edits are overwritten on start.
# KRaft, single node that is both broker and (static-quorum) controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA

# One replica of everything (the defaults of 3 would never be satisfied).
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1

# Fast tests: no rebalance delay for the first member of a group, few internal
# partitions (less for the coordinators to create and load), short minimum
# session timeout so tests may use small ones.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
share.coordinator.state.topic.num.partitions=1
num.partitions=1
auto.create.topics.enable=true
delete.topic.enable=true

# A 2-core machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
EOF

  # Short timeouts for the readiness probe, so a broker that is not up yet
  # fails the probe quickly instead of hanging in the admin client's retries.
  cat >"$CLIENT_PROPS" <<EOF
request.timeout.ms=5000
default.api.timeout.ms=8000
EOF

  # Kafka 4.x logs via SLF4J -> Log4j 2; send it all to stdout (-> $LOG).
  cat >"$LOG4J_CONF" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
# Per-request and per-partition-state chatter.
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
EOF
}

# A small JVM for Kafka's command-line tools; Log4j's default config prints
# only errors. C1-only JIT starts faster for these short runs.
kafka_tool() {
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -cp "$LIB/*" "$@"
}

format_storage() {
  # meta.properties is written by a successful format; its presence means the
  # dir already belongs to a cluster.
  if [[ -f "$DATA/meta.properties" ]]; then return 0; fi
  local cluster_id
  cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid)"
  say "formatting $DATA (cluster id $cluster_id)"
  kafka_tool kafka.tools.StorageTool format --ignore-formatted \
    -t "$cluster_id" -c "$PROPS" >/dev/null
}

# --- process -----------------------------------------------------------------

# Our broker's pid, if the pid file names a live kafka.Kafka using our config
# (guards against a stale pid file whose pid was reused).
running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $PROPS" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# The broker answers a metadata request (TopicCommand lists topics via the
# admin client), which is more than an open port: it means the KRaft
# controller has elected itself and the broker is registered and unfenced.
answers() {
  port_open "$PORT" || return 1
  timeout 20 "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 \
    -cp "$LIB/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$BOOTSTRAP" --command-config "$CLIENT_PROPS" --list >/dev/null 2>&1
}

tail_log() {
  if [[ -f "$LOG" ]]; then
    echo "---- last lines of $LOG ----" >&2
    tail -n 40 "$LOG" >&2
    echo "----" >&2
  fi
}

cmd_start() {
  mkdir -p "$STATE"
  # Serialize concurrent `start`s (e.g. parallel test workers) on one state dir.
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "timed out waiting for another broker.sh on $STATE"

  local t0=$SECONDS pid
  if pid="$(running_pid)"; then
    if [[ ! -f "$LIB/.complete" ]]; then fetch_jars; fi
    if answers; then
      say "already running (pid $pid) on $BOOTSTRAP"
      return 0
    fi
    say "pid $pid is running but not answering yet; waiting"
  else
    if port_open "$PORT" || port_open "$CONTROLLER_PORT"; then
      die "port $PORT or $CONTROLLER_PORT on $HOST is in use by a process not started from $STATE" \
          "(stop it, or set KAFKA_PORT / KAFKA_CONTROLLER_PORT / A2A_BUS_STATE)"
    fi
    command -v "$JAVA" >/dev/null || die "java not found (Java 17+ needed)"
    fetch_jars
    write_config
    format_storage
    say "starting Kafka $KAFKA_VERSION (KRaft broker+controller) on $BOOTSTRAP, controller $HOST:$CONTROLLER_PORT"
    say "state $STATE, log $LOG"
    # setsid+nohup: the broker outlives this shell and its process group
    # (CI steps, test runners killing their children); 9>&- so it does not
    # inherit (and hold forever) the lock.
    # shellcheck disable=SC2086  # HEAP_OPTS is a list of JVM flags
    nohup setsid "$JAVA" $HEAP_OPTS \
      -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOG_DIR" \
      -cp "$LIB/*" kafka.Kafka "$PROPS" \
      >>"$LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
  fi

  # Bounded wait: first the port (cheap), then a real metadata round trip.
  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$PORT" && answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log
      rm -f "$PIDFILE"
      die "broker exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      tail_log
      die "broker (pid $pid) did not answer on $BOOTSTRAP within ${START_TIMEOUT}s; still running, see $LOG"
    fi
    sleep 1
  done
  say "ready on $BOOTSTRAP (pid $pid) after $((SECONDS - t0))s"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    say "not running"
    return 0
  fi
  say "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  # A single-node KRaft broker normally shuts down in a few seconds.
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after 30s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PIDFILE"
  say "stopped"
}

cmd_status() {
  local pid
  if [[ -f "$LIB/.complete" ]] && answers; then
    if pid="$(running_pid)"; then
      say "running (pid $pid) and answering on $BOOTSTRAP"
    else
      say "a broker not started from $STATE answers on $BOOTSTRAP"
    fi
    return 0
  fi
  if pid="$(running_pid)"; then
    say "pid $pid is running but not answering on $BOOTSTRAP"
  else
    say "not running"
  fi
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
