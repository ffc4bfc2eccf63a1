//! # Trent
//!
//! An embeddable key management engine with the semantics of AWS KMS: KMS keys whose
//! material never leaves the engine, versioned material with automatic and on-demand
//! rotation, envelope encryption through data keys, aliases, tags, every key state AWS has,
//! and AWS's exception names for every error.
//!
//! ```
//! use trent::{Kms, CreateKeyRequest, EncryptRequest, DecryptRequest, GenerateDataKeyRequest};
//!
//! let kms = Kms::open_in_memory()?;
//! let me = kms.root_caller();
//! let key = kms.create_key(&me, &CreateKeyRequest::default())?.key_metadata;
//!
//! // Small secrets: Encrypt / Decrypt (up to 4096 bytes), context bound as AAD.
//! let ctx: trent::EncryptionContext = [("tenant".to_string(), "a".to_string())].into();
//! let blob = kms.encrypt(&me, &EncryptRequest::new(&key.key_id, b"hello").with_context(ctx.clone()))?.ciphertext_blob;
//! let back = kms.decrypt(&me, &DecryptRequest::new(blob).with_context(ctx))?;
//! assert_eq!(back.plaintext.expose_secret(), b"hello");
//!
//! // Large data: a data key, used locally, stored wrapped beside the data.
//! let dk = kms.generate_data_key(&me, &GenerateDataKeyRequest::aes_256(&key.key_id))?;
//! assert_eq!(dk.plaintext.len(), 32);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Durable engines: [`Kms::open`] on a data directory (SQLite keystore and root key file, the
//! embedded default), or [`KmsBuilder`] for a SQLite file or a PostgreSQL database shared by
//! several engines, the root key from a file, a passphrase or an environment variable
//! ([`RootKeySource`]), and an audit trail ([`KmsBuilder::audit_file`],
//! [`KmsBuilder::audit_table`]).
//!
//! Modules, one level deep: [`kms`] (the [`Kms`] handle and the request and response
//! shapes), [`error`], [`id`], [`key`], [`context`], [`ciphertext`] (the blob format),
//! [`store`], [`audit`], [`clock`], [`secret`] (locked memory), [`crypto`] (the provider
//! seam: ring by default, aws-lc-rs with the `aws-lc` feature), [`envelope`] (streaming
//! envelope encryption of large data).
#![deny(unsafe_code)]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

/// `impl Debug` for a type that shows only the fields named, as `Name { a: .., b: .., .. }`:
/// the rest (wrapped key material, callbacks, handles) stay out of logs. `label = field` shows
/// `self.field` under another name.
macro_rules! debug_some_fields {
    ($ty:ty, $name:literal, $($label:ident $(= $field:ident)?),+ $(,)?) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct($name)
                    $(.field(stringify!($label), debug_some_fields!(@field self, $label $($field)?)))+
                    .finish_non_exhaustive()
            }
        }
    };
    (@field $self:ident, $label:ident) => {
        &$self.$label
    };
    (@field $self:ident, $label:ident $field:ident) => {
        &$self.$field
    };
}

pub mod audit;
pub mod ciphertext;
pub mod clock;
pub mod context;
pub mod crypto;
pub mod envelope;
pub mod error;
pub mod id;
pub mod key;
pub mod kms;
mod parallel;
#[allow(unsafe_code)]
pub mod secret;
pub mod store;
pub mod wire;

pub use context::EncryptionContext;
pub use error::{Error, Result};
pub use kms::*;
pub use secret::{SecretBytes, SecretVec};

/// Primitives that let the caller choose a nonce or hold raw key material: for known-answer
/// tests and for benchmarks that measure the engine beside the raw primitive. Not for
/// application code.
pub mod danger {
    pub use crate::crypto::AeadKey;
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_some_fields_shows_only_the_named_fields() {
        let v = crate::key::KeyVersion {
            number: 3,
            material_id: "ab".into(),
            wrapped: vec![0x5a; 60],
            created: crate::clock::Timestamp::default(),
            rotation_type: None,
        };
        let shown = format!("{v:?}");
        assert!(shown.starts_with(r#"KeyVersion { number: 3, material_id: "ab", created: "#), "{shown}");
        assert!(shown.ends_with(", rotation_type: None, .. }"), "{shown}");
        assert!(!shown.contains("wrapped") && !shown.contains("90"), "{shown}");
        let opts = crate::envelope::DecryptOptions { key_id: Some("k".into()), ..Default::default() };
        assert_eq!(
            format!("{opts:?}"),
            r#"DecryptOptions { key_id: Some("k"), encryption_context: None, batch_chunks: None, .. }"#
        );
    }
}
