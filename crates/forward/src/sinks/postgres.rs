//! PostgreSQL sink: one row per alert in a table created if missing; a batch is one
//! transaction, and the delivery id as primary key makes re-sends no-ops.

use tokio_postgres::NoTls;

use super::{Outcome, Queued, Sink};
use crate::config::{PostgresConfig, QueueConfig};
use crate::{Error, Result};

/// One PostgreSQL destination (connected lazily, reconnected after an error).
pub(crate) struct PostgresSink {
    name: String,
    conninfo: String,
    table: String,
    client: Option<tokio_postgres::Client>,
}

impl std::fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSink")
            .field("name", &self.name)
            .field("table", &self.table)
            .finish()
    }
}

/// Builds a `postgresql` sink.
pub(crate) fn build(c: &PostgresConfig, name: &str, _q: &QueueConfig) -> Result<Sink> {
    let table = if c.table.is_empty() {
        "falco_events"
    } else {
        &c.table
    };
    let ok = table
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(Error::Output {
            output: name.to_owned(),
            message: format!("table {table:?}: want [A-Za-z_][A-Za-z0-9_]*"),
        });
    }
    c.conninfo_check(name)?;
    Ok(Sink::Postgres(PostgresSink {
        name: name.to_owned(),
        conninfo: c.connection.clone(),
        table: table.to_owned(),
        client: None,
    }))
}

impl PostgresConfig {
    fn conninfo_check(&self, name: &str) -> Result<()> {
        self.connection
            .parse::<tokio_postgres::Config>()
            .map(|_| ())
            .map_err(|e| Error::Output {
                output: name.to_owned(),
                message: format!("connection: {e}"),
            })
    }
}

/// The table's schema.
pub(crate) fn create_table_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (\
         id text PRIMARY KEY, \
         time timestamptz NOT NULL, \
         rule text NOT NULL, \
         priority text NOT NULL, \
         source text NOT NULL, \
         hostname text, \
         output text, \
         tags text[] NOT NULL, \
         output_fields jsonb NOT NULL)"
    )
}

impl PostgresSink {
    async fn connect(&mut self) -> std::result::Result<(), String> {
        if self.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        self.client = None;
        let (client, connection) = tokio_postgres::connect(&self.conninfo, NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            // The connection ends with the client (or on a network error, which the
            // next send sees as a closed client).
            let _ = connection.await;
        });
        client
            .batch_execute(&create_table_sql(&self.table))
            .await
            .map_err(|e| e.to_string())?;
        self.client = Some(client);
        Ok(())
    }

    pub(crate) async fn send(&mut self, batch: &[Queued]) -> Outcome {
        if let Err(e) = self.connect().await {
            return Outcome::failed(0, false, e);
        }
        let Some(client) = self.client.as_mut() else {
            return Outcome::failed(0, false, "not connected");
        };
        let sql = format!(
            "INSERT INTO {} (id, time, rule, priority, source, hostname, output, tags, output_fields) \
             VALUES ($1, $2::text::timestamptz, $3, $4, $5, $6, $7, \
             ARRAY(SELECT jsonb_array_elements_text($8::text::jsonb)), $9::text::jsonb) \
             ON CONFLICT (id) DO NOTHING",
            self.table
        );
        let r = async {
            let tx = client.transaction().await?;
            let stmt = tx.prepare(&sql).await?;
            for q in batch {
                let a = &q.alert;
                let mut time = String::new();
                let _ = a.write_time(&mut time);
                let tags = serde_json::to_string(a.tags()).unwrap_or_else(|_| "[]".into());
                let fields =
                    serde_json::to_string(&a.output_fields).unwrap_or_else(|_| "{}".into());
                let id = q.key.clone();
                tx.execute(
                    &stmt,
                    &[
                        &id,
                        &time,
                        &a.rule,
                        &a.priority.as_str(),
                        &a.source_or_default(),
                        &a.hostname,
                        &a.output,
                        &tags,
                        &fields,
                    ],
                )
                .await?;
            }
            tx.commit().await
        }
        .await;
        match r {
            Ok(()) => Outcome::ok(batch.len()),
            Err(e) => {
                if client.is_closed() {
                    self.client = None;
                }
                Outcome::failed(0, false, e.to_string())
            }
        }
    }
}
