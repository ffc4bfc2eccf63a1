//! The embedded keystore: one SQLite database file.
//!
//! The file is opened in WAL mode with `synchronous=FULL`: a change is durable once
//! [`Store`]'s method returns, across a crash of the process or the machine. Every change is one
//! `BEGIN IMMEDIATE` transaction (so a write never has to upgrade a read lock and two processes
//! sharing the file never deadlock; a writer waits up to the busy timeout for another); every
//! read of more than one statement (a key row and its versions, the change feed) is one read
//! transaction, so it sees one committed state, never half of another connection's change. The
//! file and its `-wal`/`-shm` companions are created with mode 0600.

use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};

use super::rows::{
    self, ALIAS_COLUMNS, AliasRow, CHANGES_KEPT, KEY_COLUMNS, KeyRow, VersionRow, changes_from, deletable,
};
use super::{AuditRow, Change, Changes, META_ROOT_CHECK, Reseal, Store, check_record, check_root, deletion_conflict};
use crate::error::{Error, Result};
use crate::id::{AliasName, KeyId};
use crate::key::{AliasRecord, KeyRecord};
use crate::secret::fork;

/// The schema, one migration per step; `schema_migrations` records which ran. Never edit a
/// released migration: add the next one.
const MIGRATIONS: &[&str] = &[
    // 1: keys, versions, aliases, store facts, the change feed.
    "CREATE TABLE keys (
        id TEXT PRIMARY KEY NOT NULL,
        revision INTEGER NOT NULL,
        creation_date INTEGER NOT NULL,
        state TEXT NOT NULL,
        description TEXT NOT NULL,
        key_usage TEXT NOT NULL,
        key_spec TEXT NOT NULL,
        origin TEXT NOT NULL,
        key_manager TEXT NOT NULL,
        multi_region INTEGER NOT NULL,
        deletion_date INTEGER,
        pending_window_days INTEGER,
        policy TEXT NOT NULL,
        tags TEXT NOT NULL,
        rotation_enabled INTEGER NOT NULL,
        rotation_period_days INTEGER NOT NULL,
        next_rotation INTEGER,
        on_demand_count INTEGER NOT NULL,
        current_version INTEGER NOT NULL
    );
    CREATE TABLE key_versions (
        key_id TEXT NOT NULL REFERENCES keys(id),
        number INTEGER NOT NULL,
        material_id TEXT NOT NULL,
        wrapped BLOB NOT NULL,
        created INTEGER NOT NULL,
        rotation_type TEXT,
        PRIMARY KEY (key_id, number)
    );
    CREATE TABLE aliases (
        name TEXT PRIMARY KEY NOT NULL,
        target TEXT NOT NULL REFERENCES keys(id),
        creation_date INTEGER NOT NULL,
        last_updated INTEGER NOT NULL
    );
    CREATE INDEX aliases_by_target ON aliases(target);
    CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        at INTEGER NOT NULL
    );",
    // 2: the audit table.
    "CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        operation TEXT NOT NULL,
        key_arn TEXT,
        error TEXT,
        event TEXT NOT NULL
    );",
    // 3: every key and alias record's MAC (NULL in rows written before it: the engine MACs them
    // at its first open with the root key).
    "ALTER TABLE keys ADD COLUMN mac BLOB;
    ALTER TABLE aliases ADD COLUMN mac BLOB;",
];

/// How long a write waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A keystore in one SQLite database file.
pub struct SqliteStore {
    conn: Conn,
    path: PathBuf,
}

/// The store's connection, behind a mutex, used only while `fork()` is held off
/// ([`fork::hold_off`]): SQLite's library-wide mutexes (its allocator's, its file locks'
/// bookkeeping) must not be held by another thread when the process forks, or a child that
/// opens its own engine on the keystore would wait for them forever. So a `fork()` waits for
/// SQLite calls in flight to end (at most the busy timeout).
struct Conn(Option<Mutex<Connection>>);

/// A locked [`Conn`]: the connection, then the hold-off (dropped in that order).
struct ConnGuard<'a> {
    conn: parking_lot::MutexGuard<'a, Connection>,
    _hold: fork::HoldOff,
}

impl Conn {
    fn new(conn: Connection) -> Self {
        Self(Some(Mutex::new(conn)))
    }

    fn mutex(&self) -> &Mutex<Connection> {
        // Invariant: the connection is taken out only by `Drop`.
        self.0.as_ref().expect("the connection is there until the store is dropped")
    }

    fn lock(&self) -> ConnGuard<'_> {
        let hold = fork::hold_off();
        ConnGuard { conn: self.mutex().lock(), _hold: hold }
    }

    fn get_mut(&mut self) -> ConnGuard<'_> {
        self.lock()
    }
}

impl std::ops::Deref for ConnGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for ConnGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Closing is a SQLite call too.
        let _hold = fork::hold_off();
        drop(self.0.take());
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::Internal(format!("SQLite keystore error: {e}"))
}

fn now_ms() -> i64 {
    crate::clock::Clock::now(&crate::clock::SystemClock).as_millis()
}

impl SqliteStore {
    /// Opens (creating it with mode 0600 if missing) the database file at `path` and brings
    /// its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        create_private(&path)?;
        let _hold = fork::hold_off();
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::Internal(format!("Cannot open the SQLite keystore {}: {e}", path.display())))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db_error)?;
        // Switching a new file to WAL needs a lock that another process opening the same new
        // file may hold; this pragma does not wait for the busy timeout, so retry until it would
        // have.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let mode: String = loop {
            match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => break other.map_err(db_error)?,
            }
        };
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Internal(format!("The SQLite keystore {} cannot use WAL mode", path.display())));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;").map_err(db_error)?;
        let mut store = Self { conn: Conn::new(conn), path };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<()> {
        let mut conn = self.conn.get_mut();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
        )
        .map_err(db_error)?;
        let done: i64 = tx
            .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))
            .map_err(db_error)?;
        if done > MIGRATIONS.len() as i64 {
            return Err(Error::Internal(format!(
                "The SQLite keystore has schema version {done}, newer than this Trent knows ({})",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(done).unwrap_or(0)) {
            tx.execute_batch(sql).map_err(db_error)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied) VALUES (?1, ?2)",
                params![i as i64 + 1, now_ms()],
            )
            .map_err(db_error)?;
        }
        tx.commit().map_err(db_error)
    }

    /// Runs `f` in one read transaction: every statement of `f` reads the same committed state
    /// of the database (a statement outside a transaction is its own transaction in WAL mode, so
    /// two statements could straddle another connection's commit).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(db_error)?;
        let out = f(&tx)?;
        tx.commit().map_err(db_error)?;
        Ok(out)
    }

    /// Runs `f` in one write transaction and commits it.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
        let out = f(&tx)?;
        tx.commit().map_err(db_error)?;
        Ok(out)
    }
}

impl SqliteStore {
    /// Runs `sql` (parameters: the columns of [`AliasRow`]) and records the change; `none` is
    /// the error when it touched no row.
    fn write_alias(&self, alias: &AliasRecord, sql: &str, none: fn(&AliasName) -> Error) -> Result<()> {
        self.write(|tx| {
            let a = AliasRow::from_record(alias);
            let touched =
                tx.execute(sql, params![a.name, a.target, a.creation_date, a.last_updated, a.mac]).map_err(db_error)?;
            if touched == 0 {
                return Err(none(&alias.name));
            }
            record_change(tx, &Change::Alias(alias.name.clone()))
        })
    }
}

/// Creates `path` with mode 0600 if it does not exist, so SQLite (which gives its `-wal` and
/// `-shm` files the database file's mode) never makes a readable keystore.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(|e| Error::Internal(format!("Cannot create {}: {e}", path.display())))
}

fn record_change(tx: &Transaction<'_>, change: &Change) -> Result<()> {
    let (kind, name) = match change {
        Change::Key(id) => ("k", id.to_string()),
        Change::Alias(a) => ("a", a.as_str().to_owned()),
    };
    tx.prepare_cached("INSERT INTO changes (kind, name, at) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![kind, name, now_ms()]))
        .map_err(db_error)?;
    let seq = tx.last_insert_rowid();
    if seq % 1000 == 0 {
        tx.execute("DELETE FROM changes WHERE seq <= ?1", params![seq - CHANGES_KEPT]).map_err(db_error)?;
    }
    Ok(())
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(rows::read_row!(KeyRow, |i| r.get(i)?))
}

fn alias_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AliasRow> {
    Ok(rows::read_row!(AliasRow, |i| r.get(i)?))
}

/// The store's root key check value ([`META_ROOT_CHECK`]).
fn stored_root_check(conn: &Connection) -> Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT value FROM meta WHERE name = ?1")
        .and_then(|mut s| s.query_row([META_ROOT_CHECK], |r| r.get(0)).optional())
        .map_err(db_error)
}

fn read_key(conn: &Connection, id: &str) -> Result<Option<KeyRecord>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = ?1");
    let Some(row) =
        conn.prepare_cached(&sql).and_then(|mut s| s.query_row([id], key_row).optional()).map_err(db_error)?
    else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT number, material_id, wrapped, created, rotation_type FROM key_versions WHERE key_id = ?1 ORDER BY number",
        )
        .map_err(db_error)?;
    let versions = stmt
        .query_map([id], |r| Ok(rows::read_row!(VersionRow, |i| r.get(i)?)))
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
        .map_err(db_error)?;
    row.into_record(versions).map(Some)
}

fn read_aliases(conn: &Connection) -> Result<Vec<AliasRecord>> {
    let rows = conn
        .prepare_cached(&format!("SELECT {ALIAS_COLUMNS} FROM aliases ORDER BY name"))
        .and_then(|mut s| s.query_map([], alias_row)?.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(db_error)?;
    rows.into_iter().map(AliasRow::into_record).collect()
}

fn write_key(tx: &Transaction<'_>, record: &KeyRecord, expected: u64, root_check: &[u8]) -> Result<()> {
    check_root(stored_root_check(tx)?.as_deref(), root_check)?;
    let id = record.id.to_string();
    let stored: i64 = tx
        .prepare_cached("SELECT revision FROM keys WHERE id = ?1")
        .and_then(|mut s| s.query_row([&id], |r| r.get(0)).optional())
        .map_err(db_error)?
        .unwrap_or(0);
    if u64::try_from(stored).ok() != Some(expected) {
        return Err(rows::conflict(&record.id, stored, expected));
    }
    let k = KeyRow::from_record(record)?;
    let values = params![
        k.id,
        k.revision,
        k.creation_date,
        k.state,
        k.description,
        k.key_usage,
        k.key_spec,
        k.origin,
        k.key_manager,
        k.multi_region,
        k.deletion_date,
        k.pending_window_days,
        k.policy,
        k.tags,
        k.rotation_enabled,
        k.rotation_period_days,
        k.next_rotation,
        k.on_demand_count,
        k.current_version,
        k.mac
    ];
    let sql = format!(
        "INSERT OR REPLACE INTO keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
         ?15, ?16, ?17, ?18, ?19, ?20)"
    );
    tx.prepare_cached(&sql).and_then(|mut s| s.execute(values)).map_err(db_error)?;
    // Versions are never changed once stored (only rewrapped by a root key rotation): add the
    // new ones.
    let have: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(number), 0) FROM key_versions WHERE key_id = ?1")
        .and_then(|mut s| s.query_row([&id], |r| r.get(0)))
        .map_err(db_error)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO key_versions (key_id, number, material_id, wrapped, created, rotation_type) VALUES (?1, ?2, ?3, \
             ?4, ?5, ?6)",
        )
        .map_err(db_error)?;
    for v in record.versions.iter().map(VersionRow::from_version).filter(|v| v.number > have) {
        insert
            .execute(params![id, v.number, v.material_id, v.wrapped, v.created, v.rotation_type])
            .map_err(db_error)?;
    }
    record_change(tx, &Change::Key(record.id))
}

impl Store for SqliteStore {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        // The key row and its versions from one snapshot.
        self.read(|conn| read_key(conn, &id.to_string()))
    }

    fn put_key(&self, record: &KeyRecord, expected: u64, root_check: &[u8]) -> Result<()> {
        self.write(|tx| write_key(tx, record, expected, root_check))
    }

    fn delete_key(&self, id: &KeyId, expected: u64) -> Result<()> {
        let key = id.to_string();
        self.write(|tx| {
            let stored: Option<(i64, String)> = tx
                .prepare_cached("SELECT revision, state FROM keys WHERE id = ?1")
                .and_then(|mut s| s.query_row([&key], |r| Ok((r.get(0)?, r.get(1)?))).optional())
                .map_err(db_error)?;
            match stored {
                None => return Ok(()),
                Some((revision, state)) if deletable(revision, &state, expected) => {}
                Some((revision, _)) => return Err(deletion_conflict(id, revision, expected)),
            }
            let aliases = tx
                .prepare_cached("DELETE FROM aliases WHERE target = ?1 RETURNING name")
                .and_then(|mut s| s.query_map([&key], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(db_error)?;
            tx.execute("DELETE FROM key_versions WHERE key_id = ?1", [&key]).map_err(db_error)?;
            tx.execute("DELETE FROM keys WHERE id = ?1", [&key]).map_err(db_error)?;
            for name in aliases {
                record_change(tx, &rows::change("a", &name)?)?;
            }
            record_change(tx, &Change::Key(*id))
        })
    }

    fn list_keys(&self, after: Option<&KeyId>, limit: usize) -> Result<Vec<KeyId>> {
        let conn = self.conn.lock();
        let after = after.map(ToString::to_string).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let ids = conn
            .prepare_cached("SELECT id FROM keys WHERE id > ?1 ORDER BY id LIMIT ?2")
            .and_then(|mut s| {
                s.query_map(params![after, limit], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(db_error)?;
        ids.iter().map(|id| KeyId::parse(id).ok_or_else(|| rows::corrupt("key id"))).collect()
    }

    fn get_alias(&self, name: &AliasName) -> Result<Option<AliasRecord>> {
        let conn = self.conn.lock();
        let row = conn
            .prepare_cached(&format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE name = ?1"))
            .and_then(|mut s| s.query_row([name.as_str()], alias_row).optional())
            .map_err(db_error)?;
        row.map(AliasRow::into_record).transpose()
    }

    fn create_alias(&self, alias: &AliasRecord) -> Result<()> {
        self.write_alias(
            alias,
            &format!("INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING"),
            rows::alias_exists,
        )
    }

    fn put_alias(&self, alias: &AliasRecord) -> Result<()> {
        self.write_alias(
            alias,
            "UPDATE aliases SET target = ?2, creation_date = ?3, last_updated = ?4, mac = ?5 WHERE name = ?1",
            rows::alias_missing,
        )
    }

    fn delete_alias(&self, name: &AliasName) -> Result<()> {
        self.write(|tx| {
            if tx.execute("DELETE FROM aliases WHERE name = ?1", [name.as_str()]).map_err(db_error)? == 0 {
                return Err(rows::alias_missing(name));
            }
            record_change(tx, &Change::Alias(name.clone()))
        })
    }

    fn list_aliases(&self) -> Result<Vec<AliasRecord>> {
        read_aliases(&self.conn.lock())
    }

    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let conn = self.conn.lock();
        conn.prepare_cached("SELECT value FROM meta WHERE name = ?1")
            .and_then(|mut s| s.query_row([name], |r| r.get(0)).optional())
            .map_err(db_error)
    }

    fn init_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                params![name, value],
            )
            .map_err(db_error)?;
            tx.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| r.get(0)).map_err(db_error)
        })
    }

    fn reseal_all(&self, reseal: &mut dyn Reseal, root_check: &[u8], meta: &[(&str, &[u8])]) -> Result<()> {
        self.write(|tx| {
            check_root(stored_root_check(tx)?.as_deref(), root_check)?;
            let ids = tx
                .prepare("SELECT id FROM keys ORDER BY id")
                .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(db_error)?;
            let mut wrapped = tx
                .prepare("UPDATE key_versions SET wrapped = ?3 WHERE key_id = ?1 AND number = ?2")
                .map_err(db_error)?;
            let mut key_mac = tx.prepare("UPDATE keys SET mac = ?2 WHERE id = ?1").map_err(db_error)?;
            for id in &ids {
                let Some(mut record) = read_key(tx, id)? else { continue };
                reseal.key(&mut record)?;
                for v in record.versions.iter().map(VersionRow::from_version) {
                    wrapped.execute(params![id, v.number, v.wrapped]).map_err(db_error)?;
                }
                key_mac.execute(params![id, record.mac]).map_err(db_error)?;
            }
            let mut alias_mac = tx.prepare("UPDATE aliases SET mac = ?2 WHERE name = ?1").map_err(db_error)?;
            for mut alias in read_aliases(tx)? {
                reseal.alias(&mut alias)?;
                alias_mac.execute(params![alias.name.as_str(), alias.mac]).map_err(db_error)?;
            }
            for (name, value) in meta {
                tx.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)", params![name, value])
                    .map_err(db_error)?;
            }
            Ok(())
        })
    }

    fn append_audit(&self, events: &[AuditRow]) -> Result<()> {
        self.write(|tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO audit (time, operation, key_arn, error, event) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db_error)?;
            for e in events {
                stmt.execute(params![e.time, e.operation, e.key_arn, e.error, e.event]).map_err(db_error)?;
            }
            Ok(())
        })
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn change_cursor(&self) -> Result<u64> {
        let conn = self.conn.lock();
        let seq: i64 =
            conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| r.get(0)).map_err(db_error)?;
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    fn changes_since(&self, cursor: u64) -> Result<Changes> {
        let after = i64::try_from(cursor).unwrap_or(i64::MAX);
        let (first, rows) = self.read(|conn| {
            let first: Option<i64> =
                conn.query_row("SELECT MIN(seq) FROM changes", [], |r| r.get(0)).map_err(db_error)?;
            let rows = conn
                .prepare_cached("SELECT seq, kind, name FROM changes WHERE seq > ?1 ORDER BY seq")
                .and_then(|mut s| {
                    s.query_map([after], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(db_error)?;
            Ok((first, rows))
        })?;
        changes_from(cursor, first, rows)
    }

    fn check_integrity(&self) -> Result<()> {
        self.read(|conn| {
            let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(db_error)?;
            if verdict != "ok" {
                return Err(Error::Internal(format!("SQLite integrity check failed: {verdict}")));
            }
            let dangling: i64 =
                conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).map_err(db_error)?;
            if dangling != 0 {
                return Err(Error::Internal(format!("SQLite foreign key check found {dangling} dangling rows")));
            }
            let ids = conn
                .prepare("SELECT id FROM keys")
                .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(db_error)?;
            for id in ids {
                if let Some(record) = read_key(conn, &id)? {
                    check_record(&record)?;
                }
            }
            Ok(())
        })
    }
}
