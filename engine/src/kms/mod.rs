//! The engine handle, [`Kms`]: one method per AWS KMS operation, plus batch methods.
//!
//! Every operation takes the [`Caller`] first. Until key policies are evaluated, the
//! account's root principal (`arn:aws:iam::<account>:root`) may do everything, and every
//! other principal gets `AccessDeniedException`.
//!
//! # Inside
//!
//! Keys are cached in a table of 64 shards, each an immutable map swapped whole when a key
//! is added or removed. The hot path (parse the key id, find the key, check state and
//! permission, reserve a counter, seal) takes no lock and touches no shared reference count:
//! it reads the shard, then the key's snapshot (its metadata and its current hot version),
//! then the calling thread's writer, each through an `arc-swap` guard, and borrows them for
//! the length of the operation. Management operations are serialized by one mutex, write the
//! keystore ([`crate::store::Store`]) first and then publish a new snapshot. The clock is read
//! only when a key has something scheduled (a deletion or a rotation date).
//!
//! Versions of key material in use are kept unwrapped in locked memory ("hot"); at most
//! [`KmsBuilder::max_hot_versions`] of them, the least recently used evicted (zeroed) first
//! and unwrapped again from the store's wrapped copy when next needed.
//!
//! The parts, by job: this module holds the handle, its shared state (`Inner`), the
//! authenticated reads of the keystore, authorization and auditing; `builder` opens an
//! engine ([`KmsBuilder`], [`OpenError`]); `caller` is the [`Caller`]; `cache` the key table
//! and the alias cache; `maintenance` what the clock makes due; `crypto_ops` and `batch` the
//! cryptographic operations; `lifecycle` the management operations; `material` the root key,
//! hot versions and writers; `record_mac` the keystore records' MACs; `root` the root key's
//! sources; `refresh` the polling of a shared keystore; `types` the request and response
//! shapes and `json` their wire form.

mod batch;
mod builder;
mod cache;
mod caller;
mod crypto_ops;
mod lifecycle;
mod maintenance;
mod material;
mod record_mac;
mod refresh;
mod root;
mod types;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::audit::{AuditEvent, AuditSink, RequestId, SharedStr};
use crate::clock::{Clock, Timestamp};
use crate::context::EncryptionContext;
use crate::crypto;
use crate::error::{Error, Result};
use crate::id::{self, AccountId, AliasName, IdForms, IdScope, KeyId, KeyRef, Region};
use crate::key::{AliasRecord, KeyRecord, KeyState};
use crate::secret::{Arena, SecretError, fork};
use crate::store::Store;

pub use crate::wire::JSON_OPERATIONS;
pub use builder::{
    DATA_DIR_DATABASE, DATA_DIR_ROOT_KEY, DEFAULT_REFRESH_INTERVAL, KmsBuilder, MIN_MESSAGES_PER_SALT, OpenError,
};
use cache::{KeyTable, LiveKey};
pub use caller::Caller;
pub use crypto_ops::{ciphertext_len, plaintext_len_max};
use material::{HotVersions, RootKey};
pub use root::{MIN_PASSPHRASE_ITERATIONS, RootKeySource};
pub use types::*;

/// A Trent engine: cheap to clone (clones share everything), `Send` and `Sync`.
///
/// # `fork()`
///
/// An engine belongs to the process that opened it. In a `fork()`ed child (Python's
/// `multiprocessing` with the fork start method, gunicorn `--preload`, Celery's prefork pool,
/// a C program's `fork()`), every operation of an engine inherited from the parent fails with
/// `KMSInternalException` ("… cannot be used in process …, a fork() child of it …"): the
/// child has none of the engine's threads, must not share its keystore connection, may hold
/// its locks as a vanished parent thread left them, and would otherwise continue its nonce
/// counters, sealing different messages under the same sub-key and nonce as the parent. Open
/// a new engine in the child: on the same SQLite file or PostgreSQL database it sees the same
/// keys. Dropping the inherited engine in the child is safe and does nothing to the parent's
/// keystore, audit log or threads: the child leaks its copy rather than closing connections
/// or joining threads that are the parent's.
#[derive(Clone)]
pub struct Kms {
    inner: Arc<Inner>,
}

impl Drop for Kms {
    fn drop(&mut self) {
        if self.inner.check_process().is_err() {
            // In a fork()ed child: the engine's destructors would close the parent's keystore
            // connection (SQLite may checkpoint and delete its WAL; PostgreSQL's Terminate would
            // end the parent's session), join threads that do not exist here and take locks a
            // vanished thread may hold. Keep the copy instead: one more reference, never
            // dropped in this process, held where leak checkers (valgrind) see it kept rather
            // than lost. `try_lock`: a lock a vanished thread held is never waited for.
            match INHERITED.try_lock() {
                Ok(mut kept) => kept.push(Arc::clone(&self.inner)),
                Err(_) => std::mem::forget(Arc::clone(&self.inner)),
            }
        }
    }
}

/// Engines inherited across `fork()` whose last handle was dropped in this process: kept, never
/// dropped here (see `Drop for Kms`).
static INHERITED: std::sync::Mutex<Vec<Arc<Inner>>> = std::sync::Mutex::new(Vec::new());

impl fmt::Debug for Kms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kms")
            .field("region", &self.inner.region)
            .field("account", &self.inner.account)
            .field("store", &self.inner.store.backend_name())
            .field("provider", &crypto::provider_name())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    region: Region,
    account: AccountId,
    root_arn: Arc<str>,
    clock: Arc<dyn Clock>,
    store: Arc<dyn Store>,
    audit: Arc<dyn AuditSink>,
    audit_enabled: bool,
    /// The Region and account as audit events carry them (interned: a clone copies a pointer).
    audit_region: SharedStr,
    audit_account: SharedStr,
    /// The root principal, interned: a caller's principal in an event is a shared count that
    /// the writer thread drops, except for the root's, the common case, which is free.
    audit_root: SharedStr,
    arena: Arena,
    /// Swapped by a root key rotation.
    root: RwLock<RootKey>,
    /// The store's root key check value this engine verified (see [`Store::put_key`]).
    root_check: RwLock<Vec<u8>>,
    hot: HotVersions,
    /// Cache of the store's keys.
    keys: KeyTable,
    /// Cache of the store's aliases.
    aliases: RwLock<HashMap<AliasName, KeyId>>,
    /// Bumped by every change to the alias cache ([`Inner::change_aliases`]), so that a cache
    /// fill from an older read of the store never overwrites a newer change.
    alias_epoch: AtomicU64,
    /// Serializes management operations.
    admin: Mutex<()>,
    /// The newest entry of the store's change feed this engine has applied.
    change_cursor: AtomicU64,
    /// The thread polling a shared store's change feed, if any.
    refresher: refresh::Refresher,
    /// Polls of the change feed that thread completed.
    polls: AtomicU64,
    /// Keys whose due rotation or deletion failed on the hot path, for the refresh thread to
    /// retry (see [`Inner::postpone_due`]).
    overdue: Mutex<std::collections::HashSet<KeyId>>,
    messages_per_salt: u64,
    request_prefix: u64,
    request_counter: AtomicU64,
    /// The [`fork::generation`] of the process that opened the engine: a `fork()`ed child
    /// has another, and the engine refuses to work there (see [`Inner::check_process`]).
    generation: u64,
    /// The id of the process that opened the engine, for the error a child gets.
    pid: u32,
}

/// The time of one operation, read from the clock at most once and only if needed.
pub(crate) struct Now<'a> {
    clock: Option<&'a dyn Clock>,
    at: std::cell::Cell<Option<Timestamp>>,
}

impl<'a> Now<'a> {
    fn lazy(clock: &'a dyn Clock) -> Self {
        Self { clock: Some(clock), at: std::cell::Cell::new(None) }
    }

    fn fixed(t: Timestamp) -> Self {
        Self { clock: None, at: std::cell::Cell::new(Some(t)) }
    }

    fn get(&self) -> Timestamp {
        if let Some(t) = self.at.get() {
            return t;
        }
        let t = self.clock.map_or_else(Timestamp::default, |c| c.now());
        self.at.set(Some(t));
        t
    }
}

impl Kms {
    /// The keystore backend's name (`"memory"`, `"sqlite"`, `"postgres"`).
    pub fn store_backend(&self) -> &'static str {
        self.inner.store.backend_name()
    }

    /// Rotates the root key: every version's material is unwrapped with the current root key
    /// and wrapped with the new one, every key and alias record's MAC checked under the current
    /// root key and made again under the new one, and the store's root key check replaced, in
    /// one store transaction, so a crash leaves either the old root key or the new one valid,
    /// never a mix. A record that fails authentication (changed outside Trent) stops the
    /// rotation, named in the error, and nothing changes. Returns the number of versions
    /// rewrapped.
    ///
    /// Other engines sharing the store keep the old root key until they are reopened with the
    /// new one; until then they cannot read records from the store (an operation that must
    /// fails, saying the root key was rotated) or unwrap versions they do not already hold hot.
    pub fn rotate_root_key(&self, new: RootKeySource) -> Result<u64> {
        let inner = &*self.inner;
        inner.check_process()?;
        let _admin = inner.admin.lock();
        let mut new = new;
        let (root, mut meta) = root::new_root(&mut new, &inner.arena)?;
        drop(new);
        let check = root.check_value()?;
        meta.push((crate::store::META_ROOT_CHECK, check.clone()));
        let mut root_guard = inner.root.write();
        let mut rotation = record_mac::Rotation { arena: &inner.arena, old: &root_guard, new: &root, versions: 0 };
        let meta: Vec<(&str, &[u8])> = meta.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        let old_check = inner.root_check.read().clone();
        inner.store.reseal_all(&mut rotation, &old_check, &meta)?;
        let count = rotation.versions;
        *root_guard = root;
        *inner.root_check.write() = check;
        drop(root_guard);
        // The cached records hold the material wrapped, and the MAC made, under the old root key.
        for live in inner.keys.all() {
            match inner.load_key(&live.id) {
                Ok(Some(record)) => live.publish(record),
                _ => inner.forget_key(&live),
            }
        }
        Ok(count)
    }

    /// Waits until the audit sink has stored every event of the operations that returned
    /// before this call (see [`AuditSink::flush`]).
    pub fn flush_audit(&self) -> std::io::Result<()> {
        self.inner.check_process().map_err(|e| std::io::Error::other(e.message().to_owned()))?;
        self.inner.audit.flush()
    }

    /// Checks the keystore's integrity: every key record's and alias record's MAC, then the
    /// backend's own check ([`Store::check_integrity`]). A record that fails authentication (it
    /// was changed outside Trent) is named in the error, `KMSInternalException`.
    pub fn check_store_integrity(&self) -> Result<()> {
        let inner = &*self.inner;
        inner.check_process()?;
        if inner.store.get_meta(crate::store::META_ROOT_CHECK)?.as_deref() != Some(&inner.root_check.read()[..]) {
            return Err(crate::store::root_key_rotated());
        }
        let mut failed = Vec::new();
        let mut after = None;
        loop {
            let page = inner.store.list_keys(after.as_ref(), 1000)?;
            let Some(last) = page.last().copied() else { break };
            for id in &page {
                let record = inner.store.get_key(id)?;
                if record.is_some_and(|r| !inner.root.read().records().check_key(&r)) {
                    failed.push(record_mac::key_failed(id));
                }
            }
            after = Some(last);
        }
        for alias in inner.store.list_aliases()? {
            if !inner.root.read().records().check_alias(&alias) {
                failed.push(record_mac::alias_failed(&alias.name));
            }
        }
        match failed.len() {
            0 => inner.store.check_integrity(),
            1 => Err(failed.remove(0)),
            n => Err(Error::Internal(format!(
                "{n} keystore records failed authentication: {}",
                failed.iter().map(Error::message).collect::<Vec<_>>().join(" ")
            ))),
        }
    }

    /// Applies the changes other engines made to a shared keystore now, instead of waiting for
    /// the next poll (see [`KmsBuilder::refresh_interval`]).
    pub fn refresh_now(&self) -> Result<()> {
        self.inner.check_process()?;
        self.inner.apply_changes()
    }

    /// The engine's Region.
    pub fn region(&self) -> &Region {
        &self.inner.region
    }

    /// The engine's account.
    pub fn account(&self) -> &AccountId {
        &self.inner.account
    }

    /// The root principal of the engine's account.
    pub fn root_caller(&self) -> Caller {
        Caller { principal: self.inner.root_arn.clone(), account: self.inner.account.clone() }
    }

    /// The engine's locked-memory arena (the envelope module keeps its keys there).
    pub(crate) fn arena(&self) -> &Arena {
        &self.inner.arena
    }

    /// The crypto provider in use (`"ring"` or `"aws-lc-rs"`).
    pub fn crypto_provider(&self) -> &'static str {
        crypto::provider_name()
    }

    /// Locked-memory use.
    pub fn locked_memory_stats(&self) -> crate::secret::ArenaStats {
        self.inner.arena.stats()
    }

    /// Whether key material is really in locked memory (false only after opting in to
    /// unlocked memory on a machine that refused to lock).
    pub fn memory_is_locked(&self) -> bool {
        self.inner.arena.is_locked()
    }
}

#[cfg(feature = "test-hooks")]
impl Kms {
    /// TEST ONLY (feature `test-hooks`): how many polls of the keystore's change feed the
    /// refresh thread has completed, so tests wait for polls (progress) rather than for time.
    #[doc(hidden)]
    pub fn test_hook_refresh_polls(&self) -> u64 {
        self.inner.polls.load(Ordering::Acquire)
    }

    /// TEST ONLY (feature `test-hooks`, never in a build that holds real keys): the unwrapped
    /// material of every version of a key, oldest first, so tests can scan stores for it.
    #[doc(hidden)]
    pub fn test_hook_version_material(&self, key_id: &str) -> Result<Vec<Vec<u8>>> {
        let inner = &*self.inner;
        inner.check_process()?;
        let id = inner.key_id_of(key_id, IdForms::Any, "keyId", false)?;
        let record = inner.load_key(&id)?.ok_or_else(|| inner.key_not_found(&id))?;
        let root = inner.root.read();
        record
            .versions
            .iter()
            .map(|v| root.unwrap(&inner.arena, &id, v.number, &v.wrapped).map(|m| m.expose_secret().to_vec()))
            .collect()
    }
}

impl Inner {
    /// Refuses to work in a `fork()`ed child of the process that opened the engine.
    ///
    /// A child has a copy of the engine's memory but none of its threads (the keystore's
    /// refresh thread, the audit writer, rayon's workers), shares its keystore connection
    /// (which must not cross a fork: SQLite's locks and PostgreSQL's protocol state are per
    /// process), may hold its locks in the state some parent thread left them, and would
    /// continue its writers' nonce counters. So every operation in a child fails with
    /// `KMSInternalException` saying to open a new engine there; the nonce reservation checks
    /// the process too ([`material::VersionKeys::reserve`]), so even a path that missed this check could
    /// never repeat a nonce. Costs one relaxed load and a compare.
    #[inline]
    fn check_process(&self) -> Result<()> {
        if fork::generation() == self.generation { Ok(()) } else { Err(self.forked_error()) }
    }

    #[cold]
    fn forked_error(&self) -> Error {
        Error::Internal(format!(
            "This Trent engine was opened in process {} and cannot be used in process {}, a fork() child \
             of it: an engine's threads, keystore connection, audit writer, locks and nonce counters \
             belong to the process that opened it. Open a new engine in the child (after the fork), \
             and drop or forget this one there",
            self.pid,
            std::process::id()
        ))
    }

    fn scope(&self) -> IdScope<'_> {
        IdScope { region: &self.region, account: &self.account }
    }

    fn arn_of(&self, id: &KeyId) -> String {
        id::key_arn(&self.region, &self.account, id)
    }

    /// The key with this id as the store has it, authenticated: a record that fails its MAC is
    /// refused (see `record_mac`). Every read of a key record from the store goes through
    /// here or [`Inner::authenticate_key`].
    fn load_key(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        self.store.get_key(id)?.map(|record| self.authenticate_key(record)).transpose()
    }

    /// `record`, read from the store, if its MAC is valid.
    fn authenticate_key(&self, record: KeyRecord) -> Result<KeyRecord> {
        if self.root.read().records().check_key(&record) {
            return Ok(record);
        }
        Err(self.unauthentic(record_mac::key_failed(&record.id)))
    }

    /// The alias with this name as the store has it, authenticated.
    fn load_alias(&self, name: &AliasName) -> Result<Option<AliasRecord>> {
        let Some(alias) = self.store.get_alias(name)? else { return Ok(None) };
        if self.root.read().records().check_alias(&alias) {
            return Ok(Some(alias));
        }
        Err(self.unauthentic(record_mac::alias_failed(name)))
    }

    /// Every alias the store has, authenticated (one that fails fails the whole list).
    fn load_aliases(&self) -> Result<Vec<AliasRecord>> {
        let aliases = self.store.list_aliases()?;
        let root = self.root.read();
        match aliases.iter().find(|a| !root.records().check_alias(a)) {
            Some(bad) => Err(self.unauthentic(record_mac::alias_failed(&bad.name))),
            None => Ok(aliases),
        }
    }

    /// The error for a record that failed authentication, `failed`, unless the reason is that
    /// another engine rotated the root key (every record is then MACed under a key this engine
    /// does not have).
    fn unauthentic(&self, failed: Error) -> Error {
        match self.store.get_meta(crate::store::META_ROOT_CHECK) {
            Ok(Some(check)) if check != *self.root_check.read() => crate::store::root_key_rotated(),
            _ => failed,
        }
    }

    /// Sets the MAC of a key record about to be written.
    fn seal_key(&self, record: &mut KeyRecord) {
        self.root.read().records().seal_key(record);
    }

    /// Sets the MAC of an alias record about to be written.
    fn seal_alias(&self, mut alias: AliasRecord) -> AliasRecord {
        self.root.read().records().seal_alias(&mut alias);
        alias
    }

    /// Parses a key identifier and resolves aliases to a key id (the key may not exist).
    fn key_id_of(&self, raw: &str, forms: IdForms, field: &str, invalid_arn_listed: bool) -> Result<KeyId> {
        match KeyRef::parse(raw, forms, &self.scope(), field, invalid_arn_listed)? {
            KeyRef::Id(id) | KeyRef::Arn(id) => Ok(id),
            KeyRef::Alias(alias) => match self.alias_target(&alias)? {
                Some(id) => Ok(id),
                None => Err(id::alias_not_found_name(raw, &self.scope())),
            },
        }
    }

    /// Resolves a key identifier to a live key.
    fn resolve(
        &self,
        raw: &str,
        forms: IdForms,
        field: &str,
        invalid_arn_listed: bool,
        now: &Now<'_>,
    ) -> Result<Arc<LiveKey>> {
        let id = self.key_id_of(raw, forms, field, invalid_arn_listed)?;
        match self.live_key(&id, now)? {
            Some(live) => Ok(live),
            None => Err(self.key_not_found(&id)),
        }
    }

    fn key_not_found(&self, id: &KeyId) -> Error {
        Error::NotFound(format!("Key '{}' does not exist", self.arn_of(id)))
    }

    /// Allows the account's root principal, denies everyone else (key policies come later).
    fn authorize(&self, caller: &Caller, action: &str, resource: &str) -> Result<()> {
        if *caller.principal == *self.root_arn {
            return Ok(());
        }
        Err(Error::AccessDenied(format!(
            "User: {} is not authorized to perform: kms:{action} on resource: {resource} because no resource-based policy allows the kms:{action} action",
            caller.principal
        )))
    }

    fn next_request_id(&self) -> RequestId {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        RequestId::from_u64_pair(self.request_prefix, n)
    }

    /// Runs `op` and reports it to the audit sink.
    fn audited<T>(
        &self,
        caller: &Caller,
        operation: &'static str,
        op: impl FnOnce(&mut AuditNote) -> Result<T>,
    ) -> Result<T> {
        // Before anything else: in a fork()ed child nothing of this engine may be touched,
        // the audit sink included (its writer thread is the parent's).
        self.check_process()?;
        let mut note = AuditNote { enabled: self.audit_enabled, ..AuditNote::default() };
        let result = op(&mut note);
        if self.audit_enabled {
            self.audit.record(AuditEvent {
                time: self.clock.now(),
                region: self.audit_region.clone(),
                account: self.audit_account.clone(),
                caller: if *caller.principal == *self.root_arn {
                    self.audit_root.clone()
                } else {
                    SharedStr::from(&caller.principal)
                },
                operation,
                key_arn: note.key_arn.map(SharedStr::from),
                key_version: note.key_version,
                encryption_context: note.context,
                request_id: self.next_request_id(),
                error: result.as_ref().err().map(Error::name),
            });
        }
        result
    }
}

/// What an operation tells the audit trail about itself. Setters do nothing when auditing is
/// off, so the hot path pays nothing for them.
#[derive(Default)]
pub(crate) struct AuditNote {
    enabled: bool,
    key_arn: Option<Arc<str>>,
    key_version: Option<u32>,
    context: Option<EncryptionContext>,
}

impl AuditNote {
    fn key(&mut self, live: &LiveKey) {
        if self.enabled {
            self.key_arn = Some(live.arn.clone());
        }
    }

    fn version(&mut self, version: u32) {
        if self.enabled {
            self.key_version = Some(version);
        }
    }

    fn context(&mut self, ctx: &EncryptionContext) {
        if self.enabled && !ctx.is_empty() {
            self.context = Some(ctx.clone());
        }
    }
}

/// Checks that a key's state allows cryptographic operations and changes to its rotation:
/// Enabled only.
fn check_usable(live: &LiveKey, record: &KeyRecord) -> Result<()> {
    match record.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(Error::Disabled(format!("{} is disabled.", live.arn))),
        KeyState::PendingDeletion => Err(Error::InvalidState(format!("{} is pending deletion.", live.arn))),
        other => Err(Error::InvalidState(format!("{} is {}.", live.arn, other))),
    }
}

fn rng_failed() -> Error {
    Error::Internal("The system random number generator failed".into())
}

fn secret_error(e: SecretError) -> Error {
    Error::Internal(format!("Locked memory: {e}"))
}

/// Checks the model's limit on grant tokens.
fn check_grant_tokens(tokens: &[String]) -> Result<()> {
    if tokens.len() > 10 {
        return Err(Error::validation("grantTokens", "", "Member must have length less than or equal to 10"));
    }
    if let Some(t) = tokens.iter().find(|t| t.is_empty() || t.len() > 8192) {
        let c = if t.is_empty() { "greater than or equal to 1" } else { "less than or equal to 8192" };
        return Err(Error::validation("grantTokens", "", &format!("Member must have length {c}")));
    }
    Ok(())
}

/// Paging: parses a marker this engine issued (`<prefix>` followed by a position).
fn parse_marker<'a>(marker: Option<&'a str>, prefix: &str) -> Result<Option<&'a str>> {
    match marker {
        None => Ok(None),
        Some(m) => match m.strip_prefix(prefix) {
            Some(rest) if !rest.is_empty() => Ok(Some(rest)),
            _ => Err(Error::InvalidMarker(format!("Invalid marker: {}", id::truncate_for_message(m)))),
        },
    }
}

/// Paging: checks `Limit` (1–1000) and applies the default.
fn page_limit(limit: Option<u32>, default: u32) -> Result<usize> {
    match limit {
        None => Ok(default as usize),
        Some(n @ 1..=1000) => Ok(n as usize),
        Some(n) => Err(Error::validation(
            "limit",
            &format!("'{n}'"),
            if n == 0 {
                "Member must have value greater than or equal to 1"
            } else {
                "Member must have value less than or equal to 1000"
            },
        )),
    }
}
