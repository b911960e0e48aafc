//! Alert forwarders: bounded persistent queues and sinks (webhook, Slack, Alertmanager, SMTP, Loki, Elasticsearch, NATS, Redis, PostgreSQL, syslog, file).
