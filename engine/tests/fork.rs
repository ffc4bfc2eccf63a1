//! `fork()`: an engine belongs to the process that opened it.
//!
//! The parent encrypts on four threads, through `Kms::encrypt` and `Kms::encrypt_into` in turn
//! (decrypting and taking data keys as it goes, with a small `messages_per_salt`, so that salts
//! are drawn and the locked-memory arena's lock is taken all the time), polls its keystore every millisecond and has run a batch on its rayon
//! pool, while its main thread forks at random moments. Every child:
//!
//! 1. finds every call on the inherited engine refused with the documented
//!    `KMSInternalException`, audited and keystore-backed calls alike (nothing reaches the
//!    parent's audit writer or keystore connection, and nothing waits for a lock that a parent
//!    thread held at the fork);
//! 2. opens a new engine on the same keystore (which must not wait for SQLite's library-wide
//!    locks or the parent's rayon threads), encrypts under the same key version (through both
//!    entry points), takes a data
//!    key and a batch of them, and sends every blob to the parent.
//!
//! The parent then checks that no (salt, counter) pair repeats under the key version among all
//! the blobs of the parent and of every child, that every blob decrypts, and that its own
//! audit log and keystore are intact. A separate test drops the last reference to an inherited
//! engine in a child (audit file, keystore connection) and checks that the parent's engine is
//! untouched.
//!
//! The same writers without fork() make the many-thread census: eight threads, through either
//! entry point or both, never use a (salt, counter) pair twice.
//!
//! Random choices come from a generator seeded from the clock, printed, and taken from
//! `TRENT_FORK_SEED` when set, to replay a run. The child's work goes through
//! `trent::secret::fork::test_hook_fork` (feature `test-hooks`), which kills a child that makes
//! no progress for two minutes: a hang is reported as a failure, never waited out.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use trent::ciphertext;
use trent::secret::fork::test_hook_fork;
use trent::*;

use common::Backend;

/// How many children the stress test forks on a keystore. SQLite keeps the thousand that
/// found the fork bugs so far (AWS-LC's generator lock, held by a parent thread at the fork,
/// stalled a child at fork 687: a race of the provider, not of the keystore, so SQLite's run
/// finds it as well). A PostgreSQL child opens a connection of its own, which makes each fork
/// several times slower there (about ten minutes for a thousand, most of CI's time): 300
/// forks check what is PostgreSQL's own, the inherited connection refused and a new one
/// opened in the child.
fn forks(backend: &Backend) -> usize {
    match backend.kind() {
        "postgres" => 300,
        _ => 1000,
    }
}
/// Encrypting threads in the parent.
const THREADS: usize = 4;
/// Blobs each child makes with its own engine: Encrypts, one GenerateDataKey and a batch of
/// data keys (run on the child's own rayon pool: the parent's pool has no threads there).
const CHILD_ENCRYPTS: usize = 4;
const CHILD_BATCH: usize = 128;
const CHILD_BLOBS: usize = CHILD_ENCRYPTS + 1 + CHILD_BATCH;
/// A child that neither writes nor exits for this long is killed and the test fails.
const STALL: Duration = Duration::from_secs(120);

/// A builder on the keystore parent and children share: the test root key, no refresh thread
/// unless the test asks for one.
fn builder(backend: &Backend) -> KmsBuilder {
    backend.keyed_builder().refresh_interval(None)
}

/// The Encrypt entry points whose blobs are counted: the owned request and the caller's
/// buffer (`Kms::encrypt_into`, which seals in place through `VersionKeys::seal_into`).
#[derive(Clone, Copy, Debug)]
enum Entry {
    Encrypt,
    EncryptInto,
}

/// Which entry point the `i`th message of writer `t` takes.
#[derive(Clone, Copy, Debug)]
enum Entries {
    Only(Entry),
    /// Alternating, each writer starting on another one.
    Mixed,
}

impl Entries {
    fn pick(self, t: usize, i: u64) -> Entry {
        match self {
            Entries::Only(entry) => entry,
            Entries::Mixed if (t as u64 + i).is_multiple_of(2) => Entry::Encrypt,
            Entries::Mixed => Entry::EncryptInto,
        }
    }
}

impl Entry {
    /// Encrypts `plaintext` under `key_id` (no context) through this entry point.
    fn encrypt(self, kms: &Kms, me: &Caller, key_id: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        match self {
            Entry::Encrypt => {
                kms.encrypt(me, &EncryptRequest::new(key_id, plaintext.to_vec())).map(|r| r.ciphertext_blob)
            }
            Entry::EncryptInto => {
                // A buffer larger than the blob: the length returned is the blob's.
                let mut out = vec![0; ciphertext_len(plaintext.len()) + 7];
                let n = kms.test_hook_encrypt_into(me, key_id, plaintext, &EncryptionContext::new(), &mut out)?;
                assert_eq!(n, ciphertext_len(plaintext.len()));
                out.truncate(n);
                Ok(out)
            }
        }
    }
}

/// xorshift64*, enough for picking moments.
struct Rng(u64);

impl Rng {
    fn seeded(test: &str) -> Self {
        let seed = std::env::var("TRENT_FORK_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1);
        eprintln!("{test}: TRENT_FORK_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Whether `result` is the refusal the docs promise in a forked child.
fn refused<T>(result: Result<T>) -> bool {
    matches!(&result, Err(e) if e.name() == "KMSInternalException" && e.message().contains("a fork() child"))
}

/// What a child does with the engine it inherited: every kind of call must be refused.
/// Returns 0, or the number of the first check that failed.
fn inherited_calls_are_refused(kms: &Kms, key_id: &str) -> i32 {
    let me = kms.root_caller();
    let checks = [
        refused(kms.encrypt(&me, &EncryptRequest::new(key_id, b"child".to_vec()))),
        refused(kms.generate_data_key(&me, &GenerateDataKeyRequest::aes_256(key_id))),
        refused(kms.decrypt(&me, &DecryptRequest::new(vec![1u8; 80]))),
        refused(kms.describe_key(&me, &KeyIdRequest::new(key_id))),
        refused(kms.create_key(&me, &CreateKeyRequest::default())),
        refused(kms.list_keys(&me, &ListKeysRequest::default())),
        refused(kms.call_json(&me, "Encrypt", br#"{"KeyId":"alias/none","Plaintext":"AA=="}"#)),
        refused(kms.refresh_now()),
        refused(kms.run_maintenance()),
        kms.flush_audit().is_err(),
    ];
    checks.iter().position(|ok| !ok).map_or(0, |i| 10 + i as i32)
}

/// The blobs a child makes with an engine of its own on the shared keystore (its Encrypts
/// through both entry points), written to `out` as `u32 length ‖ blob`.
fn child_blobs(backend: &Backend, key_id: &str, out: &mut std::fs::File) -> i32 {
    let Ok(kms) = builder(backend).messages_per_salt(64).open() else { return 30 };
    let me = kms.root_caller();
    let mut send = |blob: &[u8]| out.write_all(&(blob.len() as u32).to_le_bytes()).and_then(|()| out.write_all(blob));
    for i in 0..CHILD_ENCRYPTS {
        let entry = Entries::Mixed.pick(0, i as u64);
        let Ok(blob) = entry.encrypt(&kms, &me, key_id, format!("child {i}").as_bytes()) else { return 31 };
        if send(&blob).is_err() {
            return 32;
        }
    }
    let Ok(dk) = kms.generate_data_key(&me, &GenerateDataKeyRequest::aes_256(key_id)) else { return 33 };
    if send(&dk.ciphertext_blob).is_err() {
        return 34;
    }
    let batch = GenerateDataKeysRequest {
        key_id: key_id.into(),
        key_spec: Some(key::DataKeySpec::Aes256),
        count: CHILD_BATCH,
        ..Default::default()
    };
    let Ok(batch) = kms.generate_data_keys(&me, &batch) else { return 35 };
    for dk in batch.data_keys {
        let Ok(dk) = dk else { return 36 };
        if send(&dk.ciphertext_blob).is_err() {
            return 37;
        }
    }
    0
}

fn parse_blobs(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut blobs = Vec::new();
    while !bytes.is_empty() {
        let n = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        blobs.push(bytes[4..4 + n].to_vec());
        bytes = &bytes[4 + n..];
    }
    blobs
}

/// The nonces seen, as one bit per counter of each (key version, salt): every writer here
/// seals at most 64 messages under a salt (`messages_per_salt(64)` in the parent, a handful in a
/// child), so millions of blobs take a few hundred kilobytes.
#[derive(Default)]
struct Nonces {
    seen: HashMap<(u32, [u8; 16]), u64>,
    count: usize,
}

impl Nonces {
    /// Records a blob's (version, salt, counter); panics if it was seen before.
    fn add(&mut self, blob: &[u8]) {
        let h = ciphertext::parse(blob).unwrap().header;
        assert!(h.counter < 64, "counter {} beyond the test's salt limit", h.counter);
        let bits = self.seen.entry((h.version, h.salt)).or_default();
        assert!(
            *bits & (1 << h.counter) == 0,
            "the nonce (version {}, salt {:02x?}, counter {}) was used twice",
            h.version,
            h.salt,
            h.counter
        );
        *bits |= 1 << h.counter;
        self.count += 1;
    }

    /// Adds another set; panics on any nonce in both.
    fn merge(&mut self, other: Nonces) {
        for (k, bits) in other.seen {
            let mine = self.seen.entry(k).or_default();
            assert!(*mine & bits == 0, "a nonce under salt {:02x?} was used by two threads", k.1);
            *mine |= bits;
        }
        self.count += other.count;
    }
}

/// Writer `t`: encrypts under `key_id` through `entries` until `stop`, decrypting every fourth
/// blob (Decrypt allocates its plaintext in the locked arena, under its lock) and taking a data
/// key every sixteenth message; counts its calls in `ops` and returns the nonces it used.
fn writer(
    kms: &Kms,
    me: &Caller,
    key_id: &str,
    t: usize,
    entries: Entries,
    stop: &AtomicBool,
    ops: &AtomicU64,
) -> Nonces {
    let mut nonces = Nonces::default();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let plaintext = format!("writer {t} {i}");
        let blob = entries.pick(t, i).encrypt(kms, me, key_id, plaintext.as_bytes()).unwrap();
        ops.fetch_add(1, Ordering::Relaxed);
        if i.is_multiple_of(4) {
            let back = kms.decrypt(me, &DecryptRequest::new(blob.clone())).unwrap();
            assert_eq!(back.plaintext.expose_secret(), plaintext.as_bytes());
            ops.fetch_add(1, Ordering::Relaxed);
        }
        if i.is_multiple_of(16) {
            let dk = kms.generate_data_key(me, &GenerateDataKeyRequest::aes_256(key_id)).unwrap();
            nonces.add(&dk.ciphertext_blob);
            ops.fetch_add(1, Ordering::Relaxed);
        }
        nonces.add(&blob);
        i += 1;
    }
    nonces
}

/// Messages the census takes from its writers, per mix of entry points.
const CENSUS_MESSAGES: u64 = 20_000;
/// Writers of the census: two per writer shard of the engine (four), so that threads share a
/// salt's counter as well as drawing salts of their own.
const CENSUS_THREADS: usize = 8;

/// Many threads encrypting under one key version at once, through `Kms::encrypt`,
/// `Kms::encrypt_into` and both mixed, with a new salt every 64 messages: no (salt, counter)
/// pair is used twice, and every fourth blob decrypts.
#[test]
fn threads_never_repeat_a_nonce_whatever_the_encrypt_entry_point() {
    for entries in [Entries::Only(Entry::Encrypt), Entries::Only(Entry::EncryptInto), Entries::Mixed] {
        let kms = Kms::builder().messages_per_salt(64).open().unwrap();
        let me = kms.root_caller();
        let key_id = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
        let (stop, ops) = (AtomicBool::new(false), AtomicU64::new(0));
        let nonces = std::thread::scope(|s| {
            let writers: Vec<_> = (0..CENSUS_THREADS)
                .map(|t| {
                    let (kms, me, key_id, stop, ops) = (&kms, &me, &key_id, &stop, &ops);
                    s.spawn(move || writer(kms, me, key_id, t, entries, stop, ops))
                })
                .collect();
            // (A writer that failed has ended: stop waiting.)
            while ops.load(Ordering::Relaxed) < CENSUS_MESSAGES && !writers.iter().any(|w| w.is_finished()) {
                std::thread::sleep(Duration::from_millis(1));
            }
            stop.store(true, Ordering::Relaxed);
            let mut nonces = Nonces::default();
            for w in writers {
                nonces.merge(w.join().unwrap());
            }
            nonces
        });
        assert!(nonces.count as u64 >= CENSUS_MESSAGES / 2, "{entries:?}: {} blobs", nonces.count);
        eprintln!("{entries:?}: {} blobs under {} salts, all nonces distinct", nonces.count, nonces.seen.len());
    }
}

fn fork_under_concurrent_encryption(backend: &Backend, test: &str) {
    let mut rng = Rng::seeded(test);
    let audit = common::fresh_path("jsonl");
    // The parent polls its keystore all the time (its refresh thread is inside SQLite or the
    // PostgreSQL client at many a fork), and audits every call.
    let kms = builder(backend)
        .refresh_interval(Some(Duration::from_millis(1)))
        .messages_per_salt(64)
        .audit_file(&audit)
        .open()
        .unwrap();
    let me = kms.root_caller();
    let key_id = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    // A batch first, so the parent's rayon pool is running when the children are forked.
    let batch = GenerateDataKeysRequest {
        key_id: key_id.clone(),
        key_spec: Some(key::DataKeySpec::Aes256),
        count: 256,
        ..Default::default()
    };
    let mut parent_batch = Nonces::default();
    for dk in kms.generate_data_keys(&me, &batch).unwrap().data_keys {
        parent_batch.add(&dk.unwrap().ciphertext_blob);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let parent_ops = Arc::new(AtomicU64::new(2)); // CreateKey, the batch
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (kms, me, key_id, stop, ops) =
                (kms.clone(), me.clone(), key_id.clone(), Arc::clone(&stop), Arc::clone(&parent_ops));
            std::thread::spawn(move || writer(&kms, &me, &key_id, t, Entries::Mixed, &stop, &ops))
        })
        .collect();

    let mut child_blobs_all = Vec::new();
    let forks = forks(backend);
    for n in 0..forks {
        // A random moment: the workers run on while the main thread spins a random while.
        let spin = rng.below(2000);
        for _ in 0..spin {
            std::hint::spin_loop();
        }
        if rng.below(4) == 0 {
            std::thread::yield_now();
        }
        let (code, out) = test_hook_fork(STALL, |out| match inherited_calls_are_refused(&kms, &key_id) {
            0 => child_blobs(backend, &key_id, out),
            failed => failed,
        })
        .unwrap_or_else(|e| panic!("fork {n}: {e}"));
        assert_eq!(code, Some(0), "fork {n}: the child failed check {code:?} (see the test's numbering)");
        let blobs = parse_blobs(&out);
        assert_eq!(blobs.len(), CHILD_BLOBS, "fork {n}");
        child_blobs_all.extend(blobs.into_iter().map(|b| (n, b)));
    }
    stop.store(true, Ordering::Relaxed);
    // No (salt, counter) twice under the key's version, across the parent and all children.
    let mut nonces = parent_batch;
    for worker in workers {
        nonces.merge(worker.join().unwrap());
    }
    let parent_count = nonces.count;
    let parent_salts: HashSet<_> = nonces.seen.keys().map(|(_, salt)| *salt).collect();
    for (_, blob) in &child_blobs_all {
        nonces.add(blob);
    }
    // Every child drew salts of its own: no salt of the parent's, none of another child's.
    let mut owner = HashMap::new();
    for (n, blob) in &child_blobs_all {
        let salt = ciphertext::parse(blob).unwrap().header.salt;
        assert!(!parent_salts.contains(&salt), "child {n} sealed under a salt of the parent's");
        assert_eq!(*owner.entry(salt).or_insert(*n), *n, "two children sealed under one salt");
    }
    eprintln!(
        "{test}: {forks} forks, {parent_count} parent blobs, {} child blobs, all nonces distinct",
        child_blobs_all.len()
    );

    // Every child's blob decrypts in the parent (the same key version, another writer).
    for (_, blob) in &child_blobs_all {
        kms.decrypt(&me, &DecryptRequest::new(blob.clone())).unwrap();
        parent_ops.fetch_add(1, Ordering::Relaxed);
    }
    // The parent's keystore connection and audit writer are untouched by the children.
    kms.rotate_key_on_demand(&me, &KeyIdRequest::new(key_id.as_str())).unwrap();
    parent_ops.fetch_add(1, Ordering::Relaxed);
    kms.flush_audit().unwrap();
    let summary = audit::verify_audit_log(&audit).unwrap();
    assert_eq!(summary.lines, parent_ops.load(Ordering::Relaxed), "the audit log holds the parent's events, only");
}

common::backend_tests!(
    forks_under_concurrent_encryption_never_repeat_a_nonce_sqlite,
    forks_under_concurrent_encryption_never_repeat_a_nonce_postgres: |b: &Backend| fork_under_concurrent_encryption(b, b.kind())
);

/// The child drops the last reference to the engine it inherited (keystore connection, audit
/// writer thread): nothing of the parent's is closed, joined or written.
fn dropping_the_inherited_engine(backend: &Backend) {
    let audit = common::fresh_path("jsonl");
    let kms = builder(backend).audit_file(&audit).open().unwrap();
    let me = kms.root_caller();
    let key_id = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    let blob = kms.encrypt(&me, &EncryptRequest::new(key_id.as_str(), b"before".to_vec())).unwrap().ciphertext_blob;
    let mut slot = Some(kms);
    for _ in 0..3 {
        let (code, _) = test_hook_fork(STALL, |_| match slot.take() {
            Some(inherited) => {
                let refused = inherited_calls_are_refused(&inherited, &key_id);
                drop(inherited);
                refused
            }
            None => 40,
        })
        .unwrap();
        assert_eq!(code, Some(0));
    }
    let kms = slot.take().unwrap();
    // The parent goes on: its keystore connection, audit writer and keys all work.
    kms.decrypt(&me, &DecryptRequest::new(blob)).unwrap();
    kms.disable_key(&me, &KeyIdRequest::new(key_id.as_str())).unwrap();
    kms.create_key(&me, &CreateKeyRequest::default()).unwrap();
    kms.flush_audit().unwrap();
    assert_eq!(audit::verify_audit_log(&audit).unwrap().lines, 5);
    drop(kms);
    let again = builder(backend).open().unwrap();
    let described = again.describe_key(&me, &KeyIdRequest::new(key_id.as_str())).unwrap();
    assert_eq!(described.key_metadata.key_state, key::KeyState::Disabled);
    again.check_store_integrity().unwrap();
}

common::backend_tests!(
    dropping_an_inherited_engine_in_a_child_leaves_the_parent_intact_sqlite,
    dropping_an_inherited_engine_in_a_child_leaves_the_parent_intact_postgres: dropping_the_inherited_engine
);

/// An in-memory engine is refused in a child too: there is no keystore to share, but the nonce
/// counters and the locks are the parent's.
#[test]
fn an_in_memory_engine_is_refused_in_a_child() {
    let kms = Kms::open_in_memory().unwrap();
    let me = kms.root_caller();
    let key_id = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    kms.encrypt(&me, &EncryptRequest::new(key_id.as_str(), b"x".to_vec())).unwrap();
    let (code, out) = test_hook_fork(STALL, |out| {
        let err = kms.encrypt(&me, &EncryptRequest::new(key_id.as_str(), b"x".to_vec())).unwrap_err();
        let _ = out.write_all(err.message().as_bytes());
        inherited_calls_are_refused(&kms, &key_id)
    })
    .unwrap();
    assert_eq!(code, Some(0));
    let message = String::from_utf8(out).unwrap();
    assert!(message.contains(&format!("opened in process {}", std::process::id())), "{message}");
    assert!(message.contains("Open a new engine in the child"), "{message}");
    kms.encrypt(&me, &EncryptRequest::new(key_id.as_str(), b"x".to_vec())).unwrap();
}
