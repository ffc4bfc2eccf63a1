//! The packed encryption context: the one-argument form of a context the `_into` functions
//! take, so a binding passes a context as one byte string instead of an array of pointers.
//!
//! For each pair, the key then the value, each a 4-byte little-endian byte length followed by
//! that many UTF-8 bytes; `(NULL, 0)` (or any empty string) is the empty context. Anything
//! else is malformed: `TRENT_RESULT_VALIDATION_EXCEPTION`, with a detail saying which pair and
//! what is wrong. The ABI sets no limit of its own (pair count, sizes): the engine's apply.

use trent::EncryptionContext;

use crate::boundary::arg_bytes;
use crate::error::{Failure, trent_result};

/// Reads a packed encryption-context argument (see the module documentation).
pub(crate) fn arg_packed_context(ptr: *const u8, len: usize, name: &'static str) -> Result<EncryptionContext, Failure> {
    let bytes = arg_bytes(ptr, len, name)?;
    unpack(bytes).map_err(|detail| Failure::new(trent_result::ValidationException, format!("{name}: {detail}")))
}

/// Decodes a packed context; the error says what is malformed.
pub(crate) fn unpack(mut bytes: &[u8]) -> Result<EncryptionContext, String> {
    let mut ctx = EncryptionContext::new();
    let mut pair = 0usize;
    while !bytes.is_empty() {
        let key = take(&mut bytes, pair, "key")?;
        let value = take(&mut bytes, pair, "value")?;
        if ctx.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(format!("pair {pair}: the key {key:?} appears twice"));
        }
        pair += 1;
    }
    Ok(ctx)
}

/// Takes one length-prefixed UTF-8 string off the front of `bytes`.
fn take<'a>(bytes: &mut &'a [u8], pair: usize, what: &str) -> Result<&'a str, String> {
    let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
        return Err(format!("pair {pair}: the {what}'s 4-byte length is cut short ({} byte(s) left)", bytes.len()));
    };
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len {
        return Err(format!("pair {pair}: the {what} is {len} bytes long but only {} remain", rest.len()));
    }
    let (text, rest) = rest.split_at(len);
    let text = std::str::from_utf8(text).map_err(|_| format!("pair {pair}: the {what} is not valid UTF-8"))?;
    *bytes = rest;
    Ok(text)
}

/// Packs pairs, in the given order, into the form the `_into` functions take (the format's
/// reference encoder, for Rust callers of the C functions and tests). A key or value longer
/// than `u32::MAX` bytes cannot be packed: `None`.
pub fn pack<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        for s in [k, v] {
            out.extend_from_slice(&u32::try_from(s.len()).ok()?.to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn empty_and_simple() {
        assert_eq!(unpack(&[]).expect("empty"), EncryptionContext::new());
        let ctx = unpack(&pack([("tenant", "a"), ("", ""), ("k\0", "v\u{e9}")]).expect("short")).expect("valid");
        assert_eq!(ctx.len(), 3);
        assert_eq!(ctx["tenant"], "a");
        assert_eq!(ctx[""], "");
        assert_eq!(ctx["k\0"], "v\u{e9}");
        assert_eq!(pack([("a", "b")]).expect("short"), b"\x01\0\0\0a\x01\0\0\0b");
    }

    #[test]
    fn malformed_packings_say_what_is_wrong() {
        let cases: [(&[u8], &str); 6] = [
            (b"\x01\0\0", "pair 0: the key's 4-byte length is cut short (3 byte(s) left)"),
            (b"\x02\0\0\0a", "pair 0: the key is 2 bytes long but only 1 remain"),
            (b"\x01\0\0\0a", "pair 0: the value's 4-byte length is cut short (0 byte(s) left)"),
            (b"\x01\0\0\0a\x01\0\0\0\xff", "pair 0: the value is not valid UTF-8"),
            (b"\x01\0\0\0a\x00\0\0\0\x01\0\0\0a\x00\0\0\0", "pair 1: the key \"a\" appears twice"),
            (b"\x01\0\0\0a\x00\0\0\0\xff\xff\xff\xff", "pair 1: the key is 4294967295 bytes long but only 0 remain"),
        ];
        for (bytes, detail) in cases {
            assert_eq!(unpack(bytes).expect_err("malformed"), detail);
        }
        let failure = arg_packed_context(b"\x01".as_ptr(), 1, "context").expect_err("malformed");
        assert_eq!(failure.code, trent_result::ValidationException);
        let failure = arg_packed_context(std::ptr::null(), 4, "context").expect_err("NULL with a length");
        assert_eq!(failure.code, trent_result::NullParameter);
        assert!(arg_packed_context(std::ptr::null(), 0, "context").expect("(NULL, 0)").is_empty());
    }

    fn any_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::btree_map(".{0,8}", ".{0,8}", 0..6).prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        /// Packing then unpacking gives the context back, whatever the order of the pairs.
        #[test]
        fn packing_round_trips(pairs in any_pairs(), rotate in 0usize..6) {
            let mut ordered = pairs.clone();
            if !ordered.is_empty() {
                let n = rotate % ordered.len();
                ordered.rotate_left(n);
            }
            let packed = pack(ordered.iter().map(|(k, v)| (k.as_str(), v.as_str()))).expect("short");
            let ctx = unpack(&packed).expect("a packing unpacks");
            let want: EncryptionContext = pairs.into_iter().collect();
            prop_assert_eq!(ctx, want);
        }

        /// Every truncation of a packing is refused, except a cut right after a whole pair,
        /// which is the packing of the pairs before it.
        #[test]
        fn every_truncation_is_rejected(pairs in any_pairs()) {
            let packed = pack(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).expect("short");
            let mut boundaries = vec![0usize];
            for (k, v) in &pairs {
                boundaries.push(boundaries.last().copied().unwrap_or(0) + 8 + k.len() + v.len());
            }
            for cut in 0..packed.len() {
                match boundaries.iter().position(|&b| b == cut) {
                    Some(whole) => {
                        let want: EncryptionContext = pairs[..whole].iter().cloned().collect();
                        prop_assert_eq!(unpack(&packed[..cut]).expect("a whole-pair prefix"), want);
                    }
                    None => prop_assert!(unpack(&packed[..cut]).is_err(), "a cut at {} of {} was accepted", cut, packed.len()),
                }
            }
        }
    }
}
