//! Known-answer tests of the crypto provider seam: NIST CAVP and Wycheproof AES-256-GCM
//! vectors (tests/data/, see the header of each file for its source and filter), and the
//! power-on self-test. Run on both providers:
//! `cargo test` (ring) and `cargo test --no-default-features --features aws-lc`.

use trent::crypto::{self, CryptoError, NONCE_LEN, SelfTestError, TAG_LEN};
use trent::danger::AeadKey;

/// What a vector expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Seal gives CT ‖ TAG, open gives IN.
    Ok,
    /// Open of CT ‖ TAG fails.
    Fail,
}

/// One `KEY / NONCE / IN / AD / CT / TAG / RESULT` record.
#[derive(Debug)]
struct Vector {
    /// Line of the record's first field, for messages.
    line: usize,
    tc_id: Option<u32>,
    key: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    input: Vec<u8>,
    ad: Vec<u8>,
    ct: Vec<u8>,
    tag: [u8; TAG_LEN],
    expect: Expect,
}

fn unhex(s: &str, line: usize) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "line {line}: odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("line {line}: bad hex {s:?}")))
        .collect()
}

/// Parses a vector file: `#` comments, `NAME = hex` fields, records separated by blank lines.
/// Every record must have all of KEY, NONCE, IN, AD, CT, TAG and RESULT (TCID is optional);
/// unknown or repeated fields are errors, so a misparsed file fails loudly.
fn parse(text: &str) -> Vec<Vector> {
    #[derive(Default)]
    struct Fields {
        line: usize,
        tc_id: Option<u32>,
        key: Option<Vec<u8>>,
        nonce: Option<Vec<u8>>,
        input: Option<Vec<u8>>,
        ad: Option<Vec<u8>>,
        ct: Option<Vec<u8>>,
        tag: Option<Vec<u8>>,
        expect: Option<Expect>,
    }
    fn set<T>(slot: &mut Option<T>, value: T, name: &str, line: usize) {
        assert!(slot.is_none(), "line {line}: {name} repeated");
        *slot = Some(value);
    }
    fn finish(f: Fields) -> Vector {
        let line = f.line;
        let missing = |name: &str| -> ! { panic!("record at line {line}: no {name}") };
        let nonce = f.nonce.unwrap_or_else(|| missing("NONCE"));
        let tag = f.tag.unwrap_or_else(|| missing("TAG"));
        Vector {
            line,
            tc_id: f.tc_id,
            key: f.key.unwrap_or_else(|| missing("KEY")),
            nonce: nonce.try_into().unwrap_or_else(|_| panic!("line {line}: NONCE is not 12 bytes")),
            input: f.input.unwrap_or_else(|| missing("IN")),
            ad: f.ad.unwrap_or_else(|| missing("AD")),
            ct: f.ct.unwrap_or_else(|| missing("CT")),
            tag: tag.try_into().unwrap_or_else(|_| panic!("line {line}: TAG is not 16 bytes")),
            expect: f.expect.unwrap_or_else(|| missing("RESULT")),
        }
    }

    let mut vectors = Vec::new();
    let mut current: Option<Fields> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim();
        if raw.starts_with('#') {
            continue;
        }
        if raw.is_empty() {
            if let Some(f) = current.take() {
                vectors.push(finish(f));
            }
            continue;
        }
        let (name, value) = raw.split_once('=').unwrap_or_else(|| panic!("line {line}: expected NAME = value"));
        let (name, value) = (name.trim(), value.trim());
        let f = current.get_or_insert_with(|| Fields { line, ..Fields::default() });
        match name {
            "TCID" => {
                let id = value.parse().unwrap_or_else(|_| panic!("line {line}: bad TCID {value:?}"));
                set(&mut f.tc_id, id, name, line)
            }
            "KEY" => set(&mut f.key, unhex(value, line), name, line),
            "NONCE" => set(&mut f.nonce, unhex(value, line), name, line),
            "IN" => set(&mut f.input, unhex(value, line), name, line),
            "AD" => set(&mut f.ad, unhex(value, line), name, line),
            "CT" => set(&mut f.ct, unhex(value, line), name, line),
            "TAG" => set(&mut f.tag, unhex(value, line), name, line),
            "RESULT" => {
                let expect = match value {
                    "OK" => Expect::Ok,
                    "FAIL" => Expect::Fail,
                    other => panic!("line {line}: unsupported RESULT {other:?}"),
                };
                set(&mut f.expect, expect, name, line);
            }
            other => panic!("line {line}: unknown field {other:?}"),
        }
    }
    if let Some(f) = current.take() {
        vectors.push(finish(f));
    }
    vectors
}

/// Counts of a file's vectors by expectation.
#[derive(Debug, Default)]
struct Counts {
    ok: usize,
    fail: usize,
}

/// Checks every vector of `text` against the provider and returns the counts.
fn run(file: &str, text: &str) -> Counts {
    let mut counts = Counts::default();
    for v in parse(text) {
        let at = match v.tc_id {
            Some(id) => format!("{file} line {} (tcId {id})", v.line),
            None => format!("{file} line {}", v.line),
        };
        let key = AeadKey::new(&v.key).unwrap_or_else(|e| panic!("{at}: key rejected: {e}"));
        let mut sealed_expected = v.ct.clone();
        sealed_expected.extend_from_slice(&v.tag);

        match v.expect {
            Expect::Ok => {
                counts.ok += 1;
                assert_eq!(v.input.len(), v.ct.len(), "{at}: IN and CT lengths");

                let mut sealed = v.input.clone();
                key.seal_in_place_append_tag(v.nonce, &v.ad, &mut sealed)
                    .unwrap_or_else(|e| panic!("{at}: seal failed: {e}"));
                assert_eq!(sealed, sealed_expected, "{at}: seal (append tag)");

                let mut buf = v.input.clone();
                let tag = key
                    .seal_in_place_separate_tag(v.nonce, &v.ad, &mut buf)
                    .unwrap_or_else(|e| panic!("{at}: seal failed: {e}"));
                assert_eq!(buf, v.ct, "{at}: seal (separate tag) ciphertext");
                assert_eq!(tag, v.tag, "{at}: seal (separate tag) tag");

                let mut buf = sealed_expected.clone();
                let opened =
                    key.open_in_place(v.nonce, &v.ad, &mut buf).unwrap_or_else(|e| panic!("{at}: open failed: {e}"));
                assert_eq!(opened, &v.input[..], "{at}: open");

                // And one flipped tag bit must not open.
                let mut buf = sealed_expected.clone();
                let last = buf.len() - 1;
                buf[last] ^= 0x01;
                assert_eq!(
                    key.open_in_place(v.nonce, &v.ad, &mut buf),
                    Err(CryptoError),
                    "{at}: open of a flipped tag"
                );
            }
            Expect::Fail => {
                counts.fail += 1;
                let mut buf = sealed_expected.clone();
                assert_eq!(key.open_in_place(v.nonce, &v.ad, &mut buf), Err(CryptoError), "{at}: open must fail");
            }
        }
    }
    eprintln!("{file}: {} valid, {} invalid, provider {}", counts.ok, counts.fail, crypto::provider_name());
    counts
}

#[test]
fn nist_cavp_gcm_encrypt_256() {
    let counts = run("nist_gcm_encrypt_256.txt", include_str!("data/nist_gcm_encrypt_256.txt"));
    // 25 sections (PTlen x AADlen) of 15 counts each.
    assert!(counts.ok >= 375, "{counts:?}");
}

#[test]
fn nist_cavp_gcm_decrypt_256() {
    let counts = run("nist_gcm_decrypt_256.txt", include_str!("data/nist_gcm_decrypt_256.txt"));
    assert!(counts.ok + counts.fail >= 375, "{counts:?}");
    assert!(counts.ok >= 180 && counts.fail >= 190, "{counts:?}");
}

#[test]
fn wycheproof_aes_256_gcm() {
    let counts = run("wycheproof_aes_256_gcm.txt", include_str!("data/wycheproof_aes_256_gcm.txt"));
    assert!(counts.ok >= 39 && counts.fail >= 27, "{counts:?}");
}

#[test]
fn parser_rejects_incomplete_records() {
    let text = "KEY = 00\nNONCE = 000000000000000000000000\n\n";
    assert!(std::panic::catch_unwind(|| parse(text)).is_err());
}

#[test]
fn self_test_passes() {
    assert_eq!(crypto::self_test(), Ok(()));
    assert_eq!(crypto::self_test_with_rng(crypto::fill_random), Ok(()));
}

#[test]
fn self_test_fails_on_broken_rng() {
    let rng_error = SelfTestError { test: "rng" };
    assert_eq!(rng_error.to_string(), "power-on self-test failed: rng");
    let rng_failed = Err(rng_error);
    // All zeros.
    assert_eq!(
        crypto::self_test_with_rng(|b| {
            b.fill(0);
            Ok(())
        }),
        rng_failed
    );
    // A constant.
    assert_eq!(
        crypto::self_test_with_rng(|b| {
            b.fill(0xa5);
            Ok(())
        }),
        rng_failed
    );
    // The same bytes on every call.
    assert_eq!(
        crypto::self_test_with_rng(|b| {
            for (i, x) in b.iter_mut().enumerate() {
                *x = i as u8;
            }
            Ok(())
        }),
        rng_failed
    );
    // An RNG that reports an error.
    assert_eq!(crypto::self_test_with_rng(|_| Err(CryptoError)), rng_failed);
}
