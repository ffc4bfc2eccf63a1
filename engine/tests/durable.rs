//! Durable keystores end to end: the data directory, root key sources and their checks, root key
//! rotation, damaged wrapped material, what the store files hold (never unwrapped material),
//! and several engines on one SQLite file or PostgreSQL schema (automatic rotation made once,
//! other engines' changes seen within the refresh bound, concurrent on-demand rotations), and
//! reads that never see half of another connection's commit.
//!
//! PostgreSQL tests run when `TRENT_TEST_PG_URL` is set (`scripts/with-postgres`), and fail
//! under `CI=true` without it (see `common::pg_url`).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use trent::clock::{ManualClock, Timestamp};
use trent::key::{KeyMaterialState, KeyState, RotationType, Tag};
use trent::*;

use common::{Backend, TEST_ROOT_KEY, pg_client};

/// A root key other than [`TEST_ROOT_KEY`].
const OTHER_ROOT_KEY: [u8; 32] = [0xa5; 32];

/// How long a refresh thread may go without completing a poll before a test gives up on it: a
/// hang detector, not a bound (how late a change may be seen is counted in polls: see
/// `within_polls`).
const STALLED: Duration = Duration::from_secs(300);

/// A refresh interval no test outlives: the engine sees other engines' changes only through
/// `refresh_now` (or a compare-and-set conflict).
const NEVER: Option<Duration> = Some(Duration::from_secs(3600));

// ---------------------------------------------------------------------------------- helpers

impl Backend {
    /// A key's stored versions, `(number, wrapped material)` in order, read behind Trent's back
    /// (rusqlite, or the postgres crate with the search path set to the store's schema).
    fn sql_versions(&self, key_id: &str) -> Vec<(i64, Vec<u8>)> {
        match self {
            Self::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut stmt =
                    conn.prepare("SELECT number, wrapped FROM key_versions WHERE key_id = ?1 ORDER BY number").unwrap();
                stmt.query_map([key_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .unwrap()
            }
            Self::Postgres { url, schema } => {
                let mut client = pg_client(url, schema);
                client
                    .query("SELECT number, wrapped FROM key_versions WHERE key_id = $1 ORDER BY number", &[&key_id])
                    .unwrap()
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect()
            }
        }
    }

    /// The version numbers the store holds for a key, in order.
    fn version_numbers(&self, key_id: &str) -> Vec<i64> {
        self.sql_versions(key_id).into_iter().map(|(n, _)| n).collect()
    }

    /// Flips one bit of the stored (wrapped) material of a key's version, behind Trent's back.
    fn corrupt_wrapped(&self, key_id: &str, version: i64) {
        let (_, mut wrapped) = self.sql_versions(key_id).into_iter().find(|(n, _)| *n == version).unwrap();
        // Inside the sealed material (after the 12-byte nonce).
        wrapped[20] ^= 0x01;
        let changed = match self {
            Self::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute(
                    "UPDATE key_versions SET wrapped = ?3 WHERE key_id = ?1 AND number = ?2",
                    rusqlite::params![key_id, version, wrapped],
                )
                .unwrap() as u64,
            Self::Postgres { url, schema } => pg_client(url, schema)
                .execute(
                    "UPDATE key_versions SET wrapped = $3 WHERE key_id = $1 AND number = $2",
                    &[&key_id, &version, &wrapped],
                )
                .unwrap(),
        };
        assert_eq!(changed, 1);
    }
}

fn new_key(kms: &Kms) -> String {
    kms.create_key(&kms.root_caller(), &CreateKeyRequest::default()).unwrap().key_metadata.key_id
}

fn encrypt(kms: &Kms, key: &str, plaintext: &[u8]) -> Vec<u8> {
    kms.encrypt(&kms.root_caller(), &EncryptRequest::new(key, plaintext.to_vec())).unwrap().ciphertext_blob
}

fn decrypt(kms: &Kms, blob: &[u8]) -> Vec<u8> {
    kms.decrypt(&kms.root_caller(), &DecryptRequest::new(blob.to_vec())).unwrap().plaintext.expose_secret().to_vec()
}

/// The key version a blob names in its header.
fn blob_version(blob: &[u8]) -> u32 {
    trent::ciphertext::parse(blob).unwrap().header.version
}

/// The key a blob names in its header.
fn blob_key(blob: &[u8]) -> String {
    trent::ciphertext::parse(blob).unwrap().header.key_id.to_string()
}

fn describe(kms: &Kms, key: &str) -> KeyMetadata {
    kms.describe_key(&kms.root_caller(), &KeyIdRequest::new(key)).unwrap().key_metadata
}

/// Every version of a key, oldest first (ListKeyRotations with ALL_KEY_MATERIAL).
fn all_material(kms: &Kms, key: &str) -> Vec<RotationsListEntry> {
    let req = ListKeyRotationsRequest {
        key_id: key.into(),
        include_key_material: Some("ALL_KEY_MATERIAL".into()),
        limit: Some(1000),
        ..Default::default()
    };
    let out = kms.list_key_rotations(&kms.root_caller(), &req).unwrap();
    assert!(!out.truncated);
    out.rotations
}

/// The rotations of a key (ListKeyRotations' default: versions made by a rotation).
fn rotations(kms: &Kms, key: &str) -> Vec<RotationsListEntry> {
    let req = ListKeyRotationsRequest { key_id: key.into(), limit: Some(1000), ..Default::default() };
    kms.list_key_rotations(&kms.root_caller(), &req).unwrap().rotations
}

fn rotate(kms: &Kms, key: &str) {
    kms.rotate_key_on_demand(&kms.root_caller(), &KeyIdRequest::new(key)).unwrap();
}

/// The error of an open refused for its root key.
fn root_key_error(opened: std::result::Result<Kms, OpenError>) -> Error {
    match opened {
        Err(OpenError::RootKey(e)) => {
            assert_eq!(e.name(), "ValidationException");
            e
        }
        other => panic!("expected a root key error, got {other:?}"),
    }
}

/// Waits until `seen` holds on `engine`, which must be within two polls of its refresh thread
/// (the documented bound: one refresh interval plus one poll): once the thread has completed a
/// poll that started after the change, `seen` must hold. Counts polls, not time, so a busy
/// machine slows the test down without failing it; only a refresh thread that stops polling
/// altogether for [`STALLED`] fails it.
fn within_polls(engine: &Kms, what: &str, mut seen: impl FnMut() -> bool) {
    let first = engine.test_hook_refresh_polls();
    let (mut last, mut progress) = (first, Instant::now());
    loop {
        if seen() {
            return;
        }
        let polls = engine.test_hook_refresh_polls();
        assert!(polls < first + 2 || seen(), "{what}: not seen after {} polls of the refresh thread", polls - first);
        if polls != last {
            (last, progress) = (polls, Instant::now());
        }
        assert!(progress.elapsed() < STALLED, "{what}: the refresh thread made no poll for {STALLED:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `result` failed with the exception `name` (`false` while it succeeds; any other
/// failure is a test failure).
fn fails_with<T: std::fmt::Debug>(result: Result<T>, name: &str) -> bool {
    match result {
        Ok(_) => false,
        Err(e) if e.name() == name => true,
        Err(e) => panic!("expected {name} (or success before the change is seen), got {e:?}"),
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The bytes of a SQLite store's database file and its write-ahead log (`None`: no such file).
fn store_files(db: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            let path = PathBuf::from(path);
            let bytes = std::fs::read(&path).ok();
            (path, bytes)
        })
        .collect()
}

/// Asserts that a SQLite store's files are byte for byte what they were.
fn assert_unchanged(db: &Path, before: &[(PathBuf, Option<Vec<u8>>)], what: &str) {
    for ((path, old), (_, new)) in before.iter().zip(store_files(db)) {
        let size = |b: &Option<Vec<u8>>| b.as_ref().map(Vec::len);
        assert!(
            *old == new,
            "{what} changed {} ({:?} bytes before, {:?} after)",
            path.display(),
            size(old),
            size(&new)
        );
    }
}

/// The forms in which 32 bytes of material could sit in a store or a dump: raw, lowercase and
/// uppercase hex, and standard base64 at each of the three alignments a base64 text can give
/// them (the characters that depend on the material alone).
fn encodings(material: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = vec![
        ("raw", material.to_vec()),
        ("hex", hex::encode(material).into_bytes()),
        ("HEX", hex::encode_upper(material).into_bytes()),
    ];
    for shift in 0..3 {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(material);
        let text = base64::engine::general_purpose::STANDARD.encode(&shifted);
        let (start, end) = ((8 * shift).div_ceil(6), 8 * (shift + material.len()) / 6);
        out.push(("base64", text.as_bytes()[start..end].to_vec()));
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The encoding of `material` found in `haystack`, if any.
fn material_in(haystack: &[u8], material: &[u8]) -> Option<&'static str> {
    encodings(material).into_iter().find(|(_, form)| contains(haystack, form)).map(|(name, _)| name)
}

/// Asserts that no version's material shows in `haystack` in any form.
fn assert_no_material(haystack: &[u8], materials: &BTreeMap<String, Vec<Vec<u8>>>, what: &str) {
    for (key, versions) in materials {
        for (i, material) in versions.iter().enumerate() {
            if let Some(form) = material_in(haystack, material) {
                panic!("{what} holds the material of key {key} version {} ({form})", i + 1);
            }
        }
    }
}

/// Several keys with rotations and blobs under each version; returns each key's unwrapped
/// material (from the test hook), keyed by key id.
fn keys_with_rotations(kms: &Kms) -> BTreeMap<String, Vec<Vec<u8>>> {
    let mut materials = BTreeMap::new();
    for rotations in [0, 1, 3] {
        let key = new_key(kms);
        encrypt(kms, &key, b"version 1");
        for v in 0..rotations {
            rotate(kms, &key);
            encrypt(kms, &key, format!("version {}", v + 2).as_bytes());
        }
        let material = kms.test_hook_version_material(&key).unwrap();
        assert_eq!(material.len(), rotations + 1);
        assert!(material.iter().all(|m| m.len() == 32));
        materials.insert(key, material);
    }
    let distinct: BTreeSet<&Vec<u8>> = materials.values().flatten().collect();
    assert_eq!(distinct.len(), 1 + 2 + 4, "every version has its own material");
    materials
}

// ------------------------------------------------------------------- 1. the data directory

#[test]
fn a_data_directory_is_created_private_and_keeps_everything_across_reopening() {
    let dir = common::fresh_path("data");
    assert!(!dir.exists());
    let kms = Kms::open(&dir).unwrap();
    let me = kms.root_caller();
    assert_eq!(kms.store_backend(), "sqlite");
    let db = dir.join(DATA_DIR_DATABASE);
    let key_file = dir.join(DATA_DIR_ROOT_KEY);
    assert_eq!(DATA_DIR_DATABASE, "trent.db");
    assert_eq!(DATA_DIR_ROOT_KEY, "root.key");
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700, "the data directory");
        assert_eq!(mode(&db), 0o600, "trent.db");
        assert_eq!(mode(&key_file), 0o600, "root.key");
        for companion in ["trent.db-wal", "trent.db-shm"] {
            if dir.join(companion).exists() {
                assert_eq!(mode(&dir.join(companion)), 0o600, "{companion}");
            }
        }
    }
    let root_key = std::fs::read(&key_file).unwrap();
    assert_eq!(root_key.len(), 32);
    assert_ne!(root_key, [0u8; 32]);

    // Keys with metadata, tags, aliases, rotations; one disabled, one pending deletion.
    let main = kms
        .create_key(
            &me,
            &CreateKeyRequest {
                description: Some("kept across restarts".into()),
                tags: vec![Tag::new("team", "storage"), Tag::new("env", "test")],
                ..Default::default()
            },
        )
        .unwrap()
        .key_metadata
        .key_id;
    kms.create_alias(&me, &AliasRequest::new("alias/main", &main)).unwrap();
    kms.enable_key_rotation(
        &me,
        &EnableKeyRotationRequest { key_id: main.clone(), rotation_period_in_days: Some(180) },
    )
    .unwrap();
    let mut blobs = vec![(encrypt(&kms, &main, b"before rotation"), b"before rotation".to_vec())];
    for i in 0..2 {
        rotate(&kms, &main);
        let pt = format!("after rotation {i}").into_bytes();
        blobs.push((encrypt(&kms, "alias/main", &pt), pt));
    }
    let disabled = new_key(&kms);
    blobs.push((encrypt(&kms, &disabled, b"under a key disabled later"), b"under a key disabled later".to_vec()));
    kms.disable_key(&me, &KeyIdRequest::new(&disabled)).unwrap();
    let doomed = new_key(&kms);
    kms.create_alias(&me, &AliasRequest::new("alias/doomed", &doomed)).unwrap();
    kms.schedule_key_deletion(
        &me,
        &ScheduleKeyDeletionRequest { key_id: doomed.clone(), pending_window_in_days: Some(30) },
    )
    .unwrap();

    let snapshot = |kms: &Kms| {
        let me = kms.root_caller();
        let keys = [&main, &disabled, &doomed].map(|k| describe(kms, k));
        let tags = kms
            .list_resource_tags(&me, &ListResourceTagsRequest { key_id: main.clone(), ..Default::default() })
            .unwrap()
            .tags;
        let aliases = kms.list_aliases(&me, &ListAliasesRequest::default()).unwrap().aliases;
        let status = kms.get_key_rotation_status(&me, &KeyIdRequest::new(&main)).unwrap();
        let mut listed: Vec<String> =
            kms.list_keys(&me, &ListKeysRequest::default()).unwrap().keys.into_iter().map(|k| k.key_id).collect();
        listed.sort();
        (keys, tags, aliases, status, all_material(kms, &main), listed)
    };
    let before = snapshot(&kms);
    assert_eq!(before.0[0].description, "kept across restarts");
    assert_eq!(before.0[1].key_state, KeyState::Disabled);
    assert_eq!(before.0[2].key_state, KeyState::PendingDeletion);
    assert_eq!(before.1.len(), 2);
    assert_eq!(before.2.iter().filter(|a| a.alias_name == "alias/main" || a.alias_name == "alias/doomed").count(), 2);
    assert_eq!(before.4.len(), 3);
    kms.check_store_integrity().unwrap();
    drop(kms);

    // Reopened through the builder: everything is back, and the root key file is untouched.
    let kms = Kms::builder().data_dir(&dir).open().unwrap();
    assert_eq!(std::fs::read(&key_file).unwrap(), root_key);
    assert_eq!(snapshot(&kms), before);
    for (blob, pt) in &blobs[..3] {
        assert_eq!(&decrypt(&kms, blob), pt);
    }
    let err = kms.decrypt(&kms.root_caller(), &DecryptRequest::new(blobs[3].0.clone())).unwrap_err();
    assert_eq!(err.name(), "DisabledException");
    kms.check_store_integrity().unwrap();
    // Changes made by a reopened engine persist too.
    kms.enable_key(&me, &KeyIdRequest::new(&disabled)).unwrap();
    rotate(&kms, &main);
    let pt = b"third session".to_vec();
    blobs.push((encrypt(&kms, &main, &pt), pt));
    kms.untag_resource(&me, &UntagResourceRequest { key_id: main.clone(), tag_keys: vec!["env".into()] }).unwrap();
    kms.cancel_key_deletion(&me, &KeyIdRequest::new(&doomed)).unwrap();
    let before = snapshot(&kms);
    drop(kms);

    let kms = Kms::open(&dir).unwrap();
    let after = snapshot(&kms);
    assert_eq!(after, before);
    assert_eq!(after.0[1].key_state, KeyState::Enabled);
    assert_eq!(after.0[2].key_state, KeyState::Disabled);
    assert_eq!(after.1, vec![Tag::new("team", "storage")]);
    assert_eq!(after.4.len(), 4);
    assert_eq!(after.4.last().unwrap().key_material_state, KeyMaterialState::Current);
    for (blob, pt) in &blobs {
        assert_eq!(&decrypt(&kms, blob), pt);
    }
    kms.check_store_integrity().unwrap();
}

// ------------------------------------------------------------------- 2. root key sources

#[test]
fn a_data_directory_refuses_a_bad_root_key_file_and_changes_nothing() {
    let dir = common::fresh_path("data");
    let db = dir.join(DATA_DIR_DATABASE);
    let key_file = dir.join(DATA_DIR_ROOT_KEY);
    let kms = Kms::open(&dir).unwrap();
    let key = new_key(&kms);
    let blob = encrypt(&kms, &key, b"kept");
    drop(kms);
    let good = std::fs::read(&key_file).unwrap();
    let shown = key_file.display().to_string();

    // A key file the group or others may read.
    #[cfg(unix)]
    for loose in [0o644, 0o640, 0o604] {
        chmod(&key_file, loose);
        let e = root_key_error(Kms::open(&dir));
        let msg = e.message();
        assert!(msg.contains(&shown), "the message names the file: {msg}");
        assert!(msg.contains(&format!("{loose:03o}")), "the message names the mode: {msg}");
        assert!(OpenError::RootKey(e.clone()).to_string().contains(&shown));
    }
    #[cfg(unix)]
    chmod(&key_file, 0o600);

    // Another engine holds the store open, so the write-ahead log has content to compare too.
    let holder = Kms::open(&dir).unwrap();
    let other = new_key(&holder);
    let other_blob = encrypt(&holder, &other, b"other");
    let before = store_files(&db);

    // A different 32-byte key file.
    std::fs::write(&key_file, OTHER_ROOT_KEY).unwrap();
    let e = root_key_error(Kms::open(&dir));
    assert!(e.message().contains("is not the one"), "{e}");
    assert!(e.message().contains(&shown), "{e}");
    assert_unchanged(&db, &before, "opening with a wrong key file");
    // The same key from elsewhere.
    let elsewhere = common::fresh_path("key");
    std::fs::write(&elsewhere, OTHER_ROOT_KEY).unwrap();
    #[cfg(unix)]
    chmod(&elsewhere, 0o600);
    let e = root_key_error(Kms::builder().data_dir(&dir).root_key_source(RootKeySource::file(&elsewhere)).open());
    assert!(e.message().contains("is not the one"), "{e}");
    assert_unchanged(&db, &before, "opening with a wrong key file");

    // A key file of the wrong length.
    std::fs::write(&key_file, &good[..31]).unwrap();
    let e = root_key_error(Kms::open(&dir));
    assert!(e.message().contains("exactly 32 bytes"), "{e}");
    assert_unchanged(&db, &before, "opening with a short key file");

    // A missing key file: refused, and no new key is made.
    std::fs::remove_file(&key_file).unwrap();
    let e = root_key_error(Kms::open(&dir));
    assert!(e.message().contains("missing") && e.message().contains(&shown), "{e}");
    assert!(!key_file.exists(), "a new root key file was created for an existing store");
    assert_unchanged(&db, &before, "opening without the key file");

    drop(holder);
    let before = store_files(&db);
    let e = root_key_error(Kms::open(&dir));
    assert!(e.message().contains("missing"), "{e}");
    assert!(!key_file.exists(), "a new root key file was created for an existing store");
    assert_unchanged(&db, &before, "opening without the key file");

    // The right key again.
    std::fs::write(&key_file, &good).unwrap();
    #[cfg(unix)]
    chmod(&key_file, 0o600);
    let kms = Kms::open(&dir).unwrap();
    assert_eq!(decrypt(&kms, &blob), b"kept");
    assert_eq!(decrypt(&kms, &other_blob), b"other");
    kms.check_store_integrity().unwrap();
}

/// A wrong root key of another kind (a passphrase, whose parameters a key-file store has never
/// had) is refused without writing anything either.
#[test]
fn a_wrong_passphrase_for_a_key_file_store_changes_nothing() {
    let dir = common::fresh_path("data");
    let db = dir.join(DATA_DIR_DATABASE);
    let kms = Kms::open(&dir).unwrap();
    let key = new_key(&kms);
    let blob = encrypt(&kms, &key, b"kept");
    drop(kms);
    let before = store_files(&db);
    let e = root_key_error(
        Kms::builder().data_dir(&dir).root_key_source(RootKeySource::passphrase("not this store's key")).open(),
    );
    assert!(e.message().contains("is not the one"), "{e}");
    let meta: Vec<String> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn.prepare("SELECT name FROM meta ORDER BY name").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    };
    assert_eq!(meta, ["root_key_check"], "the refused open added store metadata");
    assert_unchanged(&db, &before, "opening a key-file store with a passphrase");
    let kms = Kms::open(&dir).unwrap();
    assert_eq!(decrypt(&kms, &blob), b"kept");
}

/// PBKDF2 with 600,000 iterations costs about a second in a debug build: six derivations.
#[test]
fn a_passphrase_root_key_reopens_refuses_a_wrong_one_and_rotates_to_a_new_one() {
    let path = common::fresh_path("db");
    let open =
        |passphrase: &str| Kms::builder().sqlite(&path).root_key_source(RootKeySource::passphrase(passphrase)).open();
    let kms = open("correct horse battery staple").unwrap();
    let key = new_key(&kms);
    let first = encrypt(&kms, &key, b"first");
    drop(kms);

    // Reopening with the same passphrase derives the same key (the salt is in the store).
    let kms = open("correct horse battery staple").unwrap();
    assert_eq!(decrypt(&kms, &first), b"first");
    rotate(&kms, &key);
    let second = encrypt(&kms, &key, b"second");

    // A wrong passphrase is refused, names its kind but not the passphrase, and writes nothing.
    let before = store_files(&path);
    let e = root_key_error(open("incorrect horse"));
    assert!(e.message().contains("is not the one") && e.message().contains("passphrase"), "{e}");
    assert!(!e.message().contains("incorrect horse"));
    assert_unchanged(&path, &before, "opening with a wrong passphrase");

    // Rotation to a new passphrase.
    assert_eq!(kms.rotate_root_key(RootKeySource::passphrase("a new passphrase")).unwrap(), 2);
    assert_eq!(decrypt(&kms, &first), b"first");
    let third = encrypt(&kms, &key, b"third");
    kms.check_store_integrity().unwrap();
    drop(kms);
    let kms = open("a new passphrase").unwrap();
    for (blob, pt) in [(&first, &b"first"[..]), (&second, b"second"), (&third, b"third")] {
        assert_eq!(decrypt(&kms, blob), pt);
    }
    drop(kms);
    let e = root_key_error(open("correct horse battery staple"));
    assert!(e.message().contains("is not the one"), "{e}");
}

/// The variable names the child process sees.
const ENV_CHILD: &str = "TRENT_DURABLE_ENV_CHILD";
const ENV_HEX: &str = "TRENT_DURABLE_ROOT_HEX";
const ENV_B64: &str = "TRENT_DURABLE_ROOT_B64";
const ENV_GARBAGE: &str = "TRENT_DURABLE_ROOT_GARBAGE";
const ENV_GARBAGE_NEW_STORE: &str = "TRENT_DURABLE_ROOT_GARBAGE_NEW_STORE";
const ENV_NOT_HEX: &str = "TRENT_DURABLE_ROOT_NOT_HEX";
const ENV_UNSET: &str = "TRENT_DURABLE_ROOT_UNSET";
const GARBAGE: &str = "s3cr3t-but-not-a-key-c0ffee";
/// 64 characters, but not hex.
const NOT_HEX: &str = "zz4c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f";

/// Root keys from environment variables. The variables are set for a child process (this test
/// binary again, running only [`env_child`]): changing this process's environment while other
/// tests run on other threads would race with them.
#[test]
fn a_root_key_from_an_environment_variable() {
    let key = [0x3cu8; 32];
    let b64 = format!(" {}\n", base64::engine::general_purpose::STANDARD.encode(key));
    run_env_child(
        "env_child",
        &[
            (ENV_HEX, &hex::encode(key)),
            (ENV_B64, &b64),
            (ENV_GARBAGE, GARBAGE),
            (ENV_GARBAGE_NEW_STORE, GARBAGE),
            (ENV_NOT_HEX, NOT_HEX),
        ],
    );
}

/// Runs this test binary again, only the ignored test `name`, with `ENV_CHILD` and `vars` set
/// (and `ENV_UNSET` unset), and checks that it ran its checks to the end.
fn run_env_child(name: &str, vars: &[(&str, &str)]) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(ENV_CHILD, "1")
        .envs(vars.iter().copied())
        .env_remove(ENV_UNSET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed:\n{stdout}\n{stderr}");
    let done = format!("{name}: all checks ran");
    assert!(stdout.contains(&done), "the child did not run its checks:\n{stdout}\n{stderr}");
}

const ENV_TAKEN: &str = "TRENT_DURABLE_ROOT_TAKEN";
const ENV_PASSPHRASE: &str = "TRENT_DURABLE_PASSPHRASE";
const TAKEN_KEY: [u8; 32] = [0x5e; 32];
const PASSPHRASE: &str = "a passphrase from the environment";

/// A root key or passphrase read from a variable is removed from the environment by the open
/// (and its value overwritten in the initial environment block, which `/proc/self/environ`
/// shows); a second engine opened from the same variable gets an error saying so. In a child
/// process, as [`a_root_key_from_an_environment_variable`].
#[test]
fn the_root_key_variable_is_removed_from_the_environment() {
    run_env_child("env_removed_child", &[(ENV_TAKEN, &hex::encode(TAKEN_KEY)), (ENV_PASSPHRASE, PASSPHRASE)]);
}

#[test]
#[ignore = "run by the_root_key_variable_is_removed_from_the_environment, in a child process with the variables set"]
fn env_removed_child() {
    if std::env::var(ENV_CHILD).is_err() {
        return;
    }
    let environ = || std::fs::read("/proc/self/environ").unwrap_or_default();
    let shows = |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    let hex_key = hex::encode(TAKEN_KEY);
    assert!(shows(&environ(), hex_key.as_bytes()), "the child's environment holds the key before the open");
    assert!(shows(&environ(), PASSPHRASE.as_bytes()), "the child's environment holds the passphrase before the open");

    // The root key: gone from the environment once an engine has read it.
    let path = common::fresh_path("db");
    let kms = Kms::builder().sqlite(&path).root_key_source(RootKeySource::env(ENV_TAKEN)).open().unwrap();
    assert!(std::env::var_os(ENV_TAKEN).is_none(), "{ENV_TAKEN} is still in the environment");
    assert!(!shows(&environ(), hex_key.as_bytes()), "/proc/self/environ still shows the root key");
    let key = new_key(&kms);
    let blob = encrypt(&kms, &key, b"from a variable that is gone");
    drop(kms);
    // A second engine from the same variable: a clear error, nothing changed.
    let before = store_files(&path);
    let e = root_key_error(Kms::builder().sqlite(&path).root_key_source(RootKeySource::env(ENV_TAKEN)).open());
    assert!(e.message().contains(ENV_TAKEN) && e.message().contains("was removed"), "{e}");
    assert!(e.message().contains("RootKeySource::bytes"), "the error says what to do: {e}");
    assert_unchanged(&path, &before, "opening again from a removed variable");
    let kms = Kms::builder().sqlite(&path).root_key(TAKEN_KEY).open().unwrap();
    assert_eq!(decrypt(&kms, &blob), b"from a variable that is gone");
    drop(kms);

    // A passphrase from a variable: the same, and the key it gives is the passphrase's.
    let path = common::fresh_path("db");
    let kms =
        Kms::builder().sqlite(&path).root_key_source(RootKeySource::passphrase_env(ENV_PASSPHRASE)).open().unwrap();
    assert!(std::env::var_os(ENV_PASSPHRASE).is_none(), "{ENV_PASSPHRASE} is still in the environment");
    assert!(!shows(&environ(), PASSPHRASE.as_bytes()), "/proc/self/environ still shows the passphrase");
    let blob = encrypt(&kms, &new_key(&kms), b"from a passphrase variable");
    drop(kms);
    let e = root_key_error(
        Kms::builder().sqlite(&path).root_key_source(RootKeySource::passphrase_env(ENV_PASSPHRASE)).open(),
    );
    assert!(e.message().contains(ENV_PASSPHRASE) && e.message().contains("was removed"), "{e}");
    let kms = Kms::builder().sqlite(&path).root_key_source(RootKeySource::passphrase(PASSPHRASE)).open().unwrap();
    assert_eq!(decrypt(&kms, &blob), b"from a passphrase variable");
    println!("env_removed_child: all checks ran");
}

#[test]
#[ignore = "run by a_root_key_from_an_environment_variable, in a child process with the variables set"]
fn env_child() {
    if std::env::var(ENV_CHILD).is_err() {
        return;
    }
    let path = common::fresh_path("db");
    let open = |var: &str| Kms::builder().sqlite(&path).root_key_source(RootKeySource::env(var)).open();
    // 64 hex digits create the store; the same key in base64 (surrounding whitespace trimmed)
    // opens it again.
    let kms = open(ENV_HEX).unwrap();
    let key = new_key(&kms);
    let blob = encrypt(&kms, &key, b"from env");
    drop(kms);
    let kms = open(ENV_B64).unwrap();
    assert_eq!(decrypt(&kms, &blob), b"from env");
    drop(kms);
    // And the bytes themselves open it: the variables held exactly this key.
    let kms = Kms::builder().sqlite(&path).root_key([0x3c; 32]).open().unwrap();
    assert_eq!(decrypt(&kms, &blob), b"from env");
    drop(kms);

    for (var, value) in [(ENV_UNSET, None), (ENV_GARBAGE, Some(GARBAGE)), (ENV_NOT_HEX, Some(NOT_HEX))] {
        let before = store_files(&path);
        let opened = open(var);
        let debug = format!("{opened:?}");
        let e = root_key_error(opened);
        let shown = format!("{e} / {} / {debug}", OpenError::RootKey(e.clone()));
        assert!(e.message().contains(var), "the error names the variable: {shown}");
        match value {
            None => assert!(e.message().contains("not set"), "{shown}"),
            Some(value) => {
                assert!(e.message().contains("hex") && e.message().contains("base64"), "{shown}");
                assert!(!shown.contains(value), "the error shows the variable's value: {shown}");
                assert!(!shown.contains(&value[4..20]), "the error shows part of the variable's value: {shown}");
            }
        }
        assert_unchanged(&path, &before, "a bad root key variable");
    }
    // The variable of a new store must be good too: nothing is created on a failure.
    let fresh = common::fresh_path("db");
    let e =
        root_key_error(Kms::builder().sqlite(&fresh).root_key_source(RootKeySource::env(ENV_GARBAGE_NEW_STORE)).open());
    assert!(e.message().contains("hex") && !e.to_string().contains(GARBAGE), "{e}");
    println!("env_child: all checks ran");
}

// ------------------------------------------------------------------- 3. root key rotation

/// With `max_hot_versions(1)`, every decryption of another version in the rotating engine
/// unwraps it again, from the material the store now holds wrapped under the new root key.
fn root_key_rotation(backend: &Backend, max_hot_versions: usize) {
    let kms = backend.keyed_builder().max_hot_versions(max_hot_versions).open().unwrap();
    let (rotated, plain) = (new_key(&kms), new_key(&kms));
    let mut blobs =
        vec![(encrypt(&kms, &rotated, b"v1"), b"v1".to_vec()), (encrypt(&kms, &plain, b"p1"), b"p1".to_vec())];
    for v in 2..=3 {
        rotate(&kms, &rotated);
        let pt = format!("v{v}").into_bytes();
        blobs.push((encrypt(&kms, &rotated, &pt), pt));
    }
    let wrapped_before = backend.sql_versions(&rotated);

    assert_eq!(kms.rotate_root_key(RootKeySource::bytes(OTHER_ROOT_KEY)).unwrap(), 3 + 1);
    let wrapped_after = backend.sql_versions(&rotated);
    assert_eq!(wrapped_after.len(), 3);
    for ((n, old), (m, new)) in wrapped_before.iter().zip(&wrapped_after) {
        assert_eq!(n, m);
        assert_ne!(old, new, "version {n} was not rewrapped");
    }
    // Blobs from before decrypt.
    for _ in 0..2 {
        for (blob, pt) in &blobs {
            assert_eq!(&decrypt(&kms, blob), pt);
        }
    }
    // New operations work.
    let fresh = new_key(&kms);
    blobs.push((encrypt(&kms, &fresh, b"new key"), b"new key".to_vec()));
    rotate(&kms, &rotated);
    blobs.push((encrypt(&kms, &rotated, b"v4"), b"v4".to_vec()));
    kms.check_store_integrity().unwrap();
    drop(kms);

    // The old root key is refused; the new one opens the store.
    let e = root_key_error(backend.keyed_builder().open());
    assert!(e.message().contains("is not the one"), "{e}");
    let kms = backend.builder().root_key(OTHER_ROOT_KEY).open().unwrap();
    for (blob, pt) in &blobs {
        assert_eq!(&decrypt(&kms, blob), pt);
    }
    assert_eq!(all_material(&kms, &rotated).len(), 4);
    kms.check_store_integrity().unwrap();
}

common::backend_tests!(
    root_key_rotation_on_sqlite,
    root_key_rotation_on_postgres: |b| root_key_rotation(b, 128)
);

common::backend_tests!(
    versions_unwrapped_after_a_root_key_rotation_on_sqlite,
    versions_unwrapped_after_a_root_key_rotation_on_postgres: |b| root_key_rotation(b, 1)
);

/// An engine that still has the old root key after another engine rotated it must not add
/// material wrapped under the old key to the store: the store would then hold material that
/// no single root key unwraps.
fn a_stale_root_key_never_wraps_new_material(backend: &Backend) {
    let (a, b) = (backend.open(), backend.open());
    let key = new_key(&a);
    encrypt(&b, &key, b"b holds the key");
    a.rotate_root_key(RootKeySource::bytes(OTHER_ROOT_KEY)).unwrap();
    // b still has the old root key: whatever it does now either fails, or leaves material
    // that the new root key unwraps.
    let rotated = b.rotate_key_on_demand(&b.root_caller(), &KeyIdRequest::new(&key));
    let blob = rotated.is_ok().then(|| encrypt(&b, &key, b"after the root key rotation"));
    let created = b.create_key(&b.root_caller(), &CreateKeyRequest::default()).map(|k| k.key_metadata.key_id);
    drop((a, b));
    let kms = backend.builder().root_key(OTHER_ROOT_KEY).open().unwrap();
    for key in std::iter::once(&key).chain(created.as_ref().ok()) {
        kms.test_hook_version_material(key).unwrap_or_else(|e| panic!("key {key}: {e:?}"));
    }
    if let Some(blob) = blob {
        assert_eq!(decrypt(&kms, &blob), b"after the root key rotation");
    }
}

common::backend_tests!(
    a_stale_root_key_never_wraps_new_material_on_sqlite,
    a_stale_root_key_never_wraps_new_material_on_postgres: a_stale_root_key_never_wraps_new_material
);

// ------------------------------------------------------------------- 4. damaged material

fn corrupted_wrapped_material(backend: &Backend) {
    let kms = backend.open();
    let (bad, good) = (new_key(&kms), new_key(&kms));
    let bad_blob = encrypt(&kms, &bad, b"bad");
    let good_blob = encrypt(&kms, &good, b"good");
    drop(kms);
    backend.corrupt_wrapped(&bad, 1);

    // A new engine: the version is not hot, it must be unwrapped from the store.
    let kms = backend.open();
    let me = kms.root_caller();
    for e in [
        kms.encrypt(&me, &EncryptRequest::new(&bad, b"x".to_vec())).unwrap_err(),
        kms.decrypt(&me, &DecryptRequest::new(bad_blob.clone())).map(|_| ()).unwrap_err(),
        kms.generate_data_key(&me, &GenerateDataKeyRequest::aes_256(&bad)).map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(e.name(), "KMSInternalException", "{e:?}");
        assert!(e.message().contains(&bad), "the error names the key: {e:?}");
    }
    // The other key keeps working.
    assert_eq!(decrypt(&kms, &good_blob), b"good");
    let again = encrypt(&kms, &good, b"good again");
    assert_eq!(decrypt(&kms, &again), b"good again");
    // A root key rotation cannot rewrap the damaged version: it fails naming it, and changes
    // nothing (the old root key still opens the store).
    let e = kms.rotate_root_key(RootKeySource::bytes(OTHER_ROOT_KEY)).unwrap_err();
    assert!(e.message().contains(&bad), "{e:?}");
    drop(kms);
    let kms = backend.open();
    assert_eq!(decrypt(&kms, &good_blob), b"good");
    assert_eq!(kms.encrypt(&me, &EncryptRequest::new(&bad, b"x".to_vec())).unwrap_err().name(), "KMSInternalException");
}

common::backend_tests!(
    a_corrupted_wrapped_key_is_named_on_sqlite,
    a_corrupted_wrapped_key_is_named_on_postgres: corrupted_wrapped_material
);

// ------------------------------------------------------------------- 5. raw scans

/// The scanner itself: it finds material planted in each form, at any position.
#[test]
fn the_material_scanner_finds_every_form() {
    let material: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
    for pad in 0..3usize {
        let mut planted = vec![b'#'; pad];
        planted.extend_from_slice(&material);
        planted.extend_from_slice(b"tail");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&planted);
        assert_eq!(material_in(format!("x{b64}y").as_bytes(), &material), Some("base64"), "shift {pad}");
    }
    let mut raw = b"junk".to_vec();
    raw.extend_from_slice(&material);
    assert_eq!(material_in(&raw, &material), Some("raw"));
    assert_eq!(material_in(format!("\\x{}", hex::encode(&material)).as_bytes(), &material), Some("hex"));
    assert_eq!(material_in(hex::encode_upper(&material).as_bytes(), &material), Some("HEX"));
    let mut other = material.clone();
    other[31] ^= 1;
    assert_eq!(material_in(&raw, &other), None);
}

#[test]
fn the_sqlite_files_never_hold_key_material() {
    let path = common::fresh_path("db");
    let backend = Backend::Sqlite(path.clone());
    let kms = backend.open();
    let materials = keys_with_rotations(&kms);
    let companions = |path: &Path| {
        ["", "-wal", "-shm", "-journal"]
            .iter()
            .filter_map(|suffix| {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                std::fs::read(PathBuf::from(&p)).ok().map(|bytes| (PathBuf::from(p), bytes))
            })
            .collect::<Vec<_>>()
    };
    // While open (the write-ahead log holds the recent pages)...
    let open_files = companions(&path);
    assert!(open_files.len() >= 2, "expected the database and its log, found {}", open_files.len());
    for (file, bytes) in &open_files {
        assert_no_material(bytes, &materials, &file.display().to_string());
    }
    // ...and once every handle is gone.
    drop(kms);
    let closed_files = companions(&path);
    let mut all = Vec::new();
    for (file, bytes) in &closed_files {
        assert_no_material(bytes, &materials, &file.display().to_string());
        all.extend_from_slice(bytes);
    }
    // The scan looked at the right data: the key ids are there, in the clear.
    for key in materials.keys() {
        assert!(contains(&all, key.as_bytes()), "the store files do not hold key id {key}");
    }
}

#[test]
fn a_postgres_dump_never_holds_key_material() {
    let Some(url) = common::pg_url() else { return };
    let schema = common::fresh_schema();
    let backend = Backend::Postgres { url: url.clone(), schema: schema.clone() };
    let kms = backend.open();
    let materials = keys_with_rotations(&kms);
    drop(kms);
    let pg_dump = std::env::var_os("TRENT_TEST_PG_BIN")
        .map_or_else(|| PathBuf::from("pg_dump"), |bin| PathBuf::from(bin).join("pg_dump"));
    let out = std::process::Command::new(&pg_dump)
        .args(["--format=plain", "--schema", &schema, &url])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", pg_dump.display()));
    assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
    let dump = out.stdout;
    let text = String::from_utf8_lossy(&dump);
    // The dump holds this store's data: its key ids, and its wrapped versions as bytea.
    assert!(text.contains("key_versions"), "the dump has no key_versions table");
    for key in materials.keys() {
        assert!(text.contains(key.as_str()), "the dump does not hold key id {key}");
        for (_, wrapped) in backend.sql_versions(key) {
            assert!(text.contains(&hex::encode(&wrapped)), "the dump does not hold a wrapped version of {key}");
        }
    }
    assert_no_material(&dump, &materials, "the pg_dump output");
}

// ------------------------------------------------------------------- 6. automatic rotation

/// Two engines whose clocks passed a key's rotation date: the rotation is made once, and the
/// Encrypt that loses the race to store it does not fail.
fn automatic_rotation_happens_once(backend: &Backend) {
    let start = Timestamp::from_millis(1_700_000_000_000);
    let (clock_a, clock_b) = (ManualClock::new(start), ManualClock::new(start));
    // Polling is left out of the race: each engine holds the record it read before the date.
    let engine =
        |clock: &ManualClock| backend.keyed_builder().clock(clock.clone()).refresh_interval(NEVER).open().unwrap();
    let (a, b) = (engine(&clock_a), engine(&clock_b));
    let me = a.root_caller();
    let (one_after_other, at_once) = (new_key(&a), new_key(&a));
    for key in [&one_after_other, &at_once] {
        a.enable_key_rotation(
            &me,
            &EnableKeyRotationRequest { key_id: key.clone(), rotation_period_in_days: Some(90) },
        )
        .unwrap();
        // Both engines hold the key, version 1 hot.
        assert_eq!(blob_version(&encrypt(&a, key, b"before")), 1);
        assert_eq!(blob_version(&encrypt(&b, key, b"before")), 1);
    }
    clock_a.advance_days(91);
    clock_b.advance_days(91);

    let touch = move |kms: &Kms, key: &str| {
        let req = EncryptRequest::new(key, b"after".to_vec());
        kms.encrypt(&kms.root_caller(), &req).map(|r| r.ciphertext_blob)
    };
    let mut blobs = Vec::new();
    // One engine after the other.
    for kms in [&a, &b] {
        blobs.push((one_after_other.clone(), touch(kms, &one_after_other).unwrap()));
    }
    // Both at once.
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .map(|kms| {
            let (barrier, key) = (barrier.clone(), at_once.clone());
            std::thread::spawn(move || {
                barrier.wait();
                touch(&kms, &key)
            })
        })
        .collect();
    for handle in handles {
        blobs.push((at_once.clone(), handle.join().unwrap().unwrap()));
    }

    // A third engine, which never cached anything, reads the store as it is.
    let c = backend.keyed_builder().clock(clock_a.clone()).open().unwrap();
    for key in [&one_after_other, &at_once] {
        assert_eq!(backend.version_numbers(key), [1, 2], "key {key}: one new version, no duplicate");
        let made = rotations(&c, key);
        assert_eq!(made.len(), 1, "{made:?}");
        assert_eq!(made[0].rotation_type, Some(RotationType::Automatic));
        assert_eq!(made[0].rotation_date, start.plus_days(90));
        // Both engines agree with the store, without a refresh.
        for kms in [&a, &b] {
            assert_eq!(rotations(kms, key), made);
            assert_eq!(describe(kms, key).current_key_material_id.as_ref(), Some(&made[0].key_material_id));
        }
    }
    for (key, blob) in &blobs {
        assert_eq!(blob_version(blob), 2, "a blob under the old version after the rotation date");
        for kms in [&a, &b, &c] {
            let out = kms.decrypt(&me, &DecryptRequest::new(blob.clone())).unwrap();
            assert_eq!(out.plaintext.expose_secret(), b"after");
            assert_eq!(out.key_material_id, rotations(&c, key)[0].key_material_id);
        }
    }
    c.check_store_integrity().unwrap();
}

common::backend_tests!(
    /// Automatic rotation happens once across engines, and losing the race to store it never
    /// fails the operation that found it due.
    automatic_rotation_happens_once_across_engines_on_sqlite,
    automatic_rotation_happens_once_across_engines_on_postgres: automatic_rotation_happens_once
);

// ------------------------------------------------------------------- 7. cross-engine visibility

fn other_engines_changes_are_seen_within_the_bound(backend: &Backend) {
    let a = backend.open();
    // The default refresh interval.
    let b = backend.open();
    // Sees changes only when told to.
    let c = backend.keyed_builder().refresh_interval(NEVER).open().unwrap();
    let me = a.root_caller();

    // CreateKey on A: usable on B and C at once (a key not cached is read from the store).
    let key = new_key(&a);
    let first = encrypt(&b, &key, b"from b");
    assert_eq!(decrypt(&a, &first), b"from b");
    assert_eq!(blob_version(&encrypt(&c, &key, b"from c")), 1);

    // Rotation on A: B's new blobs name version 2 within the bound.
    rotate(&a, &key);
    let current = describe(&a, &key).current_key_material_id.unwrap();
    within_polls(&b, "B encrypting under A's new version", || blob_version(&encrypt(&b, &key, b"x")) == 2);
    let blob = encrypt(&b, &key, b"after rotation");
    assert_eq!(b.decrypt(&me, &DecryptRequest::new(blob)).unwrap().key_material_id, current);
    assert_eq!(describe(&b, &key).current_key_material_id.as_ref(), Some(&current));
    // C has not polled; refresh_now makes the change visible at once.
    assert_eq!(blob_version(&encrypt(&c, &key, b"x")), 1, "C saw the rotation without polling");
    c.refresh_now().unwrap();
    assert_eq!(blob_version(&encrypt(&c, &key, b"x")), 2);

    // Alias repointed on A.
    let other = new_key(&a);
    a.create_alias(&me, &AliasRequest::new("alias/moving", &key)).unwrap();
    assert_eq!(blob_key(&encrypt(&b, "alias/moving", b"x")), key);
    assert_eq!(blob_key(&encrypt(&c, "alias/moving", b"x")), key);
    a.update_alias(&me, &AliasRequest::new("alias/moving", &other)).unwrap();
    within_polls(&b, "B following A's alias change", || blob_key(&encrypt(&b, "alias/moving", b"x")) == other);
    assert_eq!(blob_key(&encrypt(&c, "alias/moving", b"x")), key, "C saw the alias change without polling");
    c.refresh_now().unwrap();
    assert_eq!(blob_key(&encrypt(&c, "alias/moving", b"x")), other);

    // DisableKey on A.
    a.disable_key(&me, &KeyIdRequest::new(&key)).unwrap();
    refusal_is_seen(&b, &c, &key, "DisabledException", KeyState::Disabled, "B refusing a key A disabled");

    // ScheduleKeyDeletion on A.
    a.schedule_key_deletion(
        &me,
        &ScheduleKeyDeletionRequest { key_id: other.clone(), pending_window_in_days: Some(7) },
    )
    .unwrap();
    let what = "B refusing a key A scheduled for deletion";
    refusal_is_seen(&b, &c, &other, "KMSInvalidStateException", KeyState::PendingDeletion, what);

    // And back: EnableKey on A is seen as well.
    a.enable_key(&me, &KeyIdRequest::new(&key)).unwrap();
    within_polls(&b, "B using a key A enabled again", || {
        b.encrypt(&me, &EncryptRequest::new(&key, b"x".to_vec())).is_ok()
    });
}

/// After another engine made `key` unusable: `b` (polling) refuses it with `error` within the
/// bound and describes it in `state`; `c` (not polling) still encrypts under it until
/// `refresh_now`, then refuses it too.
fn refusal_is_seen(b: &Kms, c: &Kms, key: &str, error: &str, state: KeyState, what: &str) {
    let me = b.root_caller();
    within_polls(b, what, || fails_with(b.encrypt(&me, &EncryptRequest::new(key, b"x".to_vec())), error));
    assert_eq!(describe(b, key).key_state, state);
    encrypt(c, key, b"C has not polled");
    c.refresh_now().unwrap();
    assert!(fails_with(c.encrypt(&me, &EncryptRequest::new(key, b"x".to_vec())), error));
}

common::backend_tests!(
    other_engines_changes_are_seen_within_the_bound_on_sqlite,
    other_engines_changes_are_seen_within_the_bound_on_postgres: other_engines_changes_are_seen_within_the_bound
);

// ------------------------------------------------------------------- 8. concurrent rotations

fn concurrent_on_demand_rotations(backend: &Backend) {
    const ATTEMPTS: usize = 6;
    let engines = [backend.open(), backend.open()];
    let me = engines[0].root_caller();
    let key = new_key(&engines[0]);
    let first = encrypt(&engines[1], &key, b"before");
    let barrier = Arc::new(Barrier::new(engines.len()));
    let blobs = Arc::new(Mutex::new(vec![(first, b"before".to_vec())]));
    let handles: Vec<_> = engines
        .iter()
        .enumerate()
        .map(|(n, kms)| {
            let (kms, barrier, blobs, key, me) = (kms.clone(), barrier.clone(), blobs.clone(), key.clone(), me.clone());
            std::thread::spawn(move || {
                let mut succeeded = 0;
                barrier.wait();
                for i in 0..ATTEMPTS {
                    match kms.rotate_key_on_demand(&me, &KeyIdRequest::new(&key)) {
                        Ok(_) => succeeded += 1,
                        Err(e) if matches!(e.name(), "ConflictException" | "LimitExceededException") => {}
                        Err(e) => panic!("engine {n}: unexpected rotation failure {e:?}"),
                    }
                    let pt = format!("engine {n} attempt {i}").into_bytes();
                    let blob = kms.encrypt(&me, &EncryptRequest::new(&key, pt.clone())).unwrap().ciphertext_blob;
                    blobs.lock().unwrap().push((blob, pt));
                }
                succeeded
            })
        })
        .collect();
    let succeeded: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(succeeded >= 1, "every rotation failed");

    // Versions 1..=1+successes, no gap, no duplicate.
    let expected: Vec<i64> = (1..=1 + succeeded as i64).collect();
    assert_eq!(backend.version_numbers(&key), expected);
    let fresh = backend.open();
    let made = rotations(&fresh, &key);
    assert_eq!(made.len(), succeeded);
    assert!(made.iter().all(|r| r.rotation_type == Some(RotationType::OnDemand)));
    let all = all_material(&fresh, &key);
    assert_eq!(all.len(), 1 + succeeded);
    assert_eq!(all.iter().map(|r| &r.key_material_id).collect::<BTreeSet<_>>().len(), 1 + succeeded);
    for kms in &engines {
        kms.refresh_now().unwrap();
        assert_eq!(all_material(kms, &key), all);
    }
    // Every blob made in between decrypts, on every engine.
    let blobs = blobs.lock().unwrap();
    assert_eq!(blobs.len(), 1 + 2 * ATTEMPTS);
    for (blob, pt) in blobs.iter() {
        assert!((1..=1 + succeeded as u32).contains(&blob_version(blob)));
        for kms in engines.iter().chain([&fresh]) {
            assert_eq!(&decrypt(kms, blob), pt);
        }
    }
    fresh.check_store_integrity().unwrap();
}

common::backend_tests!(
    concurrent_on_demand_rotations_from_two_engines_on_sqlite,
    concurrent_on_demand_rotations_from_two_engines_on_postgres: concurrent_on_demand_rotations
);

// ------------------------------------------------------------------- 9. consistent reads

/// A key record as a store sees it: `n` versions, the last current, revision `n`.
fn record_with_versions(id: trent::id::KeyId, n: u32) -> trent::key::KeyRecord {
    use trent::key::*;
    let version = |number: u32| KeyVersion {
        number,
        material_id: format!("{number:064x}"),
        wrapped: vec![number as u8; 60],
        created: Timestamp::from_millis(i64::from(number)),
        rotation_type: (number > 1).then_some(RotationType::OnDemand),
    };
    KeyRecord {
        id,
        revision: u64::from(n),
        creation_date: Timestamp::from_millis(1),
        state: KeyState::Enabled,
        description: String::new(),
        key_usage: KeyUsage::EncryptDecrypt,
        key_spec: KeySpec::SymmetricDefault,
        origin: OriginType::AwsKms,
        key_manager: KeyManager::Customer,
        multi_region: false,
        deletion_date: None,
        pending_window_days: None,
        policy: "{}".into(),
        tags: BTreeMap::new(),
        rotation: RotationSchedule::default(),
        versions: (1..=n).map(version).collect(),
        current_version: n,
        mac: None,
    }
}

/// One connection rotates a key over and over while another connection to the same store reads
/// it over and over: every record read is one committed state (versions exactly
/// 1..=current_version, the revision equal to the number of versions), never the key row of one
/// commit with the versions of another.
fn reads_are_never_torn(backend: &Backend) {
    const ROTATIONS: u32 = 400;
    let (writer, reader) = (backend.store(), backend.store());
    let id = trent::id::KeyId::new_random([7; 16]);
    writer.put_key(&record_with_versions(id, 1), 0, b"").unwrap();
    let written = Arc::new(std::sync::atomic::AtomicU32::new(1));
    let rotating = {
        let written = written.clone();
        std::thread::spawn(move || {
            for n in 2..=ROTATIONS {
                writer.put_key(&record_with_versions(id, n), u64::from(n - 1), b"").unwrap();
                written.store(n, std::sync::atomic::Ordering::Release);
            }
        })
    };
    let (mut reads, mut torn, mut seen) = (0u64, Vec::new(), BTreeSet::new());
    loop {
        // Read until the writer has made every rotation: progress, not time, ends the loop.
        let done = written.load(std::sync::atomic::Ordering::Acquire) == ROTATIONS;
        let record = reader.get_key(&id).unwrap().unwrap();
        reads += 1;
        let numbers: Vec<u32> = record.versions.iter().map(|v| v.number).collect();
        let n = record.current_version;
        seen.insert(n);
        if numbers != (1..=n).collect::<Vec<_>>() || record.revision != u64::from(n) {
            torn.push(format!("revision {}, current {n}, versions {}", record.revision, numbers.len()));
        }
        if done {
            break;
        }
    }
    rotating.join().unwrap();
    assert!(seen.len() > 2, "the reads did not overlap the rotations (saw {seen:?})");
    assert!(torn.is_empty(), "{} of {reads} reads were torn, e.g. {:?}", torn.len(), &torn[..torn.len().min(3)]);
}

common::backend_tests!(
    reads_are_never_torn_on_sqlite,
    reads_are_never_torn_on_postgres: reads_are_never_torn
);

// ------------------------------------------------------------------- 10. deletion

/// Engine A finds a key's deletion due and deletes it; engine B, whose clock is still before the
/// deletion date, cancels the deletion between A's decision and A's delete. The cancel wins: the
/// key survives, Disabled (as AWS leaves a cancelled key), with its material, and both engines
/// agree.
fn a_deletion_never_undoes_a_cancel_by_another_engine(backend: &Backend) {
    let start = Timestamp::from_millis(1_700_000_000_000);
    let (clock_a, clock_b) = (ManualClock::new(start), ManualClock::new(start));
    let hooked = Arc::new(common::TestStore::new(backend.store()));
    let a = Kms::builder()
        .store(hooked.clone())
        .root_key(TEST_ROOT_KEY)
        .clock(clock_a.clone())
        .refresh_interval(NEVER)
        .open()
        .unwrap();
    let b = backend.keyed_builder().clock(clock_b).refresh_interval(NEVER).open().unwrap();
    let me = a.root_caller();
    let key = new_key(&a);
    let blob = encrypt(&a, &key, b"kept");
    let req = ScheduleKeyDeletionRequest { key_id: key.clone(), pending_window_in_days: Some(7) };
    a.schedule_key_deletion(&me, &req).unwrap();
    assert_eq!(describe(&b, &key).key_state, KeyState::PendingDeletion);
    {
        let (b, key) = (b.clone(), key.clone());
        hooked.arm_delete_hook(move || {
            b.cancel_key_deletion(&b.root_caller(), &KeyIdRequest::new(&key)).unwrap();
        });
    }

    clock_a.advance_days(8);
    let seen = a.describe_key(&me, &KeyIdRequest::new(&key));
    assert!(hooked.fired(), "engine A never tried to delete the key");
    let seen = seen.unwrap_or_else(|e| panic!("the key cancelled on engine B was deleted by engine A: {e:?}"));
    assert_eq!(seen.key_metadata.key_state, KeyState::Disabled);
    b.refresh_now().unwrap();
    for kms in [&a, &b, &backend.open()] {
        assert_eq!(describe(kms, &key).key_state, KeyState::Disabled);
        assert_eq!(describe(kms, &key).deletion_date, None);
    }
    assert_eq!(backend.version_numbers(&key), [1]);
    a.enable_key(&me, &KeyIdRequest::new(&key)).unwrap();
    assert_eq!(decrypt(&a, &blob), b"kept");
    b.refresh_now().unwrap();
    assert_eq!(decrypt(&b, &blob), b"kept");
}

common::backend_tests!(
    a_deletion_never_undoes_a_cancel_by_another_engine_on_sqlite,
    a_deletion_never_undoes_a_cancel_by_another_engine_on_postgres: a_deletion_never_undoes_a_cancel_by_another_engine
);

// ------------------------------------------------------------------- 11. a rotation due, the store away

/// A key's automatic rotation comes due while the keystore is unreachable. Encrypt and Decrypt
/// go on from the cached record (Encrypt under the current version, old blobs decrypting), and
/// do not retry the write on every call; once the store is back the rotation is stored, by the
/// refresh thread (`refresh`) or by the first operation after the backoff (no refresh thread).
fn a_due_rotation_waits_for_the_store(backend: &Backend, refresh: bool) {
    let clock = ManualClock::new(Timestamp::from_millis(1_700_000_000_000));
    let store = Arc::new(common::TestStore::new(backend.store()));
    let kms = Kms::builder()
        .store(store.clone())
        .root_key(TEST_ROOT_KEY)
        .clock(clock.clone())
        .refresh_interval(if refresh { Some(Duration::from_millis(5)) } else { None })
        .open()
        .unwrap();
    let me = kms.root_caller();
    let key = new_key(&kms);
    let req = EnableKeyRotationRequest { key_id: key.clone(), rotation_period_in_days: Some(90) };
    kms.enable_key_rotation(&me, &req).unwrap();
    let before = encrypt(&kms, &key, b"before");

    clock.advance_days(91);
    store.down(true);
    let during = kms.encrypt(&me, &EncryptRequest::new(key.as_str(), b"during")).map(|r| r.ciphertext_blob);
    let during = during.unwrap_or_else(|e| panic!("Encrypt failed while the rotation could not be stored: {e:?}"));
    assert_eq!(blob_version(&during), 1, "the rotation is not stored yet: the current version goes on");
    let calls = store.calls();
    for _ in 0..200 {
        assert_eq!(blob_version(&encrypt(&kms, &key, b"again")), 1);
        assert_eq!(decrypt(&kms, &before), b"before");
        assert_eq!(decrypt(&kms, &during), b"during");
    }
    if !refresh {
        assert_eq!(store.calls(), calls, "operations went to the unreachable store");
    }
    // Management operations need the store and say so.
    assert!(kms.rotate_key_on_demand(&me, &KeyIdRequest::new(&key)).is_err());

    store.down(false);
    if refresh {
        // Progress, not time: the refresh thread's polls (each a store call or more) after the
        // store came back; the rotation is stored at the first of them.
        let back = store.calls();
        let start = Instant::now();
        while store.calls() < back + 10 {
            assert!(start.elapsed() < Duration::from_secs(300), "the refresh thread stopped polling");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(blob_version(&encrypt(&kms, &key, b"x")), 2, "the refresh thread stored the rotation");
    } else {
        clock.advance(Duration::from_secs(2));
        assert_eq!(blob_version(&encrypt(&kms, &key, b"after")), 2, "the first operation after the backoff rotates");
    }
    assert_eq!(decrypt(&kms, &before), b"before");
    assert_eq!(decrypt(&kms, &during), b"during");
    assert_eq!(backend.version_numbers(&key), [1, 2], "one rotation, stored once");
    kms.run_maintenance().unwrap();
}

#[test]
fn a_due_rotation_waits_for_the_store_on_sqlite() {
    a_due_rotation_waits_for_the_store(&Backend::sqlite(), false);
    a_due_rotation_waits_for_the_store(&Backend::sqlite(), true);
}

#[test]
fn a_due_rotation_waits_for_the_store_on_postgres() {
    let Some(backend) = Backend::postgres() else { return };
    a_due_rotation_waits_for_the_store(&backend, false);
    let Some(backend) = Backend::postgres() else { return };
    a_due_rotation_waits_for_the_store(&backend, true);
}
