//! The AWS JSON 1.1 dispatcher, [`Kms::call_json`]: every operation through its wire form.
//! The C ABI's `trent_kms_call_json` calls it, and through that the Python client
//! (`trent.client()`) and the Go adapter (`awskms`); the CLI calls it directly. (There is no
//! HTTP server yet.) Requests are checked against the table of AWS shapes
//! ([`super::shapes`]) before they are read into the engine's request types.

use std::marker::PhantomData;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::shapes::{self, Invalid};
use crate::context::EncryptionContext;
use crate::error::{Error, Result};
use crate::key::{DataKeySpec, EncryptionAlgorithmSpec};
use crate::kms::*;
use crate::secret::{SecretVec, wipe};

// ---------------------------------------------------------------------------------------------
// What the engine refuses beyond the model's constraints.

/// Members of the model this engine refuses rather than ignores, where ignoring them would
/// change what the caller gets back: (operation, wire name, why).
const REFUSED: &[(&str, &str, &str)] = &[
    ("CreateKey", "XksKeyId", "External key stores are not supported by Trent"),
    ("Decrypt", "Recipient", RECIPIENT),
    ("Decrypt", "DryRunModifiers", DRY_RUN_MODIFIERS),
    ("ReEncrypt", "DryRunModifiers", DRY_RUN_MODIFIERS),
    ("GenerateDataKey", "Recipient", RECIPIENT),
    ("GenerateDataKeyWithoutPlaintext", "Recipient", RECIPIENT),
    ("GenerateRandom", "Recipient", RECIPIENT),
];

const RECIPIENT: &str = "Recipient (attested requests from AWS Nitro Enclaves) is not supported by Trent";
const DRY_RUN_MODIFIERS: &str = "DryRunModifiers is not supported by Trent";

// ---------------------------------------------------------------------------------------------
// Request shapes of the batches: serde definitions of the engine's own request types (which
// have no serde derives), read straight into them.

/// A request type read through a serde definition of this module.
struct Wire<T>(T);

/// `Execution`: how a batch runs.
#[derive(Deserialize)]
#[serde(remote = "Execution")]
enum ExecutionDef {
    #[serde(rename = "PARALLEL")]
    Parallel,
    #[serde(rename = "SERIAL")]
    Serial,
}

/// GenerateDataKeys input.
#[derive(Deserialize)]
#[serde(remote = "GenerateDataKeysRequest", rename_all = "PascalCase")]
struct GenerateDataKeysDef {
    #[serde(default)]
    key_id: String,
    #[serde(default)]
    encryption_context: EncryptionContext,
    #[serde(default)]
    number_of_bytes: Option<u32>,
    #[serde(default)]
    key_spec: Option<DataKeySpec>,
    #[serde(default)]
    count: usize,
    #[serde(default, with = "ExecutionDef")]
    execution: Execution,
}

/// One EncryptBatch item.
#[derive(Deserialize)]
#[serde(remote = "EncryptItem", rename_all = "PascalCase")]
struct EncryptItemDef {
    #[serde(deserialize_with = "super::b64_secret")]
    plaintext: SecretVec,
    #[serde(default)]
    encryption_context: EncryptionContext,
}

/// EncryptBatch input.
#[derive(Deserialize)]
#[serde(remote = "EncryptBatchRequest", rename_all = "PascalCase")]
struct EncryptBatchDef {
    #[serde(default)]
    key_id: String,
    #[serde(default, deserialize_with = "items")]
    items: Vec<EncryptItem>,
    #[serde(default, with = "ExecutionDef")]
    execution: Execution,
}

/// One DecryptBatch item.
#[derive(Deserialize)]
#[serde(remote = "DecryptItem", rename_all = "PascalCase")]
struct DecryptItemDef {
    #[serde(with = "super::b64")]
    ciphertext_blob: Vec<u8>,
    #[serde(default)]
    encryption_context: EncryptionContext,
}

/// DecryptBatch input.
#[derive(Deserialize)]
#[serde(remote = "DecryptBatchRequest", rename_all = "PascalCase")]
struct DecryptBatchDef {
    #[serde(default, deserialize_with = "items")]
    items: Vec<DecryptItem>,
    #[serde(default, with = "ExecutionDef")]
    execution: Execution,
}

/// One ReEncryptBatch item.
#[derive(Deserialize)]
#[serde(remote = "ReEncryptItem", rename_all = "PascalCase")]
struct ReEncryptItemDef {
    #[serde(with = "super::b64")]
    ciphertext_blob: Vec<u8>,
    #[serde(default)]
    source_encryption_context: EncryptionContext,
    #[serde(default)]
    destination_encryption_context: EncryptionContext,
}

/// ReEncryptBatch input.
#[derive(Deserialize)]
#[serde(remote = "ReEncryptBatchRequest", rename_all = "PascalCase")]
struct ReEncryptBatchDef {
    #[serde(default)]
    destination_key_id: String,
    #[serde(default, deserialize_with = "items")]
    items: Vec<ReEncryptItem>,
    #[serde(default, with = "ExecutionDef")]
    execution: Execution,
}

macro_rules! wire {
    ($($t:ty => $def:ty),* $(,)?) => {$(
        impl<'de> Deserialize<'de> for Wire<$t> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                <$def>::deserialize(d).map(Wire)
            }
        }
    )*};
}

wire! {
    GenerateDataKeysRequest => GenerateDataKeysDef,
    EncryptItem => EncryptItemDef,
    EncryptBatchRequest => EncryptBatchDef,
    DecryptItem => DecryptItemDef,
    DecryptBatchRequest => DecryptBatchDef,
    ReEncryptItem => ReEncryptItemDef,
    ReEncryptBatchRequest => ReEncryptBatchDef,
}

/// A list of items read straight into the engine's item type.
fn items<'de, D: Deserializer<'de>, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    Wire<T>: Deserialize<'de>,
{
    struct Items<T>(PhantomData<T>);

    impl<'de, T> Visitor<'de> for Items<T>
    where
        Wire<T>: Deserialize<'de>,
    {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(Wire(item)) = seq.next_element::<Wire<T>>()? {
                out.push(item);
            }
            Ok(out)
        }
    }

    d.deserialize_seq(Items(PhantomData))
}

// ---------------------------------------------------------------------------------------------
// Output shapes that are written by hand: the public parts of responses that carry plaintext,
// and per-item results of batches.

/// Decrypt's output without its plaintext.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DecryptPublic<'a> {
    key_id: &'a str,
    encryption_algorithm: EncryptionAlgorithmSpec,
    key_material_id: &'a str,
}

impl<'a> DecryptPublic<'a> {
    fn of(r: &'a DecryptResponse) -> Self {
        Self { key_id: &r.key_id, encryption_algorithm: r.encryption_algorithm, key_material_id: &r.key_material_id }
    }
}

/// GenerateDataKey's output without its plaintext.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateDataKeyPublic<'a> {
    #[serde(serialize_with = "b64")]
    ciphertext_blob: &'a [u8],
    key_id: &'a str,
    key_material_id: &'a str,
}

/// A blob alone: one item of EncryptBatch, the public part of one of GenerateDataKeys.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BlobPublic<'a> {
    #[serde(serialize_with = "b64")]
    ciphertext_blob: &'a [u8],
}

/// The head of GenerateDataKeys' and EncryptBatch's output.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchHead<'a> {
    key_id: &'a str,
    key_material_id: &'a str,
}

/// A failed batch item.
#[derive(Serialize)]
struct ItemError<'a> {
    #[serde(rename = "Error")]
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "Code")]
    code: &'static str,
    #[serde(rename = "Message")]
    message: &'a str,
}

impl<'a> ItemError<'a> {
    fn of(e: &'a Error) -> Self {
        Self { error: ErrorBody { code: e.name(), message: e.message() } }
    }
}

/// One batch item: its result's fields, or `{"Error": …}`.
#[derive(Serialize)]
#[serde(untagged)]
enum Item<'a, T: Serialize> {
    Ok(T),
    Err(ItemError<'a>),
}

impl<'a, T: Serialize> Item<'a, T> {
    fn of<R>(r: &'a Result<R>, ok: impl FnOnce(&'a R) -> T) -> Self {
        match r {
            Ok(v) => Item::Ok(ok(v)),
            Err(e) => Item::Err(ItemError::of(e)),
        }
    }
}

/// EncryptBatch output.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EncryptBatchOutput<'a> {
    key_id: &'a str,
    key_material_id: &'a str,
    ciphertext_blobs: Vec<Item<'a, BlobPublic<'a>>>,
}

/// ReEncryptBatch output.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReEncryptBatchOutput<'a> {
    results: Vec<Item<'a, &'a ReEncryptResponse>>,
}

fn b64<S: serde::Serializer>(bytes: &&[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    crate::wire::b64::serialize(bytes, s)
}

// ---------------------------------------------------------------------------------------------
// The dispatcher.

impl Kms {
    /// Runs the AWS KMS operation `operation` (`"Encrypt"`, `"CreateKey"`, …: exactly the wire
    /// names, without the `TrentService.` prefix of `X-Amz-Target`; see [`JSON_OPERATIONS`])
    /// with its JSON request body (the AWS JSON 1.1 input shape) and returns the JSON
    /// response body (the output shape). This method never logs request or response bodies.
    ///
    /// # Requests
    ///
    /// The body is the operation's input shape as the botocore model (`kms-service-2.json`)
    /// defines it: a JSON object with PascalCase members, blobs in standard base64 with padding.
    /// An empty body (no bytes at all) reads as `{}`.
    ///
    /// - **Unknown members are ignored**, as AWS (and every Smithy server) does, so newer clients
    ///   keep working. Members of the model this engine cannot honour are refused rather than
    ///   ignored where ignoring them would change what the caller gets back: `Recipient`
    ///   (Decrypt, GenerateDataKey*, GenerateRandom), `DryRunModifiers` (Decrypt, ReEncrypt) and
    ///   `XksKeyId` (CreateKey) give `UnsupportedOperationException`.
    /// - **A body that is not JSON, not an object, or has a member of the wrong type** (a string
    ///   for a number, a blob that is not base64, a duplicated member) gives
    ///   `ValidationException` whose message starts with `SerializationException:`. AWS answers
    ///   these with the framework's `SerializationException` (HTTP 400), which [`Error`] has no
    ///   variant for. Messages never echo a blob's bytes.
    /// - **A member set to `null` reads as absent**, as AWS reads it.
    /// - **Every constraint of the model** (required members, enum sets, lengths, ranges,
    ///   patterns; in nested structures and lists too) is checked against the table of shapes
    ///   ([`crate::wire::shapes`]) before the engine sees the request, and every failure is
    ///   listed as AWS lists them, in the model's member order: `2 validation errors detected:
    ///   Value null at 'keyId' failed to satisfy constraint: Member must not be null; Value
    ///   'NotSupportedKeySpec' at 'keySpec' failed to satisfy constraint: Member must satisfy
    ///   enum value set: [RSA_2048, …]` (`ValidationException`). Blob and plaintext values are
    ///   never quoted (`Value at 'plaintext' …`), as AWS leaves them out.
    /// - **An operation name not in [`JSON_OPERATIONS`]** gives `UnsupportedOperationException`.
    ///   AWS answers an unknown `X-Amz-Target` with the framework's `UnknownOperationException`,
    ///   which [`Error`] has no variant for either. The message says whether the name is an AWS
    ///   KMS operation this version does not implement or no operation at all.
    ///
    /// A request that fails before it reaches the engine (the cases above) is not audited.
    ///
    /// # Responses
    ///
    /// The operation's output shape, as AWS sends it: PascalCase members, blobs in base64,
    /// timestamps as epoch seconds (JSON numbers), absent optional members left out, and `{}` for
    /// the operations whose output is empty.
    ///
    /// **The response of Decrypt, GenerateDataKey, GenerateRandom, GenerateDataKeys and
    /// DecryptBatch holds plaintext** (base64), so every response comes in a [`SecretVec`],
    /// wiped when dropped. The plaintext is encoded straight from locked memory into that
    /// buffer, which is allocated once at its final size, so no other copy is left on the heap;
    /// whatever the caller copies out of it (a parsed `serde_json::Value`, a `String`) is the
    /// caller's to wipe. Request plaintexts (Encrypt, EncryptBatch) are decoded from the request
    /// into one [`SecretVec`] each, wiped after the operation or when the request fails to
    /// parse; only when the JSON string holds escapes (`\/`) does serde_json keep a scratch copy
    /// of its base64 text, which is not wiped.
    ///
    /// # The batch operations
    ///
    /// Not AWS operations: Trent's batch methods, with shapes in the same style (the Rust types'
    /// fields in PascalCase). `Execution` is `"PARALLEL"` (the default) or `"SERIAL"`. One failed
    /// item is an object `{"Error": {"Code": "<exception name>", "Message": "…"}}` in place of its
    /// result; an error of the whole batch (no such key, access denied) is the call's error.
    ///
    /// | Operation | Request | Response |
    /// |---|---|---|
    /// | `GenerateDataKeys` | `{"KeyId"*, "Count"*, "EncryptionContext", "NumberOfBytes", "KeySpec", "Execution"}` | `{"KeyId", "KeyMaterialId", "DataKeys": [{"Plaintext", "CiphertextBlob"}…]}` |
    /// | `EncryptBatch` | `{"KeyId"*, "Items"*: [{"Plaintext"*, "EncryptionContext"}…], "Execution"}` | `{"KeyId", "KeyMaterialId", "CiphertextBlobs": [{"CiphertextBlob"}…]}` |
    /// | `DecryptBatch` | `{"Items"*: [{"CiphertextBlob"*, "EncryptionContext"}…], "Execution"}` | `{"Results": [Decrypt's output…]}` |
    /// | `ReEncryptBatch` | `{"DestinationKeyId"*, "Items"*: [{"CiphertextBlob"*, "SourceEncryptionContext", "DestinationEncryptionContext"}…], "Execution"}` | `{"Results": [ReEncrypt's output…]}` |
    ///
    /// (`*`: required.) Decrypt's output is `{"KeyId", "Plaintext", "EncryptionAlgorithm",
    /// "KeyMaterialId"}`; ReEncrypt's is `{"CiphertextBlob", "SourceKeyId", "KeyId",
    /// "SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm", "SourceKeyMaterialId",
    /// "DestinationKeyMaterialId"}`.
    pub fn call_json(&self, caller: &Caller, operation: &str, request: &[u8]) -> Result<SecretVec> {
        let op = operation;
        match op {
            "CreateKey" => to_json(&self.create_key(caller, &parse(op, request)?)?),
            "DescribeKey" => to_json(&self.describe_key(caller, &parse(op, request)?)?),
            "ListKeys" => to_json(&self.list_keys(caller, &parse(op, request)?)?),
            "EnableKey" => empty(self.enable_key(caller, &parse(op, request)?)),
            "DisableKey" => empty(self.disable_key(caller, &parse(op, request)?)),
            "ScheduleKeyDeletion" => to_json(&self.schedule_key_deletion(caller, &parse(op, request)?)?),
            "CancelKeyDeletion" => to_json(&self.cancel_key_deletion(caller, &parse(op, request)?)?),
            "UpdateKeyDescription" => empty(self.update_key_description(caller, &parse(op, request)?)),
            "TagResource" => empty(self.tag_resource(caller, &parse(op, request)?)),
            "UntagResource" => empty(self.untag_resource(caller, &parse(op, request)?)),
            "ListResourceTags" => to_json(&self.list_resource_tags(caller, &parse(op, request)?)?),
            "ListKeyPolicies" => to_json(&self.list_key_policies(caller, &parse(op, request)?)?),
            "CreateAlias" => empty(self.create_alias(caller, &parse(op, request)?)),
            "UpdateAlias" => empty(self.update_alias(caller, &parse(op, request)?)),
            "DeleteAlias" => empty(self.delete_alias(caller, &parse(op, request)?)),
            "ListAliases" => to_json(&self.list_aliases(caller, &parse(op, request)?)?),
            "EnableKeyRotation" => empty(self.enable_key_rotation(caller, &parse(op, request)?)),
            "DisableKeyRotation" => empty(self.disable_key_rotation(caller, &parse(op, request)?)),
            "GetKeyRotationStatus" => to_json(&self.get_key_rotation_status(caller, &parse(op, request)?)?),
            "RotateKeyOnDemand" => to_json(&self.rotate_key_on_demand(caller, &parse(op, request)?)?),
            "ListKeyRotations" => to_json(&self.list_key_rotations(caller, &parse(op, request)?)?),
            // The request's plaintext is wiped when the request is dropped.
            "Encrypt" => to_json(&self.encrypt(caller, &parse::<EncryptRequest>(op, request)?)?),
            "Decrypt" => self.decrypt(caller, &parse(op, request)?)?.to_json(),
            "ReEncrypt" => to_json(&self.re_encrypt(caller, &parse(op, request)?)?),
            "GenerateDataKey" => self.generate_data_key(caller, &parse(op, request)?)?.to_json(),
            "GenerateDataKeyWithoutPlaintext" => {
                let req = parse(op, request)?;
                to_json(&self.generate_data_key_without_plaintext(caller, &req)?)
            }
            "GenerateRandom" => self.generate_random(caller, &parse(op, request)?)?.to_json(),
            "GenerateDataKeys" => self.generate_data_keys_json(caller, &parse::<Wire<_>>(op, request)?.0),
            "EncryptBatch" => self.encrypt_batch_json(caller, &parse::<Wire<_>>(op, request)?.0),
            "DecryptBatch" => self.decrypt_batch_json(caller, &parse::<Wire<_>>(op, request)?.0),
            "ReEncryptBatch" => self.re_encrypt_batch_json(caller, &parse::<Wire<_>>(op, request)?.0),
            _ => Err(unknown_operation(op)),
        }
    }

    fn generate_data_keys_json(&self, caller: &Caller, req: &GenerateDataKeysRequest) -> Result<SecretVec> {
        let resp = self.generate_data_keys(caller, req)?;
        let mut body = Body::default();
        body.json(&BatchHead { key_id: &resp.key_id, key_material_id: &resp.key_material_id })?;
        body.unclose();
        body.text(",\"DataKeys\":[");
        for (i, item) in resp.data_keys.iter().enumerate() {
            if i > 0 {
                body.text(",");
            }
            match item {
                Ok(dk) => body.object_with_secret(
                    dk.plaintext.expose_secret(),
                    &BlobPublic { ciphertext_blob: &dk.ciphertext_blob },
                )?,
                Err(e) => body.json(&ItemError::of(e))?,
            }
        }
        body.text("]}");
        body.finish()
    }

    fn encrypt_batch_json(&self, caller: &Caller, req: &EncryptBatchRequest) -> Result<SecretVec> {
        let resp = self.encrypt_batch(caller, req)?;
        to_json(&EncryptBatchOutput {
            key_id: &resp.key_id,
            key_material_id: &resp.key_material_id,
            ciphertext_blobs: resp
                .ciphertext_blobs
                .iter()
                .map(|r| Item::of(r, |blob: &Vec<u8>| BlobPublic { ciphertext_blob: blob }))
                .collect(),
        })
    }

    fn decrypt_batch_json(&self, caller: &Caller, req: &DecryptBatchRequest) -> Result<SecretVec> {
        let results = self.decrypt_batch(caller, req)?;
        let mut body = Body::default();
        body.text("{\"Results\":[");
        for (i, item) in results.iter().enumerate() {
            if i > 0 {
                body.text(",");
            }
            match item {
                Ok(r) => body.object_with_secret(r.plaintext.expose_secret(), &DecryptPublic::of(r))?,
                Err(e) => body.json(&ItemError::of(e))?,
            }
        }
        body.text("]}");
        body.finish()
    }

    fn re_encrypt_batch_json(&self, caller: &Caller, req: &ReEncryptBatchRequest) -> Result<SecretVec> {
        let results = self.re_encrypt_batch(caller, req)?;
        to_json(&ReEncryptBatchOutput { results: results.iter().map(|r| Item::of(r, |v| v)).collect() })
    }
}

// ---------------------------------------------------------------------------------------------
// Reading requests.

/// Reads `body` as the input `T` of `op`: checks it against the operation's input shape in the
/// table (types, then every constraint), refuses the members this engine cannot honour, then
/// reads it into `T`.
fn parse<T: DeserializeOwned>(op: &str, body: &[u8]) -> Result<T> {
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    let input = shapes::operation(op)
        .and_then(shapes::Operation::input_shape)
        .ok_or_else(|| Error::Internal(format!("The table of shapes has no input for {op}")))?;
    let checked = shapes::validate(input, body).map_err(|e| match e {
        Invalid::Serialization(e) => serialization_error(op, &e),
        Invalid::Constraints(errors) => Error::Validation(Invalid::message(&errors)),
    })?;
    if let Some((_, _, why)) = REFUSED.iter().find(|(o, m, _)| *o == op && checked.present.contains(m)) {
        return Err(Error::UnsupportedOperation((*why).to_owned()));
    }
    if checked.nulls {
        // A member set to null reads as absent, as AWS reads it (rare: SDKs leave such members
        // out). Goes through a `Value`, whose strings are wiped afterwards.
        let mut map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(body).map_err(|e| serialization_error(op, &e))?;
        map.retain(|_, v| !v.is_null());
        let mut tree = serde_json::Value::Object(map);
        let value = T::deserialize(&tree).map_err(|e| serialization_error(op, &e));
        scrub(&mut tree);
        value
    } else {
        serde_json::from_slice(body).map_err(|e| serialization_error(op, &e))
    }
}

/// Wipes every string of a parsed request (which may hold a plaintext in base64).
fn scrub(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            let mut bytes = std::mem::take(s).into_bytes();
            wipe(&mut bytes);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
        serde_json::Value::Object(map) => map.values_mut().for_each(scrub),
        _ => {}
    }
}

/// A body that is not JSON or does not fit the input shape. AWS calls this a
/// `SerializationException`; [`Error`] has no such variant.
fn serialization_error(op: &str, e: &serde_json::Error) -> Error {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Data => "does not match the input shape",
        Category::Syntax | Category::Eof | Category::Io => "is not valid JSON",
    };
    let mut detail = e.to_string();
    // The base64 decoder's messages name a byte of the blob (and so of a plaintext).
    if ["Invalid symbol", "Invalid last symbol", "Invalid input length", "Invalid padding"]
        .iter()
        .any(|m| detail.starts_with(m))
    {
        detail = format!("a blob member is not valid base64 at line {} column {}", e.line(), e.column());
    }
    let detail = crate::id::truncate_for_message(&detail);
    Error::Validation(format!("SerializationException: the {op} request body {what}: {detail}"))
}

fn unknown_operation(op: &str) -> Error {
    if shapes::operation(op).is_some_and(|o| o.aws && !o.implemented) {
        Error::UnsupportedOperation(format!("The operation {op} is not supported by this version of Trent"))
    } else {
        Error::UnsupportedOperation(format!(
            "Unknown operation {:?} (UnknownOperationException)",
            crate::id::truncate_for_message(op)
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Writing responses.

/// A response without plaintext (it still goes out in a [`SecretVec`], as every response).
fn to_json<T: Serialize>(value: &T) -> Result<SecretVec> {
    to_vec(value).map(SecretVec::from)
}

fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(format!("Could not serialize the response: {e}")))
}

/// An operation with an empty output: `{}`.
fn empty(result: Result<()>) -> Result<SecretVec> {
    result.map(|()| SecretVec::from(b"{}"))
}

/// `{"Plaintext": <secret>, …public}`.
fn with_secret<T: Serialize>(secret: &[u8], public: &T) -> Result<SecretVec> {
    let mut body = Body::default();
    body.object_with_secret(secret, public)?;
    body.finish()
}

impl DecryptResponse {
    /// The AWS JSON 1.1 form of Decrypt's output, `{"Plaintext", "KeyId", "EncryptionAlgorithm",
    /// "KeyMaterialId"}` (what [`Kms::call_json`] returns): the plaintext is encoded in base64
    /// straight from locked memory into a buffer of the body's final size, wiped when dropped.
    pub fn to_json(&self) -> Result<SecretVec> {
        with_secret(self.plaintext.expose_secret(), &DecryptPublic::of(self))
    }
}

impl GenerateDataKeyResponse {
    /// The AWS JSON 1.1 form of GenerateDataKey's output, `{"Plaintext", "CiphertextBlob",
    /// "KeyId", "KeyMaterialId"}`, written as [`DecryptResponse::to_json`] writes.
    pub fn to_json(&self) -> Result<SecretVec> {
        let public = GenerateDataKeyPublic {
            ciphertext_blob: &self.ciphertext_blob,
            key_id: &self.key_id,
            key_material_id: &self.key_material_id,
        };
        with_secret(self.plaintext.expose_secret(), &public)
    }
}

impl GenerateRandomResponse {
    /// The AWS JSON 1.1 form of GenerateRandom's output, `{"Plaintext"}`, written as
    /// [`DecryptResponse::to_json`] writes.
    pub fn to_json(&self) -> Result<SecretVec> {
        let mut body = Body::default();
        body.text("{\"Plaintext\":\"");
        body.secret(self.plaintext.expose_secret());
        body.text("\"}");
        body.finish()
    }
}

/// One piece of a response body.
enum Piece<'a> {
    Text(&'static str),
    Json(Vec<u8>),
    /// Part of serialized JSON (its bytes from an offset).
    JsonFrom(Vec<u8>, usize),
    /// Bytes written as base64.
    Secret(&'a [u8]),
}

/// A response body that holds secrets: assembled from pieces into one buffer allocated at its
/// final size, so that the only copy of each secret (as base64) is the returned one.
#[derive(Default)]
struct Body<'a> {
    pieces: Vec<Piece<'a>>,
}

impl<'a> Body<'a> {
    fn text(&mut self, s: &'static str) {
        self.pieces.push(Piece::Text(s));
    }

    fn json<T: Serialize>(&mut self, value: &T) -> Result<()> {
        self.pieces.push(Piece::Json(to_vec(value)?));
        Ok(())
    }

    fn secret(&mut self, secret: &'a [u8]) {
        self.pieces.push(Piece::Secret(secret));
    }

    /// Drops the closing `}` of the JSON object last added, so that members can follow.
    fn unclose(&mut self) {
        if let Some(Piece::Json(v)) = self.pieces.last_mut()
            && v.last() == Some(&b'}')
        {
            v.pop();
        }
    }

    /// `{"Plaintext":"<secret>", …the members of public}`.
    fn object_with_secret<T: Serialize>(&mut self, secret: &'a [u8], public: &T) -> Result<()> {
        let public = to_vec(public)?;
        self.text("{\"Plaintext\":\"");
        self.secret(secret);
        if public.len() > 2 && public.first() == Some(&b'{') {
            self.text("\",");
            self.pieces.push(Piece::JsonFrom(public, 1));
        } else {
            self.text("\"}");
        }
        Ok(())
    }

    fn finish(self) -> Result<SecretVec> {
        let too_large = || Error::Internal("The response is too large".into());
        let mut len = 0usize;
        for piece in &self.pieces {
            let n = match piece {
                Piece::Text(s) => s.len(),
                Piece::Json(v) => v.len(),
                Piece::JsonFrom(v, from) => v.len().saturating_sub(*from),
                Piece::Secret(s) => base64::encoded_len(s.len(), true).ok_or_else(too_large)?,
            };
            len = len.checked_add(n).ok_or_else(too_large)?;
        }
        let mut out = SecretVec::with_capacity(len);
        let capacity = out.capacity();
        for piece in &self.pieces {
            match piece {
                Piece::Text(s) => out.extend_from_slice(s.as_bytes()),
                Piece::Json(v) => out.extend_from_slice(v),
                Piece::JsonFrom(v, from) => out.extend_from_slice(v.get(*from..).unwrap_or_default()),
                Piece::Secret(s) => {
                    let start = out.len();
                    // Within the capacity reserved above: no reallocation, so no stray copy.
                    out.resize(start + base64::encoded_len(s.len(), true).ok_or_else(too_large)?, 0);
                    let written = STANDARD
                        .encode_slice(s, &mut out.expose_secret_mut()[start..])
                        .map_err(|_| Error::Internal("Could not encode the response".into()))?;
                    out.truncate(start + written);
                }
            }
        }
        debug_assert_eq!(out.len(), len);
        debug_assert_eq!(out.capacity(), capacity, "no reallocation");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_with_secrets() {
        let blob = [1u8, 2, 3];
        let public = BlobPublic { ciphertext_blob: &blob };
        let out = with_secret(b"secret", &public).unwrap();
        assert_eq!(out.expose_secret(), br#"{"Plaintext":"c2VjcmV0","CiphertextBlob":"AQID"}"#);
        assert_eq!(out.len(), out.capacity());
        #[derive(Serialize)]
        struct Nothing {}
        assert_eq!(with_secret(b"", &Nothing {}).unwrap().expose_secret(), br#"{"Plaintext":""}"#);
        let mut body = Body::default();
        body.json(&BatchHead { key_id: "k", key_material_id: "m" }).unwrap();
        body.unclose();
        body.text(",\"DataKeys\":[");
        body.object_with_secret(b"\xff\xfe", &public).unwrap();
        body.text(",");
        body.json(&ItemError::of(&Error::InvalidCiphertext)).unwrap();
        body.text("]}");
        let out: serde_json::Value = serde_json::from_slice(body.finish().unwrap().expose_secret()).unwrap();
        assert_eq!(out["KeyId"], "k");
        assert_eq!(out["DataKeys"][0]["Plaintext"], "//4=");
        assert_eq!(out["DataKeys"][1]["Error"]["Code"], "InvalidCiphertextException");
    }

    #[test]
    fn the_dispatcher_has_every_implemented_operation() {
        let kms = Kms::open_in_memory().unwrap();
        let me = kms.root_caller();
        for op in shapes::operations() {
            let e = kms.call_json(&me, op.name, b"{\"KeyId\": 5}").err();
            let unsupported = e.as_ref().is_some_and(|e| e.message().contains("is not supported by this version"));
            assert_eq!(unsupported, !op.implemented, "{}: {e:?}", op.name);
        }
    }

    #[test]
    fn base64_errors_do_not_echo_bytes() {
        let e = serde_json::from_slice::<EncryptRequest>(br#"{"Plaintext":"ab#d"}"#).map(|_| ()).unwrap_err();
        let msg = serialization_error("Encrypt", &e).to_string();
        assert!(msg.contains("not valid base64") && !msg.contains('#') && !msg.contains("35"), "{msg}");
    }
}
