//! trent-benches: criterion benches of the engine beside the raw primitives (see `benches/`).
//!
//! This library holds the raw baselines: the least work a KMS operation has to do with the
//! provider's AES-256-GCM and nothing else. Each one allocates its output, copies its input
//! into it and seals or opens in place under a pre-expanded [`AeadKey`], with the same 46-byte
//! AAD (a blob header) and the same counter nonce the engine uses. What the engine does on top
//! (resolving and authorizing the key, reserving a counter, locked memory, the response
//! strings) is what the ratio in the report measures.

use trent::ciphertext::{HEADER_LEN, Header, nonce_for};
use trent::crypto::{self, CryptoError, KEY_LEN, TAG_LEN};
use trent::danger::AeadKey;
use trent::id::KeyId;

/// Length of the AAD every baseline binds: one blob header, no encryption context.
pub const AAD_LEN: usize = HEADER_LEN;

/// Length of an AES-256 data key.
pub const DATA_KEY_LEN: usize = KEY_LEN;

/// A deterministic plaintext of `len` bytes.
pub fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(7)).collect()
}

/// A data key and its blob.
pub type RawDataKey = ([u8; DATA_KEY_LEN], Vec<u8>);

/// The raw primitive: one expanded AES-256-GCM key and a message counter.
pub struct RawSealer {
    key: AeadKey,
    header: Header,
}

impl RawSealer {
    /// A sealer under a fixed key (the key's value does not matter to the timing).
    pub fn new() -> Self {
        let key = AeadKey::new(&[0x42; KEY_LEN]).expect("a 32-byte key");
        let header = Header { key_id: KeyId::new_random([7; 16]), version: 1, salt: [9; 16], counter: 0 };
        Self { key, header }
    }

    /// Seals `plaintext` into a fresh `header ‖ ciphertext ‖ tag` vector, with the header as
    /// AAD and a nonce from the next counter: the work of Encrypt.
    #[inline]
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.header.counter = self.header.counter.wrapping_add(1);
        let header = self.header.encode();
        let mut blob = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        blob.extend_from_slice(&header);
        blob.extend_from_slice(plaintext);
        let tag =
            self.key.seal_in_place_separate_tag(nonce_for(self.header.counter), &header, &mut blob[HEADER_LEN..])?;
        blob.extend_from_slice(&tag);
        Ok(blob)
    }

    /// Opens a blob from [`RawSealer::seal`] into a fresh vector: the work of Decrypt.
    #[inline]
    pub fn open(&self, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if blob.len() < HEADER_LEN + TAG_LEN {
            return Err(CryptoError);
        }
        let (header, body) = blob.split_at(HEADER_LEN);
        let (ct, tag) = body.split_at(body.len() - TAG_LEN);
        let counter = u64::from_be_bytes(header[HEADER_LEN - 8..].try_into().map_err(|_| CryptoError)?);
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| CryptoError)?;
        let mut out = ct.to_vec();
        self.key.open_in_place_separate_tag(nonce_for(counter), header, tag, &mut out)?;
        Ok(out)
    }

    /// One data key: 32 bytes from the system RNG, sealed into a fresh blob: the work of
    /// GenerateDataKey.
    #[inline]
    pub fn data_key(&mut self) -> Result<RawDataKey, CryptoError> {
        let mut key = [0u8; DATA_KEY_LEN];
        crypto::fill_random(&mut key)?;
        let blob = self.seal(&key)?;
        Ok((key, blob))
    }

    /// `n` data keys, one RNG call each.
    pub fn data_keys_loop(&mut self, n: usize) -> Result<Vec<RawDataKey>, CryptoError> {
        (0..n).map(|_| self.data_key()).collect()
    }

    /// `n` data keys with the randomness for all of them drawn in one RNG call: the best case
    /// of a batch on one thread. Returns the keys back to back and one blob per key.
    pub fn data_keys_bulk(&mut self, n: usize) -> Result<(Vec<u8>, Vec<Vec<u8>>), CryptoError> {
        let mut keys = vec![0u8; n * DATA_KEY_LEN];
        crypto::fill_random(&mut keys)?;
        let blobs = keys.chunks_exact(DATA_KEY_LEN).map(|key| self.seal(key)).collect::<Result<_, _>>()?;
        Ok((keys, blobs))
    }
}

impl Default for RawSealer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_shape() {
        let mut raw = RawSealer::new();
        for len in [1usize, 32, 1024, 4096] {
            let pt = payload(len);
            let blob = raw.seal(&pt).unwrap();
            assert_eq!(blob.len(), trent::ciphertext::OVERHEAD + len);
            assert_eq!(raw.open(&blob).unwrap(), pt);
            let mut bad = blob.clone();
            bad[0] ^= 1; // the header is AAD
            assert!(raw.open(&bad).is_err());
        }
        let (keys, blobs) = raw.data_keys_bulk(3).unwrap();
        assert_eq!(keys.len(), 3 * DATA_KEY_LEN);
        for (key, blob) in keys.chunks_exact(DATA_KEY_LEN).zip(&blobs) {
            assert_eq!(raw.open(blob).unwrap(), key);
        }
        assert_eq!(raw.data_keys_loop(2).unwrap().len(), 2);
    }
}
