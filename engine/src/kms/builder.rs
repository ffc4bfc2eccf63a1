//! Opening an engine: [`KmsBuilder`], its settings and [`OpenError`].

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use super::cache::KeyTable;
use super::material::HotVersions;
use super::{Inner, Kms, RootKeySource, refresh, rng_failed, root};
use crate::audit::{AuditSink, NoAudit, SharedStr};
use crate::ciphertext::MAX_MESSAGES_PER_SALT;
use crate::clock::{Clock, SystemClock};
use crate::crypto::{self, SelfTestError};
use crate::error::{Error, Result};
use crate::id::{AccountId, Region};
use crate::secret::{Arena, ArenaConfig, SecretError, fork};
use crate::store::{MemoryStore, Store};

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

impl OpenError {
    /// What went wrong, whichever the stage.
    fn cause(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            Self::SelfTest(e) => e,
            Self::LockedMemory(e) => e,
            Self::Config(e) | Self::Store(e) | Self::RootKey(e) => e,
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the engine refused to open: {}", self.cause())
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.cause())
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
}
