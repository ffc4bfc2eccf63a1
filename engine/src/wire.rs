//! serde helpers for the AWS JSON wire form: blobs are standard base64 with padding.
//!
//! Secrets ([`SecretBytes`]) are written only through [`secret_b64`], which a response field
//! must name explicitly; `SecretBytes` itself implements no serde trait.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer};

use crate::secret::SecretBytes;

/// A `Vec<u8>` as base64.
pub mod b64 {
    use super::*;

    /// Writes base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads base64. A copy of the text the deserializer had to make (an escaped string) is
    /// wiped: the blob may be a plaintext (Encrypt).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        decode(<std::borrow::Cow<'de, str>>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An `Option<Vec<u8>>` as base64.
pub mod b64_opt {
    use super::*;

    /// Writes base64 (or null).
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Reads base64 (or null).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        text.map(|t| decode(t).map_err(serde::de::Error::custom)).transpose()
    }
}

/// Decodes base64 text, wiping the text if it was a copy.
fn decode(text: std::borrow::Cow<'_, str>) -> Result<Vec<u8>, base64::DecodeError> {
    let out = STANDARD.decode(text.as_bytes());
    if let std::borrow::Cow::Owned(copy) = text {
        crate::secret::wipe(&mut copy.into_bytes());
    }
    out
}

/// Writes a secret as base64: for the response fields that hand plaintext to the caller. The
/// intermediate base64 text is wiped once written.
pub fn secret_b64<S: Serializer>(secret: &SecretBytes, s: S) -> Result<S::Ok, S::Error> {
    let text = STANDARD.encode(secret.expose_secret());
    let out = s.serialize_str(&text);
    crate::secret::wipe(&mut text.into_bytes());
    out
}

/// Writes an optional secret as base64.
pub fn secret_b64_opt<S: Serializer>(secret: &Option<SecretBytes>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => secret_b64(secret, s),
        None => s.serialize_none(),
    }
}
