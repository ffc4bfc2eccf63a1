#![allow(clippy::unwrap_used)]
//! Property tests of the engine, through its public API only (`common::builder()…open()`,
//! `kms.root_caller()`):
//!
//! 1. Encrypt → Decrypt round trip for any plaintext and encryption context, with and without
//!    a `KeyId` in every form.
//! 2. Tampering: any bit flip, truncation or extension of a blob is refused, with the exact
//!    exception the engine documents.
//! 3. Any change of the encryption context is refused.
//! 4. Two different contexts never open each other's blobs (end to end; the encoding's
//!    injectivity itself is proptested in `engine/src/context.rs`).
//! 5. Batches: parallel, serial and one-call-per-item give the same outcome for every item.
//! 6. Rotation: every blob ever made still decrypts, and new blobs use the current material.
//! 7. Nothing panics on arbitrary input.
//!
//! Failures are saved beside this file in `properties.proptest-regressions` (commit it).

mod common;

use std::collections::HashSet;
use std::sync::LazyLock;

use common::name;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use trent::ciphertext::{MAX_BLOB_LEN, OVERHEAD};
use trent::clock::{ManualClock, Timestamp};
use trent::key::{DataKeySpec, EncryptionAlgorithmSpec, KeySpec, KeyUsage, OriginType, RotationType, Tag};
use trent::*;

const START: Timestamp = Timestamp::from_millis(common::START_MS);
/// The model's limit on `CiphertextBlob`.
const MAX_CIPHERTEXT_BLOB_LEN: usize = 6144;
/// Chunk size of the engine's batches (items per rayon task).
const CHUNK: usize = 64;

const INVALID_CIPHERTEXT: &str = "InvalidCiphertextException";
const VALIDATION: &str = "ValidationException";

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Explicit, so the file lands beside this one whatever the directory layout.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

fn open(clock: Option<ManualClock>, max_hot_versions: usize) -> Kms {
    let mut b = common::builder().allow_unlocked_memory(true).max_hot_versions(max_hot_versions);
    if let Some(c) = clock {
        b = b.clock(c);
    }
    b.open().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Any string of 0–12 Unicode scalar values (newlines and controls included), or a short one
/// over a tiny alphabet so that keys and values collide across maps.
fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::string::string_regex("(?s).{0,12}").unwrap(),
        1 => proptest::string::string_regex("[ab]{0,2}").unwrap(),
    ]
}

/// An encryption context of 0–4 pairs.
fn any_context() -> impl Strategy<Value = EncryptionContext> {
    proptest::collection::btree_map(any_string(), any_string(), 0..=4)
}

/// 1–4096 bytes, biased to short ones and the two ends.
fn plaintext() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 1..=64),
        3 => proptest::collection::vec(any::<u8>(), 1..=4096),
        1 => proptest::collection::vec(any::<u8>(), 4096..=4096),
        1 => proptest::collection::vec(any::<u8>(), 1..=1),
    ]
}

fn small_plaintext() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..=256)
}

// ---------------------------------------------------------------------------------------------
// A shared engine with one key and an alias

struct Fixture {
    kms: Kms,
    me: Caller,
    id: String,
    arn: String,
    alias: String,
    alias_arn: String,
}

impl Fixture {
    /// An engine with one key, `rotations` on-demand rotations made, and an alias.
    fn new(alias: &str, rotations: u32) -> Self {
        let kms = open(None, 256);
        let me = kms.root_caller();
        let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata;
        for _ in 0..rotations {
            kms.rotate_key_on_demand(&me, &KeyIdRequest::new(&key.key_id)).unwrap();
        }
        kms.create_alias(&me, &AliasRequest::new(alias, &key.key_id)).unwrap();
        let alias_arn = format!("arn:aws:kms:us-east-1:111122223333:{alias}");
        Self { kms, me, id: key.key_id, arn: key.arn, alias: alias.to_owned(), alias_arn }
    }

    fn encrypt(&self, key_id: &str, pt: &[u8], ctx: &EncryptionContext) -> EncryptResponse {
        self.kms.encrypt(&self.me, &EncryptRequest::new(key_id, pt).with_context(ctx.clone())).unwrap()
    }

    fn decrypt(&self, blob: &[u8], ctx: &EncryptionContext, key_id: Option<&str>) -> Result<DecryptResponse> {
        let mut req = DecryptRequest::new(blob).with_context(ctx.clone());
        req.key_id = key_id.map(str::to_owned);
        self.kms.decrypt(&self.me, &req)
    }

    fn re_encrypt(&self, blob: &[u8], ctx: &EncryptionContext) -> Result<ReEncryptResponse> {
        let req = ReEncryptRequest {
            ciphertext_blob: blob.to_vec(),
            source_encryption_context: ctx.clone(),
            destination_key_id: self.id.clone(),
            ..Default::default()
        };
        self.kms.re_encrypt(&self.me, &req)
    }

    fn current_material(&self) -> String {
        let meta = self.kms.describe_key(&self.me, &KeyIdRequest::new(&self.id)).unwrap().key_metadata;
        meta.current_key_material_id.unwrap()
    }

    /// The key in each identifier form Encrypt and Decrypt accept.
    fn id_forms(&self) -> [&str; 4] {
        [&self.id, &self.arn, &self.alias, &self.alias_arn]
    }
}

static ROUND_TRIP: LazyLock<Fixture> = LazyLock::new(|| Fixture::new("alias/props-round-trip", 2));
/// Seven versions, so a bit flip in the version (7 = 0b111) can name another existing one.
static TAMPER: LazyLock<Fixture> = LazyLock::new(|| Fixture::new("alias/props-tamper", 6));
static CONTEXTS: LazyLock<Fixture> = LazyLock::new(|| Fixture::new("alias/props-contexts", 0));

// ---------------------------------------------------------------------------------------------
// 1–4: round trip, tampering, contexts

/// A change to an encryption context that always gives a different context.
#[derive(Clone, Debug)]
enum CtxChange {
    Add(String, String),
    Remove(Index),
    RenameKey(Index, String),
    ChangeValue(Index, String),
}

fn ctx_change() -> impl Strategy<Value = CtxChange> {
    prop_oneof![
        (any_string(), any_string()).prop_map(|(k, v)| CtxChange::Add(k, v)),
        any::<Index>().prop_map(CtxChange::Remove),
        (any::<Index>(), any_string()).prop_map(|(i, k)| CtxChange::RenameKey(i, k)),
        (any::<Index>(), any_string()).prop_map(|(i, v)| CtxChange::ChangeValue(i, v)),
    ]
}

fn apply_change(ctx: &EncryptionContext, change: &CtxChange) -> EncryptionContext {
    let mut out = ctx.clone();
    let pick = |i: &Index| ctx.keys().nth(i.index(ctx.len())).cloned().unwrap();
    let fresh_key = |k: &str| {
        let mut k = k.to_owned();
        while ctx.contains_key(&k) {
            k.push('\u{1F511}');
        }
        k
    };
    match change {
        CtxChange::Add(k, v) => {
            out.insert(fresh_key(k), v.clone());
        }
        // An empty context can only grow.
        CtxChange::Remove(_) | CtxChange::RenameKey(..) | CtxChange::ChangeValue(..) if ctx.is_empty() => {
            out.insert(String::new(), String::new());
        }
        CtxChange::Remove(i) => {
            out.remove(&pick(i));
        }
        CtxChange::RenameKey(i, new) => {
            let old = pick(i);
            let v = out.remove(&old).unwrap();
            out.insert(fresh_key(new), v);
        }
        CtxChange::ChangeValue(i, new) => {
            let k = pick(i);
            let mut v = new.clone();
            if v == ctx[&k] {
                v.push('\0');
            }
            out.insert(k, v);
        }
    }
    out
}

/// Two different one-pair contexts whose key and value concatenate to the same string
/// (`{"ab":"c"}` against `{"a":"bc"}`), or two different contexts of any shape.
fn context_pair() -> impl Strategy<Value = (EncryptionContext, EncryptionContext)> {
    let split =
        (proptest::collection::vec(any::<char>(), 1..=12), any::<Index>(), any::<Index>()).prop_map(|(chars, i, j)| {
            let n = chars.len() + 1;
            let (i, mut j) = (i.index(n), j.index(n));
            if i == j {
                j = (j + 1) % n;
            }
            let at = |k: usize| {
                let s: String = chars[..k].iter().collect();
                let t: String = chars[k..].iter().collect();
                EncryptionContext::from([(s, t)])
            };
            (at(i), at(j))
        });
    prop_oneof![split, (any_context(), any_context()).prop_filter("different contexts", |(a, b)| a != b),]
}

/// A blob with bit `bit` of byte `pos` flipped is `InvalidCiphertextException` for Decrypt
/// and ReEncrypt. With a KeyId, a flip that changes the key id the blob names (its 16 bytes,
/// or the multi-Region bit of the kind byte) is `IncorrectKeyException` instead: the key
/// check comes before decryption.
fn check_bit_flip(
    f: &Fixture,
    blob: &[u8],
    ctx: &EncryptionContext,
    pos: usize,
    bit: u8,
) -> std::result::Result<(), TestCaseError> {
    let mut blob = blob.to_vec();
    blob[pos] ^= 1 << bit;
    prop_assert_eq!(name(&f.decrypt(&blob, ctx, None)), INVALID_CIPHERTEXT, "byte {} bit {}", pos, bit);
    prop_assert_eq!(name(&f.re_encrypt(&blob, ctx)), INVALID_CIPHERTEXT, "byte {} bit {}", pos, bit);
    let names_key = (2..18).contains(&pos) || (pos == 1 && bit == 7);
    let with_key = if names_key { "IncorrectKeyException" } else { INVALID_CIPHERTEXT };
    prop_assert_eq!(name(&f.decrypt(&blob, ctx, Some(&f.id))), with_key, "byte {} bit {}", pos, bit);
    prop_assert_eq!(name(&f.decrypt(&blob, ctx, Some(&f.alias))), with_key, "byte {} bit {}", pos, bit);
    Ok(())
}

/// Property 2, exhaustively for one small blob: every single bit flip, and every truncation.
#[test]
fn every_bit_flip_and_truncation_of_one_blob() {
    let f = &*TAMPER;
    let ctx = EncryptionContext::from([("k".to_owned(), "v".to_owned())]);
    let blob = f.encrypt(&f.id, b"xy", &ctx).ciphertext_blob;
    for pos in 0..blob.len() {
        for bit in 0..8 {
            check_bit_flip(f, &blob, &ctx, pos, bit).unwrap();
        }
    }
    assert_eq!(name(&f.decrypt(&blob[..0], &ctx, None)), VALIDATION);
    for len in 1..blob.len() {
        assert_eq!(name(&f.decrypt(&blob[..len], &ctx, None)), INVALID_CIPHERTEXT, "length {len}");
    }
    assert_eq!(f.decrypt(&blob, &ctx, None).unwrap().plaintext.expose_secret(), b"xy");
}

proptest! {
    #![proptest_config(config(256))]

    /// Property 1: Encrypt (under any identifier form) then Decrypt (without KeyId and with
    /// each form) gives the plaintext, the key ARN and the current KeyMaterialId.
    #[test]
    fn round_trip(pt in plaintext(), ctx in any_context(), form in 0usize..4) {
        let f = &*ROUND_TRIP;
        let enc = f.encrypt(f.id_forms()[form], &pt, &ctx);
        prop_assert_eq!(&enc.key_id, &f.arn);
        prop_assert_eq!(enc.encryption_algorithm, EncryptionAlgorithmSpec::SymmetricDefault);
        prop_assert_eq!(enc.ciphertext_blob.len(), pt.len() + OVERHEAD);
        let current = f.current_material();
        let forms = f.id_forms();
        for key_id in [None, Some(forms[0]), Some(forms[1]), Some(forms[2]), Some(forms[3])] {
            let out = f.decrypt(&enc.ciphertext_blob, &ctx, key_id).unwrap();
            prop_assert_eq!(out.plaintext.expose_secret(), &pt[..]);
            prop_assert_eq!(&out.key_id, &f.arn);
            prop_assert_eq!(&out.key_material_id, &current);
            prop_assert_eq!(out.encryption_algorithm, EncryptionAlgorithmSpec::SymmetricDefault);
        }
    }

    /// Property 2a: a single bit flip anywhere (half the cases in the 46-byte header) is
    /// refused exactly as [`check_bit_flip`] says.
    #[test]
    fn bit_flip_is_refused(
        pt in small_plaintext(),
        ctx in any_context(),
        in_header in any::<bool>(),
        pos in any::<Index>(),
        bit in 0u8..8,
    ) {
        let f = &*TAMPER;
        let blob = f.encrypt(&f.id, &pt, &ctx).ciphertext_blob;
        let pos = if in_header { pos.index(46) } else { pos.index(blob.len()) };
        check_bit_flip(f, &blob, &ctx, pos, bit)?;
    }

    /// Property 2b: every shorter length ≥ 1 is `InvalidCiphertextException`; length 0 is a
    /// `ValidationException` (the model's minimum length is 1).
    #[test]
    fn truncation_is_refused(pt in small_plaintext(), ctx in any_context(), len in any::<Index>()) {
        let f = &*TAMPER;
        let blob = f.encrypt(&f.id, &pt, &ctx).ciphertext_blob;
        let len = len.index(blob.len());
        let expected = if len == 0 { VALIDATION } else { INVALID_CIPHERTEXT };
        prop_assert_eq!(name(&f.decrypt(&blob[..len], &ctx, None)), expected);
        prop_assert_eq!(name(&f.re_encrypt(&blob[..len], &ctx)), expected);
    }

    /// Property 2c: 1–64 extra bytes are `InvalidCiphertextException` (the longest blob,
    /// 4158 bytes, plus 64 stays below the model's 6144).
    #[test]
    fn extension_is_refused(
        pt in plaintext(),
        ctx in any_context(),
        extra in proptest::collection::vec(any::<u8>(), 1..=64),
    ) {
        let f = &*TAMPER;
        let mut blob = f.encrypt(&f.id, &pt, &ctx).ciphertext_blob;
        blob.extend_from_slice(&extra);
        prop_assert!(blob.len() <= MAX_CIPHERTEXT_BLOB_LEN);
        prop_assert_eq!(name(&f.decrypt(&blob, &ctx, None)), INVALID_CIPHERTEXT);
        prop_assert_eq!(name(&f.decrypt(&blob, &ctx, Some(&f.arn))), INVALID_CIPHERTEXT);
    }

    /// Property 2d: a blob padded past the longest valid blob is `InvalidCiphertextException`
    /// up to the model's 6144 bytes and `ValidationException` beyond.
    #[test]
    fn padding_to_any_length(
        pt in small_plaintext(),
        total in (MAX_BLOB_LEN + 1)..=(MAX_CIPHERTEXT_BLOB_LEN + 200),
        fill in any::<u8>(),
    ) {
        let f = &*TAMPER;
        let mut blob = f.encrypt(&f.id, &pt, &EncryptionContext::new()).ciphertext_blob;
        blob.resize(total, fill);
        let expected = if total > MAX_CIPHERTEXT_BLOB_LEN { VALIDATION } else { INVALID_CIPHERTEXT };
        prop_assert_eq!(name(&f.decrypt(&blob, &EncryptionContext::new(), None)), expected);
    }

    /// Property 3: adding, removing or renaming a pair, or changing a value, is
    /// `InvalidCiphertextException`; the original context still decrypts.
    #[test]
    fn context_change_is_refused(pt in small_plaintext(), ctx in any_context(), change in ctx_change()) {
        let f = &*CONTEXTS;
        let changed = apply_change(&ctx, &change);
        prop_assert_ne!(&changed, &ctx);
        let blob = f.encrypt(&f.id, &pt, &ctx).ciphertext_blob;
        prop_assert_eq!(name(&f.decrypt(&blob, &changed, None)), INVALID_CIPHERTEXT);
        prop_assert_eq!(name(&f.re_encrypt(&blob, &changed)), INVALID_CIPHERTEXT);
        let back = f.decrypt(&blob, &ctx, None).unwrap();
        prop_assert_eq!(back.plaintext.expose_secret(), &pt[..]);
    }

    /// Property 4: two different contexts never decrypt each other's blobs, including
    /// one-pair contexts whose key and value concatenate to the same bytes.
    #[test]
    fn contexts_never_cross((a, b) in context_pair(), pt in small_plaintext()) {
        let f = &*CONTEXTS;
        prop_assert_ne!(&a, &b);
        let blob_a = f.encrypt(&f.id, &pt, &a).ciphertext_blob;
        let blob_b = f.encrypt(&f.id, &pt, &b).ciphertext_blob;
        prop_assert_eq!(name(&f.decrypt(&blob_a, &b, None)), INVALID_CIPHERTEXT);
        prop_assert_eq!(name(&f.decrypt(&blob_b, &a, None)), INVALID_CIPHERTEXT);
        let (back_a, back_b) = (f.decrypt(&blob_a, &a, None).unwrap(), f.decrypt(&blob_b, &b, None).unwrap());
        prop_assert_eq!(back_a.plaintext.expose_secret(), &pt[..]);
        prop_assert_eq!(back_b.plaintext.expose_secret(), &pt[..]);
    }
}

// ---------------------------------------------------------------------------------------------
// 5: batches against serial and against one call per item

/// An engine with two enabled keys and blobs of a disabled, a pending-deletion and a deleted
/// key.
struct BatchFixture {
    kms: Kms,
    me: Caller,
    /// Ids of the enabled keys.
    keys: [String; 2],
    /// Blobs (with plaintext and context) of keys no longer usable, and the error each gives.
    frozen: Vec<(Vec<u8>, EncryptionContext, &'static str)>,
}

static BATCH: LazyLock<BatchFixture> = LazyLock::new(|| {
    let clock = ManualClock::new(START);
    let kms = open(Some(clock.clone()), 256);
    let me = kms.root_caller();
    let new_key = || kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    let keys = [new_key(), new_key()];
    let (disabled, pending, deleted) = (new_key(), new_key(), new_key());
    let mut frozen = Vec::new();
    for (key, error) in
        [(&disabled, "DisabledException"), (&pending, "KMSInvalidStateException"), (&deleted, INVALID_CIPHERTEXT)]
    {
        for i in 0..4 {
            let ctx = EncryptionContext::from([("frozen".to_owned(), i.to_string())]);
            let req = EncryptRequest::new(key, format!("frozen {i}").into_bytes()).with_context(ctx.clone());
            frozen.push((kms.encrypt(&me, &req).unwrap().ciphertext_blob, ctx, error));
        }
    }
    kms.disable_key(&me, &KeyIdRequest::new(&disabled)).unwrap();
    let schedule =
        |key: &str, days| ScheduleKeyDeletionRequest { key_id: key.into(), pending_window_in_days: Some(days) };
    kms.schedule_key_deletion(&me, &schedule(&deleted, 7)).unwrap();
    clock.advance_days(8);
    kms.schedule_key_deletion(&me, &schedule(&pending, 30)).unwrap();
    assert_eq!(name(&kms.describe_key(&me, &KeyIdRequest::new(&deleted))), "NotFoundException");
    BatchFixture { kms, me, keys, frozen }
});

/// How to make one blob for a decrypt or re-encrypt batch.
#[derive(Clone, Debug)]
enum BlobRecipe {
    Valid { key: usize, pt: Vec<u8>, ctx: EncryptionContext },
    BitFlip { key: usize, pt: Vec<u8>, ctx: EncryptionContext, pos: Index, bit: u8 },
    WrongContext { key: usize, pt: Vec<u8>, ctx: EncryptionContext, change: CtxChange },
    Frozen(Index),
    Empty,
    Oversized(usize),
    Garbage(Vec<u8>),
}

fn blob_recipe() -> impl Strategy<Value = BlobRecipe> {
    let ctx = proptest::collection::btree_map("[a-c]{0,3}", "[a-c]{0,3}", 0..=2);
    prop_oneof![
        8 => (0usize..2, small_plaintext(), ctx.clone()).prop_map(|(key, pt, ctx)| BlobRecipe::Valid { key, pt, ctx }),
        2 => (0usize..2, small_plaintext(), ctx.clone(), any::<Index>(), 0u8..8)
            .prop_map(|(key, pt, ctx, pos, bit)| BlobRecipe::BitFlip { key, pt, ctx, pos, bit }),
        1 => (0usize..2, small_plaintext(), ctx, ctx_change())
            .prop_map(|(key, pt, ctx, change)| BlobRecipe::WrongContext { key, pt, ctx, change }),
        1 => any::<Index>().prop_map(BlobRecipe::Frozen),
        1 => Just(BlobRecipe::Empty),
        1 => ((MAX_CIPHERTEXT_BLOB_LEN + 1)..=(MAX_CIPHERTEXT_BLOB_LEN + 100)).prop_map(BlobRecipe::Oversized),
        1 => proptest::collection::vec(any::<u8>(), 1..=200).prop_map(BlobRecipe::Garbage),
    ]
}

/// What one decryption gives: the plaintext, key ARN and material id, or the error name.
type DecryptOutcome = std::result::Result<(Vec<u8>, String, String), &'static str>;

fn decrypt_outcome(r: Result<DecryptResponse>) -> DecryptOutcome {
    r.map(|d| (d.plaintext.expose_secret().to_vec(), d.key_id, d.key_material_id)).map_err(|e| e.name())
}

impl BatchFixture {
    fn encrypt(&self, key: usize, pt: &[u8], ctx: &EncryptionContext) -> Vec<u8> {
        let req = EncryptRequest::new(&self.keys[key], pt).with_context(ctx.clone());
        self.kms.encrypt(&self.me, &req).unwrap().ciphertext_blob
    }

    /// The blob, the context to present, and the expected outcome's plaintext or error name.
    fn make(&self, recipe: &BlobRecipe) -> (Vec<u8>, EncryptionContext, std::result::Result<Vec<u8>, &'static str>) {
        match recipe {
            BlobRecipe::Valid { key, pt, ctx } => (self.encrypt(*key, pt, ctx), ctx.clone(), Ok(pt.clone())),
            BlobRecipe::BitFlip { key, pt, ctx, pos, bit } => {
                let mut blob = self.encrypt(*key, pt, ctx);
                let pos = pos.index(blob.len());
                blob[pos] ^= 1 << bit;
                (blob, ctx.clone(), Err(INVALID_CIPHERTEXT))
            }
            BlobRecipe::WrongContext { key, pt, ctx, change } => {
                (self.encrypt(*key, pt, ctx), apply_change(ctx, change), Err(INVALID_CIPHERTEXT))
            }
            BlobRecipe::Frozen(i) => {
                let (blob, ctx, error) = &self.frozen[i.index(self.frozen.len())];
                (blob.clone(), ctx.clone(), Err(*error))
            }
            BlobRecipe::Empty => (Vec::new(), EncryptionContext::new(), Err(VALIDATION)),
            BlobRecipe::Oversized(n) => (vec![1; *n], EncryptionContext::new(), Err(VALIDATION)),
            BlobRecipe::Garbage(bytes) => (bytes.clone(), EncryptionContext::new(), Err(INVALID_CIPHERTEXT)),
        }
    }

    fn decrypt(&self, blob: &[u8], ctx: &EncryptionContext) -> DecryptOutcome {
        decrypt_outcome(self.kms.decrypt(&self.me, &DecryptRequest::new(blob).with_context(ctx.clone())))
    }
}

/// What one re-encryption gives: source ARN, source and destination material ids and the
/// plaintext the new blob decrypts to under the destination context, or the error name.
type ReEncryptOutcome = std::result::Result<(String, String, String, Vec<u8>), &'static str>;

/// A plaintext item of an encrypt batch: valid (1–256 bytes, or exactly 4096), empty or too
/// long.
fn encrypt_item() -> impl Strategy<Value = EncryptItem> {
    let pt = prop_oneof![
        8 => small_plaintext(),
        1 => proptest::collection::vec(any::<u8>(), 4096..=4096),
        1 => Just(Vec::new()),
        1 => proptest::collection::vec(any::<u8>(), 4097..=4200),
    ];
    (pt, proptest::collection::btree_map("[a-c]{0,3}", ".{0,3}", 0..=2))
        .prop_map(|(plaintext, encryption_context)| EncryptItem { plaintext: plaintext.into(), encryption_context })
}

/// The salt and counter of a blob: the (sub-key, nonce) pair, unique per sealed message.
fn nonce_of(blob: &[u8]) -> [u8; 24] {
    blob[22..46].try_into().unwrap()
}

/// Item counts spanning several chunks, and the edges around one chunk.
fn item_count() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 0usize..=300,
        1 => prop_oneof![Just(CHUNK - 1), Just(CHUNK), Just(CHUNK + 1), Just(2 * CHUNK), Just(2 * CHUNK + 1)],
    ]
}

proptest! {
    #![proptest_config(config(32))]

    /// Property 5a: `encrypt_batch` parallel, serial and one `encrypt` per item agree on every
    /// item (Ok blobs decrypt to the item's plaintext; errors have the same name, in order),
    /// and no two blobs share a (salt, counter).
    #[test]
    fn encrypt_batch_equals_serial(
        n in item_count(),
        items in proptest::collection::vec(encrypt_item(), 300),
        key in 0usize..2,
    ) {
        let f = &*BATCH;
        let items = items[..n].to_vec();
        let mut nonces = HashSet::new();
        let mut outcomes = Vec::new();
        for execution in [Execution::Parallel, Execution::Serial] {
            let req = EncryptBatchRequest { key_id: f.keys[key].clone(), items: items.clone(), execution };
            let out = f.kms.encrypt_batch(&f.me, &req).unwrap();
            prop_assert_eq!(out.ciphertext_blobs.len(), n);
            let mut per_item = Vec::new();
            for (item, blob) in items.iter().zip(&out.ciphertext_blobs) {
                per_item.push(match blob {
                    Ok(blob) => {
                        prop_assert!(nonces.insert(nonce_of(blob)), "a (salt, counter) pair was used twice");
                        let back = f.decrypt(blob, &item.encryption_context).unwrap();
                        prop_assert_eq!(&back.2, &out.key_material_id);
                        Ok(back.0)
                    }
                    Err(e) => Err(e.name()),
                });
            }
            outcomes.push(per_item);
        }
        let single: Vec<_> = items
            .iter()
            .map(|item| {
                let req = EncryptRequest::new(&f.keys[key], item.plaintext.clone())
                    .with_context(item.encryption_context.clone());
                f.kms.encrypt(&f.me, &req).map(|_| item.plaintext.expose_secret().to_vec()).map_err(|e| e.name())
            })
            .collect();
        let expected: Vec<_> = items
            .iter()
            .map(|i| {
                let pt = i.plaintext.expose_secret();
                if (1..=4096).contains(&pt.len()) { Ok(pt.to_vec()) } else { Err(VALIDATION) }
            })
            .collect();
        prop_assert_eq!(&outcomes[0], &expected);
        prop_assert_eq!(&outcomes[1], &expected);
        prop_assert_eq!(&single, &expected);
    }

    /// Property 5b: `decrypt_batch` parallel, serial and one `decrypt` per item agree on every
    /// item, and every item gets exactly the outcome its recipe predicts.
    #[test]
    fn decrypt_batch_equals_serial(n in item_count(), recipes in proptest::collection::vec(blob_recipe(), 300)) {
        let f = &*BATCH;
        let made: Vec<_> = recipes[..n].iter().map(|r| f.make(r)).collect();
        let items: Vec<_> = made
            .iter()
            .map(|(blob, ctx, _)| DecryptItem { ciphertext_blob: blob.clone(), encryption_context: ctx.clone() })
            .collect();
        let mut runs = Vec::new();
        for execution in [Execution::Parallel, Execution::Serial] {
            let req = DecryptBatchRequest { items: items.clone(), execution };
            let out = f.kms.decrypt_batch(&f.me, &req).unwrap();
            runs.push(out.into_iter().map(decrypt_outcome).collect::<Vec<_>>());
        }
        let single: Vec<_> = made.iter().map(|(blob, ctx, _)| f.decrypt(blob, ctx)).collect();
        prop_assert_eq!(&runs[0], &single);
        prop_assert_eq!(&runs[1], &single);
        for ((_, _, expected), got) in made.iter().zip(&single) {
            prop_assert_eq!(expected.clone(), got.clone().map(|(pt, _, _)| pt));
        }
    }

    /// Property 5c: `re_encrypt_batch` parallel, serial and one `re_encrypt` per item agree
    /// on every item; every new blob decrypts under the destination context.
    #[test]
    fn re_encrypt_batch_equals_serial(
        n in item_count(),
        recipes in proptest::collection::vec(blob_recipe(), 300),
        dest_ctx in proptest::collection::btree_map("[x-z]{0,3}", ".{0,3}", 0..=2),
        dest in 0usize..2,
    ) {
        let f = &*BATCH;
        let made: Vec<_> = recipes[..n].iter().map(|r| f.make(r)).collect();
        let items: Vec<_> = made
            .iter()
            .map(|(blob, ctx, _)| ReEncryptItem {
                ciphertext_blob: blob.clone(),
                source_encryption_context: ctx.clone(),
                destination_encryption_context: dest_ctx.clone(),
            })
            .collect();
        let mut nonces = HashSet::new();
        let mut outcome = |r: Result<ReEncryptResponse>| -> std::result::Result<ReEncryptOutcome, TestCaseError> {
            Ok(match r {
                Ok(r) => {
                    prop_assert!(nonces.insert(nonce_of(&r.ciphertext_blob)));
                    let (pt, key_id, material) = f.decrypt(&r.ciphertext_blob, &dest_ctx).unwrap();
                    prop_assert_eq!(&key_id, &r.key_id);
                    prop_assert_eq!(&material, &r.destination_key_material_id);
                    Ok((r.source_key_id, r.source_key_material_id, r.destination_key_material_id, pt))
                }
                Err(e) => Err(e.name()),
            })
        };
        let mut runs = Vec::new();
        for execution in [Execution::Parallel, Execution::Serial] {
            let req =
                ReEncryptBatchRequest { destination_key_id: f.keys[dest].clone(), items: items.clone(), execution };
            let out = f.kms.re_encrypt_batch(&f.me, &req).unwrap();
            prop_assert_eq!(out.len(), n);
            runs.push(out.into_iter().map(&mut outcome).collect::<std::result::Result<Vec<_>, _>>()?);
        }
        let mut single = Vec::new();
        for item in &items {
            let req = ReEncryptRequest {
                ciphertext_blob: item.ciphertext_blob.clone(),
                source_encryption_context: item.source_encryption_context.clone(),
                destination_key_id: f.keys[dest].clone(),
                destination_encryption_context: dest_ctx.clone(),
                ..Default::default()
            };
            single.push(outcome(f.kms.re_encrypt(&f.me, &req))?);
        }
        prop_assert_eq!(&runs[0], &single);
        prop_assert_eq!(&runs[1], &single);
        for ((_, _, expected), got) in made.iter().zip(&single) {
            prop_assert_eq!(expected.clone(), got.clone().map(|(_, _, _, pt)| pt));
        }
    }

    /// Property 5d: `generate_data_keys` parallel and serial: the count asked for, every data
    /// key decrypts (with `decrypt`) to its plaintext, plaintexts of 12 bytes or more are all
    /// distinct, and no two blobs share a (salt, counter).
    #[test]
    fn generate_data_keys_equals_serial(
        count in item_count(),
        size in prop_oneof![
            Just((Some(DataKeySpec::Aes256), None)),
            Just((Some(DataKeySpec::Aes128), None)),
            (1u32..=1024).prop_map(|n| (None, Some(n))),
        ],
        ctx in any_context(),
        key in 0usize..2,
    ) {
        let f = &*BATCH;
        let (key_spec, number_of_bytes) = size;
        let len = key_spec.map_or_else(|| number_of_bytes.unwrap() as usize, DataKeySpec::byte_len);
        let mut plaintexts = HashSet::new();
        let mut nonces = HashSet::new();
        let mut materials = Vec::new();
        for execution in [Execution::Parallel, Execution::Serial] {
            let req = GenerateDataKeysRequest {
                key_id: f.keys[key].clone(),
                encryption_context: ctx.clone(),
                number_of_bytes,
                key_spec,
                count,
                execution,
            };
            let out = f.kms.generate_data_keys(&f.me, &req).unwrap();
            prop_assert_eq!(out.data_keys.len(), count);
            materials.push(out.key_material_id.clone());
            for dk in out.data_keys {
                let dk = dk.unwrap();
                prop_assert_eq!(dk.plaintext.len(), len);
                prop_assert!(nonces.insert(nonce_of(&dk.ciphertext_blob)));
                let (pt, key_id, material) = f.decrypt(&dk.ciphertext_blob, &ctx).unwrap();
                prop_assert_eq!(&pt[..], dk.plaintext.expose_secret());
                prop_assert_eq!(&key_id, &out.key_id);
                prop_assert_eq!(&material, &out.key_material_id);
                if len >= 12 {
                    prop_assert!(plaintexts.insert(pt), "two data keys are equal");
                }
            }
        }
        prop_assert_eq!(&materials[0], &materials[1]);
    }
}

// ---------------------------------------------------------------------------------------------
// 6: rotation

#[derive(Clone, Debug)]
enum RotationStep {
    OnDemand,
    EnableRotation(Option<u32>),
    DisableRotation,
    AdvanceDays(u32),
    /// Nothing but the blob every step makes.
    Encrypt,
}

fn rotation_step() -> impl Strategy<Value = RotationStep> {
    prop_oneof![
        4 => Just(RotationStep::OnDemand),
        1 => prop_oneof![Just(None), (90u32..=400).prop_map(Some), (90u32..=2560).prop_map(Some)]
            .prop_map(RotationStep::EnableRotation),
        1 => Just(RotationStep::DisableRotation),
        3 => prop_oneof![0u32..=3, 0u32..=400].prop_map(RotationStep::AdvanceDays),
        1 => Just(RotationStep::Encrypt),
    ]
}

proptest! {
    #![proptest_config(config(96))]

    /// Property 6: after any sequence of on-demand rotations (the 26th is
    /// `LimitExceededException`), automatic rotations driven by the clock, and enabling and
    /// disabling rotation, every blob made at every earlier point still decrypts to its
    /// plaintext with the material it was made with; a new blob's KeyMaterialId equals
    /// DescribeKey's CurrentKeyMaterialId and the last (CURRENT) entry of ListKeyRotations;
    /// the list only ever grows at its end. Few hot versions force unwrapping on demand.
    #[test]
    fn rotation_keeps_every_blob(
        steps in proptest::collection::vec(rotation_step(), 1..=60),
        max_hot_versions in 1usize..=4,
        page in prop_oneof![Just(1000u32), 1u32..=7],
    ) {
        let clock = ManualClock::new(START);
        let kms = open(Some(clock.clone()), max_hot_versions);
        let me = kms.root_caller();
        let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
        let key_req = KeyIdRequest::new(&key);
        let mut on_demand = 0u32;
        let mut blobs: Vec<(Vec<u8>, Vec<u8>, EncryptionContext, String)> = Vec::new();
        let mut listed: Vec<String> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            match step {
                RotationStep::OnDemand => {
                    let r = kms.rotate_key_on_demand(&me, &key_req);
                    if on_demand < 25 {
                        r.unwrap();
                        on_demand += 1;
                    } else {
                        prop_assert_eq!(name(&r), "LimitExceededException");
                    }
                }
                RotationStep::EnableRotation(period) => {
                    let req = EnableKeyRotationRequest { key_id: key.clone(), rotation_period_in_days: *period };
                    kms.enable_key_rotation(&me, &req).unwrap();
                }
                RotationStep::DisableRotation => kms.disable_key_rotation(&me, &key_req).unwrap(),
                RotationStep::AdvanceDays(days) => clock.advance_days(*days),
                RotationStep::Encrypt => {}
            }
            // A new blob at this point.
            let pt = format!("blob {i}").into_bytes();
            let ctx = EncryptionContext::from([("step".to_owned(), i.to_string())]);
            let blob = kms.encrypt(&me, &EncryptRequest::new(&key, pt.clone()).with_context(ctx.clone())).unwrap();
            let material = kms
                .decrypt(&me, &DecryptRequest::new(blob.ciphertext_blob.clone()).with_context(ctx.clone()))
                .unwrap()
                .key_material_id;
            let meta = kms.describe_key(&me, &key_req).unwrap().key_metadata;
            prop_assert_eq!(meta.current_key_material_id.as_ref(), Some(&material));
            let rotations = common::all_rotations(&kms, &me, &key, page).unwrap();
            let last = rotations.last().unwrap();
            prop_assert_eq!(&last.key_material_id, &material);
            prop_assert_eq!(last.key_material_state, trent::key::KeyMaterialState::Current);
            let ids: Vec<String> = rotations.iter().map(|r| r.key_material_id.clone()).collect();
            prop_assert!(ids.starts_with(&listed), "ListKeyRotations changed its past");
            prop_assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
            let on_demand_listed = rotations.iter().filter(|r| r.rotation_type == Some(RotationType::OnDemand)).count();
            prop_assert_eq!(on_demand_listed, on_demand as usize);
            listed = ids;
            blobs.push((blob.ciphertext_blob, pt, ctx, material));
            // Every blob so far still decrypts, with the material that made it.
            for (blob, pt, ctx, material) in &blobs {
                let out = kms.decrypt(&me, &DecryptRequest::new(blob.clone()).with_context(ctx.clone())).unwrap();
                prop_assert_eq!(out.plaintext.expose_secret(), &pt[..]);
                prop_assert_eq!(&out.key_material_id, material);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7: nothing panics

/// A key identifier: arbitrary text, near misses, or one of the engine's real keys.
#[derive(Clone, Debug)]
enum IdArg {
    Raw(String),
    Key(Index),
    KeyArn(Index),
    /// A real key id with one character replaced.
    KeyMutated(Index, Index, char),
    Alias(Index),
    AliasArn(Index),
    /// Longer than the model's 2048.
    Long(usize, char),
}

fn raw_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(?s).{0,40}",
        Just(String::new()),
        "[a-zA-Z0-9:/_-]{0,20}",
        "alias/(?s).{0,12}",
        "alias/aws/[a-z]{0,6}",
        "arn:(aws|aws-cn|x|)?:(kms|iam|)?:(us-east-1|eu-west-1|)?:(111122223333|123|)?:(key|alias|thing)?/?(?s).{0,40}",
        "mrk-[0-9a-fA-F]{30,34}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[rkat]:(?s).{0,12}",
    ]
}

fn id_arg() -> impl Strategy<Value = IdArg> {
    prop_oneof![
        2 => raw_text().prop_map(IdArg::Raw),
        6 => any::<Index>().prop_map(IdArg::Key),
        1 => any::<Index>().prop_map(IdArg::KeyArn),
        1 => (any::<Index>(), any::<Index>(), any::<char>()).prop_map(|(k, i, c)| IdArg::KeyMutated(k, i, c)),
        1 => any::<Index>().prop_map(IdArg::Alias),
        1 => any::<Index>().prop_map(IdArg::AliasArn),
        1 => (2040usize..=2100, any::<char>()).prop_map(|(n, c)| IdArg::Long(n, c)),
    ]
}

/// A ciphertext blob argument: arbitrary bytes, or a blob the engine made, tampered or not.
#[derive(Clone, Debug)]
enum BlobArg {
    Raw(Vec<u8>),
    /// Starts like a v1 header, then arbitrary.
    HeaderLike(Vec<u8>),
    Known(Index),
    Flipped(Index, Index, u8),
    Truncated(Index, Index),
    Long(usize),
}

fn blob_arg() -> impl Strategy<Value = BlobArg> {
    prop_oneof![
        2 => proptest::collection::vec(any::<u8>(), 0..=100).prop_map(BlobArg::Raw),
        1 => proptest::collection::vec(any::<u8>(), 0..=200).prop_map(BlobArg::HeaderLike),
        6 => any::<Index>().prop_map(BlobArg::Known),
        2 => (any::<Index>(), any::<Index>(), 0u8..8).prop_map(|(b, p, bit)| BlobArg::Flipped(b, p, bit)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(b, n)| BlobArg::Truncated(b, n)),
        1 => (4100usize..=6200).prop_map(BlobArg::Long),
    ]
}

fn fuzz_context() -> impl Strategy<Value = EncryptionContext> {
    prop_oneof![
        6 => proptest::collection::btree_map("(?s).{0,8}", "(?s).{0,8}", 0..=2),
        2 => proptest::collection::btree_map(any::<String>(), any::<String>(), 0..=3),
        1 => (60_000usize..=70_000).prop_map(|n| EncryptionContext::from([("k".to_owned(), "v".repeat(n))])),
    ]
}

fn fuzz_tags() -> impl Strategy<Value = Vec<Tag>> {
    prop_oneof![
        4 => proptest::collection::vec((raw_text(), raw_text()), 0..=3),
        1 => (0usize..=60).prop_map(|n| (0..n).map(|i| (format!("t{i}"), String::new())).collect()),
        1 => (120usize..=300).prop_map(|n| vec![("k".repeat(n), "v".repeat(n))]),
    ]
    .prop_map(|pairs| pairs.into_iter().map(|(k, v)| Tag::new(k, v)).collect())
}

/// The context presented with a blob: its own (`None`) or any other.
fn blob_context() -> impl Strategy<Value = Option<EncryptionContext>> {
    prop_oneof![3 => Just(None), 1 => fuzz_context().prop_map(Some)]
}

/// `(NumberOfBytes, KeySpec)`: mostly exactly one of them, as the model wants.
fn data_key_size() -> impl Strategy<Value = (Option<u32>, Option<DataKeySpec>)> {
    prop_oneof![
        3 => (1u32..=1024).prop_map(|n| (Some(n), None)),
        3 => proptest::sample::select(DataKeySpec::ALL).prop_map(|s| (None, Some(s))),
        1 => (any_u32(), pick(DataKeySpec::ALL)),
    ]
}

fn grant_tokens() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        8 => Just(Vec::new()),
        1 => proptest::collection::vec(raw_text(), 0..=12),
        1 => (8190usize..=8200).prop_map(|n| vec!["g".repeat(n)]),
    ]
}

fn any_u32() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![
        1 => Just(None),
        2 => any::<u32>().prop_map(Some),
        2 => (0u32..=3000).prop_map(Some),
    ]
}

/// A number in `range` mostly, any `u32` or none otherwise.
fn number(range: std::ops::RangeInclusive<u32>) -> impl Strategy<Value = Option<u32>> {
    prop_oneof![3 => range.prop_map(Some), 2 => any_u32()]
}

fn maybe_id() -> impl Strategy<Value = Option<IdArg>> {
    prop_oneof![3 => Just(None), 1 => id_arg().prop_map(Some)]
}

fn maybe_text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![3 => Just(None), 1 => raw_text().prop_map(Some)]
}

fn marker() -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), raw_text().prop_map(Some)]
}

fn long_text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        3 => raw_text().prop_map(Some),
        1 => Just(Some(r#"{"Statement":[]}"#.to_owned())),
        1 => prop_oneof![Just(8192usize), Just(8193), Just(32 * 1024 + 1), Just(131_073)]
            .prop_map(|n| Some("x".repeat(n))),
    ]
}

fn include_key_material() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("ALL_KEY_MATERIAL".to_owned())),
        Just(Some("ROTATIONS_ONLY".to_owned())),
        raw_text().prop_map(Some),
    ]
}

fn algorithm() -> impl Strategy<Value = Option<EncryptionAlgorithmSpec>> {
    prop_oneof![3 => Just(None), 1 => pick(EncryptionAlgorithmSpec::ALL)]
}

fn dry_run() -> impl Strategy<Value = Option<bool>> {
    prop_oneof![3 => Just(None), 1 => any::<Option<bool>>()]
}

fn pick<T: Copy + std::fmt::Debug>(all: &'static [T]) -> impl Strategy<Value = Option<T>> {
    prop_oneof![Just(None), proptest::sample::select(all).prop_map(Some)]
}

/// One call of the engine's API, with arbitrary arguments.
#[derive(Clone, Debug)]
enum Call {
    CreateKey(Box<CreateKeyArgs>),
    Describe(IdArg, Vec<String>),
    ListKeys(Option<u32>, Option<String>),
    Enable(IdArg),
    Disable(IdArg),
    Schedule(IdArg, Option<u32>),
    Cancel(IdArg),
    UpdateDescription(IdArg, String),
    Tag(IdArg, Vec<Tag>),
    Untag(IdArg, Vec<String>),
    ListTags(IdArg, Option<u32>, Option<String>),
    CreateAlias(String, IdArg),
    UpdateAlias(IdArg, IdArg),
    DeleteAlias(IdArg),
    ListAliases(Option<IdArg>, Option<u32>, Option<String>),
    EnableRotation(IdArg, Option<u32>),
    DisableRotation(IdArg),
    RotationStatus(IdArg),
    RotateOnDemand(IdArg),
    ListRotations(IdArg, Option<String>, Option<u32>, Option<String>),
    Encrypt(IdArg, Vec<u8>, EncryptionContext, Vec<String>, Option<EncryptionAlgorithmSpec>, Option<bool>),
    Decrypt(
        BlobArg,
        Option<EncryptionContext>,
        Option<IdArg>,
        Vec<String>,
        Option<EncryptionAlgorithmSpec>,
        Option<bool>,
    ),
    ReEncrypt(Box<ReEncryptArgs>),
    DataKey(IdArg, EncryptionContext, Option<u32>, Option<DataKeySpec>, bool, Option<bool>),
    Random(Option<u32>, Option<String>),
    DataKeys(IdArg, EncryptionContext, Option<u32>, Option<DataKeySpec>, usize, Execution),
    EncryptBatch(IdArg, Vec<(Vec<u8>, EncryptionContext)>, Execution),
    DecryptBatch(Vec<(BlobArg, Option<EncryptionContext>)>, Execution),
    ReEncryptBatch(IdArg, Vec<(BlobArg, Option<EncryptionContext>, EncryptionContext)>, Execution),
    Maintenance,
    AdvanceDays(u32),
}

#[derive(Clone, Debug)]
struct CreateKeyArgs {
    policy: Option<String>,
    description: Option<String>,
    key_usage: Option<KeyUsage>,
    key_spec: Option<KeySpec>,
    customer_master_key_spec: Option<KeySpec>,
    origin: Option<OriginType>,
    custom_key_store_id: Option<String>,
    tags: Vec<Tag>,
    multi_region: Option<bool>,
}

#[derive(Clone, Debug)]
struct ReEncryptArgs {
    blob: BlobArg,
    source_ctx: Option<EncryptionContext>,
    source_key: Option<IdArg>,
    dest_key: IdArg,
    dest_ctx: EncryptionContext,
    algorithms: (Option<EncryptionAlgorithmSpec>, Option<EncryptionAlgorithmSpec>),
    grant_tokens: Vec<String>,
    dry_run: Option<bool>,
}

fn plaintext_arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..=64),
        1 => proptest::collection::vec(any::<u8>(), 4090..=4100),
    ]
}

/// Batch sizes: small, around one chunk, or beyond the engine's batch limit (refused before
/// any work).
fn batch_count() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..=70, 1 => prop_oneof![Just((1 << 20) + 1), Just(usize::MAX)]]
}

fn call() -> impl Strategy<Value = Call> {
    let create = (
        prop_oneof![3 => Just(None), 1 => long_text()],
        long_text(),
        prop_oneof![3 => Just(None), 1 => pick(KeyUsage::ALL)],
        prop_oneof![3 => Just(None), 1 => pick(KeySpec::ALL)],
        prop_oneof![3 => Just(None), 1 => pick(KeySpec::ALL)],
        prop_oneof![3 => Just(None), 1 => pick(OriginType::ALL)],
        maybe_text(),
        fuzz_tags(),
        any::<Option<bool>>(),
    )
        .prop_map(
            |(policy, description, key_usage, key_spec, customer_master_key_spec, origin, store, tags, mr)| {
                Call::CreateKey(Box::new(CreateKeyArgs {
                    policy,
                    description,
                    key_usage,
                    key_spec,
                    customer_master_key_spec,
                    origin,
                    custom_key_store_id: store,
                    tags,
                    multi_region: mr,
                }))
            },
        );
    let re_encrypt = (
        blob_arg(),
        blob_context(),
        maybe_id(),
        id_arg(),
        fuzz_context(),
        (algorithm(), algorithm()),
        grant_tokens(),
        dry_run(),
    )
        .prop_map(|(blob, source_ctx, source_key, dest_key, dest_ctx, algorithms, grant_tokens, dry_run)| {
            Call::ReEncrypt(Box::new(ReEncryptArgs {
                blob,
                source_ctx,
                source_key,
                dest_key,
                dest_ctx,
                algorithms,
                grant_tokens,
                dry_run,
            }))
        });
    let alias_name = || prop_oneof![raw_text(), "alias/[a-zA-Z0-9:/_-]{1,8}"];
    let existing_alias =
        || prop_oneof![2 => any::<Index>().prop_map(IdArg::Alias), 1 => alias_name().prop_map(IdArg::Raw)];
    prop_oneof![
        3 => create,
        2 => (id_arg(), grant_tokens()).prop_map(|(id, g)| Call::Describe(id, g)),
        1 => (number(1..=1000), marker()).prop_map(|(l, m)| Call::ListKeys(l, m)),
        1 => id_arg().prop_map(Call::Enable),
        1 => id_arg().prop_map(Call::Disable),
        1 => (id_arg(), number(7..=30)).prop_map(|(id, d)| Call::Schedule(id, d)),
        1 => id_arg().prop_map(Call::Cancel),
        1 => (id_arg(), long_text()).prop_map(|(id, d)| Call::UpdateDescription(id, d.unwrap_or_default())),
        1 => (id_arg(), fuzz_tags()).prop_map(|(id, t)| Call::Tag(id, t)),
        1 => (id_arg(), proptest::collection::vec(raw_text(), 0..=3)).prop_map(|(id, k)| Call::Untag(id, k)),
        1 => (id_arg(), number(1..=1000), marker()).prop_map(|(id, l, m)| Call::ListTags(id, l, m)),
        2 => (alias_name(), id_arg()).prop_map(|(a, id)| Call::CreateAlias(a, id)),
        1 => (existing_alias(), id_arg()).prop_map(|(a, id)| Call::UpdateAlias(a, id)),
        1 => existing_alias().prop_map(Call::DeleteAlias),
        1 => (maybe_id(), number(1..=1000), marker()).prop_map(|(id, l, m)| Call::ListAliases(id, l, m)),
        1 => (id_arg(), number(90..=2560)).prop_map(|(id, p)| Call::EnableRotation(id, p)),
        1 => id_arg().prop_map(Call::DisableRotation),
        1 => id_arg().prop_map(Call::RotationStatus),
        2 => id_arg().prop_map(Call::RotateOnDemand),
        1 => (id_arg(), include_key_material(), number(1..=1000), marker())
            .prop_map(|(id, inc, l, m)| Call::ListRotations(id, inc, l, m)),
        4 => (id_arg(), plaintext_arg(), fuzz_context(), grant_tokens(), algorithm(), dry_run())
            .prop_map(|(id, pt, ctx, g, alg, dry)| Call::Encrypt(id, pt, ctx, g, alg, dry)),
        4 => (blob_arg(), blob_context(), maybe_id(), grant_tokens(), algorithm(), dry_run())
            .prop_map(|(b, ctx, id, g, alg, dry)| Call::Decrypt(b, ctx, id, g, alg, dry)),
        2 => re_encrypt,
        2 => (id_arg(), fuzz_context(), data_key_size(), any::<bool>(), dry_run())
            .prop_map(|(id, ctx, (n, spec), wp, dry)| Call::DataKey(id, ctx, n, spec, wp, dry)),
        1 => (number(1..=1024), maybe_text()).prop_map(|(n, s)| Call::Random(n, s)),
        1 => (id_arg(), fuzz_context(), data_key_size(), batch_count(), execution())
            .prop_map(|(id, ctx, (n, spec), count, ex)| Call::DataKeys(id, ctx, n, spec, count, ex)),
        1 => (id_arg(), proptest::collection::vec((plaintext_arg(), fuzz_context()), 0..=70), execution())
            .prop_map(|(id, items, ex)| Call::EncryptBatch(id, items, ex)),
        1 => (proptest::collection::vec((blob_arg(), blob_context()), 0..=70), execution())
            .prop_map(|(items, ex)| Call::DecryptBatch(items, ex)),
        1 => (id_arg(), proptest::collection::vec((blob_arg(), blob_context(), fuzz_context()), 0..=70), execution())
            .prop_map(|(id, items, ex)| Call::ReEncryptBatch(id, items, ex)),
        1 => Just(Call::Maintenance),
        1 => prop_oneof![0u32..=40, 0u32..=3000].prop_map(Call::AdvanceDays),
    ]
}

/// Runs calls against one engine and remembers the keys, aliases and blobs it made, so that
/// later calls can aim at them.
struct Fuzzer {
    kms: Kms,
    clock: ManualClock,
    keys: Vec<String>,
    aliases: Vec<String>,
    blobs: Vec<(Vec<u8>, EncryptionContext)>,
}

impl Fuzzer {
    fn id(&self, arg: &IdArg) -> String {
        let key =
            |i: &Index| if self.keys.is_empty() { String::new() } else { self.keys[i.index(self.keys.len())].clone() };
        let alias = |i: &Index| {
            if self.aliases.is_empty() {
                "alias/none".to_owned()
            } else {
                self.aliases[i.index(self.aliases.len())].clone()
            }
        };
        match arg {
            IdArg::Raw(s) => s.clone(),
            IdArg::Key(i) => key(i),
            IdArg::KeyArn(i) => format!("arn:aws:kms:us-east-1:111122223333:key/{}", key(i)),
            IdArg::KeyMutated(k, i, c) => {
                let mut chars: Vec<char> = key(k).chars().collect();
                if !chars.is_empty() {
                    let i = i.index(chars.len());
                    chars[i] = *c;
                }
                chars.into_iter().collect()
            }
            IdArg::Alias(i) => alias(i),
            IdArg::AliasArn(i) => format!("arn:aws:kms:us-east-1:111122223333:{}", alias(i)),
            IdArg::Long(n, c) => std::iter::repeat_n(*c, *n).collect(),
        }
    }

    /// The blob, and the context to present with it: `ctx`, or else the one the blob was
    /// made with.
    fn blob(&self, arg: &BlobArg, ctx: &Option<EncryptionContext>) -> (Vec<u8>, EncryptionContext) {
        let known = |i: &Index| match self.blobs.len() {
            0 => (vec![1, 1], EncryptionContext::new()),
            n => self.blobs[i.index(n)].clone(),
        };
        let (blob, own) = match arg {
            BlobArg::Raw(b) => (b.clone(), EncryptionContext::new()),
            BlobArg::HeaderLike(b) => ([&[1, 1], &b[..]].concat(), EncryptionContext::new()),
            BlobArg::Known(i) => known(i),
            BlobArg::Flipped(i, pos, bit) => {
                let (mut blob, own) = known(i);
                let pos = pos.index(blob.len());
                blob[pos] ^= 1 << bit;
                (blob, own)
            }
            BlobArg::Truncated(i, n) => {
                let (blob, own) = known(i);
                (blob[..n.index(blob.len() + 1)].to_vec(), own)
            }
            BlobArg::Long(n) => {
                let (mut blob, own) =
                    self.blobs.first().cloned().unwrap_or_else(|| (vec![1, 1], EncryptionContext::new()));
                blob.resize(*n, 0);
                (blob, own)
            }
        };
        (blob, ctx.clone().unwrap_or(own))
    }

    fn remember(&mut self, blob: &[u8], ctx: &EncryptionContext) {
        if self.blobs.len() < 64 {
            self.blobs.push((blob.to_vec(), ctx.clone()));
        }
    }

    /// Runs one call and returns its outcome (`"Ok"` or the exception name); every outcome
    /// but a panic is fine.
    fn run(&mut self, caller: &Caller, call: &Call) -> &'static str {
        let kms = self.kms.clone();
        match call {
            Call::CreateKey(a) => {
                let req = CreateKeyRequest {
                    policy: a.policy.clone(),
                    description: a.description.clone(),
                    key_usage: a.key_usage,
                    customer_master_key_spec: a.customer_master_key_spec,
                    key_spec: a.key_spec,
                    origin: a.origin,
                    custom_key_store_id: a.custom_key_store_id.clone(),
                    bypass_policy_lockout_safety_check: false,
                    tags: a.tags.clone(),
                    multi_region: a.multi_region,
                };
                let r = kms.create_key(caller, &req);
                if let Ok(r) = &r {
                    self.keys.push(r.key_metadata.key_id.clone());
                }
                name(&r)
            }
            Call::Describe(id, g) => {
                name(&kms.describe_key(caller, &KeyIdRequest { key_id: self.id(id), grant_tokens: g.clone() }))
            }
            Call::ListKeys(limit, marker) => {
                name(&kms.list_keys(caller, &ListKeysRequest { limit: *limit, marker: marker.clone() }))
            }
            Call::Enable(id) => name(&kms.enable_key(caller, &KeyIdRequest::new(self.id(id)))),
            Call::Disable(id) => name(&kms.disable_key(caller, &KeyIdRequest::new(self.id(id)))),
            Call::Schedule(id, days) => {
                let req = ScheduleKeyDeletionRequest { key_id: self.id(id), pending_window_in_days: *days };
                name(&kms.schedule_key_deletion(caller, &req))
            }
            Call::Cancel(id) => name(&kms.cancel_key_deletion(caller, &KeyIdRequest::new(self.id(id)))),
            Call::UpdateDescription(id, d) => {
                let req = UpdateKeyDescriptionRequest { key_id: self.id(id), description: d.clone() };
                name(&kms.update_key_description(caller, &req))
            }
            Call::Tag(id, tags) => {
                name(&kms.tag_resource(caller, &TagResourceRequest { key_id: self.id(id), tags: tags.clone() }))
            }
            Call::Untag(id, keys) => {
                let req = UntagResourceRequest { key_id: self.id(id), tag_keys: keys.clone() };
                name(&kms.untag_resource(caller, &req))
            }
            Call::ListTags(id, limit, marker) => {
                let req = ListResourceTagsRequest { key_id: self.id(id), limit: *limit, marker: marker.clone() };
                name(&kms.list_resource_tags(caller, &req))
            }
            Call::CreateAlias(alias, id) => {
                let r = kms.create_alias(caller, &AliasRequest::new(alias, self.id(id)));
                if r.is_ok() {
                    self.aliases.push(alias.clone());
                }
                name(&r)
            }
            Call::UpdateAlias(alias, id) => {
                name(&kms.update_alias(caller, &AliasRequest::new(self.id(alias), self.id(id))))
            }
            Call::DeleteAlias(alias) => {
                name(&kms.delete_alias(caller, &DeleteAliasRequest { alias_name: self.id(alias) }))
            }
            Call::ListAliases(id, limit, marker) => {
                let req = ListAliasesRequest {
                    key_id: id.as_ref().map(|i| self.id(i)),
                    limit: *limit,
                    marker: marker.clone(),
                };
                name(&kms.list_aliases(caller, &req))
            }
            Call::EnableRotation(id, period) => {
                let req = EnableKeyRotationRequest { key_id: self.id(id), rotation_period_in_days: *period };
                name(&kms.enable_key_rotation(caller, &req))
            }
            Call::DisableRotation(id) => name(&kms.disable_key_rotation(caller, &KeyIdRequest::new(self.id(id)))),
            Call::RotationStatus(id) => name(&kms.get_key_rotation_status(caller, &KeyIdRequest::new(self.id(id)))),
            Call::RotateOnDemand(id) => name(&kms.rotate_key_on_demand(caller, &KeyIdRequest::new(self.id(id)))),
            Call::ListRotations(id, include, limit, marker) => {
                let req = ListKeyRotationsRequest {
                    key_id: self.id(id),
                    include_key_material: include.clone(),
                    limit: *limit,
                    marker: marker.clone(),
                };
                name(&kms.list_key_rotations(caller, &req))
            }
            Call::Encrypt(id, pt, ctx, g, alg, dry) => {
                let req = EncryptRequest {
                    key_id: self.id(id),
                    plaintext: pt.into(),
                    encryption_context: ctx.clone(),
                    grant_tokens: g.clone(),
                    encryption_algorithm: *alg,
                    dry_run: *dry,
                };
                let r = kms.encrypt(caller, &req);
                if let Ok(r) = &r {
                    self.remember(&r.ciphertext_blob, ctx);
                }
                name(&r)
            }
            Call::Decrypt(blob, ctx, id, g, alg, dry) => {
                let (blob, ctx) = self.blob(blob, ctx);
                let req = DecryptRequest {
                    ciphertext_blob: blob,
                    encryption_context: ctx,
                    grant_tokens: g.clone(),
                    key_id: id.as_ref().map(|i| self.id(i)),
                    encryption_algorithm: *alg,
                    dry_run: *dry,
                };
                name(&kms.decrypt(caller, &req))
            }
            Call::ReEncrypt(a) => {
                let (blob, ctx) = self.blob(&a.blob, &a.source_ctx);
                let req = ReEncryptRequest {
                    ciphertext_blob: blob,
                    source_encryption_context: ctx,
                    source_key_id: a.source_key.as_ref().map(|i| self.id(i)),
                    destination_key_id: self.id(&a.dest_key),
                    destination_encryption_context: a.dest_ctx.clone(),
                    source_encryption_algorithm: a.algorithms.0,
                    destination_encryption_algorithm: a.algorithms.1,
                    grant_tokens: a.grant_tokens.clone(),
                    dry_run: a.dry_run,
                };
                let r = kms.re_encrypt(caller, &req);
                if let Ok(r) = &r {
                    self.remember(&r.ciphertext_blob, &a.dest_ctx);
                }
                name(&r)
            }
            Call::DataKey(id, ctx, n, spec, without_plaintext, dry) => {
                let req = GenerateDataKeyRequest {
                    key_id: self.id(id),
                    encryption_context: ctx.clone(),
                    number_of_bytes: *n,
                    key_spec: *spec,
                    grant_tokens: Vec::new(),
                    dry_run: *dry,
                };
                let r = if *without_plaintext {
                    kms.generate_data_key_without_plaintext(caller, &req).map(|r| r.ciphertext_blob)
                } else {
                    kms.generate_data_key(caller, &req).map(|r| r.ciphertext_blob)
                };
                if let Ok(blob) = &r {
                    self.remember(blob, ctx);
                }
                name(&r)
            }
            Call::Random(n, store) => {
                let req = GenerateRandomRequest { number_of_bytes: *n, custom_key_store_id: store.clone() };
                name(&kms.generate_random(caller, &req))
            }
            Call::DataKeys(id, ctx, n, spec, count, execution) => {
                let req = GenerateDataKeysRequest {
                    key_id: self.id(id),
                    encryption_context: ctx.clone(),
                    number_of_bytes: *n,
                    key_spec: *spec,
                    count: *count,
                    execution: *execution,
                };
                name(&kms.generate_data_keys(caller, &req))
            }
            Call::EncryptBatch(id, items, execution) => {
                let req = EncryptBatchRequest {
                    key_id: self.id(id),
                    items: items
                        .iter()
                        .map(|(pt, ctx)| EncryptItem { plaintext: pt.into(), encryption_context: ctx.clone() })
                        .collect(),
                    execution: *execution,
                };
                let r = kms.encrypt_batch(caller, &req);
                if let Ok(r) = &r {
                    for ((_, ctx), blob) in items.iter().zip(&r.ciphertext_blobs).take(4) {
                        if let Ok(blob) = blob {
                            self.remember(blob, ctx);
                        }
                    }
                }
                name(&r)
            }
            Call::DecryptBatch(items, execution) => {
                let req = DecryptBatchRequest {
                    items: items
                        .iter()
                        .map(|(b, ctx)| {
                            let (ciphertext_blob, encryption_context) = self.blob(b, ctx);
                            DecryptItem { ciphertext_blob, encryption_context }
                        })
                        .collect(),
                    execution: *execution,
                };
                name(&kms.decrypt_batch(caller, &req))
            }
            Call::ReEncryptBatch(id, items, execution) => {
                let req = ReEncryptBatchRequest {
                    destination_key_id: self.id(id),
                    items: items
                        .iter()
                        .map(|(b, src, dst)| {
                            let (ciphertext_blob, source_encryption_context) = self.blob(b, src);
                            ReEncryptItem {
                                ciphertext_blob,
                                source_encryption_context,
                                destination_encryption_context: dst.clone(),
                            }
                        })
                        .collect(),
                    execution: *execution,
                };
                name(&kms.re_encrypt_batch(caller, &req))
            }
            Call::Maintenance => name(&kms.run_maintenance()),
            Call::AdvanceDays(days) => {
                self.clock.advance_days(*days);
                "Ok"
            }
        }
    }
}

/// A batch's execution, either way.
fn execution() -> impl Strategy<Value = Execution> {
    prop_oneof![Just(Execution::Parallel), Just(Execution::Serial)]
}

/// The caller of a call: the root principal mostly, sometimes any ARN-shaped string.
fn caller_arg() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => Just(None),
        1 => "arn:aws:(iam|sts)::[0-9]{12}:(user|role|root)/?[a-z]{0,6}".prop_map(Some),
        1 => raw_text().prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(config(128))]

    /// Property 7: every operation, called with arbitrary identifiers, alias names, markers,
    /// blobs, contexts, tags, limits and callers, returns `Ok` or `Err`; none panics.
    #[test]
    fn nothing_panics(calls in proptest::collection::vec((caller_arg(), call()), 1..=40)) {
        let clock = ManualClock::new(START);
        let kms = open(Some(clock.clone()), 4);
        let root = kms.root_caller();
        let mut fuzzer = Fuzzer { kms: kms.clone(), clock, keys: Vec::new(), aliases: Vec::new(), blobs: Vec::new() };
        // Something to aim at from the start.
        for _ in 0..2 {
            fuzzer.run(&root, &Call::CreateKey(Box::new(CreateKeyArgs {
                policy: None,
                description: None,
                key_usage: None,
                key_spec: None,
                customer_master_key_spec: None,
                origin: None,
                custom_key_store_id: None,
                tags: Vec::new(),
                multi_region: Some(fuzzer.keys.len() == 1),
            })));
        }
        for key in fuzzer.keys.clone() {
            for ctx in [EncryptionContext::new(), EncryptionContext::from([("a".into(), "b".into())])] {
                let req = EncryptRequest::new(&key, b"seed".to_vec()).with_context(ctx.clone());
                fuzzer.remember(&kms.encrypt(&root, &req).unwrap().ciphertext_blob, &ctx);
            }
        }
        for (caller, call) in &calls {
            let caller = caller.as_deref().and_then(|arn| Caller::from_arn(arn).ok()).unwrap_or_else(|| root.clone());
            fuzzer.run(&caller, call);
        }
        // The engine still works.
        let key = kms.create_key(&root, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
        let blob = kms.encrypt(&root, &EncryptRequest::new(&key, b"still here".to_vec())).unwrap().ciphertext_blob;
        let back = kms.decrypt(&root, &DecryptRequest::new(blob)).unwrap();
        prop_assert_eq!(back.plaintext.expose_secret(), b"still here");
    }
}
