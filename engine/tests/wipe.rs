//! Plaintexts the engine is given or hands out on the ordinary heap are wiped once dropped:
//! an Encrypt request's and an encrypt batch item's plaintext ([`SecretVec`]), the JSON bodies
//! of `call_json` and of the responses' `to_json` that carry a plaintext in base64.
//!
//! After the calls, the test reads its own process's writable memory (`/proc/self/mem`: the
//! heap, anonymous mappings, data segments, other threads' stacks; not the main thread's
//! stack) and counts 64-byte pieces of the plaintext and of its base64: there must be none. It
//! is alone in its binary, and builds its inputs so that it leaves no copy of its own: the
//! pieces it looks for are kept XORed with a mask.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::FileExt as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use trent::secret::{SecretVec, wipe};
use trent::{CreateKeyRequest, DecryptRequest, EncryptBatchRequest, EncryptItem, EncryptRequest, Kms};

const MASK: u8 = 0xA5;
const LEN: usize = 4096;

/// The plaintext: pseudo-random bytes (SplitMix64 of the index), made straight into their own
/// buffer.
fn plaintext(seed: u64) -> Vec<u8> {
    (0..LEN as u64)
        .map(|i| {
            let mut z = seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

/// `bytes` masked, and `bytes` wiped.
fn masked(bytes: &mut [u8]) -> Vec<u8> {
    let out = bytes.iter().map(|b| b ^ MASK).collect();
    wipe(bytes);
    out
}

/// The pieces to look for: bytes 1000..1064 of the plaintext, and 64 characters of its base64
/// (those of bytes 1500..1548), masked.
fn needles(seed: u64) -> [Vec<u8>; 2] {
    let mut p = SecretVec::from(plaintext(seed));
    let mut text = [0u8; 64];
    STANDARD.encode_slice(&p.expose_secret()[1500..1548], &mut text).unwrap();
    [masked(&mut p.expose_secret_mut()[1000..1064]), masked(&mut text)]
}

/// The plaintext in base64, in a buffer of its own.
fn base64_of(p: &SecretVec) -> SecretVec {
    let mut text = SecretVec::new();
    text.resize(base64::encoded_len(p.len(), true).unwrap(), 0);
    STANDARD.encode_slice(p.expose_secret(), text.expose_secret_mut()).unwrap();
    text
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w.iter().zip(needle).all(|(h, n)| h ^ MASK == *n))
}

/// Counts pieces of plaintext in the process's writable memory, with buffers allocated up
/// front: a scan that allocated would reuse (and overwrite) freed blocks it should look into.
struct Scanner {
    maps: Vec<u8>,
    buf: Vec<u8>,
}

impl Scanner {
    fn new() -> Self {
        Self { maps: Vec::with_capacity(1 << 20), buf: vec![0; 1 << 20] }
    }

    /// How many times the unmasked `needle` occurs.
    fn count(&mut self, needle: &[u8]) -> usize {
        self.maps.clear();
        File::open("/proc/self/maps").unwrap().read_to_end(&mut self.maps).unwrap();
        assert!(self.maps.len() < self.maps.capacity(), "the maps fit");
        let mem = File::open("/proc/self/mem").unwrap();
        let overlap = needle.len() - 1;
        let mut count = 0;
        for line in std::str::from_utf8(&self.maps).unwrap().lines() {
            let mut f = line.split_whitespace();
            let (range, perms) = (f.next().unwrap(), f.next().unwrap());
            let name = f.nth(3).unwrap_or_default();
            if !perms.starts_with("rw") || name == "[stack]" || name.starts_with("[v") {
                continue;
            }
            let (start, end) = range.split_once('-').unwrap();
            let (mut at, end) = (u64::from_str_radix(start, 16).unwrap(), u64::from_str_radix(end, 16).unwrap());
            loop {
                let n = self.buf.len().min((end - at) as usize);
                if mem.read_exact_at(&mut self.buf[..n], at).is_err() {
                    break;
                }
                // Pieces that do not end in this read are counted with the next one, which
                // starts `overlap` bytes before this one ends.
                count += (0..n.saturating_sub(overlap))
                    .filter(|&i| contains(&self.buf[i..i + needle.len()], needle))
                    .count();
                if at + n as u64 == end {
                    break;
                }
                at += (n - overlap) as u64;
            }
        }
        count
    }

    /// Checks that neither needle is left in memory after `step`.
    fn check(&mut self, [raw, text]: &[Vec<u8>; 2], step: &str) {
        assert_eq!(self.count(raw), 0, "{step}: the plaintext is left in memory");
        assert_eq!(self.count(text), 0, "{step}: its base64 is left in memory");
    }
}

#[test]
fn engine_plaintexts_are_wiped_after_use() {
    let kms = Kms::open_in_memory().unwrap();
    let me = kms.root_caller();
    let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata.key_id;
    let mut scan = Scanner::new();
    let needles = needles(7);
    let text = &needles[1];

    // Encrypt: the request's plaintext.
    let blob = kms.encrypt(&me, &EncryptRequest::new(&key, plaintext(7))).unwrap().ciphertext_blob;
    scan.check(&needles, "Encrypt");
    // An encrypt batch: its items' plaintexts.
    let items = vec![EncryptItem { plaintext: plaintext(7).into(), ..Default::default() }];
    let batch = kms.encrypt_batch(&me, &EncryptBatchRequest { key_id: key.clone(), items, ..Default::default() });
    assert!(batch.unwrap().ciphertext_blobs[0].is_ok());
    scan.check(&needles, "EncryptBatch");

    // Decrypt through call_json and through `to_json`: bodies with the plaintext in base64.
    let request = format!(r#"{{"CiphertextBlob":"{}"}}"#, STANDARD.encode(&blob));
    let body = kms.call_json(&me, "Decrypt", request.as_bytes()).unwrap();
    assert!(contains(body.expose_secret(), text), "the needle is right");
    drop(body);
    scan.check(&needles, "call_json Decrypt");
    let resp = kms.decrypt(&me, &DecryptRequest::new(blob.clone())).unwrap();
    assert!(contains(resp.to_json().unwrap().expose_secret(), text));
    drop(resp);
    scan.check(&needles, "DecryptResponse::to_json");

    // Encrypt through call_json, from a request the test builds in a wiped buffer.
    let mut request = SecretVec::new();
    write!(request, r#"{{"KeyId":"{key}","Plaintext":""#).unwrap();
    request.extend_from_slice(base64_of(&SecretVec::from(plaintext(7))).expose_secret());
    request.extend_from_slice(br#""}"#);
    kms.call_json(&me, "Encrypt", request.expose_secret()).unwrap();
    drop(request);
    scan.check(&needles, "call_json Encrypt");
    drop(kms);
}
