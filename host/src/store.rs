//! Persistence: one sqlx pool over SQLite (embedded, WAL, the default) or PostgreSQL
//! (several nodes), the migrations of each dialect, and one file per aggregate.
//!
//! Invariants:
//! - Every query that reads or writes tenant data takes the tenant id and filters by
//!   it; a row of another tenant is indistinguishable from a missing one.
//! - Rows leave this module as the plain structs below, never as API types.
//! - Both dialects run the same statements (`$n` placeholders, `ON CONFLICT` upserts);
//!   only the DDL differs, in `migrations/{sqlite,postgres}`.
//! - Component bytes are stored once per digest.

mod audit;
mod bus;
mod connectors;
mod health;
mod kv;
mod notify;
mod polls;
mod push;
mod quarantine;
mod relay;
mod tenants;

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};

pub use audit::{AuditEntry, AuditRow};
pub use bus::{EventStatusRow, Finish, MessageFilter, MessageRow, PendingEvent};
pub use connectors::{ConnectorRow, DeploymentRow, NewConnector, Polling, VersionRow};
pub use health::{HealthRow, HeartbeatRollup, HeartbeatRow};
pub use notify::{BUS_CHANNEL, CHANGED_CHANNEL};
pub use polls::{Claim, PollFinish, PollRow};
pub use push::{EventOutcome, NewEvent, PushCredentialRow};
pub use quarantine::QuarantineRow;
pub use tenants::{ClientListing, ClientRow, TenantListing, TenantRow};

/// Which database the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A failure of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique constraint was hit (a duplicate name, version or target).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The URL names no supported database.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://…")]
    Url(String),
}

/// The pool and its dialect.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer: the hot writers (ingest's committer, the pipeline,
    /// call outputs) queue here instead of colliding on the write lock, where
    /// SQLite's busy handler would sleep (milliseconds each) before retrying.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The URL it was opened with (a PostgreSQL listener opens its own connection).
    url: std::sync::Arc<str>,
}

pub use crate::time::now_ms;

/// `($1, …, $cols<tail>), ($cols+1, …)` for a multi-row `VALUES` of `rows` rows;
/// `tail` is appended inside each row (constant columns). On SQLite the parameters
/// are anonymous `?` (bound in order): a named `$n` costs SQLite a linear search of
/// the statement's names per parameter when it is prepared and again when it is
/// bound, which for a few hundred parameters was most of the host's CPU under load.
fn placeholder_rows(backend: Backend, rows: usize, cols: usize, tail: &str) -> String {
    (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=cols)
                .map(|c| match backend {
                    Backend::Sqlite => "?".to_string(),
                    Backend::Postgres => format!("${}", r * cols + c),
                })
                .collect();
            format!("({}{tail})", p.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `items` in chunks of exactly `k`, then one at a time: multi-row statements
/// of only two shapes, so each stays in the connection's prepared-statement cache
/// (a shape per batch size would be prepared afresh nearly every time).
fn statement_chunks<T>(items: &[T], k: usize) -> impl Iterator<Item = &[T]> {
    let full = items.len() / k * k;
    items[..full].chunks(k).chain(items[full..].chunks(1))
}

/// Copies SQLite's write-ahead log back into the database every second, off the
/// commit path: a passive checkpoint never waits for or blocks a writer. (SQLite's
/// own automatic checkpoint runs inside whichever commit crosses the threshold,
/// stalling that commit and every acknowledgement waiting on it; here it is only a
/// backstop, at 64 MiB of log.)
async fn checkpoint_wal(pool: AnyPool) {
    while !pool.is_closed() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Err(e) = pool.execute("PRAGMA wal_checkpoint(PASSIVE)").await
            && !pool.is_closed()
        {
            tracing::debug!(error = %e, "passive WAL checkpoint failed; retrying");
        }
    }
}

/// Declares every migration by file stem (`NNNN_name`), in order: each stem must
/// exist for both dialects (a missing file does not compile), and a test checks
/// that no file of either folder is left out.
macro_rules! migrations {
    ($($stem:literal),* $(,)?) => {
        /// (file stem, SQLite text, PostgreSQL text) of every migration, in order.
        const MIGRATIONS: &[(&str, &str, &str)] = &[$(
            (
                $stem,
                include_str!(concat!("../migrations/sqlite/", $stem, ".sql")),
                include_str!(concat!("../migrations/postgres/", $stem, ".sql")),
            ),
        )*];
    };
}

migrations![
    "0001_init",
    "0002_deployment_networks_and_limits",
    "0003_quarantine",
    "0004_push_ingest",
    "0005_push_oauth_clients",
    "0006_bus",
    "0007_push_rsa_keys",
    "0008_scheduled_polls",
    "0009_heartbeat_rollups",
    "0010_audit_tenant_seq",
    "0011_deletion_and_revocation",
    "0012_jetstream_relay",
];

fn migrator(backend: Backend) -> Migrator {
    let files = MIGRATIONS.iter().map(|&(stem, sqlite, postgres)| {
        // `NNNN_name`: the version is the number, the description the rest.
        let (number, name) = stem.split_once('_').unwrap_or((stem, stem));
        let sql = match backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        };
        (number.parse::<i64>().unwrap_or(0), name, sql)
    });
    Migrator::with_migrations(
        files
            .map(|(version, name, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(name),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// How SQLite makes a commit durable (`PRAGMA synchronous`). PostgreSQL is not
/// affected: its own `synchronous_commit` is the server's to set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// Every commit is fsynced before it returns: an acknowledged event survives a
    /// power loss. The default: the product promises that nothing acknowledged is
    /// lost, and group commit shares one fsync among a whole batch.
    #[default]
    Full,
    /// Commits reach the WAL file but are fsynced only at checkpoints: they survive
    /// a crash of the process, not of the machine.
    Normal,
}

impl std::str::FromStr for SqliteSync {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(SqliteSync::Full),
            "normal" => Ok(SqliteSync::Normal),
            other => Err(format!("`{other}` is not `full` or `normal`")),
        }
    }
}

impl Store {
    /// Opens the database at `url` and brings its schema up to date. `sqlite://PATH`
    /// creates the file if needed and switches it to WAL, with [`SqliteSync::Full`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, SqliteSync::default()).await
    }

    /// [`Store::open`] with SQLite's commits made durable as `sync` says.
    pub async fn open_with(url: &str, sync: SqliteSync) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Url(url.to_string()));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            let pragmas = match sync {
                SqliteSync::Full => {
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 16384;"
                }
                SqliteSync::Normal => {
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 16384;"
                }
            };
            pool = pool.after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(pragmas).await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        migrator(backend).run(&pool).await?;
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoint_wal(pool.clone()));
        }
        Ok(Store {
            pool,
            backend,
            writer: Default::default(),
            url: url.as_str().into(),
        })
    }

    /// The SQLite file inside `data_dir`, as a URL.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("airlock.db").display())
    }

    /// The dialect.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the modules that run their own statements (tests, audit verify).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a write transaction. SQLite takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that reads before it writes cannot fail to
    /// upgrade; PostgreSQL uses its default isolation.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// On SQLite, waits for this node's turn to write (see `writer`); the guard
    /// is held until the transaction ends. Nothing to wait for on PostgreSQL.
    pub async fn queue_for_write(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.lock().await),
            Backend::Postgres => None,
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
fn conflict(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_string())
        }
        _ => StoreError::Db(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_migration_file_is_declared_once_in_order() {
        for dialect in ["sqlite", "postgres"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dialect);
            let mut stems: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
                .collect();
            stems.sort();
            let declared: Vec<&str> = super::MIGRATIONS.iter().map(|m| m.0).collect();
            assert_eq!(stems, declared, "{dialect}: files vs migrations![…]");
        }
        for (i, (stem, ..)) in super::MIGRATIONS.iter().enumerate() {
            assert_eq!(stem[..4].parse::<usize>().unwrap(), i + 1, "{stem}");
        }
    }

    /// Migration 0010 numbers the audit rows already there, per tenant, in the
    /// chain's order (the same statement runs on PostgreSQL).
    #[tokio::test]
    async fn the_tenant_seq_backfill_numbers_each_tenants_rows_in_chain_order() {
        use sqlx::Row as _;
        sqlx::any::install_default_drivers();
        let path =
            std::env::temp_dir().join(format!("airlock-backfill-{}.db", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let all = super::migrator(super::Backend::Sqlite);
        let before = sqlx::migrate::Migrator::with_migrations(
            all.migrations
                .iter()
                .filter(|m| m.version < 10)
                .cloned()
                .collect(),
        );
        before.run(&pool).await.unwrap();
        for (seq, tenant) in [(1, "a"), (2, "b"), (3, "a"), (5, "a"), (8, "b"), (9, "c")] {
            sqlx::query(
                "INSERT INTO audit (seq, tenant_id, actor, action, target, detail, at, prev_hash, hash) \
                 VALUES ($1, $2, 'x', 'x', 'x', '{}', 'x', 'x', 'x')",
            )
            .bind(seq)
            .bind(tenant)
            .execute(&pool)
            .await
            .unwrap();
        }
        all.run(&pool).await.unwrap();
        let rows = sqlx::query("SELECT seq, tenant_seq FROM audit ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
        let got: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
            .collect();
        assert_eq!(got, [(1, 1), (2, 1), (3, 2), (5, 3), (8, 2), (9, 1)]);
        pool.close().await;
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn multi_row_statements_have_two_shapes() {
        let items: Vec<u32> = (0..37).collect();
        let sizes: Vec<usize> = super::statement_chunks(&items, 16)
            .map(<[u32]>::len)
            .collect();
        assert_eq!(sizes, [16, 16, 1, 1, 1, 1, 1]);
        let all: Vec<u32> = super::statement_chunks(&items, 16)
            .flatten()
            .copied()
            .collect();
        assert_eq!(all, items);
        assert_eq!(super::statement_chunks(&items[..0], 16).count(), 0);
        assert_eq!(
            super::placeholder_rows(super::Backend::Postgres, 2, 3, ", 'x'"),
            "($1, $2, $3, 'x'), ($4, $5, $6, 'x')"
        );
        assert_eq!(
            super::placeholder_rows(super::Backend::Sqlite, 2, 3, ", 'x'"),
            "(?, ?, ?, 'x'), (?, ?, ?, 'x')"
        );
    }
}
