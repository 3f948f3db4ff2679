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
//! - Every statement runs in a session that says whose rows it acts for
//!   ([`Rows`]): one tenant's, or all of them for the server's own cross-tenant
//!   work. On PostgreSQL that is a per-transaction setting the tables' row-level
//!   security policies read (migration 0013), so a statement that forgot its
//!   tenant filter still sees no foreign row; a session that set nothing sees no
//!   row at all. SQLite has no row-level security: the filters are all there is.

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
pub use bus::{EventStatusRow, Finish, Finished, MessageFilter, MessageRow, PendingEvent};
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
    /// Options that do not go together.
    #[error("{0}")]
    Usage(&'static str),
    /// A failure through `--database-owner`'s connection (connecting, migrating,
    /// granting).
    #[error("through --database-owner: {0}")]
    Owner(Box<StoreError>),
    /// Migrating through `--database`'s role was refused: it may not create tables.
    #[error(
        "database migration failed: {0}; this role may not change the schema: pass the URL \
         of the role that owns it as --database-owner (docs/operations.md)"
    )]
    MigrateNeedsOwner(sqlx::migrate::MigrateError),
}

/// Whose rows a session acts for: what PostgreSQL's row-level security lets it
/// see and write (see the module's invariants). SQLite ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows<'a> {
    /// One tenant's rows (`SET LOCAL airlock.tenant_id`): whatever serves a
    /// tenant's request.
    Tenant(&'a str),
    /// Every tenant's rows (`SET LOCAL airlock.system = 'on'`): the server's own
    /// work across tenants (the ingest committer, the pipeline, the relay, the
    /// scheduler, heartbeats, token issuing, operator commands), and lookups that
    /// find the tenant before anything is revealed (a connector named in a header).
    All,
}

impl Rows<'_> {
    /// The statement that begins a PostgreSQL transaction acting for these rows:
    /// one round trip (a simple query of two statements). The tenant id is a
    /// literal, so it is used only when it is made of letters, digits, `-`, `_`
    /// and `.` (every id Airlock makes is a UUID): anything else — a string from a
    /// request path that names no tenant — acts for a tenant no row belongs to,
    /// and no quoting rule of the server (`standard_conforming_strings`) matters.
    fn postgres_begin(self) -> String {
        match self {
            Rows::Tenant(id) => {
                let safe = !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                format!(
                    "BEGIN; SELECT set_config('airlock.tenant_id', '{}', true)",
                    if safe { id } else { "!no-such-tenant" }
                )
            }
            Rows::All => "BEGIN; SELECT set_config('airlock.system', 'on', true)".to_string(),
        }
    }
}

/// A connection acting for [`Rows`], from [`Store::session`]: on PostgreSQL a
/// transaction with its setting, on SQLite a pooled connection. It derefs to the
/// connection, so statements run on `&mut *session`. A session that only read
/// may simply be dropped (PostgreSQL's rollback is sent when the connection goes
/// back to the pool, off the caller's path); one that wrote ends with
/// [`Session::commit`].
pub struct Session {
    // Declared before the turn, so it is dropped first (see `WriteTx`).
    inner: SessionInner,
    /// This node's turn to write, held by a [`Store::write_session`] on SQLite.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

enum SessionInner {
    Pooled(sqlx::pool::PoolConnection<sqlx::Any>),
    Scoped(WriteTx),
}

impl std::ops::Deref for Session {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        match &self.inner {
            SessionInner::Pooled(c) => c,
            SessionInner::Scoped(t) => t,
        }
    }
}

impl std::ops::DerefMut for Session {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        match &mut self.inner {
            SessionInner::Pooled(c) => c,
            SessionInner::Scoped(t) => t,
        }
    }
}

/// A write transaction from [`Store::begin`]. On SQLite it holds this node's turn
/// to write (see `Store::writer`) from before `BEGIN IMMEDIATE` until it ends, so
/// write transactions of this process do not meet at SQLite's write lock, where
/// the busy handler would sleep (1 ms, then 2, 5, 10 …) before retrying — with
/// whichever writer slept holding up every commit queued behind it. It derefs to
/// the connection, so statements run on `&mut *tx`; it ends with
/// [`WriteTx::commit`] or [`WriteTx::rollback`]. Dropped open (an error's early
/// return, a cancelled request), it is rolled back too, but the rollback runs on
/// its connection a moment after the turn is handed on, so the next writer may
/// meet it in the busy handler once: paths that end a transaction without
/// committing as a matter of course roll back explicitly.
pub struct WriteTx {
    // Declared before the turn: dropped first, so an uncommitted transaction's
    // rollback is queued on its connection before the next writer may begin.
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

impl WriteTx {
    /// Commits, then gives up the turn to write.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back, then gives up the turn to write.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Session {
    /// Makes what the session wrote durable (PostgreSQL: commits its transaction;
    /// SQLite: each statement committed as it ran).
    pub async fn commit(self) -> Result<(), StoreError> {
        if let SessionInner::Scoped(t) = self.inner {
            t.commit().await?;
        }
        Ok(())
    }
}

/// The pool and its dialect.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer: every write of this process (each transaction from
    /// [`Store::begin`], and single writing statements on a
    /// [`Store::write_session`]) queues here instead of colliding on the write
    /// lock, where SQLite's busy handler would sleep (milliseconds each) before
    /// retrying.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The URL it was opened with (a PostgreSQL listener opens its own connection).
    url: std::sync::Arc<str>,
    /// Sessions and transactions opened so far, acting for a tenant and in all
    /// ([`Store::sessions_opened`]).
    opened: std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>,
}

pub use crate::time::now_ms;

/// `$from, $from+1, …` (`n` of them): an `IN (…)` list's placeholders (both
/// dialects number them).
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

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

/// `items` in chunks of exactly `k` (a power of two), then the rest in chunks of
/// its binary digits, largest first (`k` = 16, 45 items: 16, 16, 8, 4, 1):
/// multi-row statements of only log2(k) + 1 shapes, so each stays in the
/// connection's prepared-statement cache (a shape per batch size would be
/// prepared afresh nearly every time), and at most log2(k) + 1 statements — each
/// a round trip to the database — beyond the full chunks.
fn statement_chunks<T>(items: &[T], k: usize) -> impl Iterator<Item = &[T]> {
    debug_assert!(k.is_power_of_two());
    let full = items.len() / k * k;
    let (whole, mut rest) = items.split_at(full);
    let tail = std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        // The largest power of two not above what is left.
        let size = 1 << rest.len().ilog2();
        let (chunk, after) = rest.split_at(size);
        rest = after;
        Some(chunk)
    });
    whole.chunks(k).chain(tail)
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
    "0013_row_level_security",
    "0014_held_upgrades",
    "0015_audit_by_target",
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
        Store::open_as(url, None, sync).await
    }

    /// Opens the database at `url`, acting as that URL's role. With `owner` (a
    /// PostgreSQL URL of the role that owns the schema), migrations run through
    /// `owner`, which then grants `url`'s role what the server needs and no more
    /// (see [`grant_sql`]); without it, through `url` itself, and only when the
    /// schema is behind (so a role that may not create tables still opens an
    /// up-to-date database). On PostgreSQL, a role that escapes row-level security
    /// (a superuser, or `BYPASSRLS`) is warned about.
    pub async fn open_as(
        url: &str,
        owner: Option<&str>,
        sync: SqliteSync,
    ) -> Result<Store, StoreError> {
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
            // sqlx pings a pooled connection before handing it out; an embedded
            // SQLite connection cannot have gone away, and the ping is a round
            // trip to the connection's thread on every transaction and session.
            pool = pool.test_before_acquire(false);
            // Temporary files (statement journals of multi-row statements, sorts)
            // in memory: on disk, SQLite creates, unlinks and closes one in
            // /var/tmp for most write transactions of the ingest pipeline. They
            // are never durable, and every statement here is bounded in size (a
            // future migration that sorts or indexes a large table would use RAM).
            let synchronous = match sync {
                SqliteSync::Full => "FULL",
                SqliteSync::Normal => "NORMAL",
            };
            let pragmas = format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 16384; \
                 PRAGMA temp_store = MEMORY;"
            );
            pool = pool.after_connect(move |conn, _| {
                let pragmas = sqlx::AssertSqlSafe(pragmas.clone());
                Box::pin(async move {
                    conn.execute(pragmas).await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        match owner {
            Some(owner) if backend == Backend::Postgres => migrate_as_owner(&pool, owner)
                .await
                .map_err(|e| StoreError::Owner(Box::new(e)))?,
            Some(_) => {
                return Err(StoreError::Usage(
                    "--database-owner names the PostgreSQL role that owns the schema; \
                     SQLite has no roles",
                ));
            }
            None => {
                if !schema_is_current(&pool).await {
                    migrator(backend).run(&pool).await.map_err(|e| {
                        if backend == Backend::Postgres
                            && e.to_string().contains("permission denied")
                        {
                            StoreError::MigrateNeedsOwner(e)
                        } else {
                            StoreError::Migrate(e)
                        }
                    })?;
                }
            }
        }
        if backend == Backend::Postgres {
            let escapes: bool = sqlx::query_scalar(
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
            )
            .fetch_one(&pool)
            .await?;
            if escapes {
                tracing::warn!(
                    "connected to PostgreSQL as a superuser or BYPASSRLS role: row-level \
                     security does not apply to it; connect as a role that does not own the \
                     tables and pass the owner as --database-owner (docs/operations.md)"
                );
            }
        }
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoint_wal(pool.clone()));
        }
        Ok(Store {
            pool,
            backend,
            writer: Default::default(),
            url: url.as_str().into(),
            opened: Default::default(),
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

    /// Begins a write transaction acting for `rows`. SQLite first waits for this
    /// node's turn to write, then takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that reads before it writes cannot fail to
    /// upgrade; PostgreSQL uses its default isolation and sets the row-level
    /// security setting in the same round trip.
    ///
    /// On SQLite a caller must not begin a second write transaction (nor a
    /// [`Store::write_session`]) while it holds one: it would wait for itself.
    pub async fn begin(&self, rows: Rows<'_>) -> Result<WriteTx, StoreError> {
        self.count(rows);
        let turn = self.turn_to_write().await;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                self.pool
                    .begin_with(sqlx::AssertSqlSafe(rows.postgres_begin()))
                    .await?
            }
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// On SQLite, waits for this node's turn to write (see `writer`); nothing to
    /// wait for on PostgreSQL.
    async fn turn_to_write(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }

    /// A session for statements acting for `rows` outside a write transaction
    /// (reads, and single statements on SQLite).
    pub async fn session(&self, rows: Rows<'_>) -> Result<Session, StoreError> {
        Ok(Session {
            inner: match self.backend {
                Backend::Sqlite => {
                    self.count(rows);
                    SessionInner::Pooled(self.pool.acquire().await?)
                }
                Backend::Postgres => SessionInner::Scoped(self.begin(rows).await?),
            },
            _turn: None,
        })
    }

    /// A [`Store::session`] for a single writing statement outside a write
    /// transaction: on SQLite it first waits for this node's turn to write (as
    /// [`Store::begin`] does) and holds it until dropped.
    pub async fn write_session(&self, rows: Rows<'_>) -> Result<Session, StoreError> {
        let turn = self.turn_to_write().await;
        let mut session = self.session(rows).await?;
        session._turn = turn;
        Ok(session)
    }

    fn count(&self, rows: Rows<'_>) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Rows::Tenant(_) = rows {
            self.opened[0].fetch_add(1, Relaxed);
        }
        self.opened[1].fetch_add(1, Relaxed);
    }

    /// How many sessions and transactions this store has opened, `(acting for a
    /// tenant, in all)`: every statement runs in one, so the difference across a
    /// request is the database work it did (a round trip or more each) — the
    /// first number leaves out the server's own background work, which acts for
    /// no tenant. For tests and benchmarks.
    pub fn sessions_opened(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.opened[0].load(Relaxed), self.opened[1].load(Relaxed))
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Runs the migrations through `owner` (a URL of the role that owns the schema)
/// and grants `pool`'s role what the server needs, when it is another role; both
/// must name the same database.
async fn migrate_as_owner(pool: &AnyPool, owner: &str) -> Result<(), StoreError> {
    let who = "SELECT CAST(current_user AS TEXT), CAST(current_database() AS TEXT)";
    let (role, database): (String, String) = sqlx::query_as(who).fetch_one(pool).await?;
    let owner_pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(owner)
        .await?;
    let (owner_role, owner_database): (String, String) =
        sqlx::query_as(who).fetch_one(&owner_pool).await?;
    if owner_database != database {
        owner_pool.close().await;
        return Err(StoreError::Usage(
            "it names another database than --database: both must name the same one",
        ));
    }
    migrator(Backend::Postgres).run(&owner_pool).await?;
    if owner_role != role {
        sqlx::raw_sql(sqlx::AssertSqlSafe(grant_sql(&role)))
            .execute(&owner_pool)
            .await?;
    }
    owner_pool.close().await;
    Ok(())
}

/// Whether every migration this build knows is applied already, and none it does
/// not know (false when the migrations table is missing or unreadable: then the
/// migrator runs, and reports a newer schema or an edited migration itself).
async fn schema_is_current(pool: &AnyPool) -> bool {
    let latest = MIGRATIONS.len() as i64;
    sqlx::query_as::<_, (i64, Option<i64>)>(
        "SELECT COUNT(*), MAX(version) FROM _sqlx_migrations WHERE success",
    )
    .fetch_one(pool)
    .await
    .is_ok_and(|(n, max)| n == latest && max == Some(latest))
}

/// A new id for a row written on a hot path (a call, an event, a poll, an
/// output): a UUIDv7, whose leading 48 bits are the time in milliseconds, so ids
/// made one after another sort together and their unique indexes grow at the
/// right edge. A random UUIDv4 lands each new row on a random index page, and on
/// SQLite every page a commit dirties is a 4 KiB write to the log: a batch of
/// calls would write a page per call for that index alone.
///
/// The random bits come from a thread-local CSPRNG seeded by the OS (`uuid`'s
/// `fast-rng`), not a `getrandom` system call per id: 135–170 ns an id instead of
/// 870–1 060 ns on the 2-core machine. These ids are names, not secrets.
pub fn row_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// What the schema's owner grants the server's role on PostgreSQL (every start
/// with `--database-owner`; idempotent): reading and writing every table, except
/// that the audit trail is append-only (no `UPDATE`, `DELETE` or `TRUNCATE`) and
/// the migrations table is read-only; its sequences. Row-level security still
/// applies to everything it reads and writes.
pub fn grant_sql(role: &str) -> String {
    let role = format!("\"{}\"", role.replace('"', "\"\""));
    format!(
        "GRANT USAGE ON SCHEMA public TO {role}; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; \
         REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM {role}; \
         REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM {role}; \
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};"
    )
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

    /// A pooled SQLite connection is handed out without a ping (a round trip to
    /// the connection's thread on every transaction, measured by the load bench's
    /// invoke and ingest rows), keeps its temporary files in memory and syncs as
    /// asked.
    #[tokio::test]
    async fn sqlite_connections_are_set_up_for_the_hot_paths() {
        let dir = std::env::temp_dir().join(format!("airlock-ping-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = super::Store::open_as(
            &super::Store::sqlite_url(&dir),
            None,
            super::SqliteSync::Normal,
        )
        .await
        .unwrap();
        assert!(!store.pool.options().get_test_before_acquire());
        // Every pooled connection runs the pragmas, the option's among them.
        let mut sessions = Vec::new();
        for _ in 0..3 {
            sessions.push(store.pool.acquire().await.unwrap());
        }
        for conn in &mut sessions {
            let temp: (i64,) = sqlx::query_as("PRAGMA temp_store")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            let sync: (i64,) = sqlx::query_as("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!((temp.0, sync.0), (2, 1), "MEMORY and NORMAL");
        }
        drop(sessions);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Both ways to write ([`Store::begin`], [`Store::write_session`]) wait their
    /// turn before SQLite's write lock: with SQLite's own busy wait turned off on
    /// every pooled connection, writers that overlap would fail at once with
    /// "database is locked" if either went to the lock without its turn.
    #[tokio::test]
    async fn overlapping_writes_take_turns_before_sqlites_lock() {
        let dir = std::env::temp_dir().join(format!("airlock-turns-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = super::Store::open(&super::Store::sqlite_url(&dir))
            .await
            .unwrap();
        let mut all = Vec::new();
        while let Some(mut conn) = store.pool.try_acquire() {
            sqlx::query("PRAGMA busy_timeout = 0")
                .execute(&mut *conn)
                .await
                .unwrap();
            all.push(conn);
        }
        for _ in all.len()..store.pool.options().get_max_connections() as usize {
            let mut conn = store.pool.acquire().await.unwrap();
            sqlx::query("PRAGMA busy_timeout = 0")
                .execute(&mut *conn)
                .await
                .unwrap();
            all.push(conn);
        }
        drop(all);
        let held = store.begin(super::Rows::All).await.unwrap();
        let writers: Vec<_> = (0..6)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    // A connection opened afresh since would wait again: each
                    // writer checks that its own does not.
                    let no_wait = "PRAGMA busy_timeout";
                    if i % 2 == 0 {
                        let mut tx = store.begin(super::Rows::All).await?;
                        let (ms,): (i64,) = sqlx::query_as(no_wait).fetch_one(&mut *tx).await?;
                        assert_eq!(ms, 0);
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        tx.commit().await?;
                    } else {
                        let mut s = store.write_session(super::Rows::All).await?;
                        let (ms,): (i64,) = sqlx::query_as(no_wait).fetch_one(&mut *s).await?;
                        assert_eq!(ms, 0);
                        sqlx::query("UPDATE relay_state SET last_seq = last_seq WHERE id = 1")
                            .execute(&mut *s)
                            .await?;
                        s.commit().await?;
                    }
                    Ok::<(), super::StoreError>(())
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        held.commit().await.unwrap();
        for w in writers {
            w.await.unwrap().unwrap();
        }
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_tenant_id_reaches_postgresql_only_when_it_needs_no_quoting() {
        use super::Rows;
        assert_eq!(
            Rows::Tenant("3f2a-b_c.d").postgres_begin(),
            "BEGIN; SELECT set_config('airlock.tenant_id', '3f2a-b_c.d', true)"
        );
        for hostile in ["a'; DROP TABLE audit; --", "a\\'", "", "a b", "é"] {
            assert_eq!(
                Rows::Tenant(hostile).postgres_begin(),
                "BEGIN; SELECT set_config('airlock.tenant_id', '!no-such-tenant', true)",
                "{hostile}"
            );
        }
        assert!(
            Rows::All
                .postgres_begin()
                .contains("'airlock.system', 'on'")
        );
    }

    #[test]
    fn row_ids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..10_000).map(|_| super::row_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "not ascending");
        assert!(ids.iter().all(|id| id.as_bytes()[14] == b'7'), "{}", ids[0]);
    }

    #[test]
    fn multi_row_statements_have_few_shapes() {
        let items: Vec<u32> = (0..47).collect();
        let sizes: Vec<usize> = super::statement_chunks(&items, 16)
            .map(<[u32]>::len)
            .collect();
        assert_eq!(sizes, [16, 16, 8, 4, 2, 1]);
        for n in 0..=items.len() {
            let part = &items[..n];
            let sizes: Vec<usize> = super::statement_chunks(part, 16)
                .map(<[u32]>::len)
                .collect();
            let again: Vec<u32> = super::statement_chunks(part, 16)
                .flatten()
                .copied()
                .collect();
            assert_eq!(again, part);
            assert!(
                sizes.iter().all(|s| s.is_power_of_two() && *s <= 16),
                "{sizes:?}"
            );
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
            assert!(sizes.iter().filter(|s| **s < 16).count() <= 4, "{sizes:?}");
        }
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
