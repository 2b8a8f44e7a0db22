#!/bin/sh
# docker-compose's broker: the official apache/kafka image, configured as kafka.sh
# configures the local one (SASL_SSL with SCRAM-SHA-512, TLS from the local CA, mutual TLS
# on the controller listener, StandardAuthorizer, no auto-created topics). The CA, the
# keystore and the operator's password come from the `pki` service (iomkit.brokersetup),
# in the volume mounted at $SECRETS.
set -eu
SECRETS=${SECRETS:-/var/lib/throughcare/kafka}
CONFIG=/tmp/server.properties
PASSWORD=$(cat "$SECRETS/secrets/admin.password")
umask 077
cat > "$CONFIG" <<CONF
process.roles=broker,controller
node.id=1
listeners=INTERNAL://:19092,EXTERNAL://:9092,CONTROLLER://:9093
advertised.listeners=INTERNAL://kafka:19092,EXTERNAL://127.0.0.1:9092
listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL,CONTROLLER:SSL
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
controller.quorum.bootstrap.servers=kafka:9093
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$PASSWORD";
listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$PASSWORD";
ssl.keystore.type=PEM
ssl.keystore.location=$SECRETS/pki/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$SECRETS/pki/ca.pem
listener.name.controller.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:CN=throughcare-broker
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
log.dirs=/tmp/kraft-combined-logs
num.partitions=6
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
CONF
if [ ! -f /tmp/kraft-combined-logs/meta.properties ]; then
  # The operator's SCRAM user at format time, in an @argfile (never on a command line).
  printf '%s\n' --add-scram "SCRAM-SHA-512=[name=admin,password=$PASSWORD]" > /tmp/format.args
  /opt/kafka/bin/kafka-storage.sh format --standalone \
    -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" -c "$CONFIG" @/tmp/format.args
  rm -f /tmp/format.args
fi
exec /opt/kafka/bin/kafka-server-start.sh "$CONFIG"
