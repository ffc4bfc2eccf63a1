//! The streaming envelope format: round trips around chunk boundaries, and every kind of
//! tampering (swapped, dropped, duplicated chunks, truncation, extension, header edits) fails
//! with a clear error and no plaintext output. Runs on whichever crypto provider the build
//! has (ring by default, aws-lc-rs with `--features aws-lc`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use trent::envelope::{self, DecryptOptions, EncryptOptions, EnvelopeError, MIN_CHUNK_SIZE};
use trent::{Caller, CreateKeyRequest, EncryptionContext, Kms};

const CHUNK: usize = MIN_CHUNK_SIZE; // 1 KiB chunks keep the cases small
const TAG: usize = 16;

fn engine() -> (Kms, Caller, String) {
    let kms = Kms::open_in_memory().unwrap();
    let me = kms.root_caller();
    let key = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata;
    (kms, me, key.key_id)
}

fn ctx() -> EncryptionContext {
    [("purpose".to_string(), "test".to_string())].into()
}

fn seal(kms: &Kms, me: &Caller, key: &str, data: &[u8], batch: Option<usize>) -> Vec<u8> {
    let opts = EncryptOptions { chunk_size: CHUNK, encryption_context: ctx(), batch_chunks: batch, progress: None };
    let mut out = Vec::new();
    envelope::encrypt(kms, me, key, &opts, data, &mut out).unwrap();
    out
}

fn open(kms: &Kms, me: &Caller, sealed: &[u8], batch: Option<usize>) -> Result<Vec<u8>, EnvelopeError> {
    let opts = DecryptOptions { batch_chunks: batch, ..Default::default() };
    let mut out = Vec::new();
    envelope::decrypt(kms, me, &opts, sealed, &mut out).map(|_| out)
}

fn open_in_memory(kms: &Kms, me: &Caller, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let mut out = vec![1u8; 3];
    match envelope::decrypt_into(kms, me, &DecryptOptions::default(), sealed, &mut out) {
        Ok(_) => Ok(out),
        Err(e) => {
            assert!(out.is_empty(), "decrypt_into left output after {e:?}");
            Err(e)
        }
    }
}

/// The header's length: the file minus the chunks.
fn header_len(sealed: &[u8], plaintext_len: usize) -> usize {
    let chunks = plaintext_len.div_ceil(CHUNK).max(1);
    sealed.len() - plaintext_len - chunks * TAG
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn round_trips_at_chunk_boundaries() {
    let (kms, me, key) = engine();
    for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 7 * CHUNK + 3, 40 * CHUNK] {
        for batch in [Some(1), Some(3), None] {
            let plain = data(len);
            let sealed = seal(&kms, &me, &key, &plain, batch);
            assert_eq!(sealed.len(), header_len(&sealed, len) + len + len.div_ceil(CHUNK).max(1) * TAG);
            // Decryption does not depend on the batch size used for encryption.
            for dbatch in [Some(1), Some(2), None] {
                assert_eq!(open(&kms, &me, &sealed, dbatch).unwrap(), plain, "len {len}");
            }
            // The in-memory functions read and write the same format.
            assert_eq!(open_in_memory(&kms, &me, &sealed).unwrap(), plain, "len {len}");
            let opts = EncryptOptions { chunk_size: CHUNK, encryption_context: ctx(), ..Default::default() };
            let in_memory = envelope::encrypt_to_vec(&kms, &me, &key, &opts, &plain).unwrap();
            assert_eq!(in_memory.len(), sealed.len());
            assert_eq!(open(&kms, &me, &in_memory, batch).unwrap(), plain, "len {len}");
        }
    }
}

#[test]
fn summary_and_header() {
    let (kms, me, key) = engine();
    let plain = data(5 * CHUNK + 1);
    let sealed = seal(&kms, &me, &key, &plain, None);
    let header = envelope::Header::read_from(&mut &sealed[..]).unwrap();
    assert_eq!(header.chunk_size, CHUNK);
    assert_eq!(header.encryption_context, ctx());
    assert!(header.key_arn.ends_with(&key));
    let mut out = Vec::new();
    let s = envelope::decrypt(&kms, &me, &DecryptOptions::default(), &sealed[..], &mut out).unwrap();
    assert_eq!((s.plaintext_bytes, s.chunks, s.key_arn), (plain.len() as u64, 6, header.key_arn));
}

#[test]
fn options_are_checked() {
    let (kms, me, key) = engine();
    let mut out = Vec::new();
    let opts = EncryptOptions { chunk_size: 10, ..Default::default() };
    assert!(matches!(
        envelope::encrypt(&kms, &me, &key, &opts, &b"x"[..], &mut out),
        Err(EnvelopeError::InvalidArgument(_))
    ));
    let sealed = seal(&kms, &me, &key, b"abc", None);
    let wrong: EncryptionContext = [("purpose".to_string(), "other".to_string())].into();
    let opts = DecryptOptions { encryption_context: Some(wrong), ..Default::default() };
    assert!(matches!(
        envelope::decrypt(&kms, &me, &opts, &sealed[..], &mut out),
        Err(EnvelopeError::InvalidArgument(_))
    ));
    // Another key named as the expected one: the engine refuses to decrypt the data key.
    let other = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata;
    let opts = DecryptOptions { key_id: Some(other.key_id), ..Default::default() };
    assert!(matches!(envelope::decrypt(&kms, &me, &opts, &sealed[..], &mut out), Err(EnvelopeError::Kms(_))));
    assert!(out.is_empty());
}

#[test]
fn a_disabled_key_stops_decryption() {
    let (kms, me, key) = engine();
    let sealed = seal(&kms, &me, &key, b"secret", None);
    kms.disable_key(&me, &trent::KeyIdRequest::new(&key)).unwrap();
    match open(&kms, &me, &sealed, None) {
        Err(EnvelopeError::Kms(e)) => assert_eq!(e.name(), "DisabledException"),
        other => panic!("{other:?}"),
    }
}

/// Splits a sealed file into its header and its chunks.
fn split(sealed: &[u8], len: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let h = header_len(sealed, len);
    let chunks = sealed[h..].chunks(CHUNK + TAG).map(<[u8]>::to_vec).collect();
    (sealed[..h].to_vec(), chunks)
}

fn join(header: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = header.to_vec();
    for c in chunks {
        out.extend_from_slice(c);
    }
    out
}

#[test]
fn tampering_with_chunks_fails_with_no_output() {
    let (kms, me, key) = engine();
    let len = 4 * CHUNK + 100; // 5 chunks, the last one short
    let plain = data(len);
    let sealed = seal(&kms, &me, &key, &plain, None);
    let (header, chunks) = split(&sealed, len);
    let full = 4 * CHUNK; // 4 full chunks: the file cut at a chunk boundary
    let full_sealed = seal(&kms, &me, &key, &plain[..full], None);
    let (fheader, fchunks) = split(&full_sealed, full);

    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut swapped = chunks.clone();
    swapped.swap(1, 2);
    cases.push(("swap", join(&header, &swapped)));
    let mut dropped = chunks.clone();
    dropped.remove(1);
    cases.push(("drop a middle chunk", join(&header, &dropped)));
    let mut dup = chunks.clone();
    dup.insert(2, chunks[1].clone());
    cases.push(("duplicate a chunk", join(&header, &dup)));
    cases.push(("drop the final chunk", join(&header, &chunks[..4])));
    cases.push(("truncate at a boundary", join(&fheader, &fchunks[..3])));
    cases.push(("truncate inside a chunk", sealed[..sealed.len() - 7].to_vec()));
    cases.push(("truncate inside a tag", sealed[..sealed.len() - 100 - 10].to_vec()));
    cases.push(("header only", header.clone()));
    let mut extended = sealed.clone();
    extended.extend_from_slice(&chunks[0]);
    cases.push(("extend with a chunk", extended));
    let mut appended = full_sealed.clone();
    appended.push(0);
    cases.push(("append a byte", appended));
    let mut dup_final = fchunks.clone();
    dup_final.push(fchunks[3].clone());
    cases.push(("duplicate the final chunk", join(&fheader, &dup_final)));
    let mut flipped = sealed.clone();
    let at = header.len() + CHUNK / 2;
    flipped[at] ^= 1;
    cases.push(("flip a ciphertext bit", flipped));

    for (name, bad) in cases {
        for batch in [Some(1), None] {
            let mut out = Vec::new();
            let opts = DecryptOptions { batch_chunks: batch, ..Default::default() };
            let err = envelope::decrypt(&kms, &me, &opts, &bad[..], &mut out).expect_err(name);
            assert!(is_damage(&err), "{name}: {err:?}");
            // With one batch for the whole file, nothing is written; with one chunk per batch,
            // only chunks before the damage, which authenticated, are.
            if batch.is_none() {
                assert!(out.is_empty(), "{name}: plaintext was written");
            } else {
                assert!(plain.starts_with(&out), "{name}: unauthenticated output");
            }
            assert!(!err.to_string().is_empty());
        }
        let err = open_in_memory(&kms, &me, &bad).expect_err(name);
        assert!(is_damage(&err), "{name} in memory: {err:?}");
    }
    let err = open_in_memory(&kms, &me, &join(&fheader, &fchunks[..3])).unwrap_err();
    assert!(matches!(err, EnvelopeError::Truncated { chunks: 3 }), "{err:?}");
    // Truncation at a chunk boundary is named as such.
    let err = open(&kms, &me, &join(&fheader, &fchunks[..3]), None).unwrap_err();
    assert!(matches!(err, EnvelopeError::Truncated { chunks: 3 }), "{err:?}");
    assert!(err.to_string().contains("truncated"));
}

fn is_damage(err: &EnvelopeError) -> bool {
    matches!(
        err,
        EnvelopeError::ChunkAuthentication { .. }
            | EnvelopeError::Truncated { .. }
            | EnvelopeError::TruncatedInChunk { .. }
    )
}

/// Every way of reading a damaged file: streaming with one chunk per batch and with the
/// default batches, and in memory; all must give the same error.
fn open_every_way(kms: &Kms, me: &Caller, sealed: &[u8]) -> EnvelopeError {
    let errors: Vec<EnvelopeError> = [Some(1), None]
        .into_iter()
        .map(|batch| open(kms, me, sealed, batch).unwrap_err())
        .chain([open_in_memory(kms, me, sealed).unwrap_err()])
        .collect();
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(texts.iter().all(|t| t == &texts[0]), "{texts:?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn a_cut_inside_a_chunk_says_truncated() {
    let (kms, me, key) = engine();
    let len = 4 * CHUNK + 100; // 5 chunks, the final one 100 bytes
    let sealed = seal(&kms, &me, &key, &data(len), None);
    let end = sealed.len();
    let truncated_in = |index: u64, err: &EnvelopeError| {
        assert!(matches!(err, EnvelopeError::TruncatedInChunk { index: i } if *i == index), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("the envelope file is truncated"), "{text}");
        assert!(text.contains(&format!("ends inside chunk {index}")), "{text}");
    };
    // Inside the final chunk: in its body, in its tag, leaving only a tag's worth of it.
    for cut in [1, 7, 16, 50, 100] {
        truncated_in(4, &open_every_way(&kms, &me, &sealed[..end - cut]));
    }
    // Inside a whole chunk before it.
    let chunk_3 = end - 116 - (CHUNK + TAG);
    for keep in [TAG, TAG + 1, CHUNK / 2, CHUNK + TAG - 1] {
        truncated_in(3, &open_every_way(&kms, &me, &sealed[..chunk_3 + keep]));
    }
    // Less than a tag: a cut, named as one too.
    let err = open_every_way(&kms, &me, &sealed[..chunk_3 + 5]);
    assert!(matches!(err, EnvelopeError::Truncated { chunks: 3 }), "{err:?}");
    // A short final chunk that was modified looks the same, and the message says so; a whole
    // final chunk that was modified is not taken for a cut.
    let mut flipped = sealed.clone();
    flipped[end - 50] ^= 1;
    let err = open_every_way(&kms, &me, &flipped);
    truncated_in(4, &err);
    assert!(err.to_string().contains("or its last chunk was modified"), "{err}");
    let whole = seal(&kms, &me, &key, &data(3 * CHUNK), None);
    let mut flipped = whole.clone();
    let at = whole.len() - 50;
    flipped[at] ^= 1;
    let err = open_every_way(&kms, &me, &flipped);
    assert!(matches!(err, EnvelopeError::ChunkAuthentication { index: 2 }), "{err:?}");
}

#[test]
fn editing_the_header_fails_before_any_chunk() {
    let (kms, me, key) = engine();
    let len = 3 * CHUNK;
    let plain = data(len);
    let sealed = seal(&kms, &me, &key, &plain, None);
    let h = header_len(&sealed, len);
    for i in 0..h {
        let mut bad = sealed.clone();
        bad[i] ^= 0x40;
        let mut out = Vec::new();
        let err = envelope::decrypt(&kms, &me, &DecryptOptions::default(), &bad[..], &mut out).unwrap_err();
        assert!(out.is_empty(), "byte {i}");
        assert!(
            matches!(
                err,
                EnvelopeError::NotEnvelope
                    | EnvelopeError::Unsupported { .. }
                    | EnvelopeError::MalformedHeader(_)
                    | EnvelopeError::HeaderAuthentication
                    | EnvelopeError::Kms(_)
            ),
            "byte {i}: {err:?}"
        );
    }
    // Another file's header on these chunks: the chunks do not open.
    let other = seal(&kms, &me, &key, &plain, None);
    let mut mixed = other[..h].to_vec();
    mixed.extend_from_slice(&sealed[h..]);
    let err = open(&kms, &me, &mixed, None).unwrap_err();
    assert!(matches!(err, EnvelopeError::ChunkAuthentication { index: 0 }), "{err:?}");
    assert!(matches!(open(&kms, &me, b"", None), Err(EnvelopeError::MalformedHeader(_))));
    assert!(matches!(
        open(&kms, &me, b"NOTANENVELOPEFILE.........................................", None),
        Err(EnvelopeError::NotEnvelope)
    ));
}

#[test]
fn parallel_and_serial_agree() {
    let (kms, me, key) = engine();
    let plain = data(33 * CHUNK + 5);
    let sealed = seal(&kms, &me, &key, &plain, None);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let serial = one.install(|| open(&kms, &me, &sealed, Some(1)).unwrap());
    assert_eq!(serial, plain);
    let sealed1 = one.install(|| seal(&kms, &me, &key, &plain, Some(1)));
    assert_eq!(open(&kms, &me, &sealed1, None).unwrap(), plain);
}

#[test]
fn debug_output_shows_no_secret() {
    let opts = EncryptOptions::default();
    let s = format!("{opts:?}");
    assert!(s.contains("chunk_size"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_any_size(
        len in prop_oneof![0usize..3 * CHUNK, Just(CHUNK - 1), Just(CHUNK), Just(CHUNK + 1), (1usize..20).prop_map(|k| k * CHUNK)],
        batch in prop_oneof![Just(None), (1usize..5).prop_map(Some)],
        seed in any::<u8>(),
    ) {
        let (kms, me, key) = engine();
        let plain: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed | 1)).collect();
        let sealed = seal(&kms, &me, &key, &plain, batch);
        prop_assert_eq!(open(&kms, &me, &sealed, batch).unwrap(), plain);
    }

    #[test]
    fn any_single_byte_change_fails(len in 1usize..4 * CHUNK, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (kms, me, key) = engine();
        let plain = data(len);
        let mut sealed = seal(&kms, &me, &key, &plain, None);
        let i = pos.index(sealed.len());
        sealed[i] ^= 1 << bit;
        let mut out = Vec::new();
        prop_assert!(envelope::decrypt(&kms, &me, &DecryptOptions::default(), &sealed[..], &mut out).is_err());
        prop_assert!(out.is_empty());
    }

    #[test]
    fn any_truncation_fails(len in 1usize..4 * CHUNK, cut in any::<prop::sample::Index>()) {
        let (kms, me, key) = engine();
        let plain = data(len);
        let sealed = seal(&kms, &me, &key, &plain, None);
        let keep = cut.index(sealed.len());
        let mut out = Vec::new();
        prop_assert!(envelope::decrypt(&kms, &me, &DecryptOptions::default(), &sealed[..keep], &mut out).is_err());
        prop_assert!(out.is_empty());
    }
}

/// A writer that always fails, like a full disk.
struct Full;

impl std::io::Write for Full {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("disk full"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_writer_reports_its_own_error() {
    let (kms, me, key) = engine();
    let sealed = seal(&kms, &me, &key, &data(20 * CHUNK), None);
    let err = envelope::decrypt(&kms, &me, &DecryptOptions::default(), &sealed[..], Full).unwrap_err();
    assert!(matches!(&err, EnvelopeError::Io(e) if e.to_string() == "disk full"), "{err:?}");
    let err = envelope::encrypt(&kms, &me, &key, &EncryptOptions::default(), &b"abc"[..], Full).unwrap_err();
    assert!(matches!(&err, EnvelopeError::Io(e) if e.to_string() == "disk full"), "{err:?}");
}
