//! The keystore: where keys, their wrapped versions and aliases live.
//!
//! [`Store`] is the seam between the engine and durable storage. The engine keeps a cache of
//! what it reads, so a store is called on management operations and on a cache miss, never
//! on the hot path of Encrypt and Decrypt. Key material reaches a store only wrapped under
//! the root key ([`KeyVersion::wrapped`](crate::key::KeyVersion)).
//!
//! Backends: [`MemoryStore`] here (tests, ephemeral use); SQLite and PostgreSQL arrive with
//! their own issue and implement the same contract:
//!
//! - [`Store::put_key`] is a compare-and-set on [`KeyRecord::revision`]: it writes only if
//!   the stored revision is still `expected` (0 for a new key), atomically with every row the
//!   record spans (a rotation adds a version and moves the current pointer together).
//! - [`Store::delete_key`] removes the key, all its versions and all aliases pointing to it
//!   in one step.
//! - [`Store::create_alias`] fails if the name exists; [`Store::put_alias`] replaces.

use std::collections::BTreeMap;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::id::{AliasName, KeyId};
use crate::key::{AliasRecord, KeyRecord};

/// The storage contract every backend implements.
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and errors (`"memory"`, `"sqlite"`, …).
    fn backend_name(&self) -> &'static str;

    /// The key with this id.
    fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>>;

    /// Writes `record` if the stored revision equals `expected` (0: the key must not exist).
    /// On a mismatch returns `ConflictException`.
    fn put_key(&self, record: &KeyRecord, expected: u64) -> Result<()>;

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
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn backend_name(&self) -> &'static str {
        "memory"
    }

    fn get_key(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        Ok(self.inner.read().keys.get(id).cloned())
    }

    fn put_key(&self, record: &KeyRecord, expected: u64) -> Result<()> {
        let mut inner = self.inner.write();
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
}
