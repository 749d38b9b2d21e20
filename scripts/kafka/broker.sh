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
#   KAFKA_EXTRA_PROPERTIES file appended to server.properties; its keys win (a later key
#                          overrides an earlier one), e.g. SASL_SSL listeners and ACLs
#   KAFKA_FORMAT_ARGS      extra arguments to `kafka-storage format`, e.g. --add-scram ...
#   KAFKA_CLIENT_PROPERTIES client properties file for the readiness probe (security.protocol, sasl.*, ssl.*)
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
LOG4J_CONF="$STATE/log4j2.properties"
DATA="$STATE/data"
LOG_DIR="$STATE/logs"
LOG="$LOG_DIR/server.log"   # everything the JVM prints (log4j writes to stdout)
PIDFILE="$STATE/kafka.pid"

say() { echo "kafka-broker: $*"; }
die() { echo "kafka-broker: error: $*" >&2; exit 1; }

# --- jars --------------------------------------------------------------------

# The cache is complete when lib/.complete holds the hash of the pom it was
# fetched with (a pom change refetches). Download into a temp dir and rename,
# so an interrupted download never looks complete.
pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }
fetch_jars() {
  if [[ "$(cat "$LIB/.complete" 2>/dev/null)" == "$(pom_hash)" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch Kafka $KAFKA_VERSION jars)"
  say "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIB"
  mkdir -p "$CACHE"
  local tmp="$CACHE/lib.tmp.$$"
  rm -rf "$tmp"
  # Output goes to a file (shown on failure): Debian's mvn prints stray ANSI
  # escapes even with -B -q.
  if ! mvn -B -q -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$tmp" >"$CACHE/mvn.log" 2>&1; then
    cat "$CACHE/mvn.log" >&2
    rm -rf "$tmp"
    die "mvn could not fetch Kafka $KAFKA_VERSION (is it on Maven Central?)"
  fi
  pom_hash >"$tmp/.complete"
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
  if [[ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]]; then
    { echo; echo "# From $KAFKA_EXTRA_PROPERTIES (KAFKA_EXTRA_PROPERTIES)"; cat "$KAFKA_EXTRA_PROPERTIES"; } >>"$PROPS"
  fi

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

# Kafka's own tools (here only StorageTool) in a small JVM; C1-only JIT
# starts faster for short runs. Log4j's default config prints only errors.
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
  local -a extra=()
  # shellcheck disable=SC2206  # KAFKA_FORMAT_ARGS is a list of arguments without spaces in them
  if [[ -n "${KAFKA_FORMAT_ARGS:-}" ]]; then extra=($KAFKA_FORMAT_ARGS); fi
  kafka_tool kafka.tools.StorageTool format --ignore-formatted \
    -t "$cluster_id" -c "$PROPS" "${extra[@]}" >/dev/null
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

# The readiness probe: a little Java on kafka-clients' Admin API (stable across
# Kafka versions, unlike the CLI tools, which keep moving between jars).
# Compiled once into the cache. One JVM does the whole wait, so start does
# not pay a JVM start-up per poll.
#   Probe ready URL          one check: describeCluster + listTopics answer,
#                            i.e. the KRaft controller elected itself and the
#                            broker is registered and unfenced.
#   Probe wait URL PID SECS  poll `ready` until it passes (exit 0), PID dies
#                            (exit 3) or SECS pass (exit 2); then warm up.
PROBE_DIR="$CACHE/probe"
build_probe() {
  local src="$STATE/Probe.java"
  mkdir -p "$STATE"
  cat >"$src" <<'EOF'
import java.io.FileInputStream;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.GroupIdNotFoundException;

public class Probe {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[1]);
    p.put("client.id", "broker-sh-probe");
    p.put("request.timeout.ms", "3000");
    p.put("default.api.timeout.ms", "5000");
    // Poll a broker that is coming up quickly rather than with backoffs of 1s.
    p.put("reconnect.backoff.ms", "50");
    p.put("reconnect.backoff.max.ms", "200");
    p.put("retry.backoff.ms", "50");
    p.put("retry.backoff.max.ms", "200");
    // A secured listener: security.protocol, sasl.*, ssl.* from a file (KAFKA_CLIENT_PROPERTIES).
    String clientProperties = System.getenv("KAFKA_CLIENT_PROPERTIES");
    if (clientProperties != null && !clientProperties.isEmpty()) {
      try (FileInputStream in = new FileInputStream(clientProperties)) {
        p.load(in);
      }
    }
    try (Admin admin = Admin.create(p)) {
      if (args[0].equals("ready")) {
        try {
          ready(admin);
        } catch (Exception e) {
          System.err.println("not ready: " + e);
          System.exit(1);
        }
        return;
      }
      long pid = Long.parseLong(args[2]);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[3]));
      while (true) {
        if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) System.exit(3);
        try {
          ready(admin);
          break;
        } catch (Exception e) {
          if (System.nanoTime() > deadline) {
            System.err.println("not ready: " + e);
            System.exit(2);
          }
          Thread.sleep(200);
        }
      }
      try {
        warmup(admin);
      } catch (Exception e) {
        // Not fatal: clients retry COORDINATOR_NOT_AVAILABLE/LOAD_IN_PROGRESS.
        System.err.println("warning: coordinator warm-up failed: " + e);
      }
    }
  }

  static void ready(Admin admin) throws Exception {
    int nodes = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size();
    admin.listTopics().names().get(5, TimeUnit.SECONDS);
    if (nodes == 0) throw new IllegalStateException("no brokers in metadata");
  }

  // Have the group coordinator (__consumer_offsets), the transaction
  // coordinator (__transaction_state) and the broker's first block of
  // producer ids ready now rather than in the first test, where they cost
  // retries (and kafkajs ERROR logs: "The group coordinator is not
  // available", InitProducerId "The coordinator is loading").
  static void warmup(Admin admin) throws Exception {
    try {
      admin.describeConsumerGroups(List.of("broker-sh-warmup")).all().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      // "no such group" comes from a loaded coordinator: that is success.
      if (!(e.getCause() instanceof GroupIdNotFoundException)) throw e;
    }
    // InitProducerId for a new transactional id: loads the transaction
    // coordinator and allocates a new producer id, which makes the broker
    // fetch a block of ids from the controller (it has none after a restart).
    // Leaves one idle transactional id per start; they expire after 7 days.
    String txnId = "broker-sh-warmup-" + System.currentTimeMillis();
    admin.fenceProducers(List.of(txnId)).all().get(30, TimeUnit.SECONDS);
  }
}
EOF
  # One compiled probe per source version: checkouts with another probe never overwrite it.
  PROBE_DIR="$CACHE/probe-$(sha256sum "$src" | cut -c1-12)"
  mkdir -p "$PROBE_DIR"
  if [[ ! -f "$PROBE_DIR/Probe.class" ]] || ! cmp -s "$src" "$PROBE_DIR/Probe.java"; then
    command -v javac >/dev/null || die "javac not found (a JDK 17+ is needed)"
    javac -nowarn -cp "$LIB/*" -d "$PROBE_DIR" "$src"
    cp "$src" "$PROBE_DIR/Probe.java"
  fi
}

# Jars and probe, under a lock on the cache, which state dirs share.
prepare() {
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.lock"
  flock -w 600 8 || die "timed out waiting for another broker.sh fetching into $CACHE"
  fetch_jars
  build_probe
  exec 8>&-
}

# probe SECONDS ARGS...: run Probe, killed after SECONDS. A small,
# quick-starting JVM; Log4j's default config prints only errors.
probe() {
  local limit=$1
  shift
  timeout "$limit" "$JAVA" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -cp "$PROBE_DIR:$LIB/*" Probe "$@"
}

answers() { port_open "$PORT" && probe 20 ready "$BOOTSTRAP" 2>/dev/null; }

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
    prepare
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
    prepare
    write_config
    format_storage
    # One log per run (the previous one is kept as .1), so the tail printed
    # on failure is this run's.
    if [[ -f "$LOG" ]]; then mv -f "$LOG" "$LOG.1"; fi
    say "starting Kafka $KAFKA_VERSION (KRaft broker+controller) on $BOOTSTRAP, controller $HOST:$CONTROLLER_PORT"
    say "state $STATE, log $LOG"
    # setsid+nohup: the broker outlives this shell and its process group
    # (CI steps, test runners killing their children). setsid does not fork
    # here (a background job is no group leader), so $! is the JVM's pid.
    # 9>&- so the JVM does not inherit (and hold forever) the lock.
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

  # Bounded wait for a real metadata round trip, then the coordinator warm-up.
  local rc=0
  probe $((START_TIMEOUT + 70)) wait "$BOOTSTRAP" "$pid" "$START_TIMEOUT" || rc=$?
  case $rc in
    0) say "ready on $BOOTSTRAP (pid $pid) after $((SECONDS - t0))s" ;;
    3)
      tail_log
      rm -f "$PIDFILE"
      die "broker exited during startup"
      ;;
    *)
      tail_log
      die "broker (pid $pid) did not answer on $BOOTSTRAP within ${START_TIMEOUT}s; still running, see $LOG"
      ;;
  esac
}

cmd_stop() {
  local pid
  if [[ -d "$STATE" ]]; then
    # Not in the middle of someone's start.
    exec 9>"$STATE/.lock"
    flock -w 120 9 || die "timed out waiting for another broker.sh on $STATE"
  fi
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
  # Points PROBE_DIR at this checkout's probe (compiling it if the jars are there and it is missing).
  if [[ -f "$LIB/.complete" ]]; then build_probe; fi
  if [[ -f "$PROBE_DIR/Probe.class" ]] && answers; then
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
