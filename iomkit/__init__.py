"""Shared plumbing for every Throughcare service: settings, Avro codec, topic catalogue,
dead letters, metrics, audit and Kafka connection. Nothing domain-specific lives here."""
