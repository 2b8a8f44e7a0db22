#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, one combined broker+controller) on 127.0.0.1,
# fetched from Maven Central with mvn. Serves `make run`, the pytest fixture and CI.
#
#   kafka.sh fetch   resolve the broker jars into the cache (idempotent)
#   kafka.sh start   fetch, format storage if new, start, wait until it serves requests
#   kafka.sh stop    stop the broker this script started (by its PID file), and nothing else
#   kafka.sh status  exit 0 when the broker started here is running
#
# Settings (environment): IOM_KAFKA_PORT (9092), IOM_KAFKA_CONTROLLER_PORT (port+1),
# IOM_KAFKA_DATA_DIR (.cache/kafka/data-PORT), IOM_KAFKA_HEAP (512m), IOM_KAFKA_START_TIMEOUT (90).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="${IOM_KAFKA_CACHE:-$root/.cache/kafka}"
libs="$cache/libs"
port="${IOM_KAFKA_PORT:-9092}"
cport="${IOM_KAFKA_CONTROLLER_PORT:-$((port + 1))}"
data="${IOM_KAFKA_DATA_DIR:-$cache/data-$port}"
heap="${IOM_KAFKA_HEAP:-512m}"
timeout="${IOM_KAFKA_START_TIMEOUT:-90}"
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

java_cmd() {
  java -Xmx"$heap" -Xms"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -cp "$libs/*" "$@"
}

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

write_config() {
  mkdir -p "$data/logs"
  cat > "$data/server.properties" <<CONF
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$cport
log.dirs=$data/logs
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=-1
CONF
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
  write_config
  if [ ! -f "$data/logs/meta.properties" ]; then
    cluster=$(java_cmd kafka.tools.StorageTool random-uuid 2>>"$logfile")
    java_cmd kafka.tools.StorageTool format --standalone -t "$cluster" \
      -c "$data/server.properties" >>"$logfile" 2>&1 || die "storage format failed: see $logfile"
  fi
  nohup java -Xmx"$heap" -Xms"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -Dkafka.logs.dir="$data" -cp "$libs/*" kafka.Kafka "$data/server.properties" \
    >>"$logfile" 2>&1 </dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 $((timeout * 4))); do
    if serving; then echo "kafka.sh: broker serving on 127.0.0.1:$port (pid $(cat "$pidfile"), log $logfile)" >&2; return 0; fi
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
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
