//! The ciphertext blob, format version 1, for symmetric KMS keys.
//!
//! A blob names the key and key version that encrypted it, so Decrypt needs no key id:
//!
//! ```text
//!  0        1        2                         18             22                 38           46
//!  +--------+--------+-------------------------+--------------+------------------+------------+
//!  | format | kind   | key id (16 bytes)       | version      | derivation salt  | counter    |
//!  | = 0x01 | 0x01   | UUID, or the 16 bytes   | u32 BE       | (16 bytes)       | u64 BE     |
//!  |        | |0x80  | of an mrk- id           |              |                  |            |
//!  +--------+--------+-------------------------+--------------+------------------+------------+
//!  46                                               46+n           46+n+16
//!  +-------------------------------------------------+--------------+
//!  | AES-256-GCM ciphertext (n = plaintext length)     | GCM tag (16) |
//!  +-------------------------------------------------+--------------+
//!
//!  AAD   = the 46 header bytes ‖ canonical encoding of the encryption context
//!  key   = HKDF-SHA256(ikm = version key, salt = derivation salt,
//!                      info = "trent v1" ‖ key id (16) ‖ version (u32 BE))
//!  nonce = 0x00000000 ‖ counter (u64 BE)
//! ```
//!
//! `kind` is `0x01` (symmetric ciphertext); its high bit `0x80` says the key id is a
//! multi-Region (`mrk-`) id. No other bits are defined.
//!
//! **Nonce scheme.** Random 96-bit nonces under one long-lived key would cap a key at 2^32
//! messages, and a counter kept in the store breaks on restore from backup and on nodes or
//! Regions that share material. Instead each writer (an encrypting thread of an engine
//! instance) draws a random 128-bit salt per key version, derives its own sub-key from it,
//! and counts messages under that sub-key. Uniqueness of (sub-key, nonce) needs no shared
//! state; a writer draws a fresh salt long before its counter could run out
//! ([`MAX_MESSAGES_PER_SALT`]).
//!
//! **Strict decoding.** Unknown format or kind, a blob too short or too long, a bad tag and a
//! context mismatch are all the same `InvalidCiphertextException`, with no detail.

use crate::crypto::{NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::id::KeyId;

/// The format byte of version 1 blobs.
pub const FORMAT_V1: u8 = 0x01;
/// The kind byte of a symmetric ciphertext.
pub const KIND_SYMMETRIC: u8 = 0x01;
/// Flag bit of the kind byte: the key id is a multi-Region id.
pub const KIND_FLAG_MULTI_REGION: u8 = 0x80;
/// Length of the header.
pub const HEADER_LEN: usize = 1 + 1 + 16 + 4 + 16 + 8;
/// Bytes a blob adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// Largest plaintext a blob can hold (the Encrypt limit).
pub const MAX_PLAINTEXT_LEN: usize = 4096;
/// Longest valid blob.
pub const MAX_BLOB_LEN: usize = MAX_PLAINTEXT_LEN + OVERHEAD;
/// Messages a writer seals under one salt before it draws a new one: far below the 2^64 the
/// counter could reach, and at the 2^32 that NIST SP 800-38D allows per GCM key.
pub const MAX_MESSAGES_PER_SALT: u64 = 1 << 32;
/// The HKDF info prefix of version 1 sub-keys.
pub const HKDF_INFO_V1: &[u8] = b"trent v1";

/// The header of a version 1 blob.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    /// The KMS key that encrypted the blob.
    pub key_id: KeyId,
    /// The key version (material) that encrypted it.
    pub version: u32,
    /// The writer's derivation salt.
    pub salt: [u8; 16],
    /// The writer's message counter.
    pub counter: u64,
}

impl Header {
    /// The header bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = FORMAT_V1;
        out[1] = KIND_SYMMETRIC | if self.key_id.is_multi_region() { KIND_FLAG_MULTI_REGION } else { 0 };
        out[2..18].copy_from_slice(self.key_id.as_bytes());
        out[18..22].copy_from_slice(&self.version.to_be_bytes());
        out[22..38].copy_from_slice(&self.salt);
        out[38..46].copy_from_slice(&self.counter.to_be_bytes());
        out
    }

    /// The GCM nonce: four zero bytes and the counter.
    pub fn nonce(&self) -> [u8; NONCE_LEN] {
        nonce_for(self.counter)
    }
}

/// The GCM nonce for message `counter` of a writer.
pub fn nonce_for(counter: u64) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    n
}

/// A blob split into its parts. The body is the GCM ciphertext followed by the tag.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The decoded header.
    pub header: Header,
    /// The raw header bytes (the first part of the AAD).
    pub header_bytes: &'a [u8],
    /// Ciphertext ‖ tag.
    pub body: &'a [u8],
}

/// Decodes a blob strictly. Every failure is `InvalidCiphertextException`.
pub fn parse(blob: &[u8]) -> Result<Parsed<'_>> {
    // At least one byte of plaintext: Encrypt and GenerateDataKey never make an empty one.
    if blob.len() < OVERHEAD + 1 || blob.len() > MAX_BLOB_LEN {
        return Err(Error::InvalidCiphertext);
    }
    if blob[0] != FORMAT_V1 {
        return Err(Error::InvalidCiphertext);
    }
    let multi_region = match blob[1] {
        KIND_SYMMETRIC => false,
        k if k == KIND_SYMMETRIC | KIND_FLAG_MULTI_REGION => true,
        _ => return Err(Error::InvalidCiphertext),
    };
    let (header_bytes, body) = blob.split_at(HEADER_LEN);
    let mut id = [0u8; 16];
    id.copy_from_slice(&header_bytes[2..18]);
    let mut version = [0u8; 4];
    version.copy_from_slice(&header_bytes[18..22]);
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&header_bytes[22..38]);
    let mut counter = [0u8; 8];
    counter.copy_from_slice(&header_bytes[38..46]);
    let version = u32::from_be_bytes(version);
    if version == 0 {
        return Err(Error::InvalidCiphertext);
    }
    Ok(Parsed {
        header: Header {
            key_id: KeyId::from_bytes(id, multi_region),
            version,
            salt,
            counter: u64::from_be_bytes(counter),
        },
        header_bytes,
        body,
    })
}

/// The HKDF info of a version 1 sub-key: `"trent v1" ‖ key id ‖ version`.
pub fn hkdf_info(key_id: &KeyId, version: u32) -> [u8; 8 + 16 + 4] {
    let mut info = [0u8; 28];
    info[..8].copy_from_slice(HKDF_INFO_V1);
    info[8..24].copy_from_slice(key_id.as_bytes());
    info[24..].copy_from_slice(&version.to_be_bytes());
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header { key_id: KeyId::new_random([9; 16]), version: 3, salt: [5; 16], counter: 0x0102_0304_0506_0708 }
    }

    #[test]
    fn header_layout() {
        let h = header();
        let bytes = h.encode();
        assert_eq!(bytes[0], 1);
        assert_eq!(bytes[1], 1);
        assert_eq!(&bytes[18..22], &[0, 0, 0, 3]);
        assert_eq!(&bytes[38..46], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(h.nonce(), [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        let mut blob = bytes.to_vec();
        blob.extend_from_slice(&[0u8; 17]);
        let parsed = parse(&blob).unwrap();
        assert_eq!(parsed.header, h);
        assert_eq!(parsed.body.len(), 17);
    }

    #[test]
    fn multi_region_flag() {
        let h = Header { key_id: KeyId::new_multi_region([1; 16]), ..header() };
        let mut blob = h.encode().to_vec();
        assert_eq!(blob[1], 0x81);
        blob.extend_from_slice(&[0u8; 17]);
        assert!(parse(&blob).unwrap().header.key_id.is_multi_region());
    }

    #[test]
    fn strict() {
        let mut blob = header().encode().to_vec();
        blob.extend_from_slice(&[0u8; 17]);
        for (i, b) in [(0usize, 2u8), (1, 0x02), (1, 0x41), (1, 0x00)] {
            let mut bad = blob.clone();
            bad[i] = b;
            assert_eq!(parse(&bad).unwrap_err(), Error::InvalidCiphertext);
        }
        assert_eq!(parse(&blob[..OVERHEAD]).unwrap_err(), Error::InvalidCiphertext);
        let mut zero_version = blob.clone();
        zero_version[18..22].copy_from_slice(&[0; 4]);
        assert_eq!(parse(&zero_version).unwrap_err(), Error::InvalidCiphertext);
        let long = vec![0u8; MAX_BLOB_LEN + 1];
        assert_eq!(parse(&long).unwrap_err(), Error::InvalidCiphertext);
    }
}
