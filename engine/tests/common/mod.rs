//! What every engine test shares: the keystore the suite runs against, and the durable stores
//! of the tests that need a SQLite file or a PostgreSQL schema of their own ([`Backend`]).
//!
//! `TRENT_TEST_STORE` picks it: `memory` (the default), `sqlite` (a fresh database file per
//! engine, under the system temp directory) or `postgres` (a fresh schema per engine in the
//! database at `TRENT_TEST_PG_URL`, which `scripts/with-postgres` starts). The test command
//! runs the whole suite once per store. A PostgreSQL run without a server fails; it is never
//! skipped.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use trent::store::{PostgresStore, SqliteStore, Store};
use trent::{
    Caller, CreateKeyRequest, DecryptRequest, EncryptRequest, EncryptionContext, Kms, KmsBuilder,
    ListKeyRotationsRequest, RotationsListEntry,
};

/// The root key of every durable test store.
pub const TEST_ROOT_KEY: [u8; 32] = [0x5a; 32];

/// 2026-01-01T00:00:00Z, where the suites' manual clocks start (milliseconds since the epoch).
pub const START_MS: i64 = 1_767_225_600_000;

/// Which store the suite runs against.
pub fn store_kind() -> String {
    std::env::var("TRENT_TEST_STORE").unwrap_or_else(|_| "memory".into())
}

/// A builder on a fresh, empty store of the suite's kind.
pub fn builder() -> KmsBuilder {
    let builder = Kms::builder();
    match store_kind().as_str() {
        "memory" => builder,
        "sqlite" => builder.sqlite(fresh_path("db")).root_key(TEST_ROOT_KEY),
        "postgres" => builder.postgres_in_schema(pg_url_required(), fresh_schema()).root_key(TEST_ROOT_KEY),
        other => panic!("TRENT_TEST_STORE={other}: expected memory, sqlite or postgres"),
    }
}

/// The PostgreSQL server of this run, if there is one. Under `CI=true` a missing server is
/// a failure, so PostgreSQL tests never pass by skipping there.
pub fn pg_url() -> Option<String> {
    match std::env::var("TRENT_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true but TRENT_TEST_PG_URL is not set: run the tests through scripts/test (it starts PostgreSQL)"
            )
        }
        _ => {
            eprintln!("skipped: TRENT_TEST_PG_URL is not set (scripts/test starts a PostgreSQL server and sets it)");
            None
        }
    }
}

fn pg_url_required() -> String {
    std::env::var("TRENT_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("TRENT_TEST_STORE=postgres needs TRENT_TEST_PG_URL (scripts/with-postgres sets it)")
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A schema name no other engine of this run uses.
pub fn fresh_schema() -> String {
    format!("t{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos())
}

fn nanos() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
}

/// This process's scratch directory (removed, with those of processes that are gone, the next
/// time a test process starts).
pub fn scratch_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::temp_dir();
        if let Ok(entries) = std::fs::read_dir(&base) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("trent-test-")
                    && !std::path::Path::new(&format!("/proc/{pid}")).exists()
                {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = base.join(format!("trent-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
    .clone()
}

/// A path no other test of this run uses, with this extension.
pub fn fresh_path(ext: &str) -> PathBuf {
    scratch_dir().join(format!("{}-{}.{ext}", NEXT.fetch_add(1, Ordering::Relaxed), nanos()))
}

/// `Ok` or the error's name (`NotFoundException`, …).
pub fn name<T>(r: &trent::Result<T>) -> &'static str {
    match r {
        Ok(_) => "Ok",
        Err(e) => e.name(),
    }
}

/// The operations the audit tests run (engine.rs on each store into a `MemoryAudit`, audit.rs
/// into a file): CreateKey; Encrypt of `plaintext-marker` under the context `tenant=a`; Decrypt
/// without the context (`InvalidCiphertextException`) and with it; Encrypt by
/// `arn:aws:iam::111122223333:user/alice` (`AccessDeniedException`). Returns the key id, the
/// context and the blob; [`AUDITED`] is the trail they leave.
pub fn run_audited_operations(kms: &Kms) -> (String, EncryptionContext, Vec<u8>) {
    let me = kms.root_caller();
    let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    let ctx: EncryptionContext = [("tenant".to_owned(), "a".to_owned())].into();
    let blob = kms
        .encrypt(&me, &EncryptRequest::new(&key, b"plaintext-marker".to_vec()).with_context(ctx.clone()))
        .unwrap()
        .ciphertext_blob;
    let err = kms.decrypt(&me, &DecryptRequest::new(blob.clone())).map(|_| ()).unwrap_err();
    assert_eq!(err.name(), "InvalidCiphertextException");
    let plain = kms.decrypt(&me, &DecryptRequest::new(blob.clone()).with_context(ctx.clone())).unwrap().plaintext;
    assert_eq!(plain.expose_secret(), b"plaintext-marker");
    let alice = Caller::from_arn("arn:aws:iam::111122223333:user/alice").unwrap();
    let denied = kms.encrypt(&alice, &EncryptRequest::new(&key, b"x".to_vec())).unwrap_err();
    assert_eq!(denied.name(), "AccessDeniedException");
    (key, ctx, blob)
}

/// The operations [`run_audited_operations`] runs and the errors they end in, in order.
pub const AUDITED: [(&str, Option<&str>); 5] = [
    ("CreateKey", None),
    ("Encrypt", None),
    ("Decrypt", Some("InvalidCiphertextException")),
    ("Decrypt", None),
    ("Encrypt", Some("AccessDeniedException")),
];

/// Every entry of ListKeyRotations with `ALL_KEY_MATERIAL`, `limit` a page, following the
/// pages; every page must say it is truncated exactly when it has a next marker.
pub fn all_rotations(kms: &Kms, me: &Caller, key_id: &str, limit: u32) -> trent::Result<Vec<RotationsListEntry>> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let req = ListKeyRotationsRequest {
            key_id: key_id.into(),
            include_key_material: Some("ALL_KEY_MATERIAL".into()),
            limit: Some(limit),
            marker,
        };
        let page = kms.list_key_rotations(me, &req)?;
        assert_eq!(page.truncated, page.next_marker.is_some());
        out.extend(page.rotations);
        if !page.truncated {
            return Ok(out);
        }
        marker = page.next_marker;
    }
}

/// Where a durable test keeps its store: a SQLite file or a PostgreSQL schema of this run's
/// server.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

impl Backend {
    pub fn sqlite() -> Self {
        Self::Sqlite(fresh_path("db"))
    }

    /// A fresh schema on this run's server; `None` (the test returns) when there is none
    /// outside CI.
    pub fn postgres() -> Option<Self> {
        let url = pg_url()?;
        Some(Self::Postgres { url, schema: fresh_schema() })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }

    /// A builder on this store, without a root key source.
    pub fn builder(&self) -> KmsBuilder {
        match self {
            Self::Sqlite(path) => Kms::builder().sqlite(path),
            Self::Postgres { url, schema } => Kms::builder().postgres_in_schema(url, schema),
        }
    }

    /// A connection of its own to this store, without an engine.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(path) => Arc::new(SqliteStore::open(path).unwrap()),
            Self::Postgres { url, schema } => Arc::new(PostgresStore::connect_in_schema(url, schema).unwrap()),
        }
    }

    /// A builder on this store with [`TEST_ROOT_KEY`] and every other default (so a shared
    /// store is polled every second).
    pub fn keyed_builder(&self) -> KmsBuilder {
        self.builder().root_key(TEST_ROOT_KEY)
    }

    /// An engine on this store with [`TEST_ROOT_KEY`] and every other default.
    pub fn open(&self) -> Kms {
        self.keyed_builder().open().unwrap_or_else(|e| panic!("open an engine on {self:?}: {e}"))
    }

    /// Runs one SQL statement on the store behind Trent's back (rusqlite, or the postgres
    /// crate with the search path set to the store's schema), with text parameters `$1`, `$2`,
    /// …; returns the number of rows it changed.
    pub fn exec(&self, sql: &str, params: &[&str]) -> u64 {
        match self {
            Self::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute(&sql.replace('$', "?"), rusqlite::params_from_iter(params))
                .unwrap() as u64,
            Self::Postgres { url, schema } => {
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect();
                pg_client(url, schema).execute(sql, &params).unwrap()
            }
        }
    }
}

/// Two tests of one check on a durable store: `$sqlite` runs `$check(&Backend)` on a fresh
/// SQLite file, `$postgres` on a fresh schema of this run's PostgreSQL server (and returns when
/// there is none, outside CI; see [`Backend::postgres`]). Attributes (a doc comment) go to both.
#[allow(unused_macros)]
macro_rules! backend_tests {
    ($(#[$attr:meta])* $sqlite:ident, $postgres:ident: $check:expr) => {
        $(#[$attr])*
        #[test]
        fn $sqlite() {
            ($check)(&$crate::common::Backend::sqlite());
        }

        $(#[$attr])*
        #[test]
        fn $postgres() {
            let Some(backend) = $crate::common::Backend::postgres() else { return };
            ($check)(&backend);
        }
    };
}
#[allow(unused_imports)]
pub(crate) use backend_tests;

/// A connection to the test server with `schema` first on the search path.
pub fn pg_client(url: &str, schema: &str) -> postgres::Client {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client.batch_execute(&format!("SET search_path TO {schema}")).unwrap();
    client
}

/// The TLS side of this run's PostgreSQL server (`scripts/with-postgres`): its port, the CA
/// that signed its certificate, and the machine's non-loopback address it also listens on.
pub struct PgTls {
    /// The server's port, on 127.0.0.1 and on `tls_host`.
    pub port: u16,
    /// `TRENT_TEST_PG_CA`: the CA certificate (PEM).
    pub ca: PathBuf,
    /// `TRENT_TEST_PG_TLS_HOST`: set when the machine has a non-loopback IPv4 address.
    pub tls_host: Option<String>,
}

/// This run's server with TLS: `None` (the test returns) when there is no server outside CI;
/// a server without `TRENT_TEST_PG_CA` is a failure.
pub fn pg_tls() -> Option<PgTls> {
    let url = pg_url()?;
    let config: postgres::Config = url.parse().expect("TRENT_TEST_PG_URL is a PostgreSQL URL");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let ca = std::env::var_os("TRENT_TEST_PG_CA")
        .filter(|ca| !ca.is_empty())
        .expect(
            "TRENT_TEST_PG_URL without TRENT_TEST_PG_CA: run the tests through scripts/with-postgres (it turns TLS on)",
        )
        .into();
    let tls_host = std::env::var("TRENT_TEST_PG_TLS_HOST").ok().filter(|h| !h.is_empty());
    Some(PgTls { port, ca, tls_host })
}

/// `s` percent-encoded for a URL's query (everything but letters, digits and `/-._~`).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A real store behind a switch, for what a real one rarely does on cue: while [`TestStore::down`]
/// is set every call fails as an unreachable database's does (`KMSInternalException`), a hook
/// can run inside the first `delete_key` (another engine's change landing between a read and a
/// write), and calls are counted.
pub struct TestStore {
    inner: Arc<dyn Store>,
    down: AtomicBool,
    calls: AtomicU64,
    delete_hook: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    fired: AtomicBool,
}

impl TestStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            down: AtomicBool::new(false),
            calls: AtomicU64::new(0),
            delete_hook: Mutex::new(None),
            fired: AtomicBool::new(false),
        }
    }

    /// Makes every call fail (`true`) or pass through again (`false`).
    pub fn down(&self, down: bool) {
        self.down.store(down, Ordering::Release);
    }

    /// Calls made so far (failed ones included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Acquire)
    }

    /// Runs `hook` inside the next `delete_key` call, before the delete.
    pub fn arm_delete_hook(&self, hook: impl FnOnce() + Send + 'static) {
        *self.delete_hook.lock().unwrap() = Some(Box::new(hook));
    }

    /// Whether the delete hook ran.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    fn call(&self) -> trent::Result<&dyn Store> {
        self.calls.fetch_add(1, Ordering::AcqRel);
        if self.down.load(Ordering::Acquire) {
            return Err(trent::Error::Internal("could not connect to the keystore (the test took it down)".into()));
        }
        Ok(&*self.inner)
    }
}

impl Store for TestStore {
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
    fn get_key(&self, id: &trent::id::KeyId) -> trent::Result<Option<trent::key::KeyRecord>> {
        self.call()?.get_key(id)
    }
    fn put_key(&self, record: &trent::key::KeyRecord, expected: u64, root_check: &[u8]) -> trent::Result<()> {
        self.call()?.put_key(record, expected, root_check)
    }
    fn delete_key(&self, id: &trent::id::KeyId, expected: u64) -> trent::Result<()> {
        let store = self.call()?;
        let hook = self.delete_hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
            self.fired.store(true, Ordering::Release);
        }
        store.delete_key(id, expected)
    }
    fn list_keys(&self, after: Option<&trent::id::KeyId>, limit: usize) -> trent::Result<Vec<trent::id::KeyId>> {
        self.call()?.list_keys(after, limit)
    }
    fn get_alias(&self, name: &trent::id::AliasName) -> trent::Result<Option<trent::key::AliasRecord>> {
        self.call()?.get_alias(name)
    }
    fn create_alias(&self, alias: &trent::key::AliasRecord) -> trent::Result<()> {
        self.call()?.create_alias(alias)
    }
    fn put_alias(&self, alias: &trent::key::AliasRecord) -> trent::Result<()> {
        self.call()?.put_alias(alias)
    }
    fn delete_alias(&self, name: &trent::id::AliasName) -> trent::Result<()> {
        self.call()?.delete_alias(name)
    }
    fn list_aliases(&self) -> trent::Result<Vec<trent::key::AliasRecord>> {
        self.call()?.list_aliases()
    }
    fn get_meta(&self, name: &str) -> trent::Result<Option<Vec<u8>>> {
        self.call()?.get_meta(name)
    }
    fn init_meta(&self, name: &str, value: &[u8]) -> trent::Result<Vec<u8>> {
        self.call()?.init_meta(name, value)
    }
    fn reseal_all(
        &self,
        reseal: &mut dyn trent::store::Reseal,
        root_check: &[u8],
        meta: &[(&str, &[u8])],
    ) -> trent::Result<()> {
        self.call()?.reseal_all(reseal, root_check, meta)
    }
    fn append_audit(&self, events: &[trent::store::AuditRow]) -> trent::Result<()> {
        self.call()?.append_audit(events)
    }
    fn is_shared(&self) -> bool {
        self.inner.is_shared()
    }
    fn change_cursor(&self) -> trent::Result<u64> {
        self.call()?.change_cursor()
    }
    fn changes_since(&self, cursor: u64) -> trent::Result<trent::store::Changes> {
        self.call()?.changes_since(cursor)
    }
    fn check_integrity(&self) -> trent::Result<()> {
        self.call()?.check_integrity()
    }
}
