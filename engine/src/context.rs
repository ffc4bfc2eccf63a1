//! Encryption context: a string-to-string map bound to a ciphertext as additional
//! authenticated data.
//!
//! The canonical encoding is what goes into the AAD. It is the pairs sorted by the bytes of
//! their keys, each written as
//!
//! ```text
//! u32 BE key length ‖ key bytes ‖ u32 BE value length ‖ value bytes
//! ```
//!
//! so it is injective: `{"ab":"c"}` and `{"a":"bc"}` encode differently, and so do contexts
//! that differ in the number of pairs. The empty context encodes as no bytes. Order of pairs
//! in a request does not matter (the map is sorted), case does.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// An encryption context. `BTreeMap` keeps the pairs sorted by key bytes, which is the
/// canonical order.
pub type EncryptionContext = BTreeMap<String, String>;

/// Upper bound on the encoded size of one context, so that a request cannot make the engine
/// build an arbitrarily large AAD. AWS documents no limit; 64 KiB is far above any real use.
pub const MAX_ENCODED_CONTEXT_LEN: usize = 64 * 1024;

/// The length of the canonical encoding of `ctx`.
pub fn encoded_len(ctx: &EncryptionContext) -> usize {
    ctx.iter().map(|(k, v)| 8 + k.len() + v.len()).sum()
}

/// Appends the canonical encoding of `ctx` to `out`.
pub fn encode_into(ctx: &EncryptionContext, out: &mut Vec<u8>) {
    out.reserve(encoded_len(ctx));
    for (k, v) in ctx {
        // Lengths fit in u32: validate() bounds the whole encoding to 64 KiB.
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
}

/// The canonical encoding of `ctx`.
pub fn encode(ctx: &EncryptionContext) -> Vec<u8> {
    let mut out = Vec::new();
    if ctx.is_empty() {
        return out; // the common case, on every Encrypt and Decrypt: no allocation, no loop
    }
    encode_into(ctx, &mut out);
    out
}

/// Checks that a context can be bound: its encoding is at most [`MAX_ENCODED_CONTEXT_LEN`].
pub fn validate(ctx: &EncryptionContext, field: &str) -> Result<()> {
    if ctx.is_empty() {
        return Ok(());
    }
    let len = encoded_len(ctx);
    if len > MAX_ENCODED_CONTEXT_LEN {
        return Err(Error::Validation(format!(
            "The {field} is too large: its encoding is {len} bytes, the limit is {MAX_ENCODED_CONTEXT_LEN}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn separators_matter() {
        assert_ne!(encode(&ctx(&[("ab", "c")])), encode(&ctx(&[("a", "bc")])));
        assert_ne!(encode(&ctx(&[("a", "b"), ("c", "d")])), encode(&ctx(&[("a", "b\0\0\0\u{1}cd")])));
        assert!(encode(&ctx(&[])).is_empty());
        assert_eq!(encode(&ctx(&[("a", "b")])), b"\0\0\0\x01a\0\0\0\x01b".to_vec());
    }

    #[test]
    fn order_independent() {
        let a = ctx(&[("x", "1"), ("a", "2")]);
        let b = ctx(&[("a", "2"), ("x", "1")]);
        assert_eq!(encode(&a), encode(&b));
    }

    #[test]
    fn too_large_is_rejected() {
        let big = ctx(&[("k", &"v".repeat(MAX_ENCODED_CONTEXT_LEN))]);
        assert_eq!(validate(&big, "encryption context").unwrap_err().name(), "ValidationException");
    }

    fn any_context() -> impl Strategy<Value = EncryptionContext> {
        proptest::collection::btree_map(".{0,6}", ".{0,6}", 0..5)
    }

    proptest! {
        /// The encoding is injective: different contexts never share an encoding.
        #[test]
        fn encoding_is_injective(a in any_context(), b in any_context()) {
            prop_assert_eq!(a == b, encode(&a) == encode(&b));
        }

        /// Decoding the canonical form gives the context back (a constructive proof of
        /// injectivity for every generated context).
        #[test]
        fn encoding_decodes(a in any_context()) {
            let bytes = encode(&a);
            let mut rest = &bytes[..];
            let mut back = EncryptionContext::new();
            let take = |rest: &mut &[u8]| {
                let (len, tail) = rest.split_at(4);
                let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
                let (s, tail) = tail.split_at(len);
                *rest = tail;
                String::from_utf8(s.to_vec()).unwrap()
            };
            while !rest.is_empty() {
                let k = take(&mut rest);
                let v = take(&mut rest);
                back.insert(k, v);
            }
            prop_assert_eq!(back, a);
        }
    }
}
