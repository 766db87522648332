//! The SQL schema: one relation per [`Table`] (`k BYTEA PRIMARY KEY, v BYTEA NOT NULL`), the
//! order id sequence, and `rustfs_schema`, which records the schema version. Created and
//! migrated at open with idempotent statements (`IF NOT EXISTS`), each in its own implicit
//! transaction (CockroachDB restricts DDL inside explicit transactions), so processes opening
//! the same database at once converge. A database whose version is newer than
//! [`SCHEMA_VERSION`] is refused. See `docs/format.md`.

use deadpool_postgres::Client;
use tokio_postgres::error::SqlState;

use crate::MetaError;
use crate::store::Table;

/// The version this build writes and understands.
pub const SCHEMA_VERSION: i64 = 2;

/// The tables schema version 1 created; version 2 added [`Table::Cluster`],
/// [`Table::Deferred`] and [`Table::Iam`].
const V1_TABLES: [Table; 7] = [
    Table::Buckets,
    Table::Objects,
    Table::Versions,
    Table::Uploads,
    Table::Parts,
    Table::Blobs,
    Table::System,
];

/// The relation holding `t`.
pub(crate) fn relation(t: Table) -> &'static str {
    match t {
        Table::Buckets => "rustfs_buckets",
        Table::Objects => "rustfs_objects",
        Table::Versions => "rustfs_versions",
        Table::Uploads => "rustfs_uploads",
        Table::Parts => "rustfs_parts",
        Table::Blobs => "rustfs_blobs",
        Table::System => "rustfs_system",
        Table::Cluster => "rustfs_cluster",
        Table::Deferred => "rustfs_deferred",
        Table::Iam => "rustfs_iam",
    }
}

/// The sequence order ids are drawn from.
pub(crate) const ORDER_SEQUENCE: &str = "rustfs_order_seq";

/// The statements that bring a database from `version - 1` to `version`.
fn migration(version: i64) -> Vec<String> {
    match version {
        1 => {
            let mut s: Vec<String> = V1_TABLES.iter().map(|t| create_table(*t)).collect();
            // Starting at the current microsecond keeps ids above any time-made one.
            let now_us = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_micros() as i64);
            s.push(format!(
                "CREATE SEQUENCE IF NOT EXISTS {ORDER_SEQUENCE} START WITH {now_us}"
            ));
            s
        }
        2 => vec![
            create_table(Table::Cluster),
            create_table(Table::Deferred),
            create_table(Table::Iam),
        ],
        _ => Vec::new(),
    }
}

fn create_table(t: Table) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (k BYTEA PRIMARY KEY, v BYTEA NOT NULL)",
        relation(t)
    )
}

/// Runs one idempotent DDL statement. Two processes creating the same relation at once can
/// make one fail with a duplicate error in PostgreSQL; run again, `IF NOT EXISTS` then sees it.
async fn ddl(client: &Client, sql: &str) -> Result<(), MetaError> {
    for attempt in 0..5 {
        match client.batch_execute(sql).await {
            Ok(()) => return Ok(()),
            Err(e)
                if attempt < 4
                    && matches!(
                        e.code(),
                        Some(c) if *c == SqlState::UNIQUE_VIOLATION
                            || *c == SqlState::DUPLICATE_TABLE
                            || *c == SqlState::DUPLICATE_OBJECT
                            || *c == SqlState::T_R_SERIALIZATION_FAILURE
                    ) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => return Err(super::error(e)),
        }
    }
    Ok(())
}

/// Creates or migrates the schema; refuses a newer one.
pub(crate) async fn migrate(client: &Client) -> Result<(), MetaError> {
    ddl(
        client,
        "CREATE TABLE IF NOT EXISTS rustfs_schema (id INT PRIMARY KEY, version BIGINT NOT NULL)",
    )
    .await?;
    let found: i64 = client
        .query_opt("SELECT version FROM rustfs_schema WHERE id = 1", &[])
        .await
        .map_err(super::error)?
        .map(|r| r.try_get::<_, i64>(0))
        .transpose()
        .map_err(super::error)?
        .unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(MetaError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for version in found + 1..=SCHEMA_VERSION {
        for sql in migration(version) {
            ddl(client, &sql).await?;
        }
        client
            .execute(
                "INSERT INTO rustfs_schema (id, version) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET version = GREATEST(rustfs_schema.version, excluded.version)",
                &[&version],
            )
            .await
            .map_err(super::error)?;
        tracing::info!(version, "metadata schema migrated");
    }
    Ok(())
}
