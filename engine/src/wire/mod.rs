//! The AWS JSON 1.1 wire form, in one module: the table of AWS shapes ([`shapes`]), the
//! dispatcher [`Kms::call_json`](crate::Kms::call_json) (private submodule `json`), and the
//! serde helpers of the request and response types: blobs are standard base64 with padding.
//!
//! serde never writes a secret: [`SecretBytes`](crate::SecretBytes) and [`SecretVec`]
//! implement no serde trait, and the responses that carry plaintext (Decrypt,
//! GenerateDataKey, GenerateRandom) implement no `Serialize`. Their wire form comes from
//! their `to_json` methods and [`Kms::call_json`](crate::Kms::call_json), which encode the
//! plaintext straight into a [`SecretVec`] of the body's final size. Request plaintexts are
//! read with [`b64_secret`].

mod json;
pub mod shapes;

pub use shapes::JSON_OPERATIONS;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer};

use crate::secret::{SecretVec, wipe};

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
        wipe(&mut copy.into_bytes());
    }
    out
}

/// Reads a base64 plaintext (Encrypt's) into a [`SecretVec`] of its size, decoding the string
/// where it lies in the request when it has no escapes; a copy the deserializer had to make
/// (an escaped string) is wiped, and so is a half-decoded buffer when the text is not base64.
pub fn b64_secret<'de, D: Deserializer<'de>>(d: D) -> Result<SecretVec, D::Error> {
    struct Base64;

    impl serde::de::Visitor<'_> for Base64 {
        type Value = SecretVec;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a base64 string")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SecretVec, E> {
            let mut out = SecretVec::new();
            out.resize(base64::decoded_len_estimate(text.len()), 0);
            let n = STANDARD
                .decode_slice(text, out.expose_secret_mut())
                .map_err(|_| E::custom("a blob member is not valid base64"))?;
            out.truncate(n);
            Ok(out)
        }

        fn visit_string<E: serde::de::Error>(self, text: String) -> Result<SecretVec, E> {
            let result = self.visit_str(&text);
            wipe(&mut text.into_bytes());
            result
        }
    }

    d.deserialize_str(Base64)
}
