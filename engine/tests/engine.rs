//! End-to-end behaviour of the engine through its public API: envelope flow, aliases,
//! rotation, hot-version eviction, sharing a store between engines, audit, redaction.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use trent::audit::MemoryAudit;
use trent::clock::{Clock, ManualClock, Timestamp};
use trent::key::{KeyState, RotationType};
use trent::store::{MemoryStore, Store};
use trent::*;

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn new_key(kms: &Kms) -> String {
    kms.create_key(&kms.root_caller(), &CreateKeyRequest::default()).unwrap().key_metadata.key_id
}

#[test]
fn envelope_flow_with_alias_and_context() {
    let kms = common::builder().open().unwrap();
    let me = kms.root_caller();
    let key = kms
        .create_key(
            &me,
            &CreateKeyRequest {
                description: Some("app data".into()),
                tags: vec![key::Tag::new("team", "storage")],
                ..Default::default()
            },
        )
        .unwrap()
        .key_metadata;
    assert_eq!(key.key_state, KeyState::Enabled);
    assert!(key.enabled);
    assert_eq!(key.arn, format!("arn:aws:kms:us-east-1:111122223333:key/{}", key.key_id));
    assert_eq!(key.current_key_material_id.as_ref().unwrap().len(), 64);
    kms.create_alias(&me, &AliasRequest::new("alias/app", &key.key_id)).unwrap();

    let c = ctx(&[("tenant", "a"), ("purpose", "test")]);
    let dk = kms
        .generate_data_key(
            &me,
            &GenerateDataKeyRequest { encryption_context: c.clone(), ..GenerateDataKeyRequest::aes_256("alias/app") },
        )
        .unwrap();
    assert_eq!(dk.plaintext.len(), 32);
    assert_eq!(dk.key_id, key.arn);
    assert_eq!(Some(&dk.key_material_id), key.current_key_material_id.as_ref());
    let back = kms.decrypt(&me, &DecryptRequest::new(dk.ciphertext_blob.clone()).with_context(c.clone())).unwrap();
    assert!(back.plaintext.ct_eq(dk.plaintext.expose_secret()));
    assert_eq!(back.key_id, key.arn);

    // Decrypt names the key in any form, or not at all.
    let alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/app".to_string();
    for key_id in [key.key_id.clone(), key.arn.clone(), "alias/app".into(), alias_arn] {
        let req = DecryptRequest {
            key_id: Some(key_id),
            ..DecryptRequest::new(dk.ciphertext_blob.clone()).with_context(c.clone())
        };
        assert!(kms.decrypt(&me, &req).unwrap().plaintext.ct_eq(dk.plaintext.expose_secret()));
    }

    // NumberOfBytes, AES_128, WithoutPlaintext.
    let n = kms
        .generate_data_key(
            &me,
            &GenerateDataKeyRequest { key_id: key.key_id.clone(), number_of_bytes: Some(7), ..Default::default() },
        )
        .unwrap();
    assert_eq!(n.plaintext.len(), 7);
    let w = kms.generate_data_key_without_plaintext(&me, &GenerateDataKeyRequest::aes_256(&key.key_id)).unwrap();
    assert_eq!(kms.decrypt(&me, &DecryptRequest::new(w.ciphertext_blob)).unwrap().plaintext.len(), 32);

    // ReEncrypt to another key and context.
    let other = new_key(&kms);
    let re = kms
        .re_encrypt(
            &me,
            &ReEncryptRequest {
                ciphertext_blob: dk.ciphertext_blob.clone(),
                source_encryption_context: c.clone(),
                destination_key_id: other.clone(),
                destination_encryption_context: ctx(&[("moved", "yes")]),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(re.key_id.ends_with(&other));
    assert_eq!(re.source_key_id, key.arn);
    let moved =
        kms.decrypt(&me, &DecryptRequest::new(re.ciphertext_blob).with_context(ctx(&[("moved", "yes")]))).unwrap();
    assert!(moved.plaintext.ct_eq(dk.plaintext.expose_secret()));

    // GenerateRandom.
    let r =
        kms.generate_random(&me, &GenerateRandomRequest { number_of_bytes: Some(1024), ..Default::default() }).unwrap();
    assert_eq!(r.plaintext.len(), 1024);
}

#[test]
fn secrets_never_show_in_debug_output() {
    let kms = common::builder().open().unwrap();
    let me = kms.root_caller();
    let key = new_key(&kms);
    let dk = kms.generate_data_key(&me, &GenerateDataKeyRequest::aes_256(&key)).unwrap();
    let printed = format!("{dk:?}");
    assert!(printed.contains("REDACTED"), "{printed}");
    let hex = dk.plaintext.expose_secret().iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(!printed.to_lowercase().contains(&hex));
    assert!(!printed.contains(&format!("{:?}", dk.plaintext.expose_secret())));
    let req = EncryptRequest::new(&key, b"top secret plaintext".to_vec());
    assert!(!format!("{req:?}").contains("top secret"));
    let item = EncryptItem { plaintext: b"top secret plaintext".into(), ..Default::default() };
    assert!(!format!("{item:?}").contains("top secret"));
}

#[test]
fn rotation_keeps_every_version_decryptable() {
    let clock = ManualClock::new(Timestamp::from_millis(1_700_000_000_000));
    let kms = common::builder().clock(clock.clone()).max_hot_versions(2).open().unwrap();
    let me = kms.root_caller();
    let key = new_key(&kms);
    let mut blobs = Vec::new();
    let encrypt = |i: usize| {
        kms.encrypt(&me, &EncryptRequest::new(&key, format!("message {i}").into_bytes())).unwrap().ciphertext_blob
    };
    blobs.push(encrypt(0));
    kms.enable_key_rotation(&me, &EnableKeyRotationRequest { key_id: key.clone(), rotation_period_in_days: Some(90) })
        .unwrap();
    let status = kms.get_key_rotation_status(&me, &KeyIdRequest::new(&key)).unwrap();
    assert!(status.key_rotation_enabled);
    assert_eq!(status.rotation_period_in_days, Some(90));
    assert_eq!(status.next_rotation_date, Some(clock.now().plus_days(90)));
    for i in 1..=5 {
        kms.rotate_key_on_demand(&me, &KeyIdRequest::new(&key)).unwrap();
        blobs.push(encrypt(i));
    }
    // Three automatic rotations: the clock jumps past three dates at once.
    clock.advance_days(270);
    blobs.push(encrypt(6));
    let rotations = kms
        .list_key_rotations(&me, &ListKeyRotationsRequest { key_id: key.clone(), ..Default::default() })
        .unwrap()
        .rotations;
    assert_eq!(rotations.len(), 8);
    assert_eq!(rotations.iter().filter(|r| r.rotation_type == Some(RotationType::Automatic)).count(), 3);
    // Every key material, a page of four and then the rest.
    let page = |limit: Option<u32>, marker: Option<String>| {
        let req = ListKeyRotationsRequest {
            key_id: key.clone(),
            include_key_material: Some("ALL_KEY_MATERIAL".into()),
            limit,
            marker,
        };
        kms.list_key_rotations(&me, &req).unwrap()
    };
    let all = page(Some(4), None);
    assert_eq!(all.rotations.len(), 4);
    assert!(all.truncated);
    let rest = page(None, all.next_marker);
    assert_eq!(rest.rotations.len(), 5);
    assert!(!rest.truncated);
    let current =
        kms.describe_key(&me, &KeyIdRequest::new(&key)).unwrap().key_metadata.current_key_material_id.unwrap();
    assert_eq!(rest.rotations.last().unwrap().key_material_id, current);
    // Only two versions may be hot at once: decrypting nine versions cycles through them.
    for _ in 0..2 {
        for (i, blob) in blobs.iter().enumerate() {
            let out = kms.decrypt(&me, &DecryptRequest::new(blob.clone())).unwrap();
            assert_eq!(out.plaintext.expose_secret(), format!("message {i}").as_bytes());
        }
    }
}

#[test]
fn engines_sharing_a_store_and_root_key_read_each_others_blobs() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let root = [42u8; 32];
    let a = common::builder().store(store.clone()).root_key(root).open().unwrap();
    let b = common::builder().store(store.clone()).root_key(root).open().unwrap();
    let me = a.root_caller();
    let key = new_key(&a);
    a.create_alias(&me, &AliasRequest::new("alias/shared", &key)).unwrap();
    // b finds the key and the alias in the store; its blobs use its own salts.
    let from_b = b.encrypt(&me, &EncryptRequest::new("alias/shared", b"from b".to_vec())).unwrap().ciphertext_blob;
    let from_a = a.encrypt(&me, &EncryptRequest::new(&key, b"from a".to_vec())).unwrap().ciphertext_blob;
    assert_ne!(from_a[22..38], from_b[22..38], "each engine draws its own salt");
    assert_eq!(a.decrypt(&me, &DecryptRequest::new(from_b)).unwrap().plaintext.expose_secret(), b"from b");
    assert_eq!(b.decrypt(&me, &DecryptRequest::new(from_a)).unwrap().plaintext.expose_secret(), b"from a");
    // A different root key is refused at open, before it could touch anything.
    match common::builder().store(store).root_key([7u8; 32]).open() {
        Err(OpenError::RootKey(e)) => assert!(e.message().contains("is not the one"), "{e}"),
        other => panic!("expected a root key error, got {other:?}"),
    }
}

#[test]
fn deletion_happens_when_the_clock_passes_the_date() {
    let clock = ManualClock::new(Timestamp::from_millis(1_700_000_000_000));
    let kms = common::builder().clock(clock.clone()).open().unwrap();
    let me = kms.root_caller();
    let key = new_key(&kms);
    let keep = new_key(&kms);
    kms.create_alias(&me, &AliasRequest::new("alias/doomed", &key)).unwrap();
    let blob = kms.encrypt(&me, &EncryptRequest::new(&key, b"x".to_vec())).unwrap().ciphertext_blob;
    let sched = kms
        .schedule_key_deletion(
            &me,
            &ScheduleKeyDeletionRequest { key_id: key.clone(), pending_window_in_days: Some(7) },
        )
        .unwrap();
    assert_eq!(sched.key_state, KeyState::PendingDeletion);
    assert_eq!(sched.deletion_date, clock.now().plus_days(7));
    let meta = kms.describe_key(&me, &KeyIdRequest::new(&key)).unwrap().key_metadata;
    assert_eq!(meta.deletion_date, Some(sched.deletion_date));
    // Shown only in state PendingReplicaDeletion, as AWS does.
    assert_eq!(meta.pending_deletion_window_in_days, None);
    clock.advance_days(6);
    assert_eq!(kms.list_keys(&me, &ListKeysRequest::default()).unwrap().keys.len(), 2);
    clock.advance_days(1);
    let keys = kms.list_keys(&me, &ListKeysRequest::default()).unwrap().keys;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].key_id, keep);
    assert!(kms.list_aliases(&me, &ListAliasesRequest::default()).unwrap().aliases.is_empty());
    let err = kms.describe_key(&me, &KeyIdRequest::new(&key)).unwrap_err();
    assert_eq!(err.name(), "NotFoundException");
    assert!(err.message().contains("does not exist"));
    assert_eq!(kms.decrypt(&me, &DecryptRequest::new(blob)).unwrap_err().name(), "InvalidCiphertextException");
    // The alias name is free again.
    kms.create_alias(&me, &AliasRequest::new("alias/doomed", &keep)).unwrap();
}

#[test]
fn list_keys_pages() {
    let kms = common::builder().open().unwrap();
    let me = kms.root_caller();
    let mut made: Vec<String> = (0..7).map(|_| new_key(&kms)).collect();
    made.sort();
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = kms.list_keys(&me, &ListKeysRequest { limit: Some(3), marker: marker.take() }).unwrap();
        assert!(page.keys.len() <= 3);
        seen.extend(page.keys.into_iter().map(|k| k.key_id));
        if !page.truncated {
            break;
        }
        marker = page.next_marker;
    }
    assert_eq!(seen, made);
}

#[test]
fn audit_records_one_event_per_operation_without_secrets() {
    let audit = MemoryAudit::new();
    let kms = common::builder().audit(audit.clone()).open().unwrap();
    let (key, c, _) = common::run_audited_operations(&kms);
    let events = audit.take();
    let ops: Vec<_> = events.iter().map(|e| (e.operation, e.error)).collect();
    assert_eq!(ops, common::AUDITED);
    let encrypt = &events[1];
    assert_eq!(encrypt.key_arn.as_deref(), Some(format!("arn:aws:kms:us-east-1:111122223333:key/{key}").as_str()));
    assert_eq!(encrypt.key_version, Some(1));
    assert_eq!(encrypt.encryption_context.as_ref(), Some(&c));
    assert_eq!(encrypt.caller, "arn:aws:iam::111122223333:root");
    assert_eq!(events[4].caller, "arn:aws:iam::111122223333:user/alice");
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e.request_id.clone()).collect();
    assert_eq!(ids.len(), events.len(), "request ids are unique");
    let json = serde_json::to_string(&events).unwrap();
    assert!(!json.contains("plaintext-marker"));
}

/// A store whose next `get_alias` stops after reading, until the test lets it go.
#[derive(Default)]
struct PausingStore {
    inner: MemoryStore,
    pause: std::sync::Mutex<Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>>,
}

impl PausingStore {
    /// Arms the pause: returns (reached, resume).
    fn arm(&self) -> (std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
        let (reached_tx, reached_rx) = std::sync::mpsc::channel();
        let (resume_tx, resume_rx) = std::sync::mpsc::channel();
        *self.pause.lock().unwrap() = Some((reached_tx, resume_rx));
        (reached_rx, resume_tx)
    }
}

impl Store for PausingStore {
    fn backend_name(&self) -> &'static str {
        "pausing"
    }
    fn get_key(&self, id: &id::KeyId) -> Result<Option<key::KeyRecord>> {
        self.inner.get_key(id)
    }
    fn put_key(&self, record: &key::KeyRecord, expected: u64, root_check: &[u8]) -> Result<()> {
        self.inner.put_key(record, expected, root_check)
    }
    fn delete_key(&self, id: &id::KeyId, expected: u64) -> Result<()> {
        self.inner.delete_key(id, expected)
    }
    fn list_keys(&self, after: Option<&id::KeyId>, limit: usize) -> Result<Vec<id::KeyId>> {
        self.inner.list_keys(after, limit)
    }
    fn get_alias(&self, name: &id::AliasName) -> Result<Option<key::AliasRecord>> {
        let out = self.inner.get_alias(name);
        let pause = self.pause.lock().unwrap().take();
        if let Some((reached, resume)) = pause {
            reached.send(()).unwrap();
            resume.recv().unwrap();
        }
        out
    }
    fn create_alias(&self, alias: &key::AliasRecord) -> Result<()> {
        self.inner.create_alias(alias)
    }
    fn put_alias(&self, alias: &key::AliasRecord) -> Result<()> {
        self.inner.put_alias(alias)
    }
    fn delete_alias(&self, name: &id::AliasName) -> Result<()> {
        self.inner.delete_alias(name)
    }
    fn list_aliases(&self) -> Result<Vec<key::AliasRecord>> {
        self.inner.list_aliases()
    }
    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get_meta(name)
    }
    fn init_meta(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.inner.init_meta(name, value)
    }
    fn reseal_all(
        &self,
        reseal: &mut dyn trent::store::Reseal,
        root_check: &[u8],
        meta: &[(&str, &[u8])],
    ) -> Result<()> {
        self.inner.reseal_all(reseal, root_check, meta)
    }
    fn append_audit(&self, events: &[trent::store::AuditRow]) -> Result<()> {
        self.inner.append_audit(events)
    }
    fn check_integrity(&self) -> Result<()> {
        self.inner.check_integrity()
    }
}

/// An alias looked up from the store while UpdateAlias or DeleteAlias runs must not put the
/// old target back into the engine's cache once the change is published.
#[test]
fn a_slow_alias_lookup_does_not_undo_a_concurrent_alias_change() {
    let store = Arc::new(PausingStore::default());
    let root = [3u8; 32];
    let setup = common::builder().store(store.clone()).root_key(root).open().unwrap();
    let me = setup.root_caller();
    let (k1, k2) = (new_key(&setup), new_key(&setup));
    setup.create_alias(&me, &AliasRequest::new("alias/moving", &k1)).unwrap();
    setup.create_alias(&me, &AliasRequest::new("alias/gone", &k1)).unwrap();
    // A second engine on the same store starts with an empty alias cache.
    let kms = common::builder().store(store.clone()).root_key(root).open().unwrap();
    let encrypt_via = |alias: &'static str| {
        let kms = kms.clone();
        let me = me.clone();
        std::thread::spawn(move || kms.encrypt(&me, &EncryptRequest::new(alias, b"x".to_vec())))
    };

    // UpdateAlias while a lookup that read the old target is paused.
    let (reached, resume) = store.arm();
    let slow = encrypt_via("alias/moving");
    reached.recv().unwrap();
    kms.update_alias(&me, &AliasRequest::new("alias/moving", &k2)).unwrap();
    resume.send(()).unwrap();
    slow.join().unwrap().unwrap();
    let now = kms.encrypt(&me, &EncryptRequest::new("alias/moving", b"x".to_vec())).unwrap();
    assert!(now.key_id.ends_with(&k2), "the alias still resolves to its old target");

    // DeleteAlias likewise.
    let (reached, resume) = store.arm();
    let slow = encrypt_via("alias/gone");
    reached.recv().unwrap();
    kms.delete_alias(&me, &DeleteAliasRequest { alias_name: "alias/gone".into() }).unwrap();
    resume.send(()).unwrap();
    slow.join().unwrap().unwrap();
    let err = kms.encrypt(&me, &EncryptRequest::new("alias/gone", b"x".to_vec())).unwrap_err();
    assert_eq!(err.name(), "NotFoundException", "a deleted alias still resolves");
}

#[test]
fn a_management_conflict_on_a_shared_store_refreshes_the_record() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let root = [9u8; 32];
    let a = common::builder().store(store.clone()).root_key(root).open().unwrap();
    let b = common::builder().store(store).root_key(root).open().unwrap();
    let me = a.root_caller();
    let key = new_key(&a);
    // b loads the key, then a changes it behind b's back.
    b.describe_key(&me, &KeyIdRequest::new(&key)).unwrap();
    a.update_key_description(&me, &UpdateKeyDescriptionRequest { key_id: key.clone(), description: "by a".into() })
        .unwrap();
    // b's first change conflicts with the newer stored revision, and b takes that revision...
    let req = UpdateKeyDescriptionRequest { key_id: key.clone(), description: "by b".into() };
    assert_eq!(b.update_key_description(&me, &req).unwrap_err().name(), "ConflictException");
    assert_eq!(b.describe_key(&me, &KeyIdRequest::new(&key)).unwrap().key_metadata.description, "by a");
    // ...so the retry succeeds.
    b.update_key_description(&me, &req).unwrap();
    assert_eq!(b.describe_key(&me, &KeyIdRequest::new(&key)).unwrap().key_metadata.description, "by b");
}

#[test]
fn writers_draw_a_new_salt_when_one_is_used_up() {
    let kms = common::builder().messages_per_salt(1).open().unwrap(); // clamped to 64
    let me = kms.root_caller();
    let key = new_key(&kms);
    let salt_and_counter = |blob: &[u8]| (blob[22..38].to_vec(), u64::from_be_bytes(blob[38..46].try_into().unwrap()));
    let mut seen = std::collections::HashSet::new();
    let mut salts = std::collections::HashSet::new();
    let mut check = |blob: &[u8], kms: &Kms, plaintext: &[u8]| {
        let (salt, counter) = salt_and_counter(blob);
        assert!(counter < 64, "a counter past the salt's limit: {counter}");
        assert!(seen.insert((salt.clone(), counter)), "a repeated (salt, counter) pair");
        salts.insert(salt);
        let back = kms.decrypt(&me, &DecryptRequest::new(blob.to_vec())).unwrap();
        assert_eq!(back.plaintext.expose_secret(), plaintext);
    };
    for i in 0..200u32 {
        let pt = i.to_be_bytes();
        let blob = kms.encrypt(&me, &EncryptRequest::new(&key, pt.to_vec())).unwrap().ciphertext_blob;
        check(&blob, &kms, &pt);
    }
    let items: Vec<EncryptItem> =
        (0..300u32).map(|i| EncryptItem { plaintext: i.to_le_bytes().into(), ..Default::default() }).collect();
    let batch = kms
        .encrypt_batch(&me, &EncryptBatchRequest { key_id: key.clone(), items: items.clone(), ..Default::default() })
        .unwrap();
    for (item, blob) in items.iter().zip(&batch.ciphertext_blobs) {
        check(blob.as_ref().unwrap(), &kms, item.plaintext.expose_secret());
    }
    let keys = kms
        .generate_data_keys(
            &me,
            &GenerateDataKeysRequest {
                key_id: key.clone(),
                number_of_bytes: Some(16),
                count: 300,
                ..Default::default()
            },
        )
        .unwrap();
    for dk in &keys.data_keys {
        let dk = dk.as_ref().unwrap();
        check(&dk.ciphertext_blob, &kms, dk.plaintext.expose_secret());
    }
    // 200 single messages need at least 4 salts; each 64-item chunk of a batch takes a fresh one.
    assert!(salts.len() >= 4 + 5 + 5, "only {} salts", salts.len());
}

/// A batch whose plaintexts cannot fit the locked-memory budget is refused up front with
/// `LimitExceededException` naming what it needs, instead of failing every item with
/// `KMSInternalException`; one that fits still works item by item.
#[test]
fn a_batch_beyond_the_locked_memory_budget_is_refused_up_front() {
    let kms = common::builder().locked_memory_budget(256 << 10).allow_unlocked_memory(true).open().unwrap();
    let me = kms.root_caller();
    let key = new_key(&kms);
    // 32-byte data keys: 128 per 4 KiB, so 256 KiB holds 8,192 of them.
    let req =
        |count| GenerateDataKeysRequest { key_id: key.clone(), number_of_bytes: Some(32), count, ..Default::default() };
    let err = match kms.generate_data_keys(&me, &req(20_000)) {
        Ok(r) => panic!("not refused: {} of 20000 items failed", r.data_keys.iter().filter(|k| k.is_err()).count()),
        Err(e) => e,
    };
    assert_eq!(err.name(), "LimitExceededException", "{err:?}");
    assert!(err.message().contains("20000 data keys") && err.message().contains("262144 bytes"), "{err:?}");
    let ok = kms.generate_data_keys(&me, &req(1000)).unwrap();
    assert!(ok.data_keys.iter().all(Result::is_ok));
    drop(ok);

    // 1,000-byte plaintexts take 1 KiB slots each: 300 of them need 300 KiB.
    let blob = kms.encrypt(&me, &EncryptRequest::new(key.as_str(), vec![7u8; 1000])).unwrap().ciphertext_blob;
    let items = |n| (0..n).map(|_| DecryptItem { ciphertext_blob: blob.clone(), ..Default::default() }).collect();
    let err = match kms.decrypt_batch(&me, &DecryptBatchRequest { items: items(300), ..Default::default() }) {
        Ok(r) => panic!("not refused: {} of 300 items failed", r.iter().filter(|r| r.is_err()).count()),
        Err(e) => e,
    };
    assert_eq!(err.name(), "LimitExceededException", "{err:?}");
    assert!(err.message().contains("300 decryptions"), "{err:?}");
    let ok = kms.decrypt_batch(&me, &DecryptBatchRequest { items: items(100), ..Default::default() }).unwrap();
    assert!(ok.iter().all(|r| r.as_ref().is_ok_and(|r| r.plaintext.expose_secret() == [7u8; 1000])));
}
