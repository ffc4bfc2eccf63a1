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
use std::sync::atomic::{AtomicUsize, Ordering};

use trent::store::{PostgresStore, SqliteStore, Store};
use trent::{Kms, KmsBuilder};

/// The root key of every durable test store.
pub const TEST_ROOT_KEY: [u8; 32] = [0x5a; 32];

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

/// Where a durable test keeps its store: a SQLite file or a PostgreSQL schema of this run's
/// server.
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

    /// An engine on this store with [`TEST_ROOT_KEY`] and every other default.
    pub fn open(&self) -> Kms {
        self.builder().root_key(TEST_ROOT_KEY).open().unwrap()
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
