#!/usr/bin/env bash
# A separate single-node KRaft Kafka (scripts/kafka/broker.sh) with a SASL_SSL listener only:
# TLS with a CA and certificate made here, SCRAM-SHA-512 users created at format time,
# StandardAuthorizer with no access unless an ACL allows it. For the security tests.
#
#   scripts/security/kafka.sh start|stop
#
# Environment:
#   KAFKA_PORT              SASL_SSL client port      (default 41092)
#   KAFKA_CONTROLLER_PORT   KRaft controller port     (default 41093)
#   A2A_BUS_STATE           state dir (default /tmp/a2a-bus-kafka-secure): certs, broker data, credentials
#
# Users (SCRAM-SHA-512; passwords random per state dir, in $STATE/credentials.env, never in the repo):
#   admin    super user (inter-broker traffic, creating ACLs)
#   agents   no access until ACLs grant it (the tests allow it the `agents.` prefix)
# The controller listener is loopback SASL_PLAINTEXT with PLAIN (KRaft controllers cannot
# use SCRAM: the SCRAM credentials live in the metadata they serve).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export KAFKA_PORT="${KAFKA_PORT:-41092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-41093}"
STATE="${A2A_BUS_STATE:-/tmp/a2a-bus-kafka-secure}"

prepare() {
  mkdir -p "$STATE"
  bash "$SCRIPT_DIR/certs.sh" "$STATE/certs"
  if [[ ! -f "$STATE/credentials.env" ]]; then
    (umask 077; {
      echo "KAFKA_ADMIN_PASSWORD=$(openssl rand -hex 16)"
      echo "KAFKA_AGENTS_PASSWORD=$(openssl rand -hex 16)"
      echo "KAFKA_CONTROLLER_PASSWORD=$(openssl rand -hex 16)"
    } >"$STATE/credentials.env")
  fi
  # shellcheck disable=SC1091
  source "$STATE/credentials.env"
  local store_pass
  store_pass="$(cat "$STATE/certs/keystore.pass")"
  (umask 077; cat >"$STATE/security.properties" <<PROPS
listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$KAFKA_CONTROLLER_PASSWORD" user_controller="$KAFKA_CONTROLLER_PASSWORD";
ssl.keystore.type=PKCS12
ssl.keystore.location=$STATE/certs/server.p12
ssl.keystore.password=$store_pass
ssl.key.password=$store_pass
ssl.truststore.type=PKCS12
ssl.truststore.location=$STATE/certs/truststore.p12
ssl.truststore.password=$store_pass
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:controller
PROPS
  cat >"$STATE/client.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
ssl.truststore.type=PKCS12
ssl.truststore.location=$STATE/certs/truststore.p12
ssl.truststore.password=$store_pass
PROPS
)
  export A2A_BUS_STATE="$STATE/broker"
  export KAFKA_EXTRA_PROPERTIES="$STATE/security.properties"
  export KAFKA_CLIENT_PROPERTIES="$STATE/client.properties"
  export KAFKA_FORMAT_ARGS="--add-scram SCRAM-SHA-512=[name=admin,password=$KAFKA_ADMIN_PASSWORD] --add-scram SCRAM-SHA-512=[name=agents,password=$KAFKA_AGENTS_PASSWORD]"
}

case "${1:-}" in
  start) prepare; bash "$SCRIPT_DIR/../kafka/broker.sh" start ;;
  stop) export A2A_BUS_STATE="$STATE/broker"; bash "$SCRIPT_DIR/../kafka/broker.sh" stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
