//! The keystore: where keys, their wrapped versions and aliases live.
//!
//! [`Store`] is the seam between the engine and durable storage. The engine keeps a cache of
//! what it reads, so a store is called on management operations and on a cache miss, never
//! on the hot path of Encrypt and Decrypt. Key material reaches a store only wrapped under
//! the root key ([`KeyVersion::wrapped`](crate::key::KeyVersion)); metadata, policies, tags
//! and aliases are stored in the clear but authenticated (below).
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
//!   in one step, and is a compare-and-set too: only the revision the engine decided to delete,
//!   and only while it is pending deletion.
//! - [`Store::create_alias`] fails if the name exists; [`Store::put_alias`] replaces.
//! - Every change is also appended to a change feed ([`Store::changes_since`]) in the same
//!   transaction, in commit order, so engines sharing the store can refresh their caches.
//! - [`Store::reseal_all`] rewrites every record's wrapped material and MAC in one transaction
//!   (root key rotation; the first open of a store made before records carried MACs).
//!
//! The SQL backends share one schema, versioned by the `schema_migrations` table and brought
//! up to date at open (see `MIGRATIONS` in each backend).
//!
//! # Authenticated records
//!
//! So that write access to the database alone cannot change what the engine does with a key
//! (enable a disabled key, cancel a deletion, roll back the current version, drop a version,
//! change the policy, repoint an alias), every key record and alias record carries a MAC
//! ([`KeyRecord::mac`], [`AliasRecord::mac`]). The engine computes it before every write and
//! checks it after every read of a record from the store: a cache miss, a refresh from the
//! change feed, the re-read after a lost compare-and-set or a refused deletion, root key
//! rotation, alias lookups and listings, maintenance and `Kms::check_store_integrity`. A store
//! keeps the MAC as given and never checks it (it has no key). A record that fails is never
//! used: every operation that reads it fails with `KMSInternalException` naming the key or alias
//! and saying that its keystore record failed authentication (it was changed outside Trent);
//! `Kms::check_store_integrity` names every such record. Records the engine holds in its cache
//! are not checked again: Encrypt and Decrypt on a cached key pay nothing for this.
//!
//! - **The key**: HMAC-SHA256 under `HKDF-SHA256(salt = empty, IKM = the root key, info =
//!   "trent record mac v1")`, derived when the root key is loaded and kept in locked memory
//!   beside it. A root key rotation ([`Store::reseal_all`]) checks every record under the old
//!   key and MACs it under the new one in the transaction that rewraps the material; a record
//!   that fails stops the rotation, and nothing changes.
//! - **What it covers**: a canonical, length-prefixed encoding (integers as 8 big-endian bytes;
//!   strings and byte strings as an 8-byte big-endian length and the bytes; an absent optional
//!   as a 0 byte, a present one as a 1 byte and the value; lists and maps as a count and their
//!   items in order) of a label and every field. A key record: `"trent key record v1"`, the id
//!   (text form), revision, creation date, state, description, usage, spec, origin, manager,
//!   multi-Region flag, deletion date, waiting period, policy, tags (in key order), rotation
//!   schedule (enabled, period, next date, on-demand count), current version, and every version
//!   (number, KeyMaterialId, wrapped material, creation date, rotation type). An alias record:
//!   `"trent alias record v1"`, the name, target key id, creation date and last update. So a
//!   changed field, a row copied under another id or name, a version row removed, added or
//!   replaced, a MAC removed, all fail.
//! - **What it cannot catch**: a whole record deleted (a key row with its versions, an alias
//!   row): the key or alias is then missing, as if deleted. An older copy of a record that was
//!   valid once, put back (one row restored from a backup, a rolled-back revision): its MAC is
//!   valid. An engine that holds a newer revision of the key never takes the older one (a
//!   refresh keeps its own; a change it makes fails, saying the record was rolled back), but an
//!   engine that reads the key for the first time uses it. Aliases have no revision, so an
//!   older alias row put back is taken as it is. Change feed entries are not authenticated;
//!   they only say what to re-read.
//! - **Stores made before records carried MACs** (schema version 2 and older): their rows have
//!   no MAC (`NULL` in the `mac` columns migration 3 adds), and their root key check value is
//!   sealed with an older AAD. The first open by an engine with the right root key, which that
//!   check value proves, MACs every record as it then is and replaces the check value with one
//!   of the new form, in one [`Store::reseal_all`] transaction; from then on a record without a
//!   MAC fails like any other. A store whose check value has the new form is never upgraded
//!   again, and one whose check value is missing is taken for a new store (which has nothing to
//!   upgrade), so deleting MACs or the check value gains nothing. Putting back a check value of
//!   the older form saved before the upgrade would have the next open MAC the records as they
//!   then are: keep backups of a store as safe as the store. An older Trent cannot open an
//!   upgraded store (its schema is newer), and one still running on the store when it is
//!   upgraded can no longer change keys (the check value it verified is gone), while an alias
//!   it creates or repoints is refused as unauthenticated: stop older engines before the
//!   upgrade.

use std::collections::BTreeMap;
use std::fmt;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::id::{AliasName, KeyId};
use crate::key::{AliasRecord, KeyRecord, KeyState};

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

/// What [`Store::reseal_all`] does to every record: the engine's part of a root key rotation
/// (rewrap each version's material and re-MAC the record under the new root key) or of the
/// first open of a store made before records carried MACs (MAC them).
pub trait Reseal {
    /// Reseals one key record, read whole in the store's transaction. It may change only the
    /// versions' [`wrapped`](crate::key::KeyVersion::wrapped) material and the record's
    /// [`mac`](KeyRecord::mac); a backend writes back only those. An error aborts everything.
    fn key(&mut self, record: &mut KeyRecord) -> Result<()>;

    /// Reseals one alias record; it may change only its [`mac`](AliasRecord::mac).
    fn alias(&mut self, alias: &mut AliasRecord) -> Result<()>;
}

/// The storage contract every backend implements.
///
/// Records go in and come out whole, their [`KeyRecord::mac`] and [`AliasRecord::mac`]
/// included, exactly as given: a store never computes or checks a MAC (see "Authenticated
/// records" above; the engine does both).
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

    /// Deletes a key, its versions and the aliases pointing to it, in one transaction, if the
    /// stored key is still at revision `expected` and pending deletion; otherwise returns
    /// `ConflictException` and changes nothing. So a change another engine committed after this
    /// engine decided to delete (a CancelKeyDeletion) is never undone. Deleting a missing key is
    /// not an error.
    fn delete_key(&self, id: &KeyId, expected: u64) -> Result<()>;

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

    /// Passes every key record and every alias record through `reseal`, writes back what it
    /// changed (wrapped material, MACs) and sets the metadata values `meta`, all in one
    /// transaction, if the store's root key check value ([`META_ROOT_CHECK`]) is still
    /// `root_check` ([`root_key_rotated`]'s error otherwise): either every record is resealed or
    /// nothing changes. Root key rotation and the authentication of records made before they
    /// carried MACs use it.
    fn reseal_all(&self, reseal: &mut dyn Reseal, root_check: &[u8], meta: &[(&str, &[u8])]) -> Result<()>;

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

/// The error of a [`Store::delete_key`] that found the key changed (stored revision `stored`, or
/// no longer pending deletion).
pub(crate) fn deletion_conflict(id: &KeyId, stored: impl fmt::Display, expected: u64) -> Error {
    Error::Conflict(format!(
        "Key '{id}' was changed concurrently and is not deleted (revision {stored}, expected {expected} pending deletion)"
    ))
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

    fn delete_key(&self, id: &KeyId, expected: u64) -> Result<()> {
        let mut inner = self.inner.write();
        match inner.keys.get(id) {
            None => return Ok(()),
            Some(r) if r.revision == expected && r.state == KeyState::PendingDeletion => {}
            Some(r) => return Err(deletion_conflict(id, r.revision, expected)),
        }
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

    fn reseal_all(&self, reseal: &mut dyn Reseal, root_check: &[u8], meta: &[(&str, &[u8])]) -> Result<()> {
        let mut inner = self.inner.write();
        check_root(inner.meta.get(META_ROOT_CHECK).map(Vec::as_slice), root_check)?;
        let mut keys = inner.keys.clone();
        keys.values_mut().try_for_each(|record| reseal.key(record))?;
        let mut aliases = inner.aliases.clone();
        aliases.values_mut().try_for_each(|alias| reseal.alias(alias))?;
        (inner.keys, inner.aliases) = (keys, aliases);
        for (name, value) in meta {
            inner.meta.insert((*name).to_owned(), value.to_vec());
        }
        Ok(())
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
