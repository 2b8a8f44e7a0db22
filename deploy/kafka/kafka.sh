#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, one combined broker+controller) on 127.0.0.1,
# fetched from Maven Central with mvn. Serves `make run`, the pytest fixture and CI.
#
# Secured by default: clients connect with SASL_SSL (TLS from a local CA, SCRAM-SHA-512
# users), the StandardAuthorizer refuses whatever no ACL allows, topics are never created
# by a client's metadata request. The controller listener takes only the broker's own
# certificate (mutual TLS). The operator's client file is $data/clients/admin/client.properties;
# `iom credentials create` makes every other principal.
#
#   kafka.sh fetch   resolve the broker jars into the cache (idempotent)
#   kafka.sh start   fetch, format storage if new, start, wait until it serves requests
#   kafka.sh stop    stop the broker this script started (by its PID file), and nothing else
#   kafka.sh status  exit 0 when the broker started here is running
#   kafka.sh tools   resolve Kafka's command-line tools (kafka-tools) into the cache
#   kafka.sh console-consumer|console-producer ARGS...   Kafka's own console tools, e.g.
#       kafka.sh console-consumer --bootstrap-server H:P --consumer.config client.properties ...
#
# Settings (environment): IOM_KAFKA_PORT (9092), IOM_KAFKA_CONTROLLER_PORT (port+1),
# IOM_KAFKA_DATA_DIR (.cache/kafka/data-PORT), IOM_KAFKA_HEAP (512m), IOM_KAFKA_START_TIMEOUT (90),
# IOM_KAFKA_PLAINTEXT_PORT (unset: no plaintext listener; set only to measure what TLS costs),
# IOM_KAFKA_HOSTNAMES (extra names for the broker certificate), IOM_PYTHON (.venv/bin/python).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="${IOM_KAFKA_CACHE:-$root/.cache/kafka}"
libs="$cache/libs"
tools="$cache/tools"
port="${IOM_KAFKA_PORT:-9092}"
cport="${IOM_KAFKA_CONTROLLER_PORT:-$((port + 1))}"
data="${IOM_KAFKA_DATA_DIR:-$cache/data-$port}"
heap="${IOM_KAFKA_HEAP:-512m}"
timeout="${IOM_KAFKA_START_TIMEOUT:-90}"
plainport="${IOM_KAFKA_PLAINTEXT_PORT:-}"
hostnames="${IOM_KAFKA_HOSTNAMES:-}"
python="${IOM_PYTHON:-$root/.venv/bin/python}"
pidfile="$data/broker.pid"
logfile="$data/broker.log"

die() { echo "kafka.sh: $*" >&2; exit 1; }

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v java >/dev/null || die "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
  echo "kafka.sh: resolving the broker from Maven Central into $libs" >&2
  rm -rf "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2 \
    || die "mvn could not resolve org.apache.kafka:kafka_2.13 (see the output above)"
  touch "$libs/.complete"
}

fetch_tools() {
  if [ -f "$tools/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
  echo "kafka.sh: resolving Kafka's console tools from Maven Central into $tools" >&2
  rm -rf "$tools"
  mvn -q -B -f "$here/tools-pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tools" >&2 \
    || die "mvn could not resolve org.apache.kafka:kafka-tools (see the output above)"
  touch "$tools/.complete"
}

tool() {
  fetch_tools
  exec java -Xmx256m -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/tools-log4j2.properties" -cp "$tools/*" "$@"
}

java_cmd() {
  java -Xmx"$heap" -Xms"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -cp "$libs/*" "$@"
}

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

prepare_keys() {
  # The CA, the broker certificate, the operator's password and client file (idempotent).
  [ -x "$python" ] || die "$python not found: run make lint (it creates .venv) or set IOM_PYTHON"
  mkdir -p "$data"
  # shellcheck disable=SC2086 # hostnames is a space-separated list
  (cd "$root" && "$python" -m iomkit.brokersetup "$data" "127.0.0.1:$port" $hostnames) \
    || die "could not prepare the broker's certificate and operator credentials"
}

write_config() {
  mkdir -p "$data/logs"
  local listeners="SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
  local advertised="SASL_SSL://127.0.0.1:$port"
  if [ -n "$plainport" ]; then
    listeners="$listeners,PLAINTEXT://127.0.0.1:$plainport"
    advertised="$advertised,PLAINTEXT://127.0.0.1:$plainport"
  fi
  local password
  password=$(<"$data/secrets/admin.password")
  ( umask 077
  cat > "$data/server.properties" <<CONF
process.roles=broker,controller
node.id=1
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL,PLAINTEXT:PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$cport
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$password";
ssl.keystore.type=PEM
ssl.keystore.location=$data/pki/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$data/pki/ca.pem
listener.name.controller.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:CN=throughcare-broker
allow.everyone.if.no.acl.found=false
log.dirs=$data/logs
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=-1
CONF
  )
}

format_storage() {
  # The operator's SCRAM user goes into the metadata at format time: KRaft reads SCRAM users
  # from its own log, so nobody could authenticate to add the first one afterwards. The
  # password reaches the JVM in an @argfile, never on a command line (ps shows those).
  local args="$data/secrets/format.args" cluster
  cluster=$(java_cmd kafka.tools.StorageTool random-uuid 2>>"$logfile")
  ( umask 077
    printf '%s\n' "--add-scram" \
      "SCRAM-SHA-512=[name=admin,password=$(<"$data/secrets/admin.password")]" > "$args" )
  if ! java_cmd kafka.tools.StorageTool format --standalone -t "$cluster" \
      -c "$data/server.properties" "@$args" >>"$logfile" 2>&1; then
    rm -f "$args"; die "storage format failed: see $logfile"
  fi
  rm -f "$args"
}

serving() {
  # A listener accepting connections and the broker's own "started" line.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
  grep -q "Kafka Server started" "$logfile" 2>/dev/null
}

start() {
  fetch
  if running; then echo "kafka.sh: already running (pid $(cat "$pidfile")) on 127.0.0.1:$port" >&2; return 0; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is already in use by another process; set IOM_KAFKA_PORT"
  fi
  if [ -f "$data/logs/meta.properties" ] && [ ! -f "$data/secrets/admin.password" ]; then
    die "$data was formatted before the broker was secured (no operator user in it): remove it, or set IOM_KAFKA_DATA_DIR"
  fi
  prepare_keys
  write_config
  if [ ! -f "$data/logs/meta.properties" ]; then format_storage; fi
  nohup java -Xmx"$heap" -Xms"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -Dkafka.logs.dir="$data" -cp "$libs/*" kafka.Kafka "$data/server.properties" \
    >>"$logfile" 2>&1 </dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 $((timeout * 4))); do
    if serving; then
      echo "kafka.sh: broker serving SASL_SSL on 127.0.0.1:$port${plainport:+ and PLAINTEXT on 127.0.0.1:$plainport} (pid $(cat "$pidfile"), log $logfile)" >&2
      echo "kafka.sh: operator client file $data/clients/admin/client.properties" >&2
      return 0
    fi
    running || { tail -n 30 "$logfile" >&2; die "broker exited during start: see $logfile"; }
    sleep 0.25
  done
  tail -n 30 "$logfile" >&2
  stop
  die "broker did not serve on 127.0.0.1:$port within ${timeout}s: see $logfile"
}

stop() {
  if ! running; then rm -f "$pidfile"; return 0; fi
  pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "kafka.sh: broker stopped" >&2; return 0; }
    sleep 0.25
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) running ;;
  tools) fetch_tools ;;
  console-consumer) shift; tool org.apache.kafka.tools.consumer.ConsoleConsumer "$@" ;;
  console-producer) shift; tool org.apache.kafka.tools.ConsoleProducer "$@" ;;
  *) echo "usage: $0 fetch|start|stop|status|tools|console-consumer|console-producer" >&2; exit 2 ;;
esac
