//! Keystore records changed outside Trent: every key record and alias record carries a MAC under
//! a key derived from the root key, so a change made with write access to the database alone
//! (re-enable a disabled key, cancel a pending deletion, roll back the current version, drop a
//! version row, change the policy, strip the MAC, repoint an alias) is refused, with
//! `KMSInternalException` naming the key or alias, by an engine that reads the record for the
//! first time and by a running engine once the change feed tells it to re-read. An older copy of
//! a record put back is refused by an engine that holds a newer one. A store made before records
//! carried MACs (a SQLite file made by Trent at schema version 2, `tests/data/legacy-store-v2.*`)
//! is authenticated at its first open with the right root key.
//!
//! PostgreSQL tests run when `TRENT_TEST_PG_URL` is set (`scripts/with-postgres`), and fail
//! under `CI=true` without it (see `common::pg_url`).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use trent::clock::{ManualClock, Timestamp};
use trent::key::KeyState;
use trent::*;

use common::{Backend, TEST_ROOT_KEY};

/// A refresh interval no test outlives: the running engine re-reads only on `refresh_now`.
const NEVER: Option<Duration> = Some(Duration::from_secs(3600));

/// The alias every case creates.
const ALIAS: &str = "alias/tampered";

fn new_key(kms: &Kms) -> String {
    kms.create_key(&kms.root_caller(), &CreateKeyRequest::default()).unwrap().key_metadata.key_id
}

fn encrypt(kms: &Kms, key: &str, plaintext: &[u8]) -> Vec<u8> {
    kms.encrypt(&kms.root_caller(), &EncryptRequest::new(key, plaintext.to_vec())).unwrap().ciphertext_blob
}

fn decrypt(kms: &Kms, blob: &[u8]) -> Result<Vec<u8>> {
    kms.decrypt(&kms.root_caller(), &DecryptRequest::new(blob.to_vec())).map(|r| r.plaintext.expose_secret().to_vec())
}

fn describe(kms: &Kms, key: &str) -> Result<KeyMetadata> {
    kms.describe_key(&kms.root_caller(), &KeyIdRequest::new(key)).map(|r| r.key_metadata)
}

/// Asserts that `result` is the refusal of the record of `subject` (a key id or alias name).
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T>, subject: &str) {
    let e = result.expect_err("a record changed outside Trent was used");
    assert_eq!(e.name(), "KMSInternalException", "{e:?}");
    for part in [subject, "failed authentication", "changed outside Trent"] {
        assert!(e.message().contains(part), "the error does not say {part:?}: {e:?}");
    }
}

/// One change made behind Trent's back.
struct Case {
    what: &'static str,
    /// Brings the key into the state the change attacks, on the running engine.
    prepare: fn(&Kms, &str),
    /// The SQL statement: `$1` the key's id, `$2` (if present) another key's id.
    sql: &'static str,
    /// Whether the change is to the alias [`ALIAS`] (pointing to the key) rather than the key.
    alias: bool,
}

fn disable(kms: &Kms, key: &str) {
    kms.disable_key(&kms.root_caller(), &KeyIdRequest::new(key)).unwrap();
}

fn schedule_deletion(kms: &Kms, key: &str) {
    let req = ScheduleKeyDeletionRequest { key_id: key.into(), pending_window_in_days: Some(7) };
    kms.schedule_key_deletion(&kms.root_caller(), &req).unwrap();
}

fn rotate_twice(kms: &Kms, key: &str) {
    for _ in 0..2 {
        kms.rotate_key_on_demand(&kms.root_caller(), &KeyIdRequest::new(key)).unwrap();
    }
}

const CASES: &[Case] = &[
    Case {
        what: "re-enable a disabled key",
        prepare: disable,
        sql: "UPDATE keys SET state = 'Enabled' WHERE id = $1",
        alias: false,
    },
    Case {
        what: "cancel a pending deletion",
        prepare: schedule_deletion,
        sql: "UPDATE keys SET state = 'Disabled', deletion_date = NULL, pending_window_days = NULL WHERE id = $1",
        alias: false,
    },
    Case {
        what: "roll back the current version",
        prepare: rotate_twice,
        sql: "UPDATE keys SET current_version = current_version - 1 WHERE id = $1",
        alias: false,
    },
    Case {
        what: "drop a version row",
        prepare: rotate_twice,
        sql: "DELETE FROM key_versions WHERE key_id = $1 AND number = 2",
        alias: false,
    },
    Case {
        what: "change the policy",
        prepare: |_, _| {},
        sql: "UPDATE keys SET policy = '{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\"}]}' \
              WHERE id = $1",
        alias: false,
    },
    Case {
        what: "re-enable a disabled key and strip its MAC",
        prepare: disable,
        sql: "UPDATE keys SET state = 'Enabled', mac = NULL WHERE id = $1",
        alias: false,
    },
    Case {
        what: "repoint an alias to another key",
        prepare: |_, _| {},
        sql: "UPDATE aliases SET target = $2 WHERE name = 'alias/tampered' AND target = $1",
        alias: true,
    },
];

/// Each case on a store of its own: refused on a fresh engine (a cache miss), reported by
/// `check_store_integrity`, and refused on a running engine once a change feed entry written
/// by hand makes it re-read. Other keys keep working.
fn changes_outside_trent_are_refused(new_backend: impl Fn() -> Backend) {
    for case in CASES {
        let backend = new_backend();
        let running = backend.keyed_builder().refresh_interval(NEVER).open().unwrap();
        let me = running.root_caller();
        let (key, other) = (new_key(&running), new_key(&running));
        let blob = encrypt(&running, &key, b"before");
        running.create_alias(&me, &AliasRequest::new(ALIAS, &key)).unwrap();
        (case.prepare)(&running, &key);
        // The running engine holds the key and the alias.
        let before = describe(&running, ALIAS).unwrap();
        assert_eq!(before.key_id, key);

        let params: &[&str] = if case.sql.contains("$2") { &[&key, &other] } else { &[&key] };
        assert_eq!(backend.exec(case.sql, params), 1, "{}: the change touched no row", case.what);
        let (subject, kind) = if case.alias { (ALIAS, "a") } else { (key.as_str(), "k") };

        // A fresh engine reads the record for the first time.
        let fresh = backend.open();
        assert_refused(describe(&fresh, subject), subject);
        if case.alias {
            assert_refused(fresh.encrypt(&me, &EncryptRequest::new(ALIAS, b"x".to_vec())), subject);
            assert_refused(fresh.list_aliases(&me, &ListAliasesRequest::default()), subject);
        } else {
            assert_refused(decrypt(&fresh, &blob), subject);
            assert_refused(fresh.enable_key(&me, &KeyIdRequest::new(&key)), subject);
            assert_refused(fresh.cancel_key_deletion(&me, &KeyIdRequest::new(&key)), subject);
        }
        assert_refused(fresh.check_store_integrity(), subject);
        if !case.alias {
            assert_refused(fresh.run_maintenance(), subject);
        }
        assert_eq!(decrypt(&fresh, &encrypt(&fresh, &other, b"other")).unwrap(), b"other", "{}", case.what);

        // The running engine still has what it read before the change...
        assert_eq!(describe(&running, ALIAS).unwrap(), before, "{}", case.what);
        // ...until the change feed says the record changed.
        backend.exec("INSERT INTO changes (kind, name, at) VALUES ($1, $2, 0)", &[kind, subject]);
        running.refresh_now().unwrap();
        assert_refused(describe(&running, subject), subject);
        if !case.alias {
            assert_refused(decrypt(&running, &blob), subject);
            assert_refused(
                running.update_key_description(
                    &me,
                    &UpdateKeyDescriptionRequest { key_id: key.clone(), description: "x".into() },
                ),
                subject,
            );
        }
        assert_eq!(decrypt(&running, &encrypt(&running, &other, b"other")).unwrap(), b"other");
    }
}

#[test]
fn changes_outside_trent_are_refused_on_sqlite() {
    changes_outside_trent_are_refused(Backend::sqlite);
}

#[test]
fn changes_outside_trent_are_refused_on_postgres() {
    if common::pg_url().is_none() {
        return;
    }
    changes_outside_trent_are_refused(|| Backend::postgres().unwrap());
}

/// A copy of a key record saved at one revision and put back after a later one: its MAC is
/// valid. An engine that holds the later revision keeps it and refuses to build on the older
/// one; an engine reading the key for the first time takes the older one (the documented limit).
fn an_older_record_put_back(backend: &Backend) {
    let running = backend.keyed_builder().refresh_interval(NEVER).open().unwrap();
    let me = running.root_caller();
    let key = new_key(&running);
    disable(&running, &key);
    backend.exec(&format!("CREATE TABLE saved AS SELECT * FROM keys WHERE id = '{key}'"), &[]);
    running.enable_key(&me, &KeyIdRequest::new(&key)).unwrap();
    let put_back = "UPDATE keys SET (revision, state, mac) = (SELECT revision, state, mac FROM saved) WHERE id = $1";
    assert_eq!(backend.exec(put_back, &[&key]), 1);
    backend.exec("INSERT INTO changes (kind, name, at) VALUES ('k', $1, 0)", &[&key]);
    running.refresh_now().unwrap();

    // The running engine keeps the newer revision it holds...
    assert_eq!(describe(&running, &key).unwrap().key_state, KeyState::Enabled);
    encrypt(&running, &key, b"still enabled here");
    // ...and a change on top of the older record is refused, naming the rollback.
    let e = running.disable_key(&me, &KeyIdRequest::new(&key)).unwrap_err();
    assert_eq!(e.name(), "KMSInternalException", "{e:?}");
    assert!(e.message().contains(&key) && e.message().contains("rolled back outside Trent"), "{e:?}");
    // An engine that never saw the newer revision cannot tell.
    assert_eq!(describe(&backend.open(), &key).unwrap().key_state, KeyState::Disabled);
}

common::backend_tests!(
    an_older_record_put_back_is_refused_by_an_engine_holding_a_newer_one_on_sqlite,
    an_older_record_put_back_is_refused_by_an_engine_holding_a_newer_one_on_postgres: an_older_record_put_back
);

/// A root key rotation re-MACs every record under the new root key in the same transaction,
/// and refuses (changing nothing) while a record fails authentication.
fn root_key_rotation_re_macs_every_record(backend: &Backend) {
    let kms = backend.open();
    let me = kms.root_caller();
    let key = new_key(&kms);
    let blob = encrypt(&kms, &key, b"rotated");
    kms.create_alias(&me, &AliasRequest::new(ALIAS, &key)).unwrap();
    let macs = || backend_macs(backend);
    let before = macs();
    kms.rotate_root_key(RootKeySource::bytes([0xa5; 32])).unwrap();
    let after = macs();
    assert_eq!(before.len(), 2);
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|mac| !before.contains(mac)), "a record kept its MAC under the new root key");
    drop(kms);
    let kms = backend.builder().root_key([0xa5; 32]).open().unwrap();
    kms.check_store_integrity().unwrap();
    assert_eq!(decrypt(&kms, &blob).unwrap(), b"rotated");
    assert_eq!(describe(&kms, ALIAS).unwrap().key_id, key);

    // A tampered record is not laundered by a rotation: it fails, and nothing changes.
    backend.exec("UPDATE aliases SET last_updated = last_updated + 1 WHERE name = $1", &[ALIAS]);
    let e = kms.rotate_root_key(RootKeySource::bytes([0x33; 32])).unwrap_err();
    assert!(e.message().contains(ALIAS) && e.message().contains("failed authentication"), "{e:?}");
    drop(kms);
    let kms = backend.builder().root_key([0xa5; 32]).open().unwrap();
    assert_eq!(decrypt(&kms, &blob).unwrap(), b"rotated");
    assert_refused(describe(&kms, ALIAS), ALIAS);
}

/// Every record's stored MAC, keys then aliases, in a stable order.
fn backend_macs(backend: &Backend) -> Vec<Vec<u8>> {
    match backend {
        Backend::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            let mut stmt = conn.prepare("SELECT mac FROM keys UNION ALL SELECT mac FROM aliases ORDER BY 1").unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<Vec<_>>>().unwrap()
        }
        Backend::Postgres { url, schema } => common::pg_client(url, schema)
            .query("SELECT mac FROM keys UNION ALL SELECT mac FROM aliases ORDER BY 1", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect(),
    }
}

common::backend_tests!(
    root_key_rotation_re_macs_every_record_on_sqlite,
    root_key_rotation_re_macs_every_record_on_postgres: root_key_rotation_re_macs_every_record
);

// ------------------------------------------------------------ stores made before record MACs

/// The fixture: a SQLite keystore made by Trent before records carried MACs, and what it holds.
struct Legacy {
    db: std::path::PathBuf,
    facts: serde_json::Value,
}

impl Legacy {
    fn load() -> Self {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let facts = serde_json::from_slice(&std::fs::read(data.join("legacy-store-v2.json")).unwrap()).unwrap();
        Self { db: data.join("legacy-store-v2.sqlite"), facts }
    }

    fn key(&self, name: &str) -> String {
        self.facts[name].as_str().unwrap().to_owned()
    }

    /// A SQLite store: a copy of the fixture file.
    fn sqlite(&self) -> Backend {
        let path = common::fresh_path("db");
        std::fs::copy(&self.db, &path).unwrap();
        Backend::Sqlite(path)
    }

    /// A PostgreSQL store as Trent made it before records carried MACs: the schema at version 2
    /// (this version's migrations, with migration 3 taken back) holding the fixture's rows.
    fn postgres(&self) -> Option<Backend> {
        let backend = Backend::postgres()?;
        drop(backend.store());
        let Backend::Postgres { url, schema } = &backend else { unreachable!() };
        let mut pg = common::pg_client(url, schema);
        pg.batch_execute(
            "ALTER TABLE keys DROP COLUMN mac; ALTER TABLE aliases DROP COLUMN mac; DELETE FROM schema_migrations \
             WHERE version = 3;",
        )
        .unwrap();
        let lite = rusqlite::Connection::open(&self.db).unwrap();
        let columns = "id, revision, creation_date, state, description, key_usage, key_spec, origin, key_manager, \
                       multi_region, deletion_date, pending_window_days, policy, tags, rotation_enabled, \
                       rotation_period_days, next_rotation, on_demand_count, current_version";
        let mut keys = lite.prepare(&format!("SELECT {columns} FROM keys")).unwrap();
        let mut rows = keys.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let text = |i| r.get::<_, String>(i).unwrap();
            let int = |i| r.get::<_, i64>(i).unwrap();
            let opt = |i| r.get::<_, Option<i64>>(i).unwrap();
            let flag = |i| r.get::<_, bool>(i).unwrap();
            pg.execute(
                &format!(
                    "INSERT INTO keys ({columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                     $14, $15, $16, $17, $18, $19)"
                ),
                &[
                    &text(0),
                    &int(1),
                    &int(2),
                    &text(3),
                    &text(4),
                    &text(5),
                    &text(6),
                    &text(7),
                    &text(8),
                    &flag(9),
                    &opt(10),
                    &opt(11),
                    &text(12),
                    &text(13),
                    &flag(14),
                    &int(15),
                    &opt(16),
                    &int(17),
                    &int(18),
                ],
            )
            .unwrap();
        }
        let mut versions = lite
            .prepare("SELECT key_id, number, material_id, wrapped, created, rotation_type FROM key_versions")
            .unwrap();
        let mut rows = versions.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let (id, n, material, wrapped, created, kind): (String, i64, String, Vec<u8>, i64, Option<String>) = (
                r.get(0).unwrap(),
                r.get(1).unwrap(),
                r.get(2).unwrap(),
                r.get(3).unwrap(),
                r.get(4).unwrap(),
                r.get(5).unwrap(),
            );
            pg.execute(
                "INSERT INTO key_versions (key_id, number, material_id, wrapped, created, rotation_type) VALUES ($1, \
                 $2, $3, $4, $5, $6)",
                &[&id, &n, &material, &wrapped, &created, &kind],
            )
            .unwrap();
        }
        let mut aliases = lite.prepare("SELECT name, target, creation_date, last_updated FROM aliases").unwrap();
        let mut rows = aliases.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let (name, target, created, updated): (String, String, i64, i64) =
                (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap(), r.get(3).unwrap());
            pg.execute(
                "INSERT INTO aliases (name, target, creation_date, last_updated) VALUES ($1, $2, $3, $4)",
                &[&name, &target, &created, &updated],
            )
            .unwrap();
        }
        let mut meta = lite.prepare("SELECT name, value FROM meta").unwrap();
        let mut rows = meta.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let (name, value): (String, Vec<u8>) = (r.get(0).unwrap(), r.get(1).unwrap());
            pg.execute("INSERT INTO meta (name, value) VALUES ($1, $2)", &[&name, &value]).unwrap();
        }
        Some(backend)
    }
}

/// `SELECT <what>` on the store, one integer.
fn count(backend: &Backend, what: &str) -> i64 {
    match backend {
        Backend::Sqlite(path) => {
            rusqlite::Connection::open(path).unwrap().query_row(&format!("SELECT {what}"), [], |r| r.get(0)).unwrap()
        }
        Backend::Postgres { url, schema } => {
            common::pg_client(url, schema).query_one(&format!("SELECT {what}"), &[]).unwrap().get(0)
        }
    }
}

fn root_check(backend: &Backend) -> Vec<u8> {
    match backend {
        Backend::Sqlite(path) => rusqlite::Connection::open(path)
            .unwrap()
            .query_row("SELECT value FROM meta WHERE name = 'root_key_check'", [], |r| r.get(0))
            .unwrap(),
        Backend::Postgres { url, schema } => common::pg_client(url, schema)
            .query_one("SELECT value FROM meta WHERE name = 'root_key_check'", &[])
            .unwrap()
            .get(0),
    }
}

/// The first open with the root key MACs every record, as it is, and marks the store; nothing
/// is lost, and from then on a change outside Trent is refused like in any other store, even
/// with the MAC stripped and the check value deleted.
fn a_store_made_before_record_macs(legacy: &Legacy, backend: &Backend) {
    let clock = ManualClock::new(Timestamp::from_millis(legacy.facts["clock_ms"].as_i64().unwrap()));
    clock.advance_days(1);
    let open = |root: [u8; 32]| backend.builder().root_key(root).clock(clock.clone()).refresh_interval(NEVER).open();
    let (rotated, disabled, pending) = (legacy.key("rotated"), legacy.key("disabled"), legacy.key("pending"));
    let legacy_check = root_check(backend);

    // A wrong root key opens nothing and authenticates nothing.
    assert!(matches!(open([0xa5; 32]), Err(OpenError::RootKey(_))));
    assert_eq!(count(backend, "COUNT(*) FROM keys WHERE mac IS NOT NULL"), 0);
    assert_eq!(root_check(backend), legacy_check);

    let kms = open(TEST_ROOT_KEY).unwrap();
    let me = kms.root_caller();
    assert_eq!(count(backend, "MAX(version) FROM schema_migrations"), 3);
    assert_eq!(count(backend, "COUNT(*) FROM keys WHERE mac IS NULL"), 0);
    assert_eq!(count(backend, "COUNT(*) FROM aliases WHERE mac IS NULL"), 0);
    assert_eq!(count(backend, "COUNT(*) FROM keys"), 3);
    assert_ne!(root_check(backend), legacy_check);
    kms.check_store_integrity().unwrap();

    assert_eq!(describe(&kms, &rotated).unwrap().key_state, KeyState::Enabled);
    assert_eq!(describe(&kms, &disabled).unwrap().key_state, KeyState::Disabled);
    assert_eq!(describe(&kms, &pending).unwrap().key_state, KeyState::PendingDeletion);
    assert_eq!(describe(&kms, "alias/legacy-rotated").unwrap().key_id, rotated);
    assert_eq!(describe(&kms, "alias/legacy-disabled").unwrap().key_id, disabled);
    kms.enable_key(&me, &KeyIdRequest::new(&disabled)).unwrap();
    for blob in legacy.facts["blobs"].as_array().unwrap() {
        let bytes = base64::engine::general_purpose::STANDARD.decode(blob["blob"].as_str().unwrap()).unwrap();
        assert_eq!(decrypt(&kms, &bytes).unwrap(), blob["plaintext"].as_str().unwrap().as_bytes());
    }
    let upgraded_check = root_check(backend);
    drop(kms);

    // Opened again: nothing to upgrade.
    open(TEST_ROOT_KEY).unwrap().check_store_integrity().unwrap();
    assert_eq!(root_check(backend), upgraded_check);

    // A record without a MAC is now refused, even after deleting the check value (the store is
    // then taken for a new one, which has nothing to authenticate).
    backend.exec("UPDATE keys SET state = 'Disabled', deletion_date = NULL, pending_window_days = NULL, mac = NULL WHERE id = $1", &[&pending]);
    backend.exec("DELETE FROM meta WHERE name = 'root_key_check'", &[]);
    let kms = open(TEST_ROOT_KEY).unwrap();
    assert_refused(describe(&kms, &pending), &pending);
    assert_eq!(describe(&kms, &rotated).unwrap().key_state, KeyState::Enabled);
}

#[test]
fn a_store_made_before_record_macs_is_authenticated_at_its_first_open_on_sqlite() {
    let legacy = Legacy::load();
    a_store_made_before_record_macs(&legacy, &legacy.sqlite());
}

#[test]
fn a_store_made_before_record_macs_is_authenticated_at_its_first_open_on_postgres() {
    let legacy = Legacy::load();
    let Some(backend) = legacy.postgres() else { return };
    a_store_made_before_record_macs(&legacy, &backend);
}
