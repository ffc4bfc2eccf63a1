//! The crypto provider seam: AES-256-GCM, HKDF-SHA256, SHA-256, HMAC-SHA256 and the system
//! RNG, from ring (the default, feature `ring`) or aws-lc-rs (feature `aws-lc`, which wins when
//! both are enabled).
//!
//! Everything else in the engine goes through this module, so switching the provider is a
//! matter of features. Both providers have the same API shape, so the code below is written
//! once against the `provider` alias. [`self_test`] is the power-on self-test the engine runs
//! before it touches any key.

use core::fmt;

#[cfg(feature = "aws-lc")]
use aws_lc_rs as provider;
#[cfg(all(feature = "ring", not(feature = "aws-lc")))]
use ring as provider;
#[cfg(not(any(feature = "ring", feature = "aws-lc")))]
compile_error!("trent needs a crypto provider: enable feature `ring` (default) or `aws-lc`");

use provider::rand::SecureRandom as _;
use provider::{aead, digest, hkdf, hmac, pbkdf2, rand};
use subtle::ConstantTimeEq as _;

/// Length in bytes of an AES-256-GCM key.
pub const KEY_LEN: usize = 32;
/// Length in bytes of an AES-GCM nonce (96 bits).
pub const NONCE_LEN: usize = 12;
/// Length in bytes of an AES-GCM tag (128 bits; shorter tags are not supported).
pub const TAG_LEN: usize = 16;

/// Output length of SHA-256 (and so the HKDF-SHA256 block).
const SHA256_LEN: usize = 32;
/// Largest output of HKDF-SHA256 (RFC 5869: 255 blocks).
const HKDF_SHA256_MAX_LEN: usize = 255 * SHA256_LEN;

/// The name of the crypto provider compiled in: `"ring"` or `"aws-lc-rs"`.
pub fn provider_name() -> &'static str {
    #[cfg(feature = "aws-lc")]
    {
        "aws-lc-rs"
    }
    #[cfg(not(feature = "aws-lc"))]
    {
        "ring"
    }
}

/// A cryptographic operation failed. Deliberately opaque: in particular, a failed open says
/// nothing about why (wrong key, nonce, AAD or tag, or a malformed input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoError;

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cryptographic operation failed")
    }
}

impl std::error::Error for CryptoError {}

/// An AES-256-GCM key, expanded once (key schedule and GHASH table) for repeated use.
///
/// The caller chooses the nonce of every seal and must never reuse one under the same key;
/// that is why this type is re-exported from `danger`. `Debug` prints no key content.
pub struct AeadKey {
    key: aead::LessSafeKey,
}

impl AeadKey {
    /// Expands a 32-byte AES-256 key. Any other length is an error.
    pub fn new(key: &[u8]) -> Result<AeadKey, CryptoError> {
        if key.len() != KEY_LEN {
            return Err(CryptoError);
        }
        let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, key).map_err(|_| CryptoError)?;
        Ok(AeadKey { key: aead::LessSafeKey::new(unbound) })
    }

    /// Encrypts `in_out` in place and appends the 16-byte tag to it.
    ///
    /// `nonce` must be unique for this key.
    #[inline]
    pub fn seal_in_place_append_tag(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        self.key
            .seal_in_place_append_tag(aead::Nonce::assume_unique_for_key(nonce), aead::Aad::from(aad), in_out)
            .map_err(|_| CryptoError)
    }

    /// Encrypts `in_out` in place and returns the 16-byte tag.
    ///
    /// `nonce` must be unique for this key.
    #[inline]
    pub fn seal_in_place_separate_tag(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let tag = self
            .key
            .seal_in_place_separate_tag(aead::Nonce::assume_unique_for_key(nonce), aead::Aad::from(aad), in_out)
            .map_err(|_| CryptoError)?;
        <[u8; TAG_LEN]>::try_from(tag.as_ref()).map_err(|_| CryptoError)
    }

    /// Authenticates and decrypts `in_out` = ciphertext ‖ tag in place, and returns the
    /// plaintext, a prefix of `in_out`. On failure the content of `in_out` is unspecified
    /// (never plaintext that failed to authenticate, but not the ciphertext either).
    #[inline]
    pub fn open_in_place<'a>(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &'a mut [u8],
    ) -> Result<&'a mut [u8], CryptoError> {
        self.key
            .open_in_place(aead::Nonce::assume_unique_for_key(nonce), aead::Aad::from(aad), in_out)
            .map_err(|_| CryptoError)
    }

    /// Authenticates and decrypts the ciphertext `in_out` in place with the tag given
    /// separately, so the plaintext fills `in_out` exactly. On failure the content of `in_out`
    /// is unspecified.
    #[inline]
    pub fn open_in_place_separate_tag(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        tag: &[u8; TAG_LEN],
        in_out: &mut [u8],
    ) -> Result<(), CryptoError> {
        let nonce = aead::Nonce::assume_unique_for_key(nonce);
        #[cfg(feature = "aws-lc")]
        let opened = self.key.open_in_place_separate_tag(nonce, aead::Aad::from(aad), tag, in_out);
        #[cfg(not(feature = "aws-lc"))]
        let opened =
            self.key.open_in_place_separate_tag(nonce, aead::Aad::from(aad), aead::Tag::from(*tag), in_out, 0..);
        opened.map(|_| ()).map_err(|_| CryptoError)
    }
}

impl fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AeadKey").field("algorithm", &"AES-256-GCM").finish_non_exhaustive()
    }
}

/// An HKDF output length, as the provider's `hkdf::KeyType` wants it.
struct OkmLen(usize);

impl hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 (RFC 5869): extract with `salt` from `ikm`, then expand with `info` (the
/// concatenation of the pieces, which the caller must encode unambiguously) to fill `out`.
///
/// `out` may be at most 255 × 32 = 8160 bytes long; an empty `out` is trivially filled.
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), CryptoError> {
    if out.len() > HKDF_SHA256_MAX_LEN {
        return Err(CryptoError);
    }
    if out.is_empty() {
        return Ok(());
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    prk.expand(info, OkmLen(out.len())).and_then(|okm| okm.fill(out)).map_err(|_| CryptoError)
}

/// PBKDF2-HMAC-SHA256 (RFC 8018) of `secret` with `salt` and `iterations` rounds, filling
/// `out`. Zero iterations is an error.
pub fn pbkdf2_hmac_sha256(iterations: u32, salt: &[u8], secret: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
    let iterations = core::num::NonZeroU32::new(iterations).ok_or(CryptoError)?;
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, secret, out);
    Ok(())
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; SHA256_LEN];
    // A SHA-256 digest is always 32 bytes, so the lengths match.
    out.copy_from_slice(digest.as_ref());
    out
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    HmacKey::new(key).sign(&[data])
}

/// An HMAC-SHA256 key, prepared once (the padded key's digest states) for repeated use.
/// `Debug` prints no key content.
pub struct HmacKey {
    key: hmac::Key,
}

impl HmacKey {
    /// Prepares `key` (any length, as HMAC allows).
    pub fn new(key: &[u8]) -> HmacKey {
        HmacKey { key: hmac::Key::new(hmac::HMAC_SHA256, key) }
    }

    /// HMAC-SHA256 of the concatenation of the pieces of `data` (which the caller must encode
    /// unambiguously).
    pub fn sign(&self, data: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        for piece in data {
            ctx.update(piece);
        }
        let mut out = [0u8; SHA256_LEN];
        // An HMAC-SHA256 tag is always 32 bytes, so the lengths match.
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Whether `tag` is the HMAC-SHA256 of the pieces of `data`, compared in constant time.
    pub fn verify(&self, data: &[&[u8]], tag: &[u8]) -> bool {
        ct_eq(&self.sign(data), tag)
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKey").field("algorithm", &"HMAC-SHA256").finish_non_exhaustive()
    }
}

/// Fills `out` from the provider's system RNG (the OS CSPRNG), in one call whatever its length.
///
/// On aws-lc-rs the call holds off `fork()` ([`hold_off`](crate::secret::fork)): AWS-LC's
/// random generator takes a process-wide read-write lock (its fork-detection state) on every
/// call and, in a `fork()`ed child, the same lock for writing on the first call. A child forked
/// while another thread of the parent was inside the generator would inherit the lock held for
/// reading by a thread that does not exist there and wait forever on its first random bytes.
/// ring's generator is a bare `getrandom` system call, with no lock to inherit.
pub fn fill_random(out: &mut [u8]) -> Result<(), CryptoError> {
    #[cfg(feature = "aws-lc")]
    let _no_fork = crate::secret::fork::hold_off();
    rand::SystemRandom::new().fill(out).map_err(|_| CryptoError)
}

/// Compares `a` and `b` in time that depends only on their lengths (not on their content).
/// Slices of different lengths are unequal.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The power-on self-test failed; `test` names the known-answer or health test that did (one
/// of `"aes-256-gcm-seal"`, `"aes-256-gcm-open"`, `"aes-256-gcm-tag"`, `"hkdf-sha256"`,
/// `"sha256"`, `"hmac-sha256"`, `"rng"`). Carries no key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfTestError {
    /// The name of the test that failed.
    pub test: &'static str,
}

impl fmt::Display for SelfTestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "power-on self-test failed: {}", self.test)
    }
}

impl std::error::Error for SelfTestError {}

/// Power-on self-test, in the manner of FIPS 140: known answers for AES-256-GCM seal and open
/// (with AAD; a flipped tag bit and a changed AAD must not open), HKDF-SHA256, SHA-256 and
/// HMAC-SHA256, and a health check of the system RNG (two 32-byte draws differ and are not
/// zero; a continuous test that no 16-byte block equals the one before).
///
/// Returns the first test that failed. Run it before the engine uses any key.
pub fn self_test() -> Result<(), SelfTestError> {
    self_test_with_rng(fill_random)
}

/// [`self_test`] with the RNG health check run against `fill` instead of the system RNG, so
/// that a test can feed a broken generator. Not for production use.
#[doc(hidden)]
pub fn self_test_with_rng(fill: impl FnMut(&mut [u8]) -> Result<(), CryptoError>) -> Result<(), SelfTestError> {
    kat_aes_256_gcm()?;
    kat_hkdf_sha256()?;
    kat_sha256()?;
    kat_hmac_sha256()?;
    rng_health(fill)
}

/// Decodes lowercase hex at compile time (the known answers below are `const`, so a malformed
/// constant is a build error, not a runtime panic).
const fn unhex<const N: usize>(hex: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lowercase hex"),
        }
    }
    let hex = hex.as_bytes();
    assert!(hex.len() == 2 * N, "hex length does not match the array");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]);
        i += 1;
    }
    out
}

// NIST CAVP gcmEncryptExtIV256.rsp, [Keylen = 256] [IVlen = 96] [PTlen = 408] [AADlen = 160]
// [Taglen = 128], Count = 0: a partial final block and AAD that is not a whole block.
const GCM_KEY: [u8; KEY_LEN] = unhex("24501ad384e473963d476edcfe08205237acfd49b5b8f33857f8114e863fec7f");
const GCM_NONCE: [u8; NONCE_LEN] = unhex("9ff18563b978ec281b3f2794");
const GCM_PT: [u8; 51] =
    unhex("27f348f9cdc0c5bd5e66b1ccb63ad920ff2219d14e8d631b3872265cf117ee86757accb158bd9abb3868fdc0d0b074b5f01b2c");
const GCM_AAD: [u8; 20] = unhex("adb5ec720ccf9898500028bf34afccbcaca126ef");
const GCM_CT: [u8; 51] =
    unhex("eb7cb754c824e8d96f7c6d9b76c7d26fb874ffbf1d65c6f64a698d839b0b06145dae82057ad55994cf59ad7f67c0fa5e85fab8");
const GCM_TAG: [u8; TAG_LEN] = unhex("bc95c532fecc594c36d1550286a7a3f0");

fn kat_aes_256_gcm() -> Result<(), SelfTestError> {
    const SEAL: SelfTestError = SelfTestError { test: "aes-256-gcm-seal" };
    const OPEN: SelfTestError = SelfTestError { test: "aes-256-gcm-open" };
    const TAG: SelfTestError = SelfTestError { test: "aes-256-gcm-tag" };
    let key = AeadKey::new(&GCM_KEY).map_err(|_| SEAL)?;

    // Seal, tag appended.
    let mut sealed = Vec::with_capacity(GCM_PT.len() + TAG_LEN);
    sealed.extend_from_slice(&GCM_PT);
    key.seal_in_place_append_tag(GCM_NONCE, &GCM_AAD, &mut sealed).map_err(|_| SEAL)?;
    let (ct, tag) = sealed.split_at(GCM_CT.len());
    if ct != GCM_CT || tag != GCM_TAG {
        return Err(SEAL);
    }
    // Seal, tag separate.
    let mut buf = GCM_PT;
    let tag = key.seal_in_place_separate_tag(GCM_NONCE, &GCM_AAD, &mut buf).map_err(|_| SEAL)?;
    if buf != GCM_CT || tag != GCM_TAG {
        return Err(SEAL);
    }

    // Open the known answer.
    let mut known = [0u8; 51 + TAG_LEN];
    known[..GCM_CT.len()].copy_from_slice(&GCM_CT);
    known[GCM_CT.len()..].copy_from_slice(&GCM_TAG);
    let mut buf = known;
    let pt = key.open_in_place(GCM_NONCE, &GCM_AAD, &mut buf).map_err(|_| OPEN)?;
    if *pt != GCM_PT {
        return Err(OPEN);
    }

    // A flipped tag bit and a changed AAD must both fail to open.
    let mut buf = known;
    buf[GCM_CT.len()] ^= 0x01;
    if key.open_in_place(GCM_NONCE, &GCM_AAD, &mut buf).is_ok() {
        return Err(TAG);
    }
    let mut buf = known;
    if key.open_in_place(GCM_NONCE, &GCM_AAD[1..], &mut buf).is_ok() {
        return Err(TAG);
    }
    Ok(())
}

// RFC 5869, A.1 (test case 1, SHA-256).
const HKDF_IKM: [u8; 22] = [0x0b; 22];
const HKDF_SALT: [u8; 13] = unhex("000102030405060708090a0b0c");
const HKDF_INFO: [u8; 10] = unhex("f0f1f2f3f4f5f6f7f8f9");
const HKDF_OKM: [u8; 42] =
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");

fn kat_hkdf_sha256() -> Result<(), SelfTestError> {
    const FAIL: SelfTestError = SelfTestError { test: "hkdf-sha256" };
    let mut okm = [0u8; 42];
    // The info in two pieces, to check that they are concatenated.
    let (info_a, info_b) = HKDF_INFO.split_at(4);
    hkdf_sha256(&HKDF_SALT, &HKDF_IKM, &[info_a, info_b], &mut okm).map_err(|_| FAIL)?;
    if okm != HKDF_OKM {
        return Err(FAIL);
    }
    Ok(())
}

// FIPS 180-2, appendix B.1: SHA-256("abc").
const SHA256_ABC: [u8; 32] = unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

fn kat_sha256() -> Result<(), SelfTestError> {
    if sha256(b"abc") != SHA256_ABC {
        return Err(SelfTestError { test: "sha256" });
    }
    Ok(())
}

// RFC 4231, test case 2.
const HMAC_SHA256_JEFE: [u8; 32] = unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

fn kat_hmac_sha256() -> Result<(), SelfTestError> {
    if hmac_sha256(b"Jefe", b"what do ya want for nothing?") != HMAC_SHA256_JEFE {
        return Err(SelfTestError { test: "hmac-sha256" });
    }
    Ok(())
}

/// Block size of the continuous RNG test.
const RNG_BLOCK: usize = 16;
/// Number of blocks drawn (in one call) for the continuous RNG test.
const RNG_BLOCKS: usize = 8;

fn rng_health(mut fill: impl FnMut(&mut [u8]) -> Result<(), CryptoError>) -> Result<(), SelfTestError> {
    const FAIL: SelfTestError = SelfTestError { test: "rng" };
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    fill(&mut a).map_err(|_| FAIL)?;
    fill(&mut b).map_err(|_| FAIL)?;
    // These draws are discarded, so comparing them in variable time leaks nothing.
    if a == b || a == [0u8; 32] || b == [0u8; 32] {
        return Err(FAIL);
    }
    // Continuous test: no block equals the block drawn just before it (the first one is
    // compared with the end of the previous draw).
    let mut blocks = [0u8; RNG_BLOCK * RNG_BLOCKS];
    fill(&mut blocks).map_err(|_| FAIL)?;
    let mut previous = &b[b.len() - RNG_BLOCK..];
    for block in blocks.chunks_exact(RNG_BLOCK) {
        if block == previous {
            return Err(FAIL);
        }
        previous = block;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_known_answer() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256, P = "passwd", S = "salt", c = 1, dkLen = 64.
        let mut out = [0u8; 64];
        pbkdf2_hmac_sha256(1, b"salt", b"passwd", &mut out).unwrap();
        assert_eq!(
            hex::encode(out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        assert!(pbkdf2_hmac_sha256(0, b"salt", b"passwd", &mut out).is_err());
    }

    const fn assert_send_sync<T: Send + Sync>() {}
    const _: () = assert_send_sync::<AeadKey>();
    const _: () = assert_send_sync::<HmacKey>();

    #[test]
    fn hmac_key_pieces_concatenate_and_verify() {
        // RFC 4231, test case 2, the message in three pieces.
        let key = HmacKey::new(b"Jefe");
        let tag = key.sign(&[b"what do ya ", b"", b"want for nothing?"]);
        assert_eq!(tag, HMAC_SHA256_JEFE);
        assert!(key.verify(&[b"what do ya want for nothing?"], &tag));
        assert!(!key.verify(&[b"what do ya want for nothing!"], &tag));
        assert!(!key.verify(&[b"what do ya want for nothing?"], &tag[..31]));
        assert_eq!(format!("{key:?}"), "HmacKey { algorithm: \"HMAC-SHA256\", .. }");
    }

    #[test]
    fn self_test_passes() {
        assert_eq!(self_test(), Ok(()));
    }

    #[test]
    fn provider_name_matches_features() {
        let expected = if cfg!(feature = "aws-lc") { "aws-lc-rs" } else { "ring" };
        assert_eq!(provider_name(), expected);
    }

    #[test]
    fn errors_display() {
        assert_eq!(CryptoError.to_string(), "cryptographic operation failed");
        assert_eq!(SelfTestError { test: "rng" }.to_string(), "power-on self-test failed: rng");
    }

    #[test]
    fn key_length_is_checked() {
        assert!(AeadKey::new(&[7u8; 31]).is_err());
        assert!(AeadKey::new(&[7u8; 33]).is_err());
        assert!(AeadKey::new(&[]).is_err());
        assert!(AeadKey::new(&[7u8; 16]).is_err()); // no AES-128 through this type
        assert!(AeadKey::new(&[7u8; KEY_LEN]).is_ok());
    }

    #[test]
    fn debug_shows_no_key() {
        let key = AeadKey::new(&[0xab; KEY_LEN]).unwrap();
        let s = format!("{key:?}");
        assert_eq!(s, "AeadKey { algorithm: \"AES-256-GCM\", .. }");
    }

    #[test]
    fn round_trip_both_seal_forms() {
        let key = AeadKey::new(&[1u8; KEY_LEN]).unwrap();
        let nonce = [2u8; NONCE_LEN];
        for len in [0usize, 1, 15, 16, 17, 255, 4096] {
            let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut a = pt.clone();
            key.seal_in_place_append_tag(nonce, b"aad", &mut a).unwrap();
            assert_eq!(a.len(), len + TAG_LEN);
            let mut b = pt.clone();
            let tag = key.seal_in_place_separate_tag(nonce, b"aad", &mut b).unwrap();
            assert_eq!(&a[..len], &b[..]);
            assert_eq!(&a[len..], &tag[..]);
            let opened = key.open_in_place(nonce, b"aad", &mut a).unwrap();
            assert_eq!(opened, &pt[..]);
        }
    }

    #[test]
    fn open_rejects_tampering_and_short_input() {
        let key = AeadKey::new(&[1u8; KEY_LEN]).unwrap();
        let nonce = [2u8; NONCE_LEN];
        let mut sealed = b"hello".to_vec();
        key.seal_in_place_append_tag(nonce, b"", &mut sealed).unwrap();
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x80;
            assert_eq!(key.open_in_place(nonce, b"", &mut t), Err(CryptoError));
        }
        let mut other_nonce = sealed.clone();
        assert!(key.open_in_place([3u8; NONCE_LEN], b"", &mut other_nonce).is_err());
        let mut other_aad = sealed.clone();
        assert!(key.open_in_place(nonce, b"x", &mut other_aad).is_err());
        for len in 0..TAG_LEN {
            let mut short = vec![0u8; len];
            assert!(key.open_in_place(nonce, b"", &mut short).is_err());
        }
    }

    #[test]
    fn hkdf_lengths() {
        let mut max = vec![0u8; 255 * 32];
        hkdf_sha256(b"salt", b"ikm", &[b"info"], &mut max).unwrap();
        let mut too_long = vec![0u8; 255 * 32 + 1];
        assert_eq!(hkdf_sha256(b"salt", b"ikm", &[b"info"], &mut too_long), Err(CryptoError));
        hkdf_sha256(b"salt", b"ikm", &[b"info"], &mut []).unwrap();
        // Outputs are prefixes of each other, and info pieces concatenate.
        let mut short = [0u8; 40];
        hkdf_sha256(b"salt", b"ikm", &[b"in", b"", b"fo"], &mut short).unwrap();
        assert_eq!(&short[..], &max[..40]);
    }

    // RFC 5869 A.3: zero-length salt and info.
    #[test]
    fn hkdf_rfc5869_case_3() {
        let mut okm = [0u8; 42];
        hkdf_sha256(&[], &[0x0b; 22], &[], &mut okm).unwrap();
        let expected: [u8; 42] =
            unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
        assert_eq!(okm, expected);
    }

    #[test]
    fn ct_eq_semantics() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn fill_random_fills_whole_buffer() {
        let mut big = vec![0u8; 1 << 16];
        fill_random(&mut big).unwrap();
        // 64 KiB of zeros in the last 1 KiB would mean the buffer was only partly filled.
        assert!(big[big.len() - 1024..].iter().any(|&b| b != 0));
    }

    #[test]
    fn rng_health_failures() {
        let zeros = |b: &mut [u8]| {
            b.fill(0);
            Ok(())
        };
        assert_eq!(rng_health(zeros), Err(SelfTestError { test: "rng" }));
        let constant = |b: &mut [u8]| {
            b.fill(0x5a);
            Ok(())
        };
        assert_eq!(rng_health(constant), Err(SelfTestError { test: "rng" }));
        let failing = |_: &mut [u8]| Err(CryptoError);
        assert_eq!(rng_health(failing), Err(SelfTestError { test: "rng" }));
        // Draws that differ but repeat a 16-byte block inside the continuous test.
        let mut n = 0u8;
        let stuck_blocks = move |b: &mut [u8]| {
            n += 1;
            if b.len() == 32 {
                b.fill(n);
            } else {
                b.fill(0x77);
            }
            Ok(())
        };
        assert_eq!(rng_health(stuck_blocks), Err(SelfTestError { test: "rng" }));
        // The first continuous block repeating the end of the previous draw.
        let mut n = 0u8;
        let repeats_previous = move |b: &mut [u8]| {
            n += 1;
            if b.len() == 32 {
                b.fill(n);
            } else {
                for (i, block) in b.chunks_mut(RNG_BLOCK).enumerate() {
                    block.fill(if i == 0 { 2 } else { 100 + i as u8 });
                }
            }
            Ok(())
        };
        assert_eq!(rng_health(repeats_previous), Err(SelfTestError { test: "rng" }));
        // A counter passes (the health test is not a statistical test).
        let mut n = 0u8;
        let counter = move |b: &mut [u8]| {
            for x in b.iter_mut() {
                n = n.wrapping_add(1);
                *x = n;
            }
            Ok(())
        };
        assert_eq!(rng_health(counter), Ok(()));
    }

    #[test]
    fn unhex_decodes() {
        assert_eq!(unhex::<3>("00ff7a"), [0x00, 0xff, 0x7a]);
    }
}
