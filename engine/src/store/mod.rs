//! The keystore: where keys, their wrapped versions and aliases live.
//!
//! [`Store`] is the seam between the engine and durable storage. The engine keeps a cache of
//! what it reads, so a store is called on management operations and on a cache miss, never
//! on the hot path of Encrypt and Decrypt. Key material reaches a store only wrapped under
//! the root key ([`KeyVersion::wrapped`](crate::key::KeyVersion)); metadata, policies, tags
//! and aliases are stored in the clear.
//!
//! Backends:
//! - [`MemoryStore`]: tests and ephemeral use, gone with the process.
//! - [`SqliteStore`] (feature `sqlite`, on by default): the embedded default, one database
//!   file in WAL mode with `synchronous=FULL`, so a committed change survives a crash of the
//!   process or of the machine.
//! - [`PostgresStore`] (feature `postgres`, on by default): one database shared by several
//!   engine processes on one or several machines, over TLS as the URL's `sslmode` says
//!   (`verify-full` by default for a host that is not loopback; see [`PostgresStore::connect`]).
//!
//! Every backend implements the same contract:
//!
//! - [`Store::put_key`] is a compare-and-set on [`KeyRecord::revision`]: it writes only if
//!   the stored revision is still `expected` (0 for a new key), atomically with every row the
//!   record spans (a rotation adds a version and moves the current pointer together).
//! - [`Store::delete_key`] removes the key, all its versions and all aliases pointing to it
//!   in one step.
//! - [`Store::create_alias`] fails if the name exists; [`Store::put_alias`] replaces.
//! - Every change is also appended to a change feed ([`Store::changes_since`]) in the same
//!   transaction, in commit order, so engines sharing the store can refresh their caches.
//! - [`Store::rewrap_all`] replaces every version's wrapped material in one transaction (root
//!   key rotation).
//!
//! The SQL backends share one schema, versioned by the `schema_migrations` table and brought
//! up to date at open (see `MIGRATIONS` in each backend).

use std::collections::BTreeMap;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::id::{AliasName, KeyId};
use crate::key::{AliasRecord, KeyRecord};

#[cfg(feature = "postgres")]
mod pg_tls;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod rows;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// One entry of the change feed: something another engine may hold in its cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The key (its record, versions or state) changed or was deleted.
    Key(KeyId),
    /// The alias was created, repointed or deleted.
    Alias(AliasName),
}

/// What [`Store::changes_since`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The cursor to pass next time.
    pub cursor: u64,
    /// The changes after the given cursor, oldest first.
    pub changes: Vec<Change>,
    /// `false` when the feed no longer reaches back to the given cursor (old entries are
    /// pruned): the caller must then drop everything it cached.
    pub complete: bool,
}

/// The name of the store metadata entry that proves which root key wraps the store's material.
pub const META_ROOT_CHECK: &str = "root_key_check";
/// The name of the store metadata entry holding the passphrase KDF's salt and iterations.
pub const META_ROOT_KDF: &str = "root_key_kdf";

/// One audit event as the store's `audit` table keeps it: a few columns to query by, and the
/// whole event as JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// When the operation ran, milliseconds since the Unix epoch.
    pub time: i64,
    /// The operation name.
    pub operation: String,
    /// The key's ARN, when the operation used one.
    pub key_arn: Option<String>,
    /// The AWS exception name, when the operation failed.
    pub error: Option<String>,
    /// The whole event as a JSON object.
    pub event: String,
}

/// Rewraps one version's material: `(key id, version, wrapped) → wrapped again`.
pub type Rewrap<'a> = dyn FnMut(&KeyId, u32, &[u8]) -> Result<Vec<u8>> + 'a;

/// The storage contract every backend implements.
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and errors (`"memory"`, `"sqlite"`, …).
    fn backend_name(&self) -> &'static str;

    /// The key with this id.
    fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>>;

    /// Writes `record` if the stored revision equals `expected` (0: the key must not exist)
    /// and the store's root key check value ([`META_ROOT_CHECK`]) is still `root_check`, the one
    /// the writing engine verified (so no engine writes material wrapped under a root key that
    /// another engine has rotated away). On a revision mismatch returns `ConflictException`;
    /// on a check value mismatch, [`root_key_rotated`]'s error.
    fn put_key(&self, record: &KeyRecord, expected: u64, root_check: &[u8]) -> Result<()>;

    /// Deletes a key, its versions and the aliases pointing to it. Deleting a missing key is
    /// not an error.
    fn delete_key(&self, id: &KeyId) -> Result<()>;

    /// Up to `limit` key ids greater than `after`, in ascending order.
    fn list_keys(&self, after: Option<&KeyId>, limit: usize) -> Result<Vec<KeyId>>;

    /// The alias with this name.
    fn get_alias(&self, name: &AliasName) -> Result<Option<AliasRecord>>;

    /// Creates an alias; `AlreadyExistsException` if the name is taken.
    fn create_alias(&self, alias: &AliasRecord) -> Result<()>;

    /// Replaces an existing alias; `NotFoundException` if it does not exist.
    fn put_alias(&self, alias: &AliasRecord) -> Result<()>;

    /// Deletes an alias; `NotFoundException` if it does not exist.
    fn delete_alias(&self, name: &AliasName) -> Result<()>;

    /// Every alias, ordered by name.
    fn list_aliases(&self) -> Result<Vec<AliasRecord>>;

    /// A store metadata value.
    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>>;

    /// Sets a metadata value unless one is already stored, and returns the stored value (the
    /// one given, or the earlier one). Used at first open, so two engines opening a new store
    /// at once agree on one value.
    fn init_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>>;

    /// Replaces every version's wrapped material with `rewrap`'s result and sets the metadata
    /// values `meta`, all in one transaction: either everything is rewrapped
    /// or nothing changes. Returns how many versions were rewrapped.
    fn rewrap_all(&self, rewrap: &mut Rewrap<'_>, meta: &[(&str, &[u8])]) -> Result<u64>;

    /// Appends audit events to the store's `audit` table, in one transaction.
    fn append_audit(&self, events: &[AuditRow]) -> Result<()>;

    /// Whether other processes may change this store (the engine then polls
    /// [`Store::changes_since`]).
    fn is_shared(&self) -> bool {
        false
    }

    /// The cursor of the newest change.
    fn change_cursor(&self) -> Result<u64> {
        Ok(0)
    }

    /// The changes committed after `cursor`, in commit order.
    fn changes_since(&self, cursor: u64) -> Result<Changes> {
        Ok(Changes { cursor, changes: Vec::new(), complete: true })
    }

    /// Checks the store's integrity: the backend's own check, then that every key's versions
    /// run 1..=n with the current one among them and every alias points to a key.
    fn check_integrity(&self) -> Result<()>;
}

/// The error of a write by an engine whose root key another engine has rotated away.
pub fn root_key_rotated() -> Error {
    Error::Internal(
        "The keystore's root key was rotated by another engine; reopen this engine with the new root key".into(),
    )
}

/// Checks `root_check` against the stored check value (see [`Store::put_key`]). A store with no
/// check value yet accepts any.
pub(crate) fn check_root(stored: Option<&[u8]>, root_check: &[u8]) -> Result<()> {
    match stored {
        Some(stored) if stored != root_check => Err(root_key_rotated()),
        _ => Ok(()),
    }
}

/// Checks the engine-level invariants of one record (see [`Store::check_integrity`]).
pub(crate) fn check_record(record: &KeyRecord) -> Result<()> {
    let numbered = record.versions.iter().enumerate().all(|(i, v)| usize::try_from(v.number).is_ok_and(|n| n == i + 1));
    if !numbered || record.version(record.current_version).is_none() {
        return Err(Error::Internal(format!("Key {} has inconsistent versions in the store", record.id)));
    }
    Ok(())
}

/// A store that lives in process memory and is gone when dropped.
#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    keys: BTreeMap<KeyId, KeyRecord>,
    aliases: BTreeMap<AliasName, AliasRecord>,
    meta: BTreeMap<String, Vec<u8>>,
    audit: Vec<AuditRow>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The audit rows appended so far.
    pub fn audit_rows(&self) -> Vec<AuditRow> {
        self.inner.read().audit.clone()
    }
}

impl Store for MemoryStore {
    fn backend_name(&self) -> &'static str {
        "memory"
    }

    fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        Ok(self.inner.read().keys.get(id).cloned())
    }

    fn put_key(&self, record: &KeyRecord, expected: u64, root_check: &[u8]) -> Result<()> {
        let mut inner = self.inner.write();
        check_root(inner.meta.get(META_ROOT_CHECK).map(Vec::as_slice), root_check)?;
        let stored = inner.keys.get(&record.id).map_or(0, |r| r.revision);
        if stored != expected {
            return Err(Error::Conflict(format!(
                "Key '{}' was changed concurrently (revision {stored}, expected {expected})",
                record.id
            )));
        }
        inner.keys.insert(record.id, record.clone());
        Ok(())
    }

    fn delete_key(&self, id: &KeyId) -> Result<()> {
        let mut inner = self.inner.write();
        inner.keys.remove(id);
        inner.aliases.retain(|_, a| a.target != *id);
        Ok(())
    }

    fn list_keys(&self, after: Option<&KeyId>, limit: usize) -> Result<Vec<KeyId>> {
        let inner = self.inner.read();
        let iter: Box<dyn Iterator<Item = &KeyId>> = match after {
            Some(a) => {
                Box::new(inner.keys.range((std::ops::Bound::Excluded(*a), std::ops::Bound::Unbounded)).map(|(k, _)| k))
            }
            None => Box::new(inner.keys.keys()),
        };
        Ok(iter.take(limit).copied().collect())
    }

    fn get_alias(&self, name: &AliasName) -> Result<Option<AliasRecord>> {
        Ok(self.inner.read().aliases.get(name).cloned())
    }

    fn create_alias(&self, alias: &AliasRecord) -> Result<()> {
        let mut inner = self.inner.write();
        if inner.aliases.contains_key(&alias.name) {
            return Err(Error::AlreadyExists(format!("An alias with the name {} already exists", alias.name)));
        }
        inner.aliases.insert(alias.name.clone(), alias.clone());
        Ok(())
    }

    fn put_alias(&self, alias: &AliasRecord) -> Result<()> {
        let mut inner = self.inner.write();
        match inner.aliases.get_mut(&alias.name) {
            Some(slot) => {
                *slot = alias.clone();
                Ok(())
            }
            None => Err(Error::NotFound(format!("Alias {} is not found.", alias.name))),
        }
    }

    fn delete_alias(&self, name: &AliasName) -> Result<()> {
        let mut inner = self.inner.write();
        match inner.aliases.remove(name) {
            Some(_) => Ok(()),
            None => Err(Error::NotFound(format!("Alias {name} is not found."))),
        }
    }

    fn list_aliases(&self) -> Result<Vec<AliasRecord>> {
        Ok(self.inner.read().aliases.values().cloned().collect())
    }

    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.read().meta.get(name).cloned())
    }

    fn init_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        Ok(self.inner.write().meta.entry(name.to_owned()).or_insert_with(|| value.to_vec()).clone())
    }

    fn rewrap_all(&self, rewrap: &mut Rewrap<'_>, meta: &[(&str, &[u8])]) -> Result<u64> {
        let mut inner = self.inner.write();
        let mut keys = inner.keys.clone();
        let mut count = 0;
        for record in keys.values_mut() {
            for version in &mut record.versions {
                version.wrapped = rewrap(&record.id, version.number, &version.wrapped)?;
                count += 1;
            }
        }
        inner.keys = keys;
        for (name, value) in meta {
            inner.meta.insert((*name).to_owned(), value.to_vec());
        }
        Ok(count)
    }

    fn append_audit(&self, events: &[AuditRow]) -> Result<()> {
        self.inner.write().audit.extend_from_slice(events);
        Ok(())
    }

    fn check_integrity(&self) -> Result<()> {
        let inner = self.inner.read();
        inner.keys.values().try_for_each(check_record)?;
        match inner.aliases.values().find(|a| !inner.keys.contains_key(&a.target)) {
            Some(a) => Err(Error::Internal(format!("Alias {} points to a missing key", a.name))),
            None => Ok(()),
        }
    }
}
