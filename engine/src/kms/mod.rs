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

mod batch;
mod crypto_ops;
mod lifecycle;
mod material;
mod record_mac;
mod refresh;
mod root;
mod types;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;

use crate::audit::{AuditEvent, AuditSink, NoAudit, RequestId, SharedStr};
use crate::ciphertext::MAX_MESSAGES_PER_SALT;
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::context::EncryptionContext;
use crate::crypto::{self, SelfTestError};
use crate::error::{Error, Result};
use crate::id::{self, AccountId, AliasName, IdForms, IdScope, KeyId, KeyRef, Region};
use crate::key::{AliasRecord, KeyRecord, KeyState};
use crate::secret::{Arena, ArenaConfig, SecretError, fork};
use crate::store::{MemoryStore, Store};

pub use crate::wire::JSON_OPERATIONS;
pub use crypto_ops::ciphertext_len;
use material::{HotVersions, RootKey, VersionKeys};
pub use root::{MIN_PASSPHRASE_ITERATIONS, RootKeySource};
pub use types::*;

/// The principal an operation runs as: an IAM principal ARN within an account.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Caller {
    /// Shared, so cloning a caller (and auditing it) copies a pointer.
    principal: Arc<str>,
    account: AccountId,
}

impl Caller {
    /// The root principal of `account` in the `aws` partition (`arn:aws:iam::<account>:root`):
    /// what single-tenant embedders use. For an engine in another partition (`cn-…`,
    /// `us-gov-…` Regions) use [`Kms::root_caller`].
    pub fn root(account: &AccountId) -> Self {
        Self { principal: account.root_arn("aws").into(), account: account.clone() }
    }

    /// A principal given by its ARN, `arn:<partition>:iam::<account>:…` or
    /// `arn:<partition>:sts::<account>:…`.
    pub fn from_arn(arn: &str) -> Result<Self> {
        let mut parts = arn.splitn(6, ':');
        match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("arn"), Some(p), Some("iam" | "sts"), Some(""), Some(account), Some(resource))
                if !p.is_empty() && !resource.is_empty() =>
            {
                Ok(Self { principal: arn.into(), account: AccountId::new(account)? })
            }
            _ => Err(Error::Validation(format!("Invalid principal ARN: {}", id::truncate_for_message(arn)))),
        }
    }

    /// The principal's ARN.
    pub fn principal_arn(&self) -> &str {
        &self.principal
    }

    /// The principal's account.
    pub fn account(&self) -> &AccountId {
        &self.account
    }
}

/// Why an engine refused to open.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// A power-on known-answer or RNG health test failed.
    SelfTest(SelfTestError),
    /// Locked memory could not be set up (see [`KmsBuilder::allow_unlocked_memory`]).
    LockedMemory(SecretError),
    /// The configuration is not valid.
    Config(Error),
    /// The keystore could not be opened or read.
    Store(Error),
    /// The root key could not be had, or it is not the one the keystore was created with.
    /// Nothing was changed.
    RootKey(Error),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SelfTest(e) => write!(f, "the engine refused to open: {e}"),
            Self::LockedMemory(e) => write!(f, "the engine refused to open: {e}"),
            Self::Config(e) => write!(f, "the engine refused to open: {e}"),
            Self::Store(e) => write!(f, "the engine refused to open: {e}"),
            Self::RootKey(e) => write!(f, "the engine refused to open: {e}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::SelfTest(e) => Some(e),
            Self::LockedMemory(e) => Some(e),
            Self::Config(e) | Self::Store(e) | Self::RootKey(e) => Some(e),
        }
    }
}

/// Builds a [`Kms`]. Every setting has a default: Region `us-east-1`, account
/// `111122223333`, the system clock, an in-memory store with a random root key, no audit, a
/// 4 MiB locked-memory budget that must really be locked.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The embedded default: a SQLite keystore and a root key file in one folder.
/// let kms = trent::Kms::open("./trent-data")?;
/// // A shared PostgreSQL keystore, the root key from a passphrase.
/// let shared = trent::Kms::builder()
///     .postgres("postgresql://trent@db.internal/trent")
///     .root_key_source(trent::RootKeySource::passphrase("correct horse battery staple"))
///     .open()?;
/// # Ok(()) }
/// ```
pub struct KmsBuilder {
    region: String,
    account: String,
    clock: Arc<dyn Clock>,
    store: StoreSpec,
    audit: Arc<dyn AuditSink>,
    audit_file: Option<PathBuf>,
    audit_table: bool,
    arena: ArenaConfig,
    max_hot_versions: usize,
    root: Option<RootKeySource>,
    messages_per_salt: u64,
    refresh_interval: Option<Duration>,
    self_test: fn() -> std::result::Result<(), SelfTestError>,
}

/// Which keystore [`KmsBuilder::open`] opens.
enum StoreSpec {
    Memory,
    Given(Arc<dyn Store>),
    DataDir(PathBuf),
    #[cfg(feature = "sqlite")]
    Sqlite(PathBuf),
    #[cfg(feature = "postgres")]
    Postgres {
        url: String,
        schema: Option<String>,
    },
}

/// The default [`KmsBuilder::refresh_interval`].
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The database file of a data directory.
pub const DATA_DIR_DATABASE: &str = "trent.db";
/// The root key file of a data directory.
pub const DATA_DIR_ROOT_KEY: &str = "root.key";

impl Default for KmsBuilder {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account: "111122223333".into(),
            clock: Arc::new(SystemClock),
            store: StoreSpec::Memory,
            audit: Arc::new(NoAudit),
            audit_file: None,
            audit_table: false,
            arena: ArenaConfig::default(),
            max_hot_versions: 128,
            root: None,
            messages_per_salt: MAX_MESSAGES_PER_SALT,
            refresh_interval: Some(DEFAULT_REFRESH_INTERVAL),
            self_test: crypto::self_test,
        }
    }
}

impl KmsBuilder {
    /// The Region this engine lives in.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The account this engine belongs to (twelve digits).
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    /// The clock (tests use [`ManualClock`](crate::clock::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The keystore, already open.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = StoreSpec::Given(store);
        self
    }

    /// The embedded default: a data directory (created with mode 0700 if missing) holding the
    /// SQLite keystore [`DATA_DIR_DATABASE`] and, unless another root key source is set, the
    /// root key file [`DATA_DIR_ROOT_KEY`] (created at the first open).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store = StoreSpec::DataDir(dir.into());
        self
    }

    /// A SQLite keystore in this database file (created if missing). Needs a root key source.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(mut self, path: impl Into<PathBuf>) -> Self {
        self.store = StoreSpec::Sqlite(path.into());
        self
    }

    /// A PostgreSQL keystore at this URL (`postgresql://user:password@host:port/database`).
    /// Needs a root key source.
    ///
    /// The connection is TLS (rustls on the engine's crypto provider) as the URL's libpq
    /// parameters `sslmode` and `sslrootcert` say, with these defaults: a host that is not
    /// loopback, `localhost` or a Unix socket gets `verify-full` against the system's roots
    /// (add `sslrootcert=/path/ca.pem` for a private CA); a loopback host gets `prefer`.
    /// `sslmode=prefer` or `allow` to a remote host would fall back to plaintext and is refused
    /// with [`OpenError::Config`] before connecting; plaintext there needs `sslmode=disable`.
    /// The whole table is at [`PostgresStore::connect`](crate::store::PostgresStore::connect).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let kms = trent::Kms::builder()
    ///     .postgres("postgresql://trent@db.internal/trent?sslrootcert=/etc/trent/db-ca.pem")
    ///     .root_key_source(trent::RootKeySource::env("TRENT_ROOT_KEY"))
    ///     .open()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "postgres")]
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.store = StoreSpec::Postgres { url: url.into(), schema: None };
        self
    }

    /// Like [`KmsBuilder::postgres`], with the tables in `schema` (created if missing).
    #[cfg(feature = "postgres")]
    pub fn postgres_in_schema(mut self, url: impl Into<String>, schema: impl Into<String>) -> Self {
        self.store = StoreSpec::Postgres { url: url.into(), schema: Some(schema.into()) };
        self
    }

    /// How often the engine polls a shared keystore (SQLite or PostgreSQL) for changes made
    /// by other engines: keys created, rotated, disabled, scheduled for deletion or deleted,
    /// and aliases. Another engine's change is seen here at most this long (plus the time one
    /// poll takes) after it committed. Default [`DEFAULT_REFRESH_INTERVAL`] (1 s); `None` turns
    /// polling off (for a store no other process writes). The hot path never waits for it.
    pub fn refresh_interval(mut self, every: Option<Duration>) -> Self {
        self.refresh_interval = every;
        self
    }

    /// The audit sink (instead of [`KmsBuilder::audit_file`] and [`KmsBuilder::audit_table`]).
    pub fn audit(mut self, audit: impl AuditSink) -> Self {
        self.audit = Arc::new(audit);
        self
    }

    /// Audit to a hash-chained JSON-lines file (created with mode 0600 if missing, appended to
    /// otherwise; see [`JsonlFileWriter`](crate::audit::JsonlFileWriter)), written off the hot
    /// path by a [`ChannelAudit`](crate::audit::ChannelAudit) with its defaults: when the
    /// writer falls behind and the channel is full, operations **wait** rather than lose
    /// events. With [`KmsBuilder::audit_table`] too, every event goes to both.
    pub fn audit_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit_file = Some(path.into());
        self
    }

    /// Audit to the keystore's `audit` table (see
    /// [`StoreAuditWriter`](crate::audit::StoreAuditWriter)), off the hot path like
    /// [`KmsBuilder::audit_file`].
    pub fn audit_table(mut self, on: bool) -> Self {
        self.audit_table = on;
        self
    }

    /// The most bytes of locked memory the engine may use (default 4 MiB).
    pub fn locked_memory_budget(mut self, bytes: usize) -> Self {
        self.arena.budget_bytes = bytes;
        self
    }

    /// Opt in to running with unlocked memory when locking fails (secrets are still zeroed on
    /// release, but may be swapped out). Off by default: then the engine refuses to open.
    pub fn allow_unlocked_memory(mut self, allow: bool) -> Self {
        self.arena.allow_unlocked = allow;
        self
    }

    /// How many versions of key material stay unwrapped at once (default 128, at least 1).
    /// Each hot version takes up to about 20 KiB of locked memory (its material, up to four
    /// writers' and sixteen readers' derived keys), so the default fits the default budget.
    pub fn max_hot_versions(mut self, n: usize) -> Self {
        self.max_hot_versions = n.max(1);
        self
    }

    /// The root key that wraps key material in the store, as bytes. The builder's copy is
    /// wiped once the key is in locked memory; copies the caller made are the caller's.
    pub fn root_key(self, key: [u8; 32]) -> Self {
        self.root_key_source(RootKeySource::bytes(key))
    }

    /// Where the root key comes from: a key file, a passphrase, an environment variable or
    /// bytes (see [`RootKeySource`]). Without one, a data directory uses its key file and an
    /// in-memory store a random key; a SQLite or PostgreSQL store needs one.
    pub fn root_key_source(mut self, source: RootKeySource) -> Self {
        self.root = Some(source);
        self
    }

    /// How many messages a writer seals under one derived sub-key before it draws a new salt:
    /// at most (and by default) 2^32 ([`MAX_MESSAGES_PER_SALT`]), at least 64 (a batch
    /// chunk). Lower values cost only more key derivations; tests use them to exercise salt
    /// turnover.
    pub fn messages_per_salt(mut self, n: u64) -> Self {
        self.messages_per_salt = n.clamp(MIN_MESSAGES_PER_SALT, MAX_MESSAGES_PER_SALT);
        self
    }

    /// Opens the keystore and its root key.
    fn open_store(&mut self) -> std::result::Result<(Arc<dyn Store>, RootKeySource), OpenError> {
        let given_root = self.root.take();
        let needs_root = || {
            OpenError::Config(Error::Validation(
                "A durable keystore needs a root key source (KmsBuilder::root_key_source)".into(),
            ))
        };
        match std::mem::replace(&mut self.store, StoreSpec::Memory) {
            StoreSpec::Memory => Ok((Arc::new(MemoryStore::new()), given_root.unwrap_or_else(RootKeySource::random))),
            StoreSpec::Given(store) => {
                let root = match given_root {
                    Some(root) => root,
                    None if store.is_shared() => return Err(needs_root()),
                    None => RootKeySource::random(),
                };
                Ok((store, root))
            }
            StoreSpec::DataDir(dir) => {
                create_private_dir(&dir).map_err(OpenError::Store)?;
                let root = given_root.unwrap_or_else(|| RootKeySource::file(dir.join(DATA_DIR_ROOT_KEY)));
                #[cfg(feature = "sqlite")]
                {
                    let store =
                        crate::store::SqliteStore::open(dir.join(DATA_DIR_DATABASE)).map_err(OpenError::Store)?;
                    Ok((Arc::new(store), root))
                }
                #[cfg(not(feature = "sqlite"))]
                {
                    drop(root);
                    Err(OpenError::Config(Error::Validation("This build of Trent has no SQLite keystore".into())))
                }
            }
            #[cfg(feature = "sqlite")]
            StoreSpec::Sqlite(path) => {
                let root = given_root.ok_or_else(needs_root)?;
                Ok((Arc::new(crate::store::SqliteStore::open(path).map_err(OpenError::Store)?), root))
            }
            #[cfg(feature = "postgres")]
            StoreSpec::Postgres { url, schema } => {
                let root = given_root.ok_or_else(needs_root)?;
                let store = match schema {
                    Some(schema) => crate::store::PostgresStore::connect_in_schema(&url, &schema),
                    None => crate::store::PostgresStore::connect(&url),
                }
                // A URL refused before connecting (a bad sslmode, plaintext to a remote host)
                // is the configuration's fault.
                .map_err(|e| match e {
                    Error::Validation(_) => OpenError::Config(e),
                    e => OpenError::Store(e),
                })?;
                Ok((Arc::new(store), root))
            }
        }
    }

    /// The audit sink: the one given, or a [`ChannelAudit`] to the file and/or table.
    fn audit_sink(&mut self, store: &Arc<dyn Store>) -> std::result::Result<Arc<dyn AuditSink>, OpenError> {
        use crate::audit::{AuditWriter, ChannelAudit, JsonlFileWriter, StoreAuditWriter};
        if self.audit.enabled() && (self.audit_file.is_some() || self.audit_table) {
            return Err(OpenError::Config(Error::Validation(
                "Give either an audit sink or audit_file/audit_table, not both".into(),
            )));
        }
        let file = match self.audit_file.take() {
            Some(path) => Some(
                JsonlFileWriter::open(&path)
                    .map_err(|e| OpenError::Config(Error::Validation(format!("Cannot open the audit log: {e}"))))?,
            ),
            None => None,
        };
        let table = self.audit_table.then(|| StoreAuditWriter::new(Arc::clone(store)));
        let writer: Box<dyn AuditWriter> = match (file, table) {
            (None, None) => return Ok(Arc::clone(&self.audit)),
            (Some(file), None) => Box::new(file),
            (None, Some(table)) => Box::new(table),
            (Some(file), Some(table)) => Box::new((file, table)),
        };
        let sink = ChannelAudit::new(writer)
            .map_err(|e| OpenError::Config(Error::Internal(format!("Cannot start the audit writer: {e}"))))?;
        Ok(Arc::new(sink))
    }

    /// Runs the power-on self-test, sets up locked memory, opens the keystore, checks the root
    /// key against it and opens the engine.
    pub fn open(mut self) -> std::result::Result<Kms, OpenError> {
        (self.self_test)().map_err(OpenError::SelfTest)?;
        let region = Region::new(&self.region).map_err(OpenError::Config)?;
        let account = AccountId::new(&self.account).map_err(OpenError::Config)?;
        let arena = Arena::new(self.arena).map_err(OpenError::LockedMemory)?;
        let (store, mut source) = self.open_store()?;
        let (root, root_check) = root::open_root(&mut source, &*store, &arena).map_err(|e| match e {
            Error::Internal(_) => OpenError::Store(e),
            e => OpenError::RootKey(e),
        })?;
        drop(source);
        let cursor = store.change_cursor().map_err(OpenError::Store)?;
        let mut prefix = [0u8; 8];
        crypto::fill_random(&mut prefix).map_err(|_| OpenError::Config(rng_failed()))?;
        let root_arn = account.root_arn(region.partition());
        let refresh = self.refresh_interval.filter(|_| store.is_shared());
        let audit = self.audit_sink(&store)?;
        let inner = Arc::new(Inner {
            audit_enabled: audit.enabled(),
            audit,
            audit_region: SharedStr::interned(region.as_str()),
            audit_account: SharedStr::interned(account.as_str()),
            audit_root: SharedStr::interned(&root_arn),
            clock: self.clock,
            store,
            hot: HotVersions::new(self.max_hot_versions),
            root: RwLock::new(root),
            root_check: RwLock::new(root_check),
            arena,
            keys: KeyTable::new(),
            aliases: RwLock::new(HashMap::new()),
            alias_epoch: AtomicU64::new(0),
            admin: Mutex::new(()),
            change_cursor: AtomicU64::new(cursor),
            refresher: refresh::Refresher::default(),
            polls: AtomicU64::new(0),
            overdue: Mutex::new(std::collections::HashSet::new()),
            messages_per_salt: self.messages_per_salt,
            request_prefix: u64::from_be_bytes(prefix),
            request_counter: AtomicU64::new(0),
            generation: fork::generation(),
            pid: std::process::id(),
            root_arn: root_arn.into(),
            region,
            account,
        });
        if let Some(every) = refresh {
            refresh::start(&inner, every).map_err(OpenError::Config)?;
        }
        Ok(Kms { inner })
    }
}

/// Creates `dir` (and its parents) if missing, the last with mode 0700.
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::Internal(format!("Cannot create the data directory {}: {e}", dir.display())))
}

/// The smallest [`KmsBuilder::messages_per_salt`]: one batch chunk.
pub const MIN_MESSAGES_PER_SALT: u64 = 64;

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

/// A key as the engine holds it: the current metadata snapshot and its hot versions.
pub(crate) struct LiveKey {
    id: KeyId,
    arn: Arc<str>,
    /// The metadata and, when hot, the current version: one snapshot, so the hot path reads
    /// both with one lock-free load.
    snapshot: ArcSwap<Snapshot>,
    versions: RwLock<FxHashMap<u32, Arc<VersionKeys>>>,
    /// `record.next_event()` in milliseconds (`i64::MAX`: nothing scheduled), so the hot path
    /// reads the clock only for keys that have something scheduled; pushed back when carrying
    /// it out failed ([`Inner::postpone_due`]).
    next_event: AtomicI64,
    /// Failures in a row to carry out what is due (for the retry backoff).
    due_failures: AtomicU32,
}

/// What the hot path reads of a key at once.
pub(crate) struct Snapshot {
    record: Arc<KeyRecord>,
    /// The current version when it is hot (always the one `record` names as current).
    current: Option<Arc<VersionKeys>>,
}

/// Shards of the key cache, each an immutable map swapped whole on change: readers take no
/// lock and touch no shared counter; a writer copies one shard (1/64 of the keys).
struct KeyTable {
    shards: Box<[ArcSwap<KeyShard>]>,
}

/// One shard of the key table.
type KeyShard = FxHashMap<KeyId, Arc<LiveKey>>;

const KEY_TABLE_SHARDS: usize = 64;

impl KeyTable {
    fn new() -> Self {
        Self { shards: (0..KEY_TABLE_SHARDS).map(|_| ArcSwap::default()).collect() }
    }

    fn shard(&self, id: &KeyId) -> &ArcSwap<KeyShard> {
        // Key ids are random: their last byte spreads keys evenly.
        &self.shards[usize::from(id.as_bytes()[15]) % KEY_TABLE_SHARDS]
    }

    fn get(&self, id: &KeyId) -> Option<Arc<LiveKey>> {
        self.shard(id).load().get(id).cloned()
    }

    fn contains(&self, id: &KeyId) -> bool {
        self.shard(id).load().contains_key(id)
    }

    /// Inserts `live` unless the id is present; returns what the table holds.
    fn insert_if_absent(&self, live: Arc<LiveKey>) -> Arc<LiveKey> {
        let mut held = None;
        self.shard(&live.id).rcu(|map| {
            if let Some(existing) = map.get(&live.id) {
                held = Some(existing.clone());
                return Arc::clone(map);
            }
            held = Some(live.clone());
            let mut next = FxHashMap::clone(map);
            next.insert(live.id, live.clone());
            Arc::new(next)
        });
        held.unwrap_or(live)
    }

    /// Every cached key.
    fn all(&self) -> Vec<Arc<LiveKey>> {
        self.shards.iter().flat_map(|shard| shard.load().values().cloned().collect::<Vec<_>>()).collect()
    }

    fn remove(&self, id: &KeyId) {
        self.shard(id).rcu(|map| {
            let mut next = FxHashMap::clone(map);
            next.remove(id);
            next
        });
    }
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

impl LiveKey {
    fn new(id: KeyId, arn: String, record: KeyRecord) -> Self {
        Self {
            id,
            arn: arn.into(),
            next_event: AtomicI64::new(next_event_ms(&record)),
            due_failures: AtomicU32::new(0),
            snapshot: ArcSwap::from_pointee(Snapshot { record: Arc::new(record), current: None }),
            versions: RwLock::new(FxHashMap::default()),
        }
    }

    /// The current metadata.
    fn record(&self) -> Arc<KeyRecord> {
        Arc::clone(&self.snapshot.load().record)
    }

    /// Publishes a new record, keeping the hot current version if it is still current.
    fn publish(&self, record: KeyRecord) {
        self.next_event.store(next_event_ms(&record), Ordering::Release);
        self.due_failures.store(0, Ordering::Release);
        let record = Arc::new(record);
        self.snapshot.rcu(|s| Snapshot {
            record: Arc::clone(&record),
            current: s.current.clone().filter(|c| c.number == record.current_version),
        });
    }

    /// Makes `vk` the hot current version, if the record still names it current and it is
    /// still the hot copy (an eviction between unwrapping it and this call must win, or the
    /// snapshot would keep a version the hot-version bound no longer counts).
    fn set_current(&self, vk: &Arc<VersionKeys>) {
        let versions = self.versions.read();
        if !versions.get(&vk.number).is_some_and(|hot| Arc::ptr_eq(hot, vk)) {
            return;
        }
        self.snapshot.rcu(|s| Snapshot {
            record: Arc::clone(&s.record),
            current: if vk.number == s.record.current_version { Some(Arc::clone(vk)) } else { s.current.clone() },
        });
    }

    /// Forgets the hot current version if it is `vk` (all of them with `None`).
    fn clear_current(&self, vk: Option<&Arc<VersionKeys>>) {
        self.snapshot.rcu(|s| Snapshot {
            record: Arc::clone(&s.record),
            current: s.current.clone().filter(|c| vk.is_some_and(|vk| !Arc::ptr_eq(c, vk))),
        });
    }

    /// Whether something scheduled for this key (deletion, rotation) is due.
    fn is_due(&self, now: &Now<'_>) -> bool {
        let t = self.next_event.load(Ordering::Acquire);
        t != i64::MAX && t <= now.get().as_millis()
    }
}

fn next_event_ms(record: &KeyRecord) -> i64 {
    record.next_event().map_or(i64::MAX, Timestamp::as_millis)
}

impl Kms {
    /// A builder with every default.
    pub fn builder() -> KmsBuilder {
        KmsBuilder::default()
    }

    /// An engine with every default: in-memory store, system clock, `us-east-1`,
    /// account `111122223333`.
    pub fn open_in_memory() -> std::result::Result<Kms, OpenError> {
        Self::builder().open()
    }

    /// The embedded default: an engine on the data directory `dir` (SQLite keystore and root
    /// key file, both created at the first open), with every other default. See
    /// [`KmsBuilder::data_dir`].
    pub fn open(dir: impl Into<PathBuf>) -> std::result::Result<Kms, OpenError> {
        Self::builder().data_dir(dir).open()
    }

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

    /// Carries out everything the clock has made due: deletes keys whose waiting period has
    /// passed and rotates keys whose rotation date has come. Operations do this for the keys
    /// they touch, so calling it is never needed for correctness; it keeps listings and the
    /// store tidy.
    ///
    /// A key whose keystore record fails authentication (see
    /// [`Kms::check_store_integrity`]) is passed over, and the first such failure returned once
    /// every other key has been seen to.
    pub fn run_maintenance(&self) -> Result<()> {
        self.inner.check_process()?;
        let now = self.inner.clock.now();
        let mut after = None;
        let mut first_failure = None;
        loop {
            let page = self.inner.store.list_keys(after.as_ref(), 1000)?;
            let Some(last) = page.last().copied() else { break };
            for id in &page {
                // A key deleted meanwhile is fine.
                if let Err(e) = self.inner.live_key_strict(id, now) {
                    first_failure.get_or_insert(e);
                }
            }
            after = Some(last);
        }
        first_failure.map_or(Ok(()), Err)
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
    /// the process too ([`VersionKeys::reserve`]), so even a path that missed this check could
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

    /// The live key with this id, loading it from the store on a cache miss and carrying out
    /// whatever the clock has made due. `None` when there is no such key (any more).
    ///
    /// If carrying out what is due fails (the keystore is unreachable, say), the key is served
    /// from its cached record, as it was before the due date: old ciphertexts keep decrypting
    /// and Encrypt keeps using the current version until the rotation is stored. The due work
    /// is then left to the background ([`Inner::postpone_due`]).
    fn live_key(&self, id: &KeyId, now: &Now<'_>) -> Result<Option<Arc<LiveKey>>> {
        let live = self.cached_or_loaded(id)?;
        match live {
            Some(live) if live.is_due(now) => match self.apply_due(&live, now.get()) {
                Err(_) if self.keys.contains(&live.id) => {
                    self.postpone_due(&live, now.get());
                    Ok(Some(live))
                }
                done => done,
            },
            other => Ok(other),
        }
    }

    /// Like [`Inner::live_key`], but a failure to carry out what is due is returned (for
    /// [`Kms::run_maintenance`], whose job that is).
    fn live_key_strict(&self, id: &KeyId, now: Timestamp) -> Result<Option<Arc<LiveKey>>> {
        match self.cached_or_loaded(id)? {
            Some(live) if live.record().next_event().is_some_and(|t| t <= now) => self.apply_due(&live, now),
            other => Ok(other),
        }
    }

    /// The cached key, or the store's record of it made live.
    fn cached_or_loaded(&self, id: &KeyId) -> Result<Option<Arc<LiveKey>>> {
        Ok(match self.keys.get(id) {
            Some(live) => Some(live),
            None => {
                let Some(record) = self.load_key(id)? else { return Ok(None) };
                Some(self.keys.insert_if_absent(Arc::new(LiveKey::new(*id, self.arn_of(id), record))))
            }
        })
    }

    /// Stops the hot path from retrying a key's due work that just failed: with a refresh
    /// thread (a shared keystore), that thread retries it at every tick and operations never
    /// wait for the keystore; without one, the next operation after a backoff (1 s, doubling
    /// up to a minute) retries it.
    fn postpone_due(&self, live: &LiveKey, now: Timestamp) {
        let failures = live.due_failures.fetch_add(1, Ordering::AcqRel).min(6);
        let retry_at = if self.refresher.is_running() {
            self.overdue.lock().insert(live.id);
            i64::MAX
        } else {
            now.as_millis().saturating_add(1000 << failures)
        };
        live.next_event.store(retry_at, Ordering::Release);
    }

    /// Retries the due work the hot path postponed (see [`Inner::postpone_due`]); called by the
    /// refresh thread at every tick.
    pub(super) fn retry_overdue(&self) {
        let ids: Vec<KeyId> = self.overdue.lock().iter().copied().collect();
        if ids.is_empty() {
            return;
        }
        let now = self.clock.now();
        for id in ids {
            let done = match self.keys.get(&id) {
                None => true,
                Some(live) => self.live_key_strict(&live.id, now).is_ok(),
            };
            if done {
                self.overdue.lock().remove(&id);
            }
        }
    }

    /// Runs `f` on the live key `id`, borrowed from the key table without touching any
    /// shared counter (the hot path); falls back to [`Inner::live_key`] on a miss or when
    /// something is due. `None` when there is no such key.
    fn with_live_key<R>(
        &self,
        id: &KeyId,
        now: &Now<'_>,
        f: impl FnOnce(&Arc<LiveKey>) -> Result<R>,
    ) -> Result<Option<R>> {
        {
            let shard = self.keys.shard(id).load();
            if let Some(live) = shard.get(id)
                && !live.is_due(now)
            {
                return f(live).map(Some);
            }
        }
        match self.live_key(id, now)? {
            Some(live) => f(&live).map(Some),
            None => Ok(None),
        }
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

    fn alias_target(&self, alias: &AliasName) -> Result<Option<KeyId>> {
        if let Some(id) = self.aliases.read().get(alias) {
            return Ok(Some(*id));
        }
        let epoch = self.alias_epoch.load(Ordering::Acquire);
        let Some(record) = self.load_alias(alias)? else { return Ok(None) };
        let mut aliases = self.aliases.write();
        // An alias changed since the store was read: the read may be older than the change.
        if self.alias_epoch.load(Ordering::Acquire) == epoch {
            aliases.entry(alias.clone()).or_insert(record.target);
        }
        Ok(Some(record.target))
    }

    /// Changes the alias cache after the store has changed (see `alias_epoch`).
    fn change_aliases(&self, change: impl FnOnce(&mut HashMap<AliasName, KeyId>)) {
        let mut aliases = self.aliases.write();
        self.alias_epoch.fetch_add(1, Ordering::Release);
        change(&mut aliases);
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

/// Checks that a key's state allows cryptographic operations.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_self_test_refuses_to_open() {
        fn broken() -> std::result::Result<(), SelfTestError> {
            // The real self-test, fed an RNG that returns zeros.
            crypto::self_test_with_rng(|buf| {
                buf.fill(0);
                Ok(())
            })
        }
        let builder = KmsBuilder { self_test: broken, ..KmsBuilder::default() };
        match builder.open() {
            Err(OpenError::SelfTest(e)) => {
                assert_eq!(e.test, "rng");
                assert!(OpenError::SelfTest(e).to_string().contains("power-on self-test failed: rng"));
            }
            other => panic!("expected a self-test failure, got {other:?}"),
        }
        assert!(Kms::builder().open().is_ok());
    }

    #[test]
    fn callers() {
        let c = Caller::from_arn("arn:aws:iam::123456789012:user/alice").unwrap();
        assert_eq!(c.account().as_str(), "123456789012");
        assert_eq!(
            Caller::from_arn("arn:aws:sts::123456789012:assumed-role/r/s").unwrap().principal_arn(),
            "arn:aws:sts::123456789012:assumed-role/r/s"
        );
        for bad in ["", "arn:aws:s3:::bucket", "arn:aws:iam::12:user/x", "arn:aws:iam::123456789012:"] {
            assert_eq!(Caller::from_arn(bad).unwrap_err().name(), "ValidationException", "{bad}");
        }
        let root = Caller::root(&AccountId::new("123456789012").unwrap());
        assert_eq!(root.principal_arn(), "arn:aws:iam::123456789012:root");
    }
}
