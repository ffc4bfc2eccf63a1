//! Error conformance: bad input and wrong key states over the public API, each case asserting
//! the exact AWS exception name (`Error::name`) and, where AWS's wording is known, the message.
//!
//! One table, one run: every case runs, every mismatch is collected, and the test fails once
//! listing them all.
//!
//! Expectations follow the botocore model (`kms-service-2.json`: operation error lists and
//! shape constraints) and the AWS KMS reference, not the engine.
#![allow(clippy::unwrap_used)]

mod common;

use common::START_MS;

use std::fmt::Write as _;

use trent::ciphertext::HEADER_LEN;
use trent::clock::{ManualClock, Timestamp};
use trent::key::{DataKeySpec, EncryptionAlgorithmSpec, KeySpec, KeyUsage, OriginType, Tag};
use trent::{
    AliasRequest, Caller, CreateKeyRequest, DecryptRequest, DeleteAliasRequest, EnableKeyRotationRequest,
    EncryptRequest, EncryptionContext, GenerateDataKeyRequest, GenerateRandomRequest, KeyIdRequest, Kms,
    ListAliasesRequest, ListKeyRotationsRequest, ListKeysRequest, ListResourceTagsRequest, ReEncryptRequest,
    ScheduleKeyDeletionRequest, TagResourceRequest, UntagResourceRequest, UpdateKeyDescriptionRequest,
};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111122223333";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const ALIAS: &str = "alias/errors-test";
const ALIAS_ARN: &str = "arn:aws:kms:us-east-1:111122223333:alias/errors-test";
/// A well-formed key id that names no key.
const MISSING_ID: &str = "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f";
const INCORRECT_KEY: &str = "The key ID in the request does not identify a CMK that can perform this operation.";
const DRY_RUN: &str = "The request would have succeeded, but the DryRun option is set.";

// ---------------------------------------------------------------------------------------------
// The table

/// What the message must be.
enum Msg {
    /// Not checked (AWS's wording is not documented).
    Any,
    /// Exactly this.
    Exact(String),
    /// Contains this.
    Contains(String),
}

fn exact(s: impl Into<String>) -> Msg {
    Msg::Exact(s.into())
}

fn contains(s: impl Into<String>) -> Msg {
    Msg::Contains(s.into())
}

type Op<'a> = Box<dyn Fn() -> trent::Result<()> + 'a>;

struct Case<'a> {
    name: String,
    op: Op<'a>,
    exception: &'static str,
    message: Msg,
}

fn case<'a, T>(
    name: impl Into<String>,
    exception: &'static str,
    message: Msg,
    op: impl Fn() -> trent::Result<T> + 'a,
) -> Case<'a> {
    Case { name: name.into(), op: Box::new(move || op().map(drop)), exception, message }
}

/// Runs one case; `None` when the answer is as expected, else what went wrong.
fn check(c: &Case<'_>) -> Option<String> {
    let err = match (c.op)() {
        Ok(()) => return Some(format!("succeeded; expected {}", c.exception)),
        Err(e) => e,
    };
    let mut problems = Vec::new();
    if err.name() != c.exception {
        problems.push(format!("exception {} (expected {})", err.name(), c.exception));
    }
    match &c.message {
        Msg::Any => {}
        Msg::Exact(m) if err.message() != m => problems.push(format!("message {:?} (expected {m:?})", err.message())),
        Msg::Contains(m) if !err.message().contains(m.as_str()) => {
            problems.push(format!("message {:?} (expected it to contain {m:?})", err.message()));
        }
        _ => {}
    }
    if problems.is_empty() { None } else { Some(problems.join("; ")) }
}

// ---------------------------------------------------------------------------------------------
// The fixture

struct Key {
    id: String,
    arn: String,
}

struct Fixture {
    kms: Kms,
    root: Caller,
    alice: Caller,
    ctx: EncryptionContext,
    /// Enabled; target of [`ALIAS`].
    e: Key,
    /// Enabled; only ever named as the "wrong" key.
    e2: Key,
    /// Disabled.
    d: Key,
    /// Pending deletion.
    p: Key,
    /// Enabled, with 25 on-demand rotations behind it.
    r: Key,
    /// Enabled, with 50 aliases.
    full: Key,
    /// Enabled; for cases that would change a key if the engine wrongly accepted them.
    spare: Key,
    /// Under `e`, with `ctx`.
    blob_e: Vec<u8>,
    /// Under `e2`, no context.
    blob_e2: Vec<u8>,
    /// Under `d` (made before it was disabled).
    blob_d: Vec<u8>,
    /// Under `p` (made before its deletion was scheduled).
    blob_p: Vec<u8>,
    /// A second engine whose clock sits 10 minutes before `conflict_key`'s automatic rotation.
    conflict_kms: Kms,
    conflict_key: Key,
    names: Names,
}

/// Identifiers derived from the fixture's keys.
struct Names {
    /// `e`'s ARN with another Region.
    other_region_arn: String,
    /// `e`'s ARN with another account.
    other_account_arn: String,
    /// [`ALIAS`]'s ARN with another account.
    other_account_alias: String,
    /// A KMS ARN whose resource is neither `key/…` nor `alias/…`.
    malformed_arn: String,
    /// The key ARN of [`MISSING_ID`].
    missing_arn: String,
    /// 2049 characters.
    long_id: String,
}

fn open_engine(clock: &ManualClock) -> Kms {
    common::builder().region(REGION).account(ACCOUNT).clock(clock.clone()).allow_unlocked_memory(true).open().unwrap()
}

fn new_key(kms: &Kms, root: &Caller) -> Key {
    let md = kms.create_key(root, &CreateKeyRequest::default()).unwrap().key_metadata;
    Key { id: md.key_id, arn: md.arn }
}

fn encrypt(kms: &Kms, root: &Caller, key: &Key, ctx: &EncryptionContext) -> Vec<u8> {
    let req = EncryptRequest::new(&key.id, b"attack at dawn".to_vec()).with_context(ctx.clone());
    kms.encrypt(root, &req).unwrap().ciphertext_blob
}

impl Fixture {
    fn new() -> Self {
        let clock = ManualClock::new(Timestamp::from_millis(START_MS));
        let kms = open_engine(&clock);
        let root = kms.root_caller();
        let alice = Caller::from_arn(ALICE).unwrap();
        let ctx: EncryptionContext = [("purpose".to_string(), "errors".to_string())].into();
        let none = EncryptionContext::new();

        let e = new_key(&kms, &root);
        let e2 = new_key(&kms, &root);
        let d = new_key(&kms, &root);
        let p = new_key(&kms, &root);
        let r = new_key(&kms, &root);
        let full = new_key(&kms, &root);
        let spare = new_key(&kms, &root);

        let blob_e = encrypt(&kms, &root, &e, &ctx);
        let blob_e2 = encrypt(&kms, &root, &e2, &none);
        let blob_d = encrypt(&kms, &root, &d, &none);
        let blob_p = encrypt(&kms, &root, &p, &none);

        kms.create_alias(&root, &AliasRequest::new(ALIAS, &e.id)).unwrap();
        kms.disable_key(&root, &KeyIdRequest::new(&d.id)).unwrap();
        let req = ScheduleKeyDeletionRequest { key_id: p.id.clone(), pending_window_in_days: Some(7) };
        kms.schedule_key_deletion(&root, &req).unwrap();
        for _ in 0..25 {
            kms.rotate_key_on_demand(&root, &KeyIdRequest::new(&r.id)).unwrap();
        }
        for i in 0..50 {
            kms.create_alias(&root, &AliasRequest::new(format!("alias/full-{i}"), &full.id)).unwrap();
        }

        let conflict_clock = ManualClock::new(Timestamp::from_millis(START_MS));
        let conflict_kms = open_engine(&conflict_clock);
        let conflict_key = new_key(&conflict_kms, &root);
        let req = EnableKeyRotationRequest { key_id: conflict_key.id.clone(), rotation_period_in_days: Some(90) };
        conflict_kms.enable_key_rotation(&root, &req).unwrap();
        conflict_clock.advance_days(89);
        conflict_clock.advance(std::time::Duration::from_secs((24 * 60 - 10) * 60));

        let names = Names {
            other_region_arn: e.arn.replace(REGION, "eu-west-1"),
            other_account_arn: e.arn.replace(ACCOUNT, "444455556666"),
            other_account_alias: format!("arn:aws:kms:{REGION}:444455556666:alias/errors-test"),
            malformed_arn: format!("arn:aws:kms:{REGION}:{ACCOUNT}:thing/x"),
            missing_arn: format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{MISSING_ID}"),
            long_id: "a".repeat(2049),
        };

        Self {
            kms,
            root,
            alice,
            ctx,
            e,
            e2,
            d,
            p,
            r,
            full,
            spare,
            blob_e,
            blob_e2,
            blob_d,
            blob_p,
            conflict_kms,
            conflict_key,
            names,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn disabled(k: &Key) -> Msg {
    exact(format!("{} is disabled.", k.arn))
}

fn pending(k: &Key) -> Msg {
    exact(format!("{} is pending deletion.", k.arn))
}

fn invalid_key_id() -> Msg {
    // AWS also quotes the id on some paths ("Invalid keyId 'foo'"); only the stem is checked.
    contains("Invalid keyId")
}

fn alias_not_found(name: &str) -> Msg {
    exact(format!("Alias arn:aws:kms:{REGION}:{ACCOUNT}:{name} is not found."))
}

fn validation(value: &str, field: &str, constraint: &str) -> Msg {
    let value = if value.is_empty() { String::new() } else { format!(" {value}") };
    exact(format!("1 validation error detected: Value{value} at '{field}' failed to satisfy constraint: {constraint}"))
}

fn denied(action: &str, k: &Key) -> Msg {
    contains(format!("User: {ALICE} is not authorized to perform: kms:{action} on resource: {}", k.arn))
}

fn flip(blob: &[u8], index: usize) -> Vec<u8> {
    let mut out = blob.to_vec();
    out[index] ^= 0x01;
    out
}

/// EnableKeyRotation, DisableKeyRotation and RotateKeyOnDemand on `key` (a `state` one), each
/// refused with `exception` and the message `message(key)`.
fn rotation_refused<'a>(
    v: &mut Vec<Case<'a>>,
    f: &'a Fixture,
    key: &'a Key,
    state: &str,
    exception: &'static str,
    message: fn(&Key) -> Msg,
) {
    let (k, root) = (&f.kms, &f.root);
    v.push(case(format!("EnableKeyRotation: {state}"), exception, message(key), move || {
        k.enable_key_rotation(root, &EnableKeyRotationRequest { key_id: key.id.clone(), rotation_period_in_days: None })
    }));
    v.push(case(format!("DisableKeyRotation: {state}"), exception, message(key), move || {
        k.disable_key_rotation(root, &key_req(&key.id))
    }));
    v.push(case(format!("RotateKeyOnDemand: {state}"), exception, message(key), move || {
        k.rotate_key_on_demand(root, &key_req(&key.id))
    }));
}

/// Encrypt, Decrypt (of `blob`), GenerateDataKey, GenerateDataKeyWithoutPlaintext and ReEncrypt
/// (`key` as the source, then as the destination), named `names` in that order, each refused
/// with `exception` and the message `message(key)`. The two GenerateDataKey forms name the key
/// by `gdk_ids` (its id or ARN); the others by its id.
fn crypto_refused<'a>(
    v: &mut Vec<Case<'a>>,
    f: &'a Fixture,
    names: [&str; 6],
    (key, blob, gdk_ids): (&'a Key, &'a [u8], [&'a str; 2]),
    exception: &'static str,
    message: fn(&Key) -> Msg,
) {
    let (k, root) = (&f.kms, &f.root);
    let [encrypt, decrypt, gdk, gdk_without, source, destination] = names;
    v.push(case(encrypt, exception, message(key), move || {
        k.encrypt(root, &EncryptRequest::new(&key.id, b"x".to_vec()))
    }));
    v.push(case(decrypt, exception, message(key), move || k.decrypt(root, &decrypt_req(blob))));
    v.push(case(gdk, exception, message(key), move || {
        k.generate_data_key(root, &GenerateDataKeyRequest::aes_256(gdk_ids[0]))
    }));
    v.push(case(gdk_without, exception, message(key), move || {
        k.generate_data_key_without_plaintext(root, &GenerateDataKeyRequest::aes_256(gdk_ids[1]))
    }));
    v.push(case(source, exception, message(key), move || k.re_encrypt(root, &reencrypt_req(blob, &f.e2.id))));
    v.push(case(destination, exception, message(key), move || k.re_encrypt(root, &reencrypt_req(&f.blob_e2, &key.id))));
}

fn key_req(id: &str) -> KeyIdRequest {
    KeyIdRequest::new(id)
}

fn decrypt_req(blob: &[u8]) -> DecryptRequest {
    DecryptRequest::new(blob.to_vec())
}

fn dk_req(key_id: &str, spec: Option<DataKeySpec>, n: Option<u32>) -> GenerateDataKeyRequest {
    GenerateDataKeyRequest { key_id: key_id.into(), key_spec: spec, number_of_bytes: n, ..Default::default() }
}

fn reencrypt_req(blob: &[u8], dest: &str) -> ReEncryptRequest {
    ReEncryptRequest { ciphertext_blob: blob.to_vec(), destination_key_id: dest.into(), ..Default::default() }
}

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs.iter().map(|(k, v)| Tag::new(*k, *v)).collect()
}

fn tag_req(key_id: &str, tags: Vec<Tag>) -> TagResourceRequest {
    TagResourceRequest { key_id: key_id.into(), tags }
}

fn list_keys(limit: Option<u32>, marker: Option<&str>) -> ListKeysRequest {
    ListKeysRequest { limit, marker: marker.map(Into::into) }
}

// ---------------------------------------------------------------------------------------------
// The cases

#[allow(clippy::too_many_lines)] // one table, read top to bottom
fn cases(f: &Fixture) -> Vec<Case<'_>> {
    let k = &f.kms;
    let root = &f.root;
    let n = &f.names;
    let missing_arn = &n.missing_arn;
    let other_account_alias = &n.other_account_alias;
    let mut v = Vec::new();

    // ---- malformed and unknown key identifiers ----
    v.push(case("DescribeKey: not a UUID", "NotFoundException", invalid_key_id(), move || {
        k.describe_key(root, &key_req("not-a-uuid"))
    }));
    v.push(case("DescribeKey: UUID without hyphens", "NotFoundException", invalid_key_id(), move || {
        k.describe_key(root, &key_req("0b1c2d3e4f50461788293a4b5c6d7e8f"))
    }));
    v.push(case("Encrypt: bad mrk- id", "NotFoundException", invalid_key_id(), move || {
        k.encrypt(root, &EncryptRequest::new("mrk-zz34abcd12ab34cd56ef1234567890ab", b"x".to_vec()))
    }));
    v.push(case(
        "DescribeKey: well-formed id of no key",
        "NotFoundException",
        exact(format!("Key '{missing_arn}' does not exist")),
        move || k.describe_key(root, &key_req(MISSING_ID)),
    ));
    v.push(case(
        "ScheduleKeyDeletion: key ARN of no key",
        "NotFoundException",
        exact(format!("Key '{missing_arn}' does not exist")),
        move || {
            k.schedule_key_deletion(
                root,
                &ScheduleKeyDeletionRequest { key_id: n.missing_arn.clone(), pending_window_in_days: None },
            )
        },
    ));
    v.push(case("EnableKey: alias name (key id/ARN only)", "NotFoundException", invalid_key_id(), move || {
        k.enable_key(root, &key_req("alias/x"))
    }));
    v.push(case("DisableKey: alias ARN (key id/ARN only)", "NotFoundException", invalid_key_id(), move || {
        k.disable_key(root, &key_req(ALIAS_ARN))
    }));
    v.push(case("TagResource: alias name (key id/ARN only)", "NotFoundException", invalid_key_id(), move || {
        k.tag_resource(root, &tag_req(ALIAS, tags(&[("a", "b")])))
    }));
    v.push(case("UpdateAlias: target is an alias name", "NotFoundException", invalid_key_id(), move || {
        k.update_alias(root, &AliasRequest::new(ALIAS, ALIAS))
    }));
    v.push(case("ListAliases: KeyId is an alias name", "NotFoundException", invalid_key_id(), move || {
        k.list_aliases(root, &ListAliasesRequest { key_id: Some(ALIAS.into()), ..Default::default() })
    }));
    v.push(case(
        "DescribeKey: key ARN in another Region",
        "NotFoundException",
        exact("Invalid arn eu-west-1"),
        move || k.describe_key(root, &key_req(&n.other_region_arn)),
    ));
    v.push(case(
        "Encrypt: key ARN in another Region",
        "NotFoundException",
        exact("Invalid arn eu-west-1"),
        move || k.encrypt(root, &EncryptRequest::new(n.other_region_arn.clone(), b"x".to_vec())),
    ));
    v.push(case("DescribeKey: key ARN in another account", "NotFoundException", Msg::Any, move || {
        k.describe_key(root, &key_req(&n.other_account_arn))
    }));
    v.push(case(
        "Encrypt: alias ARN in another account",
        "NotFoundException",
        exact(format!("Alias {other_account_alias} is not found.")),
        move || k.encrypt(root, &EncryptRequest::new(n.other_account_alias.clone(), b"x".to_vec())),
    ));
    // DisableKey's model lists InvalidArnException; Encrypt's and CreateAlias's do not.
    v.push(case(
        "DisableKey: malformed ARN (model lists InvalidArn)",
        "InvalidArnException",
        contains("Invalid arn"),
        move || k.disable_key(root, &key_req(&n.malformed_arn)),
    ));
    v.push(case(
        "DescribeKey: ARN of another service (model lists InvalidArn)",
        "InvalidArnException",
        Msg::Any,
        move || k.describe_key(root, &key_req("arn:aws:s3:::my-bucket/key")),
    ));
    v.push(case("ListAliases: malformed ARN (model lists InvalidArn)", "InvalidArnException", Msg::Any, move || {
        k.list_aliases(root, &ListAliasesRequest { key_id: Some(n.malformed_arn.clone()), ..Default::default() })
    }));
    v.push(case("Encrypt: malformed ARN (model lacks InvalidArn)", "NotFoundException", Msg::Any, move || {
        k.encrypt(root, &EncryptRequest::new(n.malformed_arn.clone(), b"x".to_vec()))
    }));
    v.push(case(
        "CreateAlias: target malformed ARN (model lacks InvalidArn)",
        "NotFoundException",
        Msg::Any,
        move || k.create_alias(root, &AliasRequest::new("alias/never-1", n.malformed_arn.clone())),
    ));
    v.push(case(
        "EnableKey: empty key id",
        "ValidationException",
        validation("''", "keyId", "Member must have length greater than or equal to 1"),
        move || k.enable_key(root, &key_req("")),
    ));
    v.push(case(
        "Encrypt: 2049-character key id",
        "ValidationException",
        contains("at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048"),
        move || k.encrypt(root, &EncryptRequest::new(n.long_id.clone(), b"x".to_vec())),
    ));
    v.push(case(
        "ReEncrypt: 2049-character destination key id",
        "ValidationException",
        contains(
            "at 'destinationKeyId' failed to satisfy constraint: Member must have length less than or equal to 2048",
        ),
        move || k.re_encrypt(root, &reencrypt_req(&f.blob_e2, &n.long_id)),
    ));
    v.push(case(
        "Encrypt: alias that does not exist",
        "NotFoundException",
        alias_not_found("alias/missing"),
        move || k.encrypt(root, &EncryptRequest::new("alias/missing", b"x".to_vec())),
    ));
    v.push(case(
        "Decrypt: KeyId alias that does not exist",
        "NotFoundException",
        alias_not_found("alias/missing"),
        move || k.decrypt(root, &DecryptRequest { key_id: Some("alias/missing".into()), ..decrypt_req(&f.blob_e2) }),
    ));

    // ---- Disabled key: crypto → DisabledException ----
    let names = [
        "Encrypt: disabled key",
        "Decrypt: disabled key",
        "GenerateDataKey: disabled key",
        "GenerateDataKeyWithoutPlaintext: disabled key",
        "ReEncrypt: disabled source key",
        "ReEncrypt: disabled destination key",
    ];
    crypto_refused(&mut v, f, names, (&f.d, &f.blob_d, [f.d.id.as_str(); 2]), "DisabledException", disabled);
    v.push(case("Encrypt: DryRun on a disabled key", "DisabledException", disabled(&f.d), move || {
        k.encrypt(root, &EncryptRequest { dry_run: Some(true), ..EncryptRequest::new(&f.d.id, b"x".to_vec()) })
    }));
    // ---- Disabled key: rotation settings → DisabledException ----
    rotation_refused(&mut v, f, &f.d, "disabled key", "DisabledException", disabled);
    // ---- CancelKeyDeletion on a key not pending deletion ----
    v.push(case(
        "CancelKeyDeletion: disabled key (not pending)",
        "KMSInvalidStateException",
        contains(f.d.arn.clone()),
        move || k.cancel_key_deletion(root, &key_req(&f.d.id)),
    ));
    v.push(case(
        "CancelKeyDeletion: enabled key (not pending)",
        "KMSInvalidStateException",
        contains(f.e.arn.clone()),
        move || k.cancel_key_deletion(root, &key_req(&f.e.id)),
    ));

    // ---- PendingDeletion key: crypto → KMSInvalidStateException ----
    let names = [
        "Encrypt: key pending deletion",
        "Decrypt: key pending deletion",
        "GenerateDataKey: key pending deletion",
        "GenerateDataKeyWithoutPlaintext: key pending deletion",
        "ReEncrypt: source key pending deletion",
        "ReEncrypt: destination key pending deletion",
    ];
    // GenerateDataKey names this key by its ARN.
    crypto_refused(
        &mut v,
        f,
        names,
        (&f.p, &f.blob_p, [f.p.arn.as_str(), f.p.id.as_str()]),
        "KMSInvalidStateException",
        pending,
    );
    // ---- PendingDeletion key: management → KMSInvalidStateException ----
    v.push(case("EnableKey: key pending deletion", "KMSInvalidStateException", pending(&f.p), move || {
        k.enable_key(root, &key_req(&f.p.id))
    }));
    v.push(case("DisableKey: key pending deletion", "KMSInvalidStateException", pending(&f.p), move || {
        k.disable_key(root, &key_req(&f.p.arn))
    }));
    v.push(case("TagResource: key pending deletion", "KMSInvalidStateException", pending(&f.p), move || {
        k.tag_resource(root, &tag_req(&f.p.id, tags(&[("team", "a")])))
    }));
    v.push(case("UntagResource: key pending deletion", "KMSInvalidStateException", pending(&f.p), move || {
        k.untag_resource(root, &UntagResourceRequest { key_id: f.p.id.clone(), tag_keys: vec!["team".into()] })
    }));
    v.push(case("UpdateKeyDescription: key pending deletion", "KMSInvalidStateException", pending(&f.p), move || {
        k.update_key_description(root, &UpdateKeyDescriptionRequest { key_id: f.p.id.clone(), description: "x".into() })
    }));
    v.push(case("CreateAlias: target pending deletion", "KMSInvalidStateException", pending(&f.p), move || {
        k.create_alias(root, &AliasRequest::new("alias/never-2", &f.p.id))
    }));
    v.push(case("UpdateAlias: new target pending deletion", "KMSInvalidStateException", pending(&f.p), move || {
        k.update_alias(root, &AliasRequest::new(ALIAS, &f.p.id))
    }));
    v.push(case("ScheduleKeyDeletion: twice", "KMSInvalidStateException", pending(&f.p), move || {
        k.schedule_key_deletion(
            root,
            &ScheduleKeyDeletionRequest { key_id: f.p.id.clone(), pending_window_in_days: Some(7) },
        )
    }));
    rotation_refused(&mut v, f, &f.p, "key pending deletion", "KMSInvalidStateException", pending);

    // ---- sizes and ranges (model constraints → ValidationException) ----
    v.push(case(
        "Encrypt: empty plaintext",
        "ValidationException",
        validation("", "plaintext", "Member must have length greater than or equal to 1"),
        move || k.encrypt(root, &EncryptRequest::new(&f.e.id, Vec::new())),
    ));
    v.push(case(
        "Encrypt: 4097-byte plaintext",
        "ValidationException",
        validation("", "plaintext", "Member must have length less than or equal to 4096"),
        move || k.encrypt(root, &EncryptRequest::new(&f.e.id, vec![7u8; 4097])),
    ));
    v.push(case(
        "Decrypt: empty blob",
        "ValidationException",
        validation("", "ciphertextBlob", "Member must have length greater than or equal to 1"),
        move || k.decrypt(root, &decrypt_req(&[])),
    ));
    v.push(case(
        "Decrypt: 6145-byte blob",
        "ValidationException",
        validation("", "ciphertextBlob", "Member must have length less than or equal to 6144"),
        move || k.decrypt(root, &decrypt_req(&vec![1u8; 6145])),
    ));
    v.push(case(
        "ReEncrypt: empty blob",
        "ValidationException",
        validation("", "ciphertextBlob", "Member must have length greater than or equal to 1"),
        move || k.re_encrypt(root, &reencrypt_req(&[], &f.e.id)),
    ));
    v.push(case(
        "GenerateDataKey: NumberOfBytes 0",
        "ValidationException",
        validation("'0'", "numberOfBytes", "Member must have value greater than or equal to 1"),
        move || k.generate_data_key(root, &dk_req(&f.e.id, None, Some(0))),
    ));
    v.push(case(
        "GenerateDataKey: NumberOfBytes 1025",
        "ValidationException",
        validation("'1025'", "numberOfBytes", "Member must have value less than or equal to 1024"),
        move || k.generate_data_key(root, &dk_req(&f.e.id, None, Some(1025))),
    ));
    v.push(case("GenerateDataKey: both KeySpec and NumberOfBytes", "ValidationException", Msg::Any, move || {
        k.generate_data_key(root, &dk_req(&f.e.id, Some(DataKeySpec::Aes256), Some(32)))
    }));
    v.push(case(
        "GenerateDataKey: neither KeySpec nor NumberOfBytes",
        "ValidationException",
        exact("Please specify either number of bytes or key spec."),
        move || k.generate_data_key(root, &dk_req(&f.e.id, None, None)),
    ));
    v.push(case(
        "GenerateDataKeyWithoutPlaintext: neither KeySpec nor NumberOfBytes",
        "ValidationException",
        exact("Please specify either number of bytes or key spec."),
        move || k.generate_data_key_without_plaintext(root, &dk_req(&f.e.id, None, None)),
    ));
    v.push(case(
        "GenerateRandom: NumberOfBytes missing",
        "ValidationException",
        exact("NumberOfBytes is required."),
        move || k.generate_random(root, &GenerateRandomRequest::default()),
    ));
    // Numbers just outside their ranges.
    for (n, bound) in [(0, "greater than or equal to 1"), (1025, "less than or equal to 1024")] {
        v.push(case(
            format!("GenerateRandom: NumberOfBytes {n}"),
            "ValidationException",
            validation(&format!("'{n}'"), "numberOfBytes", &format!("Member must have value {bound}")),
            move || k.generate_random(root, &GenerateRandomRequest { number_of_bytes: Some(n), ..Default::default() }),
        ));
    }
    for days in [6, 31] {
        v.push(case(
            format!("ScheduleKeyDeletion: PendingWindowInDays {days}"),
            "ValidationException",
            contains("'pendingWindowInDays'"),
            move || {
                let req = ScheduleKeyDeletionRequest { key_id: f.spare.id.clone(), pending_window_in_days: Some(days) };
                k.schedule_key_deletion(root, &req)
            },
        ));
    }
    for (days, bound) in [(89, "greater than or equal to 90"), (2561, "less than or equal to 2560")] {
        v.push(case(
            format!("EnableKeyRotation: RotationPeriodInDays {days}"),
            "ValidationException",
            validation(&format!("'{days}'"), "rotationPeriodInDays", &format!("Member must have value {bound}")),
            move || {
                let req = EnableKeyRotationRequest { key_id: f.spare.id.clone(), rotation_period_in_days: Some(days) };
                k.enable_key_rotation(root, &req)
            },
        ));
    }
    v.push(case(
        "CreateKey: 8193-character description",
        "ValidationException",
        contains("at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"),
        move || k.create_key(root, &CreateKeyRequest { description: Some("d".repeat(8193)), ..Default::default() }),
    ));
    v.push(case(
        "UpdateKeyDescription: 8193-character description",
        "ValidationException",
        contains("at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"),
        move || {
            k.update_key_description(
                root,
                &UpdateKeyDescriptionRequest { key_id: f.spare.id.clone(), description: "d".repeat(8193) },
            )
        },
    ));
    v.push(case(
        "Encrypt: 11 grant tokens",
        "ValidationException",
        contains("at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10"),
        move || {
            k.encrypt(
                root,
                &EncryptRequest { grant_tokens: vec!["t".into(); 11], ..EncryptRequest::new(&f.e.id, b"x".to_vec()) },
            )
        },
    ));

    // ---- key policies ----
    v.push(case("CreateKey: policy is not JSON", "MalformedPolicyDocumentException", Msg::Any, move || {
        k.create_key(root, &CreateKeyRequest { policy: Some("not a policy".into()), ..Default::default() })
    }));
    v.push(case(
        "CreateKey: policy JSON without a Statement",
        "MalformedPolicyDocumentException",
        Msg::Any,
        move || {
            k.create_key(
                root,
                &CreateKeyRequest { policy: Some(r#"{"Version":"2012-10-17"}"#.into()), ..Default::default() },
            )
        },
    ));
    v.push(case("CreateKey: policy over the 32 KB quota", "LimitExceededException", Msg::Any, move || {
        let padding = "x".repeat(40_000);
        let policy = format!(r#"{{"Version":"2012-10-17","Id":"{padding}","Statement":[]}}"#);
        k.create_key(root, &CreateKeyRequest { policy: Some(policy), ..Default::default() })
    }));
    v.push(case(
        "CreateKey: policy outside the model's character set",
        "ValidationException",
        contains("'policy'"),
        move || {
            k.create_key(
                root,
                &CreateKeyRequest { policy: Some(r#"{"Statement":[],"Id":"€"}"#.into()), ..Default::default() },
            )
        },
    ));

    // ---- tags ----
    v.push(case("TagResource: aws: prefix", "TagException", Msg::Any, move || {
        k.tag_resource(root, &tag_req(&f.spare.id, tags(&[("aws:owner", "x")])))
    }));
    v.push(case("TagResource: AWS: prefix (reserved in any case)", "TagException", Msg::Any, move || {
        k.tag_resource(root, &tag_req(&f.spare.id, tags(&[("AWS:owner", "x")])))
    }));
    v.push(case("CreateKey: aws: prefix", "TagException", Msg::Any, move || {
        k.create_key(root, &CreateKeyRequest { tags: tags(&[("aws:cost", "x")]), ..Default::default() })
    }));
    v.push(case(
        "TagResource: 129-character tag key",
        "ValidationException",
        contains(
            "at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128",
        ),
        move || k.tag_resource(root, &tag_req(&f.spare.id, tags(&[(&"k".repeat(129), "v")]))),
    ));
    v.push(
        case("TagResource: 257-character tag value", "ValidationException", contains("at 'tags.2.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"), move || {
            k.tag_resource(root, &tag_req(&f.spare.id, tags(&[("ok", "v"), ("k", &"v".repeat(257))])))
        })
    );
    v.push(case("TagResource: duplicate tag keys", "TagException", Msg::Any, move || {
        k.tag_resource(root, &tag_req(&f.spare.id, tags(&[("team", "a"), ("team", "b")])))
    }));
    v.push(case("TagResource: 51 tags", "LimitExceededException", Msg::Any, move || {
        let many: Vec<Tag> = (0..51).map(|i| Tag::new(format!("k{i}"), "v")).collect();
        k.tag_resource(root, &tag_req(&f.spare.id, many))
    }));
    v.push(case("CreateKey: 51 tags", "LimitExceededException", Msg::Any, move || {
        let many: Vec<Tag> = (0..51).map(|i| Tag::new(format!("k{i}"), "v")).collect();
        k.create_key(root, &CreateKeyRequest { tags: many, ..Default::default() })
    }));

    // ---- quotas and conflicts ----
    v.push(case("RotateKeyOnDemand: 26th on-demand rotation", "LimitExceededException", Msg::Any, move || {
        k.rotate_key_on_demand(root, &key_req(&f.r.id))
    }));
    v.push(case("CreateAlias: 51st alias of one key", "LimitExceededException", Msg::Any, move || {
        k.create_alias(root, &AliasRequest::new("alias/full-50", &f.full.id))
    }));
    v.push(case(
        "RotateKeyOnDemand: automatic rotation due within 20 minutes",
        "ConflictException",
        Msg::Any,
        move || f.conflict_kms.rotate_key_on_demand(root, &key_req(&f.conflict_key.id)),
    ));

    // ---- paging ----
    let limit_low = || validation("'0'", "limit", "Member must have value greater than or equal to 1");
    let limit_high = || validation("'1001'", "limit", "Member must have value less than or equal to 1000");
    v.push(case("ListKeys: Limit 0", "ValidationException", limit_low(), move || {
        k.list_keys(root, &list_keys(Some(0), None))
    }));
    v.push(case("ListKeys: Limit 1001", "ValidationException", limit_high(), move || {
        k.list_keys(root, &list_keys(Some(1001), None))
    }));
    v.push(case("ListAliases: Limit 0", "ValidationException", limit_low(), move || {
        k.list_aliases(root, &ListAliasesRequest { limit: Some(0), ..Default::default() })
    }));
    v.push(case("ListAliases: Limit 1001", "ValidationException", limit_high(), move || {
        k.list_aliases(root, &ListAliasesRequest { limit: Some(1001), ..Default::default() })
    }));
    v.push(case("ListResourceTags: Limit 0", "ValidationException", limit_low(), move || {
        k.list_resource_tags(root, &ListResourceTagsRequest { key_id: f.e.id.clone(), limit: Some(0), marker: None })
    }));
    v.push(case("ListKeyRotations: Limit 0", "ValidationException", limit_low(), move || {
        k.list_key_rotations(
            root,
            &ListKeyRotationsRequest { key_id: f.e.id.clone(), limit: Some(0), ..Default::default() },
        )
    }));
    v.push(case("ListKeyRotations: Limit 1001", "ValidationException", limit_high(), move || {
        k.list_key_rotations(
            root,
            &ListKeyRotationsRequest { key_id: f.e.id.clone(), limit: Some(1001), ..Default::default() },
        )
    }));
    v.push(case("ListKeys: marker never issued", "InvalidMarkerException", Msg::Any, move || {
        k.list_keys(root, &list_keys(None, Some("garbage")))
    }));
    v.push(case("ListKeys: marker with a bad position", "InvalidMarkerException", Msg::Any, move || {
        k.list_keys(root, &list_keys(None, Some("k:not-a-key-id")))
    }));
    v.push(case("ListAliases: marker never issued", "InvalidMarkerException", Msg::Any, move || {
        k.list_aliases(root, &ListAliasesRequest { marker: Some("garbage".into()), ..Default::default() })
    }));
    v.push(case("ListResourceTags: marker never issued", "InvalidMarkerException", Msg::Any, move || {
        k.list_resource_tags(
            root,
            &ListResourceTagsRequest { key_id: f.e.id.clone(), limit: None, marker: Some("garbage".into()) },
        )
    }));
    v.push(case("ListKeyRotations: marker with a bad position", "InvalidMarkerException", Msg::Any, move || {
        k.list_key_rotations(
            root,
            &ListKeyRotationsRequest { key_id: f.e.id.clone(), marker: Some("r:abc".into()), ..Default::default() },
        )
    }));

    // ---- aliases ----
    v.push(case(
        "CreateAlias: missing alias/ prefix",
        "ValidationException",
        contains("Alias must start with the prefix \"alias/\""),
        move || k.create_alias(root, &AliasRequest::new("errors-test-2", &f.e.id)),
    ));
    v.push(case(
        "UpdateAlias: missing alias/ prefix",
        "ValidationException",
        contains("Alias must start with the prefix \"alias/\""),
        move || k.update_alias(root, &AliasRequest::new("errors-test", &f.e.id)),
    ));
    v.push(case("CreateAlias: reserved alias/aws/ prefix", "InvalidAliasNameException", Msg::Any, move || {
        k.create_alias(root, &AliasRequest::new("alias/aws/x", &f.e.id))
    }));
    v.push(case(
        "CreateAlias: characters outside the pattern",
        "ValidationException",
        validation(
            "'alias/has space'",
            "aliasName",
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
        ),
        move || k.create_alias(root, &AliasRequest::new("alias/has space", &f.e.id)),
    ));
    v.push(case(
        "CreateAlias: 257-character name",
        "ValidationException",
        contains("at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256"),
        move || k.create_alias(root, &AliasRequest::new(format!("alias/{}", "a".repeat(251)), &f.e.id)),
    ));
    v.push(case(
        "CreateAlias: empty name",
        "ValidationException",
        validation("''", "aliasName", "Member must have length greater than or equal to 1"),
        move || k.create_alias(root, &AliasRequest::new("", &f.e.id)),
    ));
    v.push(case(
        "CreateAlias: name already exists",
        "AlreadyExistsException",
        exact(format!("An alias with the name {ALIAS_ARN} already exists")),
        move || k.create_alias(root, &AliasRequest::new(ALIAS, &f.e2.id)),
    ));
    v.push(case(
        "CreateAlias: target key does not exist",
        "NotFoundException",
        exact(format!("Key '{missing_arn}' does not exist")),
        move || k.create_alias(root, &AliasRequest::new("alias/never-3", MISSING_ID)),
    ));
    v.push(case(
        "UpdateAlias: alias does not exist",
        "NotFoundException",
        alias_not_found("alias/missing"),
        move || k.update_alias(root, &AliasRequest::new("alias/missing", &f.e.id)),
    ));
    v.push(case(
        "DeleteAlias: alias does not exist",
        "NotFoundException",
        alias_not_found("alias/missing"),
        move || k.delete_alias(root, &DeleteAliasRequest { alias_name: "alias/missing".into() }),
    ));

    // ---- ciphertext ----
    let with_ctx = move |blob: Vec<u8>| DecryptRequest {
        ciphertext_blob: blob,
        encryption_context: f.ctx.clone(),
        ..Default::default()
    };
    v.push(case("Decrypt: tampered tag", "InvalidCiphertextException", Msg::Any, move || {
        k.decrypt(root, &with_ctx(flip(&f.blob_e, f.blob_e.len() - 1)))
    }));
    v.push(case("Decrypt: tampered body", "InvalidCiphertextException", Msg::Any, move || {
        k.decrypt(root, &with_ctx(flip(&f.blob_e, HEADER_LEN)))
    }));
    v.push(case("Decrypt: tampered header salt", "InvalidCiphertextException", Msg::Any, move || {
        k.decrypt(root, &with_ctx(flip(&f.blob_e, 30)))
    }));
    v.push(case("Decrypt: unknown format byte", "InvalidCiphertextException", Msg::Any, move || {
        k.decrypt(root, &with_ctx(flip(&f.blob_e, 0)))
    }));
    v.push(case(
        "Decrypt: header names a key that does not exist",
        "InvalidCiphertextException",
        Msg::Any,
        move || k.decrypt(root, &with_ctx(flip(&f.blob_e, 5))),
    ));
    v.push(case("Decrypt: header names a version the key lacks", "InvalidCiphertextException", Msg::Any, move || {
        let mut blob = f.blob_e.clone();
        blob[18..22].copy_from_slice(&99u32.to_be_bytes());
        k.decrypt(root, &with_ctx(blob))
    }));
    v.push(case("Decrypt: truncated blob", "InvalidCiphertextException", Msg::Any, move || {
        k.decrypt(root, &with_ctx(f.blob_e[..20].to_vec()))
    }));
    v.push(case("Decrypt: blob missing its last byte", "InvalidCiphertextException", Msg::Any, move || {
        k.decrypt(root, &with_ctx(f.blob_e[..f.blob_e.len() - 1].to_vec()))
    }));
    v.push(case("Decrypt: random bytes", "InvalidCiphertextException", Msg::Any, move || {
        k.decrypt(root, &with_ctx(vec![0x5a; 100]))
    }));
    v.push(case("Decrypt: wrong encryption context", "InvalidCiphertextException", Msg::Any, move || {
        let ctx: EncryptionContext = [("purpose".to_string(), "other".to_string())].into();
        k.decrypt(root, &DecryptRequest::new(f.blob_e.clone()).with_context(ctx))
    }));
    v.push(case("Decrypt: encryption context missing", "InvalidCiphertextException", Msg::Any, move || {
        k.decrypt(root, &decrypt_req(&f.blob_e))
    }));
    v.push(case(
        "Decrypt: context given for a blob made without one",
        "InvalidCiphertextException",
        Msg::Any,
        move || k.decrypt(root, &DecryptRequest::new(f.blob_e2.clone()).with_context(f.ctx.clone())),
    ));
    v.push(case("ReEncrypt: wrong source encryption context", "InvalidCiphertextException", Msg::Any, move || {
        k.re_encrypt(root, &reencrypt_req(&f.blob_e, &f.e2.id))
    }));
    v.push(case("Decrypt: KeyId of another key", "IncorrectKeyException", exact(INCORRECT_KEY), move || {
        k.decrypt(root, &DecryptRequest { key_id: Some(f.e2.id.clone()), ..with_ctx(f.blob_e.clone()) })
    }));
    v.push(case("Decrypt: KeyId alias of another key", "IncorrectKeyException", exact(INCORRECT_KEY), move || {
        k.decrypt(root, &DecryptRequest { key_id: Some(ALIAS.into()), ..decrypt_req(&f.blob_e2) })
    }));
    v.push(case("ReEncrypt: SourceKeyId of another key", "IncorrectKeyException", exact(INCORRECT_KEY), move || {
        let req = ReEncryptRequest {
            source_key_id: Some(f.e2.arn.clone()),
            source_encryption_context: f.ctx.clone(),
            ..reencrypt_req(&f.blob_e, &f.e.id)
        };
        k.re_encrypt(root, &req)
    }));

    // ---- key usage and unsupported features ----
    v.push(case("Encrypt: RSA algorithm with a symmetric key", "InvalidKeyUsageException", Msg::Any, move || {
        let req = EncryptRequest {
            encryption_algorithm: Some(EncryptionAlgorithmSpec::RsaesOaepSha256),
            ..EncryptRequest::new(&f.e.id, b"x".to_vec())
        };
        k.encrypt(root, &req)
    }));
    v.push(case(
        "CreateKey: KeySpec RSA_2048 (not in this build)",
        "UnsupportedOperationException",
        Msg::Any,
        move || {
            let req = CreateKeyRequest {
                key_spec: Some(KeySpec::Rsa2048),
                key_usage: Some(KeyUsage::EncryptDecrypt),
                ..Default::default()
            };
            k.create_key(root, &req)
        },
    ));
    v.push(case(
        "CreateKey: Origin EXTERNAL (not in this build)",
        "UnsupportedOperationException",
        Msg::Any,
        move || k.create_key(root, &CreateKeyRequest { origin: Some(OriginType::External), ..Default::default() }),
    ));
    v.push(case("CreateKey: SIGN_VERIFY usage with SYMMETRIC_DEFAULT", "ValidationException", Msg::Any, move || {
        k.create_key(root, &CreateKeyRequest { key_usage: Some(KeyUsage::SignVerify), ..Default::default() })
    }));
    v.push(case("CreateKey: both KeySpec and CustomerMasterKeySpec", "ValidationException", Msg::Any, move || {
        let req = CreateKeyRequest {
            key_spec: Some(KeySpec::SymmetricDefault),
            customer_master_key_spec: Some(KeySpec::SymmetricDefault),
            ..Default::default()
        };
        k.create_key(root, &req)
    }));

    // ---- a caller other than the account's root ----
    let alice = &f.alice;
    v.push(case("Encrypt: non-root caller", "AccessDeniedException", denied("Encrypt", &f.e), move || {
        k.encrypt(alice, &EncryptRequest::new(&f.e.id, b"x".to_vec()))
    }));
    v.push(case("Decrypt: non-root caller", "AccessDeniedException", denied("Decrypt", &f.e2), move || {
        k.decrypt(alice, &decrypt_req(&f.blob_e2))
    }));
    v.push(case(
        "GenerateDataKey: non-root caller via alias",
        "AccessDeniedException",
        denied("GenerateDataKey", &f.e),
        move || k.generate_data_key(alice, &GenerateDataKeyRequest::aes_256(ALIAS)),
    ));
    v.push(case("DisableKey: non-root caller", "AccessDeniedException", denied("DisableKey", &f.spare), move || {
        k.disable_key(alice, &key_req(&f.spare.id))
    }));
    v.push(case(
        "ScheduleKeyDeletion: non-root caller",
        "AccessDeniedException",
        denied("ScheduleKeyDeletion", &f.spare),
        move || {
            k.schedule_key_deletion(
                alice,
                &ScheduleKeyDeletionRequest { key_id: f.spare.id.clone(), pending_window_in_days: None },
            )
        },
    ));
    v.push(case(
        "CreateKey: non-root caller",
        "AccessDeniedException",
        contains(format!("User: {ALICE} is not authorized to perform: kms:CreateKey")),
        move || k.create_key(alice, &CreateKeyRequest::default()),
    ));

    // ---- DryRun ----
    v.push(case("Encrypt: DryRun", "DryRunOperationException", exact(DRY_RUN), move || {
        k.encrypt(root, &EncryptRequest { dry_run: Some(true), ..EncryptRequest::new(&f.e.id, b"x".to_vec()) })
    }));
    v.push(case("Decrypt: DryRun", "DryRunOperationException", exact(DRY_RUN), move || {
        k.decrypt(root, &DecryptRequest { dry_run: Some(true), ..decrypt_req(&f.blob_e2) })
    }));
    v.push(case("GenerateDataKey: DryRun", "DryRunOperationException", exact(DRY_RUN), move || {
        k.generate_data_key(
            root,
            &GenerateDataKeyRequest { dry_run: Some(true), ..GenerateDataKeyRequest::aes_256(ALIAS) },
        )
    }));
    v.push(case("GenerateDataKeyWithoutPlaintext: DryRun", "DryRunOperationException", exact(DRY_RUN), move || {
        let req = GenerateDataKeyRequest { dry_run: Some(true), ..GenerateDataKeyRequest::aes_256(&f.e.arn) };
        k.generate_data_key_without_plaintext(root, &req)
    }));
    v.push(case("ReEncrypt: DryRun", "DryRunOperationException", exact(DRY_RUN), move || {
        k.re_encrypt(root, &ReEncryptRequest { dry_run: Some(true), ..reencrypt_req(&f.blob_e2, &f.e.id) })
    }));

    v
}

// ---------------------------------------------------------------------------------------------

#[test]
fn every_bad_input_and_wrong_state_gets_the_aws_exception() {
    let fixture = Fixture::new();
    let cases = cases(&fixture);
    assert!(cases.len() >= 70, "only {} cases", cases.len());

    let mut names = std::collections::HashSet::new();
    for c in &cases {
        assert!(names.insert(c.name.as_str()), "duplicate case name {:?}", c.name);
    }

    let mut failures = String::new();
    for c in &cases {
        if let Some(problem) = check(c) {
            writeln!(failures, "  {}: {problem}", c.name).unwrap();
        }
    }
    eprintln!("{} cases", cases.len());
    assert!(failures.is_empty(), "{} cases; mismatches:\n{failures}", cases.len());

    // The state-changing fixture keys are still where the cases expect them: no case that
    // should have failed quietly changed them.
    let md = |k: &Key| fixture.kms.describe_key(&fixture.root, &key_req(&k.id)).unwrap().key_metadata;
    assert_eq!(md(&fixture.e).key_state, trent::key::KeyState::Enabled);
    assert_eq!(md(&fixture.d).key_state, trent::key::KeyState::Disabled);
    assert_eq!(md(&fixture.p).key_state, trent::key::KeyState::PendingDeletion);
    assert_eq!(md(&fixture.spare).key_state, trent::key::KeyState::Enabled);
}
