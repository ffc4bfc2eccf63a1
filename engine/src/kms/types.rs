//! Requests and responses: plain structs that mirror the AWS shapes.
//!
//! Field names are the model's member names in snake_case; serde renames them to the wire's
//! PascalCase, and blobs travel as base64. Requests implement `Default`, so a caller sets only
//! what it needs. Plaintexts given to the engine are [`SecretVec`]s (wiped when dropped;
//! anything `Into<SecretVec>`: a `Vec<u8>`, a byte string, a `&str`); plaintexts the engine
//! returns are [`SecretBytes`] in locked memory, and the responses that carry them have no
//! `Serialize`, only a `to_json` that writes into a [`SecretVec`]:
//!
//! ```
//! let req = trent::EncryptRequest { key_id: "alias/app".into(), plaintext: b"hi".into(), ..Default::default() };
//! # let _ = req;
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::context::EncryptionContext;
use crate::key::{
    DataKeySpec, EncryptionAlgorithmSpec, KeyManager, KeyMaterialState, KeySpec, KeyState, KeyUsage, OriginType,
    RotationType, Tag,
};
use crate::secret::{SecretBytes, SecretVec};
use crate::wire;

// ---------------------------------------------------------------------------------------------
// Key lifecycle

/// CreateKey input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateKeyRequest {
    /// The key policy; AWS's default policy when absent.
    pub policy: Option<String>,
    /// A description, up to 8192 characters.
    pub description: Option<String>,
    /// The key usage; `ENCRYPT_DECRYPT` when absent.
    pub key_usage: Option<KeyUsage>,
    /// Deprecated alias of `key_spec`.
    pub customer_master_key_spec: Option<KeySpec>,
    /// The key spec; `SYMMETRIC_DEFAULT` when absent.
    pub key_spec: Option<KeySpec>,
    /// Where the material comes from; `AWS_KMS` when absent.
    pub origin: Option<OriginType>,
    /// A custom key store (not supported).
    pub custom_key_store_id: Option<String>,
    /// Skip the policy lockout check.
    pub bypass_policy_lockout_safety_check: bool,
    /// Tags for the new key.
    pub tags: Vec<Tag>,
    /// Create a multi-Region primary key (`mrk-…` id).
    pub multi_region: Option<bool>,
}

/// The multi-Region role of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionKey {
    /// The key ARN.
    pub arn: String,
    /// Its Region.
    pub region: String,
}

/// Multi-Region configuration of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionConfiguration {
    /// `PRIMARY` or `REPLICA`.
    pub multi_region_key_type: String,
    /// The primary key.
    pub primary_key: MultiRegionKey,
    /// Its replicas.
    pub replica_keys: Vec<MultiRegionKey>,
}

/// A key's metadata, as DescribeKey returns it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    /// The owning account.
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// When it was created.
    pub creation_date: Timestamp,
    /// Whether the state is `Enabled`.
    pub enabled: bool,
    /// The description.
    pub description: String,
    /// The key usage.
    pub key_usage: KeyUsage,
    /// The key state.
    pub key_state: KeyState,
    /// When the key will be deleted, while `PendingDeletion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<Timestamp>,
    /// The origin of the material.
    pub origin: OriginType,
    /// Who manages the key.
    pub key_manager: KeyManager,
    /// Deprecated copy of `key_spec`.
    pub customer_master_key_spec: KeySpec,
    /// The key spec.
    pub key_spec: KeySpec,
    /// The encryption algorithms the key supports.
    pub encryption_algorithms: Vec<EncryptionAlgorithmSpec>,
    /// Whether this is a multi-Region key.
    pub multi_region: bool,
    /// Its multi-Region configuration, for multi-Region keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_region_configuration: Option<MultiRegionConfiguration>,
    /// The waiting period chosen, while `PendingDeletion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    /// The current version's `KeyMaterialId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

/// CreateKey output.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyResponse {
    /// The new key.
    pub key_metadata: KeyMetadata,
}

/// Input of the operations that take only a key identifier (DescribeKey, EnableKey,
/// DisableKey, CancelKeyDeletion, DisableKeyRotation, GetKeyRotationStatus,
/// RotateKeyOnDemand).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KeyIdRequest {
    /// The key.
    pub key_id: String,
    /// Grant tokens (DescribeKey).
    pub grant_tokens: Vec<String>,
}

impl KeyIdRequest {
    /// A request naming `key_id`.
    pub fn new(key_id: impl Into<String>) -> Self {
        Self { key_id: key_id.into(), grant_tokens: Vec::new() }
    }
}

/// DescribeKey output.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeKeyResponse {
    /// The key.
    pub key_metadata: KeyMetadata,
}

/// Paging input (ListKeys, ListAliases, ListResourceTags, ListKeyRotations).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListKeysRequest {
    /// 1–1000 entries per page; 100 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// One entry of ListKeys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub key_arn: String,
}

/// ListKeys output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysResponse {
    /// This page.
    pub keys: Vec<KeyListEntry>,
    /// Where the next page starts, when `truncated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more entries follow.
    pub truncated: bool,
}

/// ScheduleKeyDeletion input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ScheduleKeyDeletionRequest {
    /// The key (id or ARN).
    pub key_id: String,
    /// 7–30 days; 30 when absent.
    pub pending_window_in_days: Option<u32>,
}

/// ScheduleKeyDeletion output.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionResponse {
    /// The key ARN.
    pub key_id: String,
    /// When the key will be deleted.
    pub deletion_date: Timestamp,
    /// `PendingDeletion`.
    pub key_state: KeyState,
    /// The waiting period.
    pub pending_window_in_days: u32,
}

/// Output that names a key (CancelKeyDeletion, RotateKeyOnDemand).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdResponse {
    /// The key id (CancelKeyDeletion returns the ARN, as AWS does).
    pub key_id: String,
}

/// UpdateKeyDescription input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateKeyDescriptionRequest {
    /// The key (id or ARN).
    pub key_id: String,
    /// The new description, up to 8192 characters.
    pub description: String,
}

/// TagResource input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TagResourceRequest {
    /// The key (id or ARN).
    pub key_id: String,
    /// Tags to add or overwrite.
    pub tags: Vec<Tag>,
}

/// UntagResource input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UntagResourceRequest {
    /// The key (id or ARN).
    pub key_id: String,
    /// Tag keys to remove.
    pub tag_keys: Vec<String>,
}

/// ListResourceTags input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListResourceTagsRequest {
    /// The key (id or ARN).
    pub key_id: String,
    /// 1–1000 tags per page (AWS caps this operation at 50); 50 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// ListResourceTags output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsResponse {
    /// This page, ordered by tag key.
    pub tags: Vec<Tag>,
    /// Where the next page starts, when `truncated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more tags follow.
    pub truncated: bool,
}

/// ListKeyPolicies input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListKeyPoliciesRequest {
    /// The key (id or ARN).
    pub key_id: String,
    /// 1–1000 names per page; 100 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// ListKeyPolicies output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesResponse {
    /// The key's policy names: `default`.
    pub policy_names: Vec<String>,
    /// Where the next page starts, when `truncated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more names follow.
    pub truncated: bool,
}

// ---------------------------------------------------------------------------------------------
// Aliases

/// CreateAlias and UpdateAlias input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AliasRequest {
    /// `alias/…`.
    pub alias_name: String,
    /// The key (id or ARN).
    pub target_key_id: String,
}

impl AliasRequest {
    /// A request pointing `alias_name` at `target_key_id`.
    pub fn new(alias_name: impl Into<String>, target_key_id: impl Into<String>) -> Self {
        Self { alias_name: alias_name.into(), target_key_id: target_key_id.into() }
    }
}

/// DeleteAlias input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteAliasRequest {
    /// `alias/…`.
    pub alias_name: String,
}

/// ListAliases input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListAliasesRequest {
    /// Only the aliases of this key (id or ARN).
    pub key_id: Option<String>,
    /// 1–1000 entries per page; 100 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// One entry of ListAliases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    /// `alias/…`.
    pub alias_name: String,
    /// The alias ARN.
    pub alias_arn: String,
    /// The key id it points to.
    pub target_key_id: String,
    /// When it was created.
    pub creation_date: Timestamp,
    /// When it was last pointed somewhere.
    pub last_updated_date: Timestamp,
}

/// ListAliases output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    /// This page, ordered by alias name.
    pub aliases: Vec<AliasListEntry>,
    /// Where the next page starts, when `truncated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more entries follow.
    pub truncated: bool,
}

// ---------------------------------------------------------------------------------------------
// Rotation

/// EnableKeyRotation input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EnableKeyRotationRequest {
    /// The key (id or ARN).
    pub key_id: String,
    /// 90–2560 days; 365 when absent.
    pub rotation_period_in_days: Option<u32>,
}

/// GetKeyRotationStatus output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyRotationStatusResponse {
    /// Whether automatic rotation is enabled.
    pub key_rotation_enabled: bool,
    /// The key ARN.
    pub key_id: String,
    /// The period, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<u32>,
    /// The next automatic rotation, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<Timestamp>,
    /// When an on-demand rotation in progress started (rotations here complete at once, so
    /// this is always absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_rotation_start_date: Option<Timestamp>,
}

/// ListKeyRotations input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListKeyRotationsRequest {
    /// The key (id or ARN).
    pub key_id: String,
    /// `ALL_KEY_MATERIAL` also lists the key's first material; `ROTATIONS_ONLY` (the
    /// default) lists only rotations.
    pub include_key_material: Option<String>,
    /// 1–1000 entries per page; 100 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// One entry of ListKeyRotations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationsListEntry {
    /// The key id.
    pub key_id: String,
    /// The material's id.
    pub key_material_id: String,
    /// `CURRENT` or `NON_CURRENT`.
    pub key_material_state: KeyMaterialState,
    /// When the material was created.
    pub rotation_date: Timestamp,
    /// How (absent for the key's first material).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<RotationType>,
}

/// ListKeyRotations output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsResponse {
    /// This page, oldest first.
    pub rotations: Vec<RotationsListEntry>,
    /// Where the next page starts, when `truncated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more entries follow.
    pub truncated: bool,
}

// ---------------------------------------------------------------------------------------------
// Cryptographic operations

/// Encrypt input.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EncryptRequest {
    /// The key: id, ARN, alias name or alias ARN.
    pub key_id: String,
    /// 1–4096 bytes, wiped when the request is dropped.
    #[serde(deserialize_with = "wire::b64_secret")]
    pub plaintext: SecretVec,
    /// Bound to the ciphertext as AAD; Decrypt must present the same.
    pub encryption_context: EncryptionContext,
    /// Grant tokens (at most 10).
    pub grant_tokens: Vec<String>,
    /// Must be `SYMMETRIC_DEFAULT` (or absent) for symmetric keys.
    pub encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    /// Check permissions and state only.
    pub dry_run: Option<bool>,
}

impl fmt::Debug for EncryptRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptRequest")
            .field("key_id", &self.key_id)
            .field("plaintext", &format_args!("[REDACTED; {}]", self.plaintext.len()))
            .field("encryption_context", &self.encryption_context)
            .field("encryption_algorithm", &self.encryption_algorithm)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

impl EncryptRequest {
    /// A request to encrypt `plaintext` under `key_id` with no encryption context. A
    /// `Vec<u8>` is taken over (and wiped with the request); a slice or string is copied.
    pub fn new(key_id: impl Into<String>, plaintext: impl Into<SecretVec>) -> Self {
        Self { key_id: key_id.into(), plaintext: plaintext.into(), ..Default::default() }
    }

    /// Sets the encryption context.
    pub fn with_context(mut self, ctx: EncryptionContext) -> Self {
        self.encryption_context = ctx;
        self
    }
}

/// Encrypt output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptResponse {
    /// The ciphertext blob.
    #[serde(with = "wire::b64")]
    pub ciphertext_blob: Vec<u8>,
    /// The key ARN.
    pub key_id: String,
    /// `SYMMETRIC_DEFAULT`.
    pub encryption_algorithm: EncryptionAlgorithmSpec,
}

/// Decrypt input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DecryptRequest {
    /// The blob from Encrypt, GenerateDataKey or ReEncrypt.
    #[serde(with = "wire::b64")]
    pub ciphertext_blob: Vec<u8>,
    /// The context given at encryption.
    pub encryption_context: EncryptionContext,
    /// Grant tokens (at most 10).
    pub grant_tokens: Vec<String>,
    /// Optional: the key expected to have encrypted the blob.
    pub key_id: Option<String>,
    /// Must be `SYMMETRIC_DEFAULT` (or absent) for symmetric keys.
    pub encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    /// Check permissions and state only.
    pub dry_run: Option<bool>,
}

impl DecryptRequest {
    /// A request to decrypt `blob` with no encryption context.
    pub fn new(blob: impl Into<Vec<u8>>) -> Self {
        Self { ciphertext_blob: blob.into(), ..Default::default() }
    }

    /// Sets the encryption context.
    pub fn with_context(mut self, ctx: EncryptionContext) -> Self {
        self.encryption_context = ctx;
        self
    }
}

/// Decrypt output.
///
/// It has no `Serialize`, so that no plaintext ends up in a `String` that is never wiped;
/// [`to_json`](Self::to_json) gives the wire form in a [`SecretVec`]:
///
/// ```compile_fail,E0277
/// # fn f(resp: &trent::DecryptResponse) -> serde_json::Result<String> {
/// serde_json::to_string(resp) // error: `DecryptResponse` does not implement `Serialize`
/// # }
/// ```
///
/// ```
/// # fn f(resp: &trent::DecryptResponse) -> trent::Result<()> {
/// let body = resp.to_json()?; // {"KeyId":…,"Plaintext":…,…}, wiped when dropped
/// # let _ = body; Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct DecryptResponse {
    /// The key ARN.
    pub key_id: String,
    /// The plaintext, in locked memory.
    pub plaintext: SecretBytes,
    /// `SYMMETRIC_DEFAULT`.
    pub encryption_algorithm: EncryptionAlgorithmSpec,
    /// The id of the key material that decrypted.
    pub key_material_id: String,
}

/// ReEncrypt input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReEncryptRequest {
    /// The blob to move.
    #[serde(with = "wire::b64")]
    pub ciphertext_blob: Vec<u8>,
    /// The context it was encrypted with.
    pub source_encryption_context: EncryptionContext,
    /// Optional: the key expected to have encrypted it.
    pub source_key_id: Option<String>,
    /// The key to encrypt under (any identifier form).
    pub destination_key_id: String,
    /// The context to bind to the new blob.
    pub destination_encryption_context: EncryptionContext,
    /// Must be `SYMMETRIC_DEFAULT` (or absent).
    pub source_encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    /// Must be `SYMMETRIC_DEFAULT` (or absent).
    pub destination_encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    /// Grant tokens (at most 10).
    pub grant_tokens: Vec<String>,
    /// Check permissions and state only.
    pub dry_run: Option<bool>,
}

/// ReEncrypt output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptResponse {
    /// The new blob.
    #[serde(with = "wire::b64")]
    pub ciphertext_blob: Vec<u8>,
    /// The source key ARN.
    pub source_key_id: String,
    /// The destination key ARN.
    pub key_id: String,
    /// `SYMMETRIC_DEFAULT`.
    pub source_encryption_algorithm: EncryptionAlgorithmSpec,
    /// `SYMMETRIC_DEFAULT`.
    pub destination_encryption_algorithm: EncryptionAlgorithmSpec,
    /// The material that decrypted.
    pub source_key_material_id: String,
    /// The material that encrypted.
    pub destination_key_material_id: String,
}

/// GenerateDataKey and GenerateDataKeyWithoutPlaintext input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GenerateDataKeyRequest {
    /// The key: id, ARN, alias name or alias ARN.
    pub key_id: String,
    /// Bound to the wrapped data key as AAD.
    pub encryption_context: EncryptionContext,
    /// 1–1024 bytes; exactly one of this and `key_spec`.
    pub number_of_bytes: Option<u32>,
    /// `AES_256` or `AES_128`; exactly one of this and `number_of_bytes`.
    pub key_spec: Option<DataKeySpec>,
    /// Grant tokens (at most 10).
    pub grant_tokens: Vec<String>,
    /// Check permissions and state only.
    pub dry_run: Option<bool>,
}

impl GenerateDataKeyRequest {
    /// A request for an AES-256 data key under `key_id`.
    pub fn aes_256(key_id: impl Into<String>) -> Self {
        Self { key_id: key_id.into(), key_spec: Some(DataKeySpec::Aes256), ..Default::default() }
    }
}

/// GenerateDataKey output. No `Serialize` (see [`DecryptResponse`]):
/// [`to_json`](Self::to_json) gives the wire form in a [`SecretVec`].
#[derive(Debug)]
pub struct GenerateDataKeyResponse {
    /// The data key wrapped under the KMS key.
    pub ciphertext_blob: Vec<u8>,
    /// The data key, in locked memory; zeroed when dropped.
    pub plaintext: SecretBytes,
    /// The key ARN.
    pub key_id: String,
    /// The material that wrapped the data key.
    pub key_material_id: String,
}

/// GenerateDataKeyWithoutPlaintext output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyWithoutPlaintextResponse {
    /// The data key wrapped under the KMS key.
    #[serde(with = "wire::b64")]
    pub ciphertext_blob: Vec<u8>,
    /// The key ARN.
    pub key_id: String,
    /// The material that wrapped the data key.
    pub key_material_id: String,
}

/// GenerateRandom input.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GenerateRandomRequest {
    /// 1–1024 bytes (required).
    pub number_of_bytes: Option<u32>,
    /// A custom key store (not supported).
    pub custom_key_store_id: Option<String>,
}

/// GenerateRandom output. No `Serialize` (see [`DecryptResponse`]):
/// [`to_json`](Self::to_json) gives the wire form in a [`SecretVec`].
#[derive(Debug)]
pub struct GenerateRandomResponse {
    /// The random bytes, in locked memory.
    pub plaintext: SecretBytes,
}

// ---------------------------------------------------------------------------------------------
// Batches

/// How a batch runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Execution {
    /// Across the engine's rayon thread pool (one per process, sized by `RAYON_NUM_THREADS`,
    /// else one thread per CPU), in chunks.
    #[default]
    Parallel,
    /// On the calling thread, item by item.
    Serial,
}

/// A batch of GenerateDataKey under one key.
#[derive(Clone, Debug, Default)]
pub struct GenerateDataKeysRequest {
    /// The key: id, ARN, alias name or alias ARN.
    pub key_id: String,
    /// Bound to every data key.
    pub encryption_context: EncryptionContext,
    /// Bytes per data key, as in GenerateDataKey.
    pub number_of_bytes: Option<u32>,
    /// Key spec, as in GenerateDataKey.
    pub key_spec: Option<DataKeySpec>,
    /// How many data keys.
    pub count: usize,
    /// Parallel or serial.
    pub execution: Execution,
}

/// One data key of a batch.
#[derive(Debug)]
pub struct DataKey {
    /// The data key, in locked memory.
    pub plaintext: SecretBytes,
    /// The data key wrapped under the KMS key.
    pub ciphertext_blob: Vec<u8>,
}

/// The result of [`Kms::generate_data_keys`](crate::Kms::generate_data_keys).
#[derive(Debug)]
pub struct GenerateDataKeysResponse {
    /// The key ARN.
    pub key_id: String,
    /// The material that wrapped the data keys.
    pub key_material_id: String,
    /// One result per data key.
    pub data_keys: Vec<crate::Result<DataKey>>,
}

/// One item of an encrypt batch.
#[derive(Clone, Default)]
pub struct EncryptItem {
    /// 1–4096 bytes, wiped when the item is dropped.
    pub plaintext: SecretVec,
    /// The item's encryption context.
    pub encryption_context: EncryptionContext,
}

impl fmt::Debug for EncryptItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptItem")
            .field("plaintext", &format_args!("[REDACTED; {}]", self.plaintext.len()))
            .field("encryption_context", &self.encryption_context)
            .finish()
    }
}

/// A batch of Encrypt under one key.
#[derive(Clone, Debug, Default)]
pub struct EncryptBatchRequest {
    /// The key: id, ARN, alias name or alias ARN.
    pub key_id: String,
    /// The items.
    pub items: Vec<EncryptItem>,
    /// Parallel or serial.
    pub execution: Execution,
}

/// The result of [`Kms::encrypt_batch`](crate::Kms::encrypt_batch).
#[derive(Debug)]
pub struct EncryptBatchResponse {
    /// The key ARN.
    pub key_id: String,
    /// The material that encrypted.
    pub key_material_id: String,
    /// One ciphertext blob (or error) per item.
    pub ciphertext_blobs: Vec<crate::Result<Vec<u8>>>,
}

/// One item of a decrypt batch.
#[derive(Clone, Debug, Default)]
pub struct DecryptItem {
    /// The blob.
    pub ciphertext_blob: Vec<u8>,
    /// Its encryption context.
    pub encryption_context: EncryptionContext,
}

/// A batch of Decrypt; items may name different keys.
#[derive(Clone, Debug, Default)]
pub struct DecryptBatchRequest {
    /// The items.
    pub items: Vec<DecryptItem>,
    /// Parallel or serial.
    pub execution: Execution,
}

/// One item of a re-encrypt batch.
#[derive(Clone, Debug, Default)]
pub struct ReEncryptItem {
    /// The blob to move.
    pub ciphertext_blob: Vec<u8>,
    /// The context it was encrypted with.
    pub source_encryption_context: EncryptionContext,
    /// The context to bind to the new blob.
    pub destination_encryption_context: EncryptionContext,
}

/// A batch of ReEncrypt to one destination key; sources may differ.
#[derive(Clone, Debug, Default)]
pub struct ReEncryptBatchRequest {
    /// The destination key: id, ARN, alias name or alias ARN.
    pub destination_key_id: String,
    /// The items.
    pub items: Vec<ReEncryptItem>,
    /// Parallel or serial.
    pub execution: Execution,
}
