//! The shared keystore: one PostgreSQL database used by several engine processes.
//!
//! Same tables and contract as the SQLite store. Every write transaction first takes one
//! transaction-scoped advisory lock (one per schema), so writes to the keystore are serialized: the
//! compare-and-set on a key's revision cannot race, and the change feed's sequence numbers
//! are handed out in commit order, which is what lets a reader poll it with a simple
//! `seq > cursor` and never miss a change that committed late. Management operations are
//! rare next to Encrypt and Decrypt (which never reach the store), so the lock costs nothing
//! that matters. Reads of more than one statement (a key row and its versions, the change feed)
//! run in one read-only `REPEATABLE READ` transaction, so they see one snapshot.
//!
//! A store may live in its own schema of the database ([`PostgresStore::connect_in_schema`]),
//! so tests and tenants can share one server.

use std::fmt;

use parking_lot::Mutex;
use postgres::{Client, IsolationLevel, Transaction};

use super::rows::{
    self, ALIAS_COLUMNS, AliasRow, CHANGES_KEPT, KEY_COLUMNS, KeyRow, VersionRow, changes_from, deletable,
};
use super::{AuditRow, Change, Changes, META_ROOT_CHECK, Reseal, Store, check_record, check_root, deletion_conflict};
use crate::error::{Error, Result};
use crate::id::{AliasName, KeyId};
use crate::key::{AliasRecord, KeyRecord};

/// The advisory lock every write transaction takes (an arbitrary constant: "trent"), mixed
/// with the schema's name so keystores in different schemas do not wait for each other.
const WRITE_LOCK: i64 = 0x74_7265_6e74;

/// The write lock of the keystore in `schema` (FNV-1a of the name, mixed into [`WRITE_LOCK`]).
fn write_lock(schema: Option<&str>) -> i64 {
    let hash = schema
        .unwrap_or("")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    WRITE_LOCK ^ i64::from_ne_bytes(hash.to_ne_bytes())
}

/// The schema, one migration per step; `schema_migrations` records which ran. Never edit a
/// released migration: add the next one.
const MIGRATIONS: &[&str] = &[
    // 1: keys, versions, aliases, store facts, the change feed.
    "CREATE TABLE keys (
        id TEXT PRIMARY KEY,
        revision BIGINT NOT NULL,
        creation_date BIGINT NOT NULL,
        state TEXT NOT NULL,
        description TEXT NOT NULL,
        key_usage TEXT NOT NULL,
        key_spec TEXT NOT NULL,
        origin TEXT NOT NULL,
        key_manager TEXT NOT NULL,
        multi_region BOOLEAN NOT NULL,
        deletion_date BIGINT,
        pending_window_days BIGINT,
        policy TEXT NOT NULL,
        tags TEXT NOT NULL,
        rotation_enabled BOOLEAN NOT NULL,
        rotation_period_days BIGINT NOT NULL,
        next_rotation BIGINT,
        on_demand_count BIGINT NOT NULL,
        current_version BIGINT NOT NULL
    );
    CREATE TABLE key_versions (
        key_id TEXT NOT NULL REFERENCES keys(id),
        number BIGINT NOT NULL,
        material_id TEXT NOT NULL,
        wrapped BYTEA NOT NULL,
        created BIGINT NOT NULL,
        rotation_type TEXT,
        PRIMARY KEY (key_id, number)
    );
    CREATE TABLE aliases (
        name TEXT PRIMARY KEY,
        target TEXT NOT NULL REFERENCES keys(id),
        creation_date BIGINT NOT NULL,
        last_updated BIGINT NOT NULL
    );
    CREATE INDEX aliases_by_target ON aliases(target);
    CREATE TABLE meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
    CREATE TABLE changes (
        seq BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        at BIGINT NOT NULL
    );",
    // 2: the audit table.
    "CREATE TABLE audit (
        seq BIGSERIAL PRIMARY KEY,
        time BIGINT NOT NULL,
        operation TEXT NOT NULL,
        key_arn TEXT,
        error TEXT,
        event TEXT NOT NULL
    );",
    // 3: every key and alias record's MAC (NULL in rows written before it: the engine MACs them
    // at its first open with the root key).
    "ALTER TABLE keys ADD COLUMN mac BYTEA;
    ALTER TABLE aliases ADD COLUMN mac BYTEA;",
];

/// A keystore in a PostgreSQL database.
pub struct PostgresStore {
    client: Mutex<Client>,
    url: String,
    schema: Option<String>,
    lock: i64,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: only the schema is shown.
        f.debug_struct("PostgresStore").field("schema", &self.schema).finish_non_exhaustive()
    }
}

fn db_error(e: postgres::Error) -> Error {
    // Neither form includes the connection string.
    match e.as_db_error() {
        Some(db) => Error::Internal(format!("PostgreSQL keystore error: {} ({})", db.message(), db.code().code())),
        None => Error::Internal(format!("PostgreSQL keystore error: {e}")),
    }
}

fn now_ms() -> i64 {
    crate::clock::Clock::now(&crate::clock::SystemClock).as_millis()
}

fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

impl PostgresStore {
    /// Connects to the database at `url` and brings the schema up to date.
    ///
    /// `url` is a URL (`postgresql://user:password@host:port/db?param=value&…`) or libpq's
    /// `key=value` form, with the `postgres` crate's parameters (several hosts as
    /// `host1:port1,host2:port2`, `hostaddr`, `application_name`, `connect_timeout`, …) and
    /// libpq's two TLS parameters, which Trent reads itself:
    ///
    /// - `sslmode`: `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`;
    /// - `sslrootcert`: a PEM file of the CA certificates to trust (a private CA), or
    ///   `system` for the system's roots.
    ///
    /// TLS is rustls on the engine's crypto provider (ring, or aws-lc-rs with feature
    /// `aws-lc`), TLS 1.2 or 1.3. A host is *local* when the connection goes to a loopback
    /// address (127.0.0.0/8, `::1`), to `localhost` or to a Unix socket; it is judged by
    /// `hostaddr` when given, else by `host`, and any other name counts as remote whatever it
    /// resolves to. The rules, for every host of the URL:
    ///
    /// | `sslmode` | local host | remote host |
    /// |---|---|---|
    /// | none | `prefer` | `verify-full` |
    /// | `disable` | plaintext | plaintext: the URL says so |
    /// | `allow`, `prefer` | TLS if the server offers it, else plaintext | refused |
    /// | `require` | TLS, server not authenticated | the same |
    /// | `verify-ca` | TLS, certificate chained to `sslrootcert` | the same |
    /// | `verify-full` | TLS, certificate chained to the roots and naming the host | the same |
    ///
    /// - **Remote hosts get `verify-full` by default**, against the system's roots (the
    ///   platform's store, which the administrator controls: on Linux the OpenSSL locations,
    ///   `SSL_CERT_FILE` and `SSL_CERT_DIR` included) unless `sslrootcert` names a file.
    /// - `allow` and `prefer` would fall back to plaintext when the server offers no TLS, so
    ///   to a remote host they are refused before any connection is made, with a
    ///   [`Error::Validation`] that says to put `sslmode=verify-full` (or `sslmode=disable`)
    ///   in the URL. Plaintext to a remote host needs an explicit `sslmode=disable`.
    /// - `require` is libpq's: encrypted, but any certificate is accepted unless `sslrootcert`
    ///   names a file (then the chain is checked, as `verify-ca`; the same holds for `prefer`
    ///   and `allow` on a local host). It protects against eavesdropping, not against an
    ///   active attacker: use `verify-full` for that.
    /// - `verify-ca` needs `sslrootcert=<file>` (against the public roots a chain alone proves
    ///   nothing), and `sslrootcert=system` needs `verify-full` (or no sslmode), as in libpq.
    /// - Unlike libpq, `~/.postgresql/root.crt` and the `PGSSLMODE`/`PGSSLROOTCERT` variables
    ///   are not read: only the URL counts. Client certificates (`sslcert`, `sslkey`) are not
    ///   supported; TLS is never used over a Unix socket (the server does not offer it).
    ///
    /// Refusals are [`Error::Validation`] (an engine opened with
    /// [`KmsBuilder::postgres`](crate::KmsBuilder::postgres) reports them as
    /// [`OpenError::Config`](crate::OpenError::Config)); a failed connection or handshake is
    /// [`Error::Internal`], whose message names the certificate check that failed. Neither
    /// carries the password.
    pub fn connect(url: &str) -> Result<Self> {
        Self::open(url, None)
    }

    /// Like [`PostgresStore::connect`], with every table in schema `schema` (created if
    /// missing; lowercase letters, digits and `_`).
    pub fn connect_in_schema(url: &str, schema: &str) -> Result<Self> {
        if !valid_schema(schema) {
            return Err(Error::Validation(format!("Invalid PostgreSQL schema name '{schema}'")));
        }
        Self::open(url, Some(schema.to_owned()))
    }

    fn open(url: &str, schema: Option<String>) -> Result<Self> {
        let client = Self::new_client(url, schema.as_deref())?;
        let lock = write_lock(schema.as_deref());
        let store = Self { client: Mutex::new(client), url: url.to_owned(), schema, lock };
        store.migrate()?;
        Ok(store)
    }

    fn new_client(url: &str, schema: Option<&str>) -> Result<Client> {
        let mut client = super::pg_tls::connect(url)?;
        if let Some(schema) = schema {
            // The name was checked by `valid_schema`: quoting is not needed. Two engines creating
            // the schema at once would collide in the catalog: the write lock orders them.
            let lock = write_lock(Some(schema));
            client
                .batch_execute(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({lock}); CREATE SCHEMA IF NOT EXISTS {schema}; COMMIT; SET \
                     search_path TO {schema}"
                ))
                .map_err(db_error)?;
        }
        Ok(client)
    }

    /// The connection, reconnected if the server closed it.
    fn client(&self) -> Result<parking_lot::MutexGuard<'_, Client>> {
        let mut client = self.client.lock();
        if client.is_closed() {
            *client = Self::new_client(&self.url, self.schema.as_deref())?;
        }
        Ok(client)
    }

    fn migrate(&self) -> Result<()> {
        self.write(|tx| {
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)",
            )
            .map_err(db_error)?;
            let done: i64 =
                tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).map_err(db_error)?.get(0);
            if done > MIGRATIONS.len() as i64 {
                return Err(Error::Internal(format!(
                    "The PostgreSQL keystore has schema version {done}, newer than this Trent knows ({})",
                    MIGRATIONS.len()
                )));
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(done).unwrap_or(0)) {
                tx.batch_execute(sql).map_err(db_error)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)",
                    &[&(i as i64 + 1), &now_ms()],
                )
                .map_err(db_error)?;
            }
            Ok(())
        })
    }

    /// Runs `f` in one read-only `REPEATABLE READ` transaction: every statement of `f` reads the
    /// same snapshot (under PostgreSQL's default, `READ COMMITTED`, each statement takes its own,
    /// so two statements could straddle another engine's commit).
    fn read<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut client = self.client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db_error)?;
        let out = f(&mut tx)?;
        tx.commit().map_err(db_error)?;
        Ok(out)
    }

    /// Runs `f` in one write transaction, holding the store's write lock, and commits it.
    fn write<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&self.lock]).map_err(db_error)?;
        let out = f(&mut tx)?;
        tx.commit().map_err(db_error)?;
        Ok(out)
    }
}

impl PostgresStore {
    /// Runs `sql` (parameters: the columns of [`AliasRow`]) and records the change; `none` is
    /// the error when it touched no row.
    fn write_alias(&self, alias: &AliasRecord, sql: &str, none: fn(&AliasName) -> Error) -> Result<()> {
        self.write(|tx| {
            let a = AliasRow::from_record(alias);
            let touched =
                tx.execute(sql, &[&a.name, &a.target, &a.creation_date, &a.last_updated, &a.mac]).map_err(db_error)?;
            if touched == 0 {
                return Err(none(&alias.name));
            }
            record_change(tx, &Change::Alias(alias.name.clone()))
        })
    }
}

fn record_change(tx: &mut Transaction<'_>, change: &Change) -> Result<()> {
    let (kind, name) = match change {
        Change::Key(id) => ("k", id.to_string()),
        Change::Alias(a) => ("a", a.as_str().to_owned()),
    };
    let seq: i64 = tx
        .query_one("INSERT INTO changes (kind, name, at) VALUES ($1, $2, $3) RETURNING seq", &[&kind, &name, &now_ms()])
        .map_err(db_error)?
        .get(0);
    if seq % 1000 == 0 {
        tx.execute("DELETE FROM changes WHERE seq <= $1", &[&(seq - CHANGES_KEPT)]).map_err(db_error)?;
    }
    Ok(())
}

fn key_row(r: &postgres::Row) -> Result<KeyRow> {
    Ok(rows::read_row!(KeyRow, |i| r.try_get(i).map_err(db_error)?))
}

/// The store's root key check value ([`META_ROOT_CHECK`]).
fn stored_root_check(tx: &mut Transaction<'_>) -> Result<Option<Vec<u8>>> {
    Ok(tx.query_opt("SELECT value FROM meta WHERE name = $1", &[&META_ROOT_CHECK]).map_err(db_error)?.map(|r| r.get(0)))
}

fn read_aliases(client: &mut impl postgres::GenericClient) -> Result<Vec<AliasRecord>> {
    let sql = format!("SELECT {ALIAS_COLUMNS} FROM aliases ORDER BY name COLLATE \"C\"");
    client.query(&sql, &[]).map_err(db_error)?.iter().map(alias_row).collect()
}

fn read_key(client: &mut impl postgres::GenericClient, id: &str) -> Result<Option<KeyRecord>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = $1");
    let Some(row) = client.query_opt(&sql, &[&id]).map_err(db_error)? else { return Ok(None) };
    let versions = client
        .query(
            "SELECT number, material_id, wrapped, created, rotation_type FROM key_versions WHERE key_id = $1 ORDER BY number",
            &[&id],
        )
        .map_err(db_error)?
        .iter()
        .map(|r| Ok(rows::read_row!(VersionRow, |i| r.try_get(i).map_err(db_error)?)))
        .collect::<Result<Vec<_>>>()?;
    key_row(&row)?.into_record(versions).map(Some)
}

fn alias_row(r: &postgres::Row) -> Result<AliasRecord> {
    rows::read_row!(AliasRow, |i| r.try_get(i).map_err(db_error)?).into_record()
}

impl Store for PostgresStore {
    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        // One snapshot for the key and its versions.
        self.read(|tx| read_key(tx, &id.to_string()))
    }

    fn put_key(&self, record: &KeyRecord, expected: u64, root_check: &[u8]) -> Result<()> {
        let id = record.id.to_string();
        self.write(|tx| {
            check_root(stored_root_check(tx)?.as_deref(), root_check)?;
            let stored: i64 =
                tx.query_opt("SELECT revision FROM keys WHERE id = $1", &[&id]).map_err(db_error)?.map_or(0, |r| r.get(0));
            if u64::try_from(stored).ok() != Some(expected) {
                return Err(rows::conflict(&record.id, stored, expected));
            }
            let k = KeyRow::from_record(record)?;
            let sql = format!(
                "INSERT INTO keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                 $16, $17, $18, $19, $20) ON CONFLICT (id) DO UPDATE SET revision = EXCLUDED.revision, state = \
                 EXCLUDED.state, description = EXCLUDED.description, key_usage = EXCLUDED.key_usage, key_spec = \
                 EXCLUDED.key_spec, origin = EXCLUDED.origin, key_manager = EXCLUDED.key_manager, multi_region = \
                 EXCLUDED.multi_region, deletion_date = EXCLUDED.deletion_date, pending_window_days = \
                 EXCLUDED.pending_window_days, policy = EXCLUDED.policy, tags = EXCLUDED.tags, rotation_enabled = \
                 EXCLUDED.rotation_enabled, rotation_period_days = EXCLUDED.rotation_period_days, next_rotation = \
                 EXCLUDED.next_rotation, on_demand_count = EXCLUDED.on_demand_count, current_version = \
                 EXCLUDED.current_version, mac = EXCLUDED.mac"
            );
            tx.execute(
                &sql,
                &[
                    &k.id,
                    &k.revision,
                    &k.creation_date,
                    &k.state,
                    &k.description,
                    &k.key_usage,
                    &k.key_spec,
                    &k.origin,
                    &k.key_manager,
                    &k.multi_region,
                    &k.deletion_date,
                    &k.pending_window_days,
                    &k.policy,
                    &k.tags,
                    &k.rotation_enabled,
                    &k.rotation_period_days,
                    &k.next_rotation,
                    &k.on_demand_count,
                    &k.current_version,
                    &k.mac,
                ],
            )
            .map_err(db_error)?;
            let have: i64 = tx
                .query_one("SELECT COALESCE(MAX(number), 0) FROM key_versions WHERE key_id = $1", &[&id])
                .map_err(db_error)?
                .get(0);
            for v in record.versions.iter().map(VersionRow::from_version).filter(|v| v.number > have) {
                tx.execute(
                    "INSERT INTO key_versions (key_id, number, material_id, wrapped, created, rotation_type) VALUES ($1, \
                     $2, $3, $4, $5, $6)",
                    &[&id, &v.number, &v.material_id, &v.wrapped, &v.created, &v.rotation_type],
                )
                .map_err(db_error)?;
            }
            record_change(tx, &Change::Key(record.id))
        })
    }

    fn delete_key(&self, id: &KeyId, expected: u64) -> Result<()> {
        let key = id.to_string();
        self.write(|tx| {
            let stored = tx.query_opt("SELECT revision, state FROM keys WHERE id = $1", &[&key]).map_err(db_error)?;
            match stored.map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1))) {
                None => return Ok(()),
                Some((revision, state)) if deletable(revision, &state, expected) => {}
                Some((revision, _)) => return Err(deletion_conflict(id, revision, expected)),
            }
            let aliases: Vec<String> = tx
                .query("DELETE FROM aliases WHERE target = $1 RETURNING name", &[&key])
                .map_err(db_error)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            tx.execute("DELETE FROM key_versions WHERE key_id = $1", &[&key]).map_err(db_error)?;
            tx.execute("DELETE FROM keys WHERE id = $1", &[&key]).map_err(db_error)?;
            for name in aliases {
                record_change(tx, &rows::change("a", &name)?)?;
            }
            record_change(tx, &Change::Key(*id))
        })
    }

    fn list_keys(&self, after: Option<&KeyId>, limit: usize) -> Result<Vec<KeyId>> {
        let after = after.map(ToString::to_string).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client()?
            .query(
                "SELECT id FROM keys WHERE id COLLATE \"C\" > $1 ORDER BY id COLLATE \"C\" LIMIT $2",
                &[&after, &limit],
            )
            .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                let id: String = r.get(0);
                KeyId::parse(&id).ok_or_else(|| rows::corrupt("key id"))
            })
            .collect()
    }

    fn get_alias(&self, name: &AliasName) -> Result<Option<AliasRecord>> {
        let sql = format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE name = $1");
        let row = self.client()?.query_opt(&sql, &[&name.as_str()]).map_err(db_error)?;
        row.as_ref().map(alias_row).transpose()
    }

    fn create_alias(&self, alias: &AliasRecord) -> Result<()> {
        self.write_alias(
            alias,
            &format!("INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING"),
            rows::alias_exists,
        )
    }

    fn put_alias(&self, alias: &AliasRecord) -> Result<()> {
        self.write_alias(
            alias,
            "UPDATE aliases SET target = $2, creation_date = $3, last_updated = $4, mac = $5 WHERE name = $1",
            rows::alias_missing,
        )
    }

    fn delete_alias(&self, name: &AliasName) -> Result<()> {
        self.write(|tx| {
            if tx.execute("DELETE FROM aliases WHERE name = $1", &[&name.as_str()]).map_err(db_error)? == 0 {
                return Err(rows::alias_missing(name));
            }
            record_change(tx, &Change::Alias(name.clone()))
        })
    }

    fn list_aliases(&self) -> Result<Vec<AliasRecord>> {
        read_aliases(&mut *self.client()?)
    }

    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let row = self.client()?.query_opt("SELECT value FROM meta WHERE name = $1", &[&name]).map_err(db_error)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn init_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &value],
            )
            .map_err(db_error)?;
            Ok(tx.query_one("SELECT value FROM meta WHERE name = $1", &[&name]).map_err(db_error)?.get(0))
        })
    }

    fn reseal_all(&self, reseal: &mut dyn Reseal, root_check: &[u8], meta: &[(&str, &[u8])]) -> Result<()> {
        self.write(|tx| {
            check_root(stored_root_check(tx)?.as_deref(), root_check)?;
            let ids: Vec<String> = tx
                .query("SELECT id FROM keys ORDER BY id COLLATE \"C\"", &[])
                .map_err(db_error)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            for id in &ids {
                let Some(mut record) = read_key(tx, id)? else { continue };
                reseal.key(&mut record)?;
                for v in record.versions.iter().map(VersionRow::from_version) {
                    tx.execute(
                        "UPDATE key_versions SET wrapped = $3 WHERE key_id = $1 AND number = $2",
                        &[id, &v.number, &v.wrapped],
                    )
                    .map_err(db_error)?;
                }
                tx.execute("UPDATE keys SET mac = $2 WHERE id = $1", &[id, &record.mac]).map_err(db_error)?;
            }
            for mut alias in read_aliases(tx)? {
                reseal.alias(&mut alias)?;
                tx.execute("UPDATE aliases SET mac = $2 WHERE name = $1", &[&alias.name.as_str(), &alias.mac])
                    .map_err(db_error)?;
            }
            for (name, value) in meta {
                tx.execute(
                    "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                    &[name, value],
                )
                .map_err(db_error)?;
            }
            Ok(())
        })
    }

    fn append_audit(&self, events: &[AuditRow]) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db_error)?;
        let stmt = tx
            .prepare("INSERT INTO audit (time, operation, key_arn, error, event) VALUES ($1, $2, $3, $4, $5)")
            .map_err(db_error)?;
        for e in events {
            tx.execute(&stmt, &[&e.time, &e.operation, &e.key_arn, &e.error, &e.event]).map_err(db_error)?;
        }
        tx.commit().map_err(db_error)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn change_cursor(&self) -> Result<u64> {
        let seq: i64 =
            self.client()?.query_one("SELECT COALESCE(MAX(seq), 0) FROM changes", &[]).map_err(db_error)?.get(0);
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    fn changes_since(&self, cursor: u64) -> Result<Changes> {
        let after = i64::try_from(cursor).unwrap_or(i64::MAX);
        let (first, rows) = self.read(|tx| {
            let first: Option<i64> = tx.query_one("SELECT MIN(seq) FROM changes", &[]).map_err(db_error)?.get(0);
            let rows = tx
                .query("SELECT seq, kind, name FROM changes WHERE seq > $1 ORDER BY seq", &[&after])
                .map_err(db_error)?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            Ok((first, rows))
        })?;
        changes_from(cursor, first, rows)
    }

    fn check_integrity(&self) -> Result<()> {
        self.read(|tx| {
            let dangling: i64 = tx
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM key_versions v WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.id = \
                 v.key_id)) + (SELECT COUNT(*) FROM aliases a WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.id = \
                 a.target))",
                    &[],
                )
                .map_err(db_error)?
                .get(0);
            if dangling != 0 {
                return Err(Error::Internal(format!("PostgreSQL keystore has {dangling} dangling rows")));
            }
            let ids: Vec<String> =
                tx.query("SELECT id FROM keys", &[]).map_err(db_error)?.iter().map(|r| r.get(0)).collect();
            for id in ids {
                if let Some(record) = read_key(tx, &id)? {
                    check_record(&record)?;
                }
            }
            Ok(())
        })
    }
}
