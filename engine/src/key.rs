//! KMS keys as stored: metadata, key state, versions of key material, rotation schedule.
//!
//! # Key states
//!
//! ```text
//!             CreateKey
//!                 │
//!                 ▼        DisableKey
//!            ┌─────────┐ ───────────► ┌──────────┐
//!            │ Enabled │              │ Disabled │
//!            └─────────┘ ◄─────────── └──────────┘
//!                 │        EnableKey     │     ▲
//!  ScheduleKeyDeletion                   │     │ CancelKeyDeletion
//!                 │   ScheduleKeyDeletion│     │
//!                 ▼                      ▼     │
//!            ┌──────────────────────────────────┐   clock passes DeletionDate
//!            │         PendingDeletion          │ ─────────────────────────► (deleted)
//!            └──────────────────────────────────┘
//! ```
//!
//! # Rotation
//!
//! A key holds immutable versions numbered from 1; one is current. Automatic rotation, when
//! enabled, adds a version every `RotationPeriodInDays` (90–2560, default 365) counted from
//! the time it was enabled. Following AWS, a key that is not `Enabled` is not rotated; when
//! it is enabled again and its rotation date has passed, it rotates at once and the next date
//! is one period later. While the key stays enabled, every missed date is a rotation dated on
//! its schedule (catching up after the engine was closed). On-demand rotation adds a version
//! immediately, at most [`MAX_ON_DEMAND_ROTATIONS`] times per key, and does not move the
//! automatic schedule.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::id::KeyId;

/// On-demand rotations allowed per key (not adjustable in AWS).
pub const MAX_ON_DEMAND_ROTATIONS: u32 = 25;
/// Default automatic rotation period.
pub const DEFAULT_ROTATION_PERIOD_DAYS: u32 = 365;
/// Allowed automatic rotation periods.
pub const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<u32> = 90..=2560;
/// Default waiting period of ScheduleKeyDeletion.
pub const DEFAULT_PENDING_WINDOW_DAYS: u32 = 30;
/// Allowed waiting periods of ScheduleKeyDeletion.
pub const PENDING_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 7..=30;
/// Most tags a key may carry.
pub const MAX_TAGS_PER_KEY: usize = 50;
/// Most aliases that may point to one key.
pub const MAX_ALIASES_PER_KEY: usize = 50;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in the model's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// The state of a KMS key.
    KeyState {
        /// Being created (replicas only).
        Creating = "Creating",
        /// Usable.
        Enabled = "Enabled",
        /// Disabled by DisableKey or CancelKeyDeletion.
        Disabled = "Disabled",
        /// Scheduled for deletion.
        PendingDeletion = "PendingDeletion",
        /// Waiting for imported material.
        PendingImport = "PendingImport",
        /// A multi-Region primary waiting for its replicas to be deleted.
        PendingReplicaDeletion = "PendingReplicaDeletion",
        /// Its custom key store is disconnected.
        Unavailable = "Unavailable",
        /// Its primary Region is being updated.
        Updating = "Updating",
    }
);

wire_enum!(
    /// What a key may be used for.
    KeyUsage {
        /// Sign and verify.
        SignVerify = "SIGN_VERIFY",
        /// Encrypt and decrypt.
        EncryptDecrypt = "ENCRYPT_DECRYPT",
        /// Generate and verify MACs.
        GenerateVerifyMac = "GENERATE_VERIFY_MAC",
        /// Key agreement.
        KeyAgreement = "KEY_AGREEMENT",
    }
);

wire_enum!(
    /// The type of key material.
    KeySpec {
        /// RSA 2048.
        Rsa2048 = "RSA_2048",
        /// RSA 3072.
        Rsa3072 = "RSA_3072",
        /// RSA 4096.
        Rsa4096 = "RSA_4096",
        /// NIST P-256.
        EccNistP256 = "ECC_NIST_P256",
        /// NIST P-384.
        EccNistP384 = "ECC_NIST_P384",
        /// NIST P-521.
        EccNistP521 = "ECC_NIST_P521",
        /// secp256k1.
        EccSecgP256k1 = "ECC_SECG_P256K1",
        /// AES-256-GCM.
        SymmetricDefault = "SYMMETRIC_DEFAULT",
        /// HMAC-SHA-224.
        Hmac224 = "HMAC_224",
        /// HMAC-SHA-256.
        Hmac256 = "HMAC_256",
        /// HMAC-SHA-384.
        Hmac384 = "HMAC_384",
        /// HMAC-SHA-512.
        Hmac512 = "HMAC_512",
        /// SM2 (China Regions only).
        Sm2 = "SM2",
        /// ML-DSA-44.
        MlDsa44 = "ML_DSA_44",
        /// ML-DSA-65.
        MlDsa65 = "ML_DSA_65",
        /// ML-DSA-87.
        MlDsa87 = "ML_DSA_87",
        /// Ed25519.
        EccNistEdwards25519 = "ECC_NIST_EDWARDS25519",
    }
);

wire_enum!(
    /// Where key material comes from.
    OriginType {
        /// Generated by the engine.
        AwsKms = "AWS_KMS",
        /// Imported.
        External = "EXTERNAL",
        /// A CloudHSM key store.
        AwsCloudhsm = "AWS_CLOUDHSM",
        /// An external key store.
        ExternalKeyStore = "EXTERNAL_KEY_STORE",
    }
);

wire_enum!(
    /// Who manages a key.
    KeyManager {
        /// An AWS service (`alias/aws/…`).
        Aws = "AWS",
        /// The customer.
        Customer = "CUSTOMER",
    }
);

wire_enum!(
    /// Encryption algorithms.
    EncryptionAlgorithmSpec {
        /// AES-256-GCM with a symmetric key.
        SymmetricDefault = "SYMMETRIC_DEFAULT",
        /// RSA-OAEP with SHA-1.
        RsaesOaepSha1 = "RSAES_OAEP_SHA_1",
        /// RSA-OAEP with SHA-256.
        RsaesOaepSha256 = "RSAES_OAEP_SHA_256",
        /// SM2 public key encryption.
        Sm2Pke = "SM2PKE",
    }
);

wire_enum!(
    /// Data key sizes for GenerateDataKey.
    DataKeySpec {
        /// 32 bytes.
        Aes256 = "AES_256",
        /// 16 bytes.
        Aes128 = "AES_128",
    }
);

wire_enum!(
    /// How a version of key material came to be.
    RotationType {
        /// By the automatic schedule.
        Automatic = "AUTOMATIC",
        /// By RotateKeyOnDemand.
        OnDemand = "ON_DEMAND",
    }
);

wire_enum!(
    /// Whether a version is the current one.
    KeyMaterialState {
        /// Not the current version: decrypts only.
        NonCurrent = "NON_CURRENT",
        /// The current version: encrypts and decrypts.
        Current = "CURRENT",
        /// Imported, waiting for rotation.
        PendingRotation = "PENDING_ROTATION",
        /// Imported multi-Region material waiting for every replica.
        PendingMultiRegionImportAndRotation = "PENDING_MULTI_REGION_IMPORT_AND_ROTATION",
    }
);

impl DataKeySpec {
    /// The data key length in bytes.
    pub fn byte_len(self) -> usize {
        match self {
            Self::Aes256 => 32,
            Self::Aes128 => 16,
        }
    }
}

/// A tag on a key.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The tag key, 1–128 characters, not starting with `aws:`.
    pub tag_key: String,
    /// The tag value, 0–256 characters.
    pub tag_value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { tag_key: key.into(), tag_value: value.into() }
    }
}

/// One immutable version of a key's material, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyVersion {
    /// Version number, from 1.
    pub number: u32,
    /// The `KeyMaterialId`: 64 lowercase hex characters.
    pub material_id: String,
    /// The 32-byte material, wrapped under the root key (nonce ‖ ciphertext ‖ tag).
    pub wrapped: Vec<u8>,
    /// When the version was created.
    pub created: Timestamp,
    /// How it was created (`None` for the key's first version).
    pub rotation_type: Option<RotationType>,
}

debug_some_fields!(KeyVersion, "KeyVersion", number, material_id, created, rotation_type);

/// The automatic rotation settings of a key.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct RotationSchedule {
    /// Whether automatic rotation is enabled.
    pub enabled: bool,
    /// The period, when enabled.
    pub period_days: u32,
    /// The next automatic rotation, when enabled.
    pub next_rotation: Option<Timestamp>,
    /// On-demand rotations made so far.
    pub on_demand_count: u32,
}

/// A KMS key as stored: everything but the unwrapped material.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyRecord {
    /// The key id.
    pub id: KeyId,
    /// Bumped by every change; stores use it for compare-and-set.
    pub revision: u64,
    /// When the key was created.
    pub creation_date: Timestamp,
    /// The key state.
    pub state: KeyState,
    /// The description.
    pub description: String,
    /// The key usage.
    pub key_usage: KeyUsage,
    /// The key spec.
    pub key_spec: KeySpec,
    /// Where the material came from.
    pub origin: OriginType,
    /// Who manages the key.
    pub key_manager: KeyManager,
    /// Whether the key is a multi-Region key.
    pub multi_region: bool,
    /// When the key will be deleted, while `PendingDeletion`.
    pub deletion_date: Option<Timestamp>,
    /// The waiting period chosen, while `PendingDeletion`.
    pub pending_window_days: Option<u32>,
    /// The key policy document, as given or AWS's default.
    pub policy: String,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
    /// Automatic and on-demand rotation.
    pub rotation: RotationSchedule,
    /// All versions, oldest first; never shrinks while the key exists.
    pub versions: Vec<KeyVersion>,
    /// The number of the current version.
    pub current_version: u32,
    /// The record's MAC (HMAC-SHA256 under a key derived from the root key, over every field
    /// above and bound to the id and revision), set by the engine before every write and
    /// checked after every read; stores keep it as given. `None` only in records of a store
    /// made before records carried MACs, until an engine with the root key authenticates them
    /// at its first open.
    pub mac: Option<Vec<u8>>,
}

impl KeyRecord {
    /// The current version.
    pub fn current(&self) -> Option<&KeyVersion> {
        self.version(self.current_version)
    }

    /// The version numbered `number`.
    pub fn version(&self, number: u32) -> Option<&KeyVersion> {
        // Versions are numbered 1.. in order.
        let idx = usize::try_from(number.checked_sub(1)?).ok()?;
        self.versions.get(idx).filter(|v| v.number == number)
    }

    /// The earliest time at which something happens to this key on its own (deletion or
    /// automatic rotation), if anything is scheduled.
    pub fn next_event(&self) -> Option<Timestamp> {
        match self.state {
            KeyState::PendingDeletion => self.deletion_date,
            KeyState::Enabled if self.rotation.enabled => self.rotation.next_rotation,
            _ => None,
        }
    }
}

/// An alias as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AliasRecord {
    /// The alias name.
    pub name: crate::id::AliasName,
    /// The key it points to.
    pub target: KeyId,
    /// When it was created.
    pub creation_date: Timestamp,
    /// When it was last pointed somewhere.
    pub last_updated: Timestamp,
    /// The record's MAC, over the name, target and dates (see [`KeyRecord::mac`]).
    pub mac: Option<Vec<u8>>,
}
