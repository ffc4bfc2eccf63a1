//! Calls the `extern "C"` functions directly, as C does: round trips, every error band, NULL
//! and wrong-length arguments. Nothing here may crash.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char};
use std::ptr::{null, null_mut};

use trent::Error;
use trent_ffi::*;

/// Views a library-returned buffer.
fn buffer(b: *const trent_buffer) -> Vec<u8> {
    let data = trent_buffer_data(b);
    let len = trent_buffer_len(b);
    assert!(!data.is_null());
    // SAFETY: the library returned `data` pointing to `len` bytes, live until the free.
    unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
}

/// Views a library-returned secret.
fn secret(s: *const trent_secret) -> Vec<u8> {
    let data = trent_secret_data(s);
    let len = trent_secret_len(s);
    assert!(!data.is_null());
    // SAFETY: the library returned `data` pointing to `len` bytes, live until the free.
    unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
}

fn cstr(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: the library returns NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_str().expect("UTF-8").to_owned()
}

/// Takes an error detail: (code, message), and frees it.
fn take_err(err: *mut trent_error) -> (trent_result, String) {
    assert!(!err.is_null(), "no error detail was written");
    let out = (trent_error_code(err), cstr(trent_error_message(err)));
    trent_error_free(err);
    out
}

fn s(text: &str) -> (*const c_char, usize) {
    (text.as_ptr().cast(), text.len())
}

struct Fixture {
    kms: *mut trent_kms,
    caller: *mut trent_caller,
    key: String,
}

impl Fixture {
    fn new() -> Self {
        let mut kms = null_mut();
        assert_eq!(trent_kms_open_in_memory(&mut kms, null_mut()), trent_result::Ok);
        let mut caller = null_mut();
        assert_eq!(trent_caller_root(kms, &mut caller), trent_result::Ok);
        let mut key_id = null_mut();
        let (d, dl) = s("test key");
        assert_eq!(trent_kms_create_key(kms, caller, d, dl, &mut key_id, null_mut()), trent_result::Ok);
        let key = String::from_utf8(buffer(key_id)).expect("key id is text");
        // The trailing NUL makes it a C string too.
        assert_eq!(cstr(trent_buffer_data(key_id).cast()), key);
        trent_buffer_free(key_id);
        Self { kms, caller, key }
    }

    fn encrypt(&self, plaintext: &[u8], ctx: &[trent_context_entry]) -> Result<Vec<u8>, (trent_result, String)> {
        let (k, kl) = s(&self.key);
        let mut out = null_mut();
        let mut err = null_mut();
        let r = trent_kms_encrypt(
            self.kms,
            self.caller,
            k,
            kl,
            plaintext.as_ptr(),
            plaintext.len(),
            ctx.as_ptr(),
            ctx.len(),
            &mut out,
            &mut err,
        );
        if r == trent_result::Ok {
            assert!(err.is_null());
            let blob = buffer(out);
            trent_buffer_free(out);
            Ok(blob)
        } else {
            assert!(out.is_null(), "an output was written on failure");
            let e = take_err(err);
            assert_eq!(e.0, r);
            Err(e)
        }
    }

    fn decrypt(&self, blob: &[u8], ctx: &[trent_context_entry]) -> Result<Vec<u8>, (trent_result, String)> {
        let mut out = null_mut();
        let mut err = null_mut();
        let r = trent_kms_decrypt(
            self.kms,
            self.caller,
            blob.as_ptr(),
            blob.len(),
            ctx.as_ptr(),
            ctx.len(),
            null(),
            0,
            &mut out,
            &mut err,
        );
        if r == trent_result::Ok {
            let p = secret(out);
            trent_secret_free(out);
            Ok(p)
        } else {
            assert!(out.is_null(), "an output was written on failure");
            let e = take_err(err);
            assert_eq!(e.0, r);
            Err(e)
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        trent_caller_free(self.caller);
        trent_kms_free(self.kms);
    }
}

fn entry(k: &'static str, v: &'static str) -> trent_context_entry {
    trent_context_entry { key: k.as_ptr().cast(), key_len: k.len(), value: v.as_ptr().cast(), value_len: v.len() }
}

#[test]
fn encrypt_decrypt_round_trip_with_context() {
    let f = Fixture::new();
    let ctx = [entry("tenant", "a"), entry("purpose", "test")];
    let blob = f.encrypt(b"hello from C", &ctx).expect("encrypt");
    // Context order does not matter.
    let reversed = [ctx[1], ctx[0]];
    assert_eq!(f.decrypt(&blob, &reversed).expect("decrypt"), b"hello from C");
    // A wrong context is the one decryption failure.
    let (code, msg) = f.decrypt(&blob, &[entry("tenant", "b")]).expect_err("wrong context");
    assert_eq!(code, trent_result::InvalidCiphertextException);
    assert!(msg.starts_with("InvalidCiphertextException: "), "{msg}");
    let (code, _) = f.decrypt(&blob[..blob.len() - 1], &ctx).expect_err("truncated");
    assert_eq!(code, trent_result::InvalidCiphertextException);
}

#[test]
fn decrypt_with_key_id() {
    let f = Fixture::new();
    let blob = f.encrypt(b"x", &[]).expect("encrypt");
    let mut out = null_mut();
    let (k, kl) = s(&f.key);
    let r = trent_kms_decrypt(f.kms, f.caller, blob.as_ptr(), blob.len(), null(), 0, k, kl, &mut out, null_mut());
    assert_eq!(r, trent_result::Ok);
    assert_eq!(secret(out), b"x");
    trent_secret_free(out);
    // Another key named: IncorrectKeyException.
    let mut other = null_mut();
    assert_eq!(trent_kms_create_key(f.kms, f.caller, null(), 0, &mut other, null_mut()), trent_result::Ok);
    let mut out = null_mut();
    let r = trent_kms_decrypt(
        f.kms,
        f.caller,
        blob.as_ptr(),
        blob.len(),
        null(),
        0,
        trent_buffer_data(other).cast(),
        trent_buffer_len(other),
        &mut out,
        null_mut(),
    );
    assert_eq!(r, trent_result::IncorrectKeyException);
    assert!(out.is_null());
    trent_buffer_free(other);
}

#[test]
fn engine_errors_map_to_their_codes() {
    let f = Fixture::new();
    // Empty plaintext: ValidationException.
    let (code, _) = f.encrypt(&[], &[]).expect_err("empty plaintext");
    assert_eq!(code, trent_result::ValidationException);
    // Too long.
    let (code, _) = f.encrypt(&[0; 4097], &[]).expect_err("too long");
    assert_eq!(code, trent_result::ValidationException);
    // Unknown key.
    let mut out = null_mut();
    let (k, kl) = s("alias/nope");
    let r = trent_kms_encrypt(f.kms, f.caller, k, kl, b"x".as_ptr(), 1, null(), 0, &mut out, null_mut());
    assert_eq!(r, trent_result::NotFoundException);
    assert!(out.is_null());
    // Disabled key, then enabled again.
    let (k, kl) = s(&f.key);
    assert_eq!(trent_kms_disable_key(f.kms, f.caller, k, kl, null_mut()), trent_result::Ok);
    assert_eq!(f.encrypt(b"x", &[]).expect_err("disabled").0, trent_result::DisabledException);
    assert_eq!(trent_kms_enable_key(f.kms, f.caller, k, kl, null_mut()), trent_result::Ok);
    f.encrypt(b"x", &[]).expect("enabled again");
    // Rotation keeps old ciphertexts readable.
    let old = f.encrypt(b"old", &[]).expect("encrypt");
    assert_eq!(trent_kms_rotate_key_on_demand(f.kms, f.caller, k, kl, null_mut()), trent_result::Ok);
    assert_eq!(f.decrypt(&old, &[]).expect("decrypt after rotation"), b"old");
    // Deletion: pending, refused, cancelled (Disabled).
    assert_eq!(
        trent_kms_schedule_key_deletion(f.kms, f.caller, k, kl, 3, null_mut()),
        trent_result::ValidationException
    );
    assert_eq!(trent_kms_schedule_key_deletion(f.kms, f.caller, k, kl, 0, null_mut()), trent_result::Ok);
    assert_eq!(f.encrypt(b"x", &[]).expect_err("pending").0, trent_result::KmsInvalidStateException);
    assert_eq!(trent_kms_cancel_key_deletion(f.kms, f.caller, k, kl, null_mut()), trent_result::Ok);
    assert_eq!(f.encrypt(b"x", &[]).expect_err("disabled").0, trent_result::DisabledException);
}

#[test]
fn data_keys_and_random() {
    let f = Fixture::new();
    let (k, kl) = s(&f.key);
    let ctx = [entry("file", "a.txt")];
    for (n, want) in [(0u32, 32usize), (16, 16), (64, 64)] {
        let mut pt = null_mut();
        let mut ct = null_mut();
        let r = trent_kms_generate_data_key(f.kms, f.caller, k, kl, n, ctx.as_ptr(), 1, &mut pt, &mut ct, null_mut());
        assert_eq!(r, trent_result::Ok);
        let key = secret(pt);
        assert_eq!(key.len(), want);
        // The wrapped key decrypts to the plaintext key.
        assert_eq!(f.decrypt(&buffer(ct), &ctx).expect("unwrap"), key);
        trent_secret_free(pt);
        trent_buffer_free(ct);
    }
    // Too many bytes: nothing written.
    let mut pt = null_mut();
    let mut ct = null_mut();
    let r = trent_kms_generate_data_key(f.kms, f.caller, k, kl, 1025, null(), 0, &mut pt, &mut ct, null_mut());
    assert_eq!(r, trent_result::ValidationException);
    assert!(pt.is_null() && ct.is_null());

    let mut ct = null_mut();
    let r = trent_kms_generate_data_key_without_plaintext(f.kms, f.caller, k, kl, 0, null(), 0, &mut ct, null_mut());
    assert_eq!(r, trent_result::Ok);
    assert_eq!(f.decrypt(&buffer(ct), &[]).expect("unwrap").len(), 32);
    trent_buffer_free(ct);

    let mut rnd = null_mut();
    assert_eq!(trent_kms_generate_random(f.kms, f.caller, 48, &mut rnd, null_mut()), trent_result::Ok);
    assert_eq!(trent_secret_len(rnd), 48);
    trent_secret_free(rnd);
    let mut rnd = null_mut();
    assert_eq!(trent_kms_generate_random(f.kms, f.caller, 0, &mut rnd, null_mut()), trent_result::ValidationException);
    assert!(rnd.is_null());
}

#[test]
fn data_key_batch() {
    let f = Fixture::new();
    let (k, kl) = s(&f.key);
    let mut batch = null_mut();
    let r = trent_kms_generate_data_keys(f.kms, f.caller, k, kl, 0, null(), 0, 100, &mut batch, null_mut());
    assert_eq!(r, trent_result::Ok);
    assert_eq!(trent_data_keys_len(batch), 100);
    for i in 0..100 {
        let (mut p, mut pl, mut c, mut cl) = (null(), 0, null(), 0);
        let r = trent_data_keys_get(batch, i, &mut p, &mut pl, &mut c, &mut cl, null_mut());
        assert_eq!(r, trent_result::Ok);
        assert_eq!(pl, 32);
        // SAFETY: pointers into the batch, live until it is freed.
        let (pt, ct) = unsafe { (std::slice::from_raw_parts(p, pl), std::slice::from_raw_parts(c, cl)) };
        assert_eq!(f.decrypt(ct, &[]).expect("unwrap"), pt);
    }
    let (mut p, mut pl, mut c, mut cl) = (null(), 0, null(), 0);
    let mut err = null_mut();
    let r = trent_data_keys_get(batch, 100, &mut p, &mut pl, &mut c, &mut cl, &mut err);
    assert_eq!(r, trent_result::IndexOutOfRange);
    assert!(p.is_null() && pl == 0);
    assert_eq!(take_err(err).0, trent_result::IndexOutOfRange);
    trent_data_keys_free(batch);
}

#[test]
fn re_encrypt_moves_a_blob() {
    let f = Fixture::new();
    let mut dest = null_mut();
    assert_eq!(trent_kms_create_key(f.kms, f.caller, null(), 0, &mut dest, null_mut()), trent_result::Ok);
    let src_ctx = [entry("a", "1")];
    let dst_ctx = [entry("b", "2")];
    let blob = f.encrypt(b"move me", &src_ctx).expect("encrypt");
    let mut out = null_mut();
    let r = trent_kms_re_encrypt(
        f.kms,
        f.caller,
        blob.as_ptr(),
        blob.len(),
        src_ctx.as_ptr(),
        1,
        trent_buffer_data(dest).cast(),
        trent_buffer_len(dest),
        dst_ctx.as_ptr(),
        1,
        &mut out,
        null_mut(),
    );
    assert_eq!(r, trent_result::Ok);
    assert_eq!(f.decrypt(&buffer(out), &dst_ctx).expect("decrypt"), b"move me");
    trent_buffer_free(out);
    trent_buffer_free(dest);
}

#[test]
fn null_arguments_are_refused_not_crashed_on() {
    let f = Fixture::new();
    let (k, kl) = s(&f.key);
    let mut out = null_mut();
    let mut err = null_mut();
    // NULL engine, caller, out-parameter.
    let r = trent_kms_encrypt(null(), f.caller, k, kl, b"x".as_ptr(), 1, null(), 0, &mut out, &mut err);
    assert_eq!(r, trent_result::NullParameter);
    assert_eq!(take_err(err), (trent_result::NullParameter, "NullParameter: kms is NULL".to_owned()));
    let r = trent_kms_encrypt(f.kms, null(), k, kl, b"x".as_ptr(), 1, null(), 0, &mut out, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    let r = trent_kms_encrypt(f.kms, f.caller, k, kl, b"x".as_ptr(), 1, null(), 0, null_mut(), null_mut());
    assert_eq!(r, trent_result::NullParameter);
    // A NULL buffer with a length, NULL context entries with a count.
    let r = trent_kms_encrypt(f.kms, f.caller, null(), 5, b"x".as_ptr(), 1, null(), 0, &mut out, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    let r = trent_kms_encrypt(f.kms, f.caller, k, kl, null(), 1, null(), 0, &mut out, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    let r = trent_kms_encrypt(f.kms, f.caller, k, kl, b"x".as_ptr(), 1, null(), 2, &mut out, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    let bad_entry = [trent_context_entry { key: null(), key_len: 3, value: null(), value_len: 0 }];
    let r = trent_kms_encrypt(f.kms, f.caller, k, kl, b"x".as_ptr(), 1, bad_entry.as_ptr(), 1, &mut out, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    // (NULL, 0) is the empty slice: here an empty key id, which the engine refuses.
    let r = trent_kms_encrypt(f.kms, f.caller, null(), 0, b"x".as_ptr(), 1, null(), 0, &mut out, null_mut());
    assert!(matches!(r, trent_result::ValidationException | trent_result::NotFoundException), "{r:?}");
    assert!(out.is_null());
    // Lengths no buffer can have.
    let r = trent_kms_encrypt(f.kms, f.caller, k, usize::MAX, b"x".as_ptr(), 1, null(), 0, &mut out, null_mut());
    assert_eq!(r, trent_result::InvalidArgument);
    let r = trent_kms_encrypt(
        f.kms,
        f.caller,
        k,
        kl,
        b"x".as_ptr(),
        1,
        bad_entry.as_ptr(),
        usize::MAX / 2,
        &mut out,
        null_mut(),
    );
    assert_eq!(r, trent_result::InvalidArgument);
    assert!(out.is_null());
    // Everything else with NULL handles.
    let mut pt = null_mut();
    let mut ct = null_mut();
    assert_eq!(
        trent_kms_decrypt(null(), null(), null(), 0, null(), 0, null(), 0, null_mut(), null_mut()),
        trent_result::NullParameter
    );
    assert_eq!(
        trent_kms_generate_data_key(f.kms, f.caller, k, kl, 0, null(), 0, &mut pt, null_mut(), null_mut()),
        trent_result::NullParameter
    );
    assert!(pt.is_null(), "no output is written when another is missing");
    assert_eq!(
        trent_kms_generate_data_key(f.kms, f.caller, k, kl, 0, null(), 0, null_mut(), &mut ct, null_mut()),
        trent_result::NullParameter
    );
    assert!(ct.is_null());
    assert_eq!(trent_kms_generate_random(f.kms, null(), 1, &mut pt, null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_create_key(null(), f.caller, null(), 0, &mut out, null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_enable_key(f.kms, f.caller, null(), 1, null_mut()), trent_result::NullParameter);
    assert_eq!(trent_caller_root(null(), null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_open_in_memory(null_mut(), null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_builder_new(null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_builder_open(null_mut(), null_mut(), null_mut()), trent_result::NullParameter);
    assert_eq!(
        trent_data_keys_get(null(), 0, null_mut(), null_mut(), null_mut(), null_mut(), null_mut()),
        trent_result::NullParameter
    );
    // Accessors and frees accept NULL.
    assert!(trent_buffer_data(null()).is_null());
    assert_eq!(trent_buffer_len(null()), 0);
    assert!(trent_secret_data(null()).is_null());
    assert_eq!(trent_secret_len(null()), 0);
    assert_eq!(trent_data_keys_len(null()), 0);
    assert_eq!(trent_error_code(null()), trent_result::NullParameter);
    assert_eq!(cstr(trent_error_message(null())), "");
    assert!(!trent_kms_memory_is_locked(null()));
    trent_buffer_free(null_mut());
    trent_secret_free(null_mut());
    trent_error_free(null_mut());
    trent_kms_free(null_mut());
    trent_caller_free(null_mut());
    trent_kms_builder_free(null_mut());
    trent_data_keys_free(null_mut());
}

#[test]
fn bad_text_and_context() {
    let f = Fixture::new();
    let mut out = null_mut();
    let bad = [0xffu8, 0xfe];
    let r =
        trent_kms_encrypt(f.kms, f.caller, bad.as_ptr().cast(), 2, b"x".as_ptr(), 1, null(), 0, &mut out, null_mut());
    assert_eq!(r, trent_result::InvalidUtf8);
    let (k, kl) = s(&f.key);
    let dup = [entry("a", "1"), entry("a", "2")];
    let r = trent_kms_encrypt(f.kms, f.caller, k, kl, b"x".as_ptr(), 1, dup.as_ptr(), 2, &mut out, null_mut());
    assert_eq!(r, trent_result::InvalidArgument);
    let nul = "a\0b";
    let r =
        trent_kms_encrypt(f.kms, f.caller, nul.as_ptr().cast(), 3, b"x".as_ptr(), 1, null(), 0, &mut out, null_mut());
    assert_eq!(r, trent_result::InvalidArgument);
    assert!(out.is_null());
}

#[test]
fn callers() {
    let f = Fixture::new();
    let mut caller = null_mut();
    let (a, al) = s("arn:aws:iam::111122223333:root");
    assert_eq!(trent_caller_from_arn(a, al, &mut caller, null_mut()), trent_result::Ok);
    // The account's root principal, named by its ARN, is the fixture's caller.
    let (k, kl) = s(&f.key);
    let mut out = null_mut();
    let r = trent_kms_encrypt(f.kms, caller, k, kl, b"x".as_ptr(), 1, null(), 0, &mut out, null_mut());
    assert_eq!(r, trent_result::Ok);
    trent_buffer_free(out);
    trent_caller_free(caller);
    // A role the key policy does not name is denied; so is another account's principal.
    for arn in ["arn:aws:iam::111122223333:role/app", "arn:aws:iam::444455556666:root"] {
        let mut other = null_mut();
        let (a, al) = s(arn);
        assert_eq!(trent_caller_from_arn(a, al, &mut other, null_mut()), trent_result::Ok);
        let mut out = null_mut();
        let mut err = null_mut();
        let r = trent_kms_encrypt(f.kms, other, k, kl, b"x".as_ptr(), 1, null(), 0, &mut out, &mut err);
        assert_ne!(r, trent_result::Ok, "{arn}");
        assert!(out.is_null());
        assert_eq!(take_err(err).0, r);
        trent_caller_free(other);
    }
    let mut c = null_mut();
    let mut err = null_mut();
    let (a, al) = s("not an arn");
    assert_eq!(trent_caller_from_arn(a, al, &mut c, &mut err), trent_result::ValidationException);
    assert!(c.is_null());
    assert_eq!(take_err(err).0, trent_result::ValidationException);
}

#[test]
fn builder_and_data_dir() {
    let dir = std::env::temp_dir().join(format!("trent-ffi-abi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().expect("UTF-8 temp dir");
    let (p, pl) = s(d);
    let mut kms = null_mut();
    assert_eq!(trent_kms_open_dir(p, pl, &mut kms, null_mut()), trent_result::Ok);
    assert!(trent_kms_memory_is_locked(kms) || std::env::var_os("TRENT_ALLOW_UNLOCKED").is_some());
    let mut caller = null_mut();
    assert_eq!(trent_caller_root(kms, &mut caller), trent_result::Ok);
    let mut key = null_mut();
    assert_eq!(trent_kms_create_key(kms, caller, null(), 0, &mut key, null_mut()), trent_result::Ok);
    trent_kms_free(kms);
    // Reopened through the builder: the key is still there.
    let mut b = null_mut();
    assert_eq!(trent_kms_builder_new(&mut b), trent_result::Ok);
    assert_eq!(trent_kms_builder_data_dir(b, p, pl, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_builder_allow_unlocked_memory(b, true, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_builder_locked_memory_budget(b, 1 << 20, null_mut()), trent_result::Ok);
    let mut kms = null_mut();
    assert_eq!(trent_kms_builder_open(b, &mut kms, null_mut()), trent_result::Ok);
    trent_kms_builder_free(b);
    let mut out = null_mut();
    let r = trent_kms_encrypt(
        kms,
        caller,
        trent_buffer_data(key).cast(),
        trent_buffer_len(key),
        b"x".as_ptr(),
        1,
        null(),
        0,
        &mut out,
        null_mut(),
    );
    assert_eq!(r, trent_result::Ok);
    trent_buffer_free(out);
    trent_buffer_free(key);
    trent_caller_free(caller);
    trent_kms_free(kms);
    let _ = std::fs::remove_dir_all(&dir);

    // Builder argument errors.
    let mut b = null_mut();
    assert_eq!(trent_kms_builder_new(&mut b), trent_result::Ok);
    let mut err = null_mut();
    assert_eq!(trent_kms_builder_root_key(b, [0u8; 31].as_ptr(), 31, &mut err), trent_result::InvalidArgument);
    assert_eq!(take_err(err).0, trent_result::InvalidArgument);
    assert_eq!(trent_kms_builder_root_key(b, [7u8; 32].as_ptr(), 32, null_mut()), trent_result::Ok);
    let (r, rl) = s("not a region!");
    assert_eq!(trent_kms_builder_region(b, r, rl, null_mut()), trent_result::Ok);
    let msg = open_config_error(b);
    assert!(msg.starts_with("OpenConfig: "), "{msg}");
    // The builder was reset: it opens with the defaults now.
    let mut kms = null_mut();
    assert_eq!(trent_kms_builder_open(b, &mut kms, null_mut()), trent_result::Ok);
    trent_kms_free(kms);
    // A SQLite store with no root key source is a configuration error.
    let (p, pl) = s("/nonexistent-dir/trent.db");
    assert_eq!(trent_kms_builder_sqlite(b, p, pl, null_mut()), trent_result::Ok);
    let mut kms = null_mut();
    let r = trent_kms_builder_open(b, &mut kms, null_mut());
    assert!(matches!(r, trent_result::OpenConfig | trent_result::OpenStore | trent_result::OpenRootKey), "{r:?}");
    assert!(kms.is_null());
    trent_kms_builder_free(b);
}

/// Opens `b`, which must fail with `TRENT_RESULT_OPEN_CONFIG`; the error's message.
fn open_config_error(b: *mut trent_kms_builder) -> String {
    let mut kms = null_mut();
    let mut err = null_mut();
    assert_eq!(trent_kms_builder_open(b, &mut kms, &mut err), trent_result::OpenConfig);
    assert!(kms.is_null());
    let (code, msg) = take_err(err);
    assert_eq!(code, trent_result::OpenConfig);
    msg
}

#[test]
fn postgres_urls_reach_the_engine_whole() {
    // The TLS parameters arrive intact: verify-ca without a CA file is refused before any
    // connection (to a loopback address, so even a regression sends nothing off the machine),
    // as the configuration's fault.
    let mut b = null_mut();
    assert_eq!(trent_kms_builder_new(&mut b), trent_result::Ok);
    assert_eq!(trent_kms_builder_root_key(b, [7u8; 32].as_ptr(), 32, null_mut()), trent_result::Ok);
    let (u, ul) = s("postgresql://trent:hunter2-secret@127.0.0.1:1/trent?application_name=x&sslmode=verify-ca");
    assert_eq!(trent_kms_builder_postgres(b, u, ul, null_mut(), 0, null_mut()), trent_result::Ok);
    let msg = open_config_error(b);
    assert!(msg.contains("sslmode=verify-ca needs sslrootcert=<CA file>"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    trent_kms_builder_free(b);
}

#[test]
fn result_names_and_messages() {
    assert_eq!(cstr(trent_result_name(0)), "Ok");
    assert_eq!(cstr(trent_result_name(trent_result::NotFoundException as u32)), "NotFoundException");
    assert_eq!(cstr(trent_result_name(trent_result::KmsInvalidStateException as u32)), "KMSInvalidStateException");
    assert_eq!(cstr(trent_result_name(trent_result::KmsInternalException as u32)), "KMSInternalException");
    assert_eq!(cstr(trent_result_name(12345)), "Unknown");
    assert_eq!(cstr(trent_result_message(12345)), "Unknown");
    assert_eq!(cstr(trent_result_message(2)), "a required pointer argument was NULL");
    assert_eq!(cstr(trent_version()), env!("CARGO_PKG_VERSION"));
    // Every engine error's wire name has a code whose name is that wire name.
    let errors = [
        Error::NotFound(String::new()),
        Error::Disabled(String::new()),
        Error::InvalidState(String::new()),
        Error::AlreadyExists(String::new()),
        Error::Conflict(String::new()),
        Error::InvalidCiphertext,
        Error::IncorrectKey(String::new()),
        Error::InvalidKeyUsage(String::new()),
        Error::InvalidArn(String::new()),
        Error::InvalidAliasName(String::new()),
        Error::InvalidMarker(String::new()),
        Error::InvalidGrantToken(String::new()),
        Error::MalformedPolicyDocument(String::new()),
        Error::Tag(String::new()),
        Error::UnsupportedOperation(String::new()),
        Error::LimitExceeded(String::new()),
        Error::DryRunOperation(String::new()),
        Error::AccessDenied(String::new()),
        Error::Validation(String::new()),
        Error::Internal(String::new()),
    ];
    for (i, e) in errors.iter().enumerate() {
        let code = trent_result::from_engine(e);
        assert_eq!(code as u32, 1000 + i as u32, "the engine band is in variant order");
        assert_eq!(cstr(trent_result_name(code as u32)), e.name());
    }
}

/// Runs `trent_kms_call_json`, returning the JSON text or the error.
fn call_json(f: &Fixture, op: &str, body: &str) -> Result<String, (trent_result, String)> {
    let (o, ol) = s(op);
    let mut out = null_mut();
    let mut err = null_mut();
    let r = trent_kms_call_json(f.kms, f.caller, o, ol, body.as_ptr(), body.len(), &mut out, &mut err);
    if r == trent_result::Ok {
        let text = String::from_utf8(buffer(out)).expect("JSON is UTF-8");
        trent_buffer_free(out);
        Ok(text)
    } else {
        assert!(out.is_null());
        Err(take_err(err))
    }
}

#[test]
fn call_json_dispatches_aws_operations() {
    let f = Fixture::new();
    let described = call_json(&f, "DescribeKey", &format!(r#"{{"KeyId":"{}"}}"#, f.key)).expect("DescribeKey");
    assert!(described.contains(r#""KeyState":"Enabled""#), "{described}");
    // Encrypt through JSON, decrypt through the typed call.
    let resp = call_json(&f, "Encrypt", &format!(r#"{{"KeyId":"{}","Plaintext":"aGk="}}"#, f.key)).expect("Encrypt");
    assert!(resp.contains(r#""CiphertextBlob":""#), "{resp}");
    let aliases = call_json(&f, "CreateAlias", &format!(r#"{{"AliasName":"alias/c","TargetKeyId":"{}"}}"#, f.key));
    assert_eq!(aliases.expect("CreateAlias"), "{}");
    let random = call_json(&f, "GenerateRandom", r#"{"NumberOfBytes":16}"#).expect("GenerateRandom");
    assert!(random.starts_with(r#"{"Plaintext":""#), "{random}");
    // (NULL, 0) is an empty body, read as {}.
    let (o, ol) = s("ListKeys");
    let mut out = null_mut();
    assert_eq!(trent_kms_call_json(f.kms, f.caller, o, ol, null(), 0, &mut out, null_mut()), trent_result::Ok);
    trent_buffer_free(out);
    // Errors: unknown operation, bad JSON, engine exceptions.
    assert_eq!(call_json(&f, "Frobnicate", "{}").expect_err("unknown").0, trent_result::UnsupportedOperationException);
    assert_eq!(call_json(&f, "Encrypt", "not json").expect_err("bad body").0, trent_result::ValidationException);
    assert_eq!(
        call_json(&f, "DescribeKey", r#"{"KeyId":"alias/none"}"#).expect_err("missing").0,
        trent_result::NotFoundException
    );
    let mut out = null_mut();
    assert_eq!(
        trent_kms_call_json(f.kms, f.caller, null(), 3, null(), 0, &mut out, null_mut()),
        trent_result::NullParameter
    );
    assert_eq!(
        trent_kms_call_json(f.kms, f.caller, o, ol, null(), 0, null_mut(), null_mut()),
        trent_result::NullParameter
    );
    assert_eq!(
        trent_kms_call_json(null(), f.caller, o, ol, null(), 0, &mut out, null_mut()),
        trent_result::NullParameter
    );
    assert!(out.is_null());
}

#[test]
fn aliases_rotation_description_and_maintenance() {
    let f = Fixture::new();
    let (k, kl) = s(&f.key);
    let (a, al) = s("alias/app");
    assert_eq!(trent_kms_create_alias(f.kms, f.caller, a, al, k, kl, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_create_alias(f.kms, f.caller, a, al, k, kl, null_mut()), trent_result::AlreadyExistsException);
    let (bad, badl) = s("alias/aws/reserved");
    assert_eq!(
        trent_kms_create_alias(f.kms, f.caller, bad, badl, k, kl, null_mut()),
        trent_result::InvalidAliasNameException
    );
    // The alias works as a key identifier.
    let mut out = null_mut();
    assert_eq!(
        trent_kms_encrypt(f.kms, f.caller, a, al, b"x".as_ptr(), 1, null(), 0, &mut out, null_mut()),
        trent_result::Ok
    );
    trent_buffer_free(out);
    let mut other = null_mut();
    assert_eq!(trent_kms_create_key(f.kms, f.caller, null(), 0, &mut other, null_mut()), trent_result::Ok);
    let (o, ol) = (trent_buffer_data(other).cast(), trent_buffer_len(other));
    assert_eq!(trent_kms_update_alias(f.kms, f.caller, a, al, o, ol, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_delete_alias(f.kms, f.caller, a, al, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_delete_alias(f.kms, f.caller, a, al, null_mut()), trent_result::NotFoundException);
    assert_eq!(trent_kms_update_alias(f.kms, f.caller, a, al, o, ol, null_mut()), trent_result::NotFoundException);
    assert_eq!(trent_kms_create_alias(f.kms, f.caller, null(), 1, k, kl, null_mut()), trent_result::NullParameter);
    trent_buffer_free(other);

    assert_eq!(trent_kms_enable_key_rotation(f.kms, f.caller, k, kl, 0, null_mut()), trent_result::Ok);
    assert_eq!(
        trent_kms_enable_key_rotation(f.kms, f.caller, k, kl, 30, null_mut()),
        trent_result::ValidationException
    );
    assert_eq!(trent_kms_enable_key_rotation(f.kms, f.caller, k, kl, 90, null_mut()), trent_result::Ok);
    let status = call_json(&f, "GetKeyRotationStatus", &format!(r#"{{"KeyId":"{}"}}"#, f.key)).expect("status");
    assert!(status.contains(r#""RotationPeriodInDays":90"#), "{status}");
    assert_eq!(trent_kms_disable_key_rotation(f.kms, f.caller, k, kl, null_mut()), trent_result::Ok);

    let (d, dl) = s("new description");
    assert_eq!(trent_kms_update_key_description(f.kms, f.caller, k, kl, d, dl, null_mut()), trent_result::Ok);
    let described = call_json(&f, "DescribeKey", &format!(r#"{{"KeyId":"{}"}}"#, f.key)).expect("DescribeKey");
    assert!(described.contains(r#""Description":"new description""#), "{described}");
    assert_eq!(
        trent_kms_update_key_description(f.kms, f.caller, k, kl, null(), 2, null_mut()),
        trent_result::NullParameter
    );

    assert_eq!(trent_kms_run_maintenance(f.kms, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_refresh_now(f.kms, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_check_store_integrity(f.kms, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_flush_audit(f.kms, null_mut()), trent_result::Ok);
    assert_eq!(cstr(trent_kms_store_backend(f.kms)), "memory");
    assert_eq!(cstr(trent_kms_store_backend(null())), "");
    assert_eq!(trent_kms_run_maintenance(null(), null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_refresh_now(null(), null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_check_store_integrity(null(), null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_flush_audit(null(), null_mut()), trent_result::NullParameter);

    // Builder options.
    let mut b = null_mut();
    assert_eq!(trent_kms_builder_new(&mut b), trent_result::Ok);
    assert_eq!(trent_kms_builder_audit_table(b, false, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_builder_refresh_interval_ms(b, 0, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_builder_refresh_interval_ms(b, 250, null_mut()), trent_result::Ok);
    assert_eq!(trent_kms_builder_max_hot_versions(b, 4, null_mut()), trent_result::Ok);
    let mut kms = null_mut();
    assert_eq!(trent_kms_builder_open(b, &mut kms, null_mut()), trent_result::Ok);
    trent_kms_free(kms);
    trent_kms_builder_free(b);
    assert_eq!(trent_kms_builder_audit_table(null_mut(), true, null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_builder_refresh_interval_ms(null_mut(), 1, null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_builder_max_hot_versions(null_mut(), 1, null_mut()), trent_result::NullParameter);
}

/// Reads result `i` of a batch.
fn batch_get(results: *const trent_batch_results, i: usize) -> Result<Vec<u8>, trent_result> {
    let (mut p, mut l) = (null(), 0);
    let r = trent_batch_results_get(results, i, &mut p, &mut l, null_mut());
    if r != trent_result::Ok {
        assert!(p.is_null() && l == 0);
        return Err(r);
    }
    // SAFETY: a pointer into the batch, live until it is freed.
    Ok(unsafe { std::slice::from_raw_parts(p, l) }.to_vec())
}

#[test]
fn encrypt_and_decrypt_batches() {
    let f = Fixture::new();
    let (k, kl) = s(&f.key);
    let ctx = [entry("batch", "yes")];
    let plaintexts: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 1 + i as usize]).collect();
    let mut items: Vec<trent_batch_item> = plaintexts
        .iter()
        .map(|p| trent_batch_item { data: p.as_ptr(), data_len: p.len(), context: ctx.as_ptr(), context_len: 1 })
        .collect();
    // One bad item: an empty plaintext fails alone.
    items.push(trent_batch_item { data: null(), data_len: 0, context: null(), context_len: 0 });
    let mut enc = null_mut();
    assert_eq!(
        trent_kms_encrypt_batch(f.kms, f.caller, k, kl, items.as_ptr(), items.len(), &mut enc, null_mut()),
        trent_result::Ok
    );
    assert_eq!(trent_batch_results_len(enc), 51);
    assert_eq!(batch_get(enc, 50), Err(trent_result::ValidationException));
    assert_eq!(batch_get(enc, 51), Err(trent_result::IndexOutOfRange));
    let blobs: Vec<Vec<u8>> = (0..50).map(|i| batch_get(enc, i).expect("blob")).collect();
    trent_batch_results_free(enc);

    let mut dec_items: Vec<trent_batch_item> = blobs
        .iter()
        .map(|b| trent_batch_item { data: b.as_ptr(), data_len: b.len(), context: ctx.as_ptr(), context_len: 1 })
        .collect();
    // Wrong context on the last: fails alone.
    dec_items.push(trent_batch_item {
        data: blobs[0].as_ptr(),
        data_len: blobs[0].len(),
        context: null(),
        context_len: 0,
    });
    let mut dec = null_mut();
    assert_eq!(
        trent_kms_decrypt_batch(f.kms, f.caller, dec_items.as_ptr(), dec_items.len(), &mut dec, null_mut()),
        trent_result::Ok
    );
    for (i, p) in plaintexts.iter().enumerate() {
        assert_eq!(&batch_get(dec, i).expect("plaintext"), p);
    }
    assert_eq!(batch_get(dec, 50), Err(trent_result::InvalidCiphertextException));
    // The whole batch out in one call: the successes back to back, their ends, every code.
    let mut total = 0usize;
    assert_eq!(trent_batch_results_total_len(dec, &mut total, null_mut()), trent_result::Ok);
    assert_eq!(total, plaintexts.iter().map(Vec::len).sum::<usize>());
    let mut out = vec![0u8; total];
    let mut ends = vec![0usize; 51];
    let mut codes = vec![7u32; 51];
    let r = trent_batch_results_export(
        dec,
        out.as_mut_ptr(),
        total,
        ends.as_mut_ptr(),
        51,
        codes.as_mut_ptr(),
        51,
        null_mut(),
    );
    assert_eq!(r, trent_result::Ok);
    let mut start = 0;
    for (i, p) in plaintexts.iter().enumerate() {
        assert_eq!(&out[start..ends[i]], p.as_slice());
        assert_eq!(codes[i], 0);
        start = ends[i];
    }
    assert_eq!((ends[50], codes[50]), (total, trent_result::InvalidCiphertextException as u32), "failed: empty");
    // Sizes not exactly the batch's: nothing written.
    let mut err = null_mut();
    let mut more = vec![0xAAu8; total + 1];
    let (mut ends, mut codes) = (vec![9usize; 51], vec![9u32; 51]);
    let r = trent_batch_results_export(
        dec,
        more.as_mut_ptr(),
        total + 1,
        ends.as_mut_ptr(),
        51,
        codes.as_mut_ptr(),
        51,
        &mut err,
    );
    assert_eq!(r, trent_result::InvalidArgument);
    assert!(take_err(err).1.contains("out_len is"));
    let r = trent_batch_results_export(
        dec,
        out.as_mut_ptr(),
        total,
        ends.as_mut_ptr(),
        50,
        codes.as_mut_ptr(),
        51,
        null_mut(),
    );
    assert_eq!(r, trent_result::InvalidArgument);
    assert!(more.iter().all(|&b| b == 0xAA) && ends.iter().all(|&e| e == 9) && codes.iter().all(|&c| c == 9));
    let r =
        trent_batch_results_export(dec, null_mut(), total, ends.as_mut_ptr(), 51, codes.as_mut_ptr(), 51, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    assert_eq!(trent_batch_results_total_len(dec, null_mut(), null_mut()), trent_result::NullParameter);
    assert_eq!(trent_batch_results_total_len(null(), &mut total, null_mut()), trent_result::NullParameter);
    // The caller wipes its copy of the plaintexts.
    trent_wipe(out.as_mut_ptr(), out.len());
    assert!(out.iter().all(|&b| b == 0));
    trent_wipe(null_mut(), 0);
    trent_wipe(null_mut(), 5);
    trent_batch_results_free(dec);

    // Whole-batch failures and argument errors.
    let mut out = null_mut();
    let (nk, nkl) = s("alias/none");
    assert_eq!(
        trent_kms_encrypt_batch(f.kms, f.caller, nk, nkl, items.as_ptr(), 1, &mut out, null_mut()),
        trent_result::NotFoundException
    );
    // An empty batch is an empty result.
    assert_eq!(trent_kms_encrypt_batch(f.kms, f.caller, k, kl, null(), 0, &mut out, null_mut()), trent_result::Ok);
    assert_eq!(trent_batch_results_len(out), 0);
    trent_batch_results_free(out);
    out = null_mut();
    assert_eq!(
        trent_kms_encrypt_batch(f.kms, f.caller, k, kl, null(), 3, &mut out, null_mut()),
        trent_result::NullParameter
    );
    assert_eq!(
        trent_kms_decrypt_batch(f.kms, f.caller, items.as_ptr(), 1, null_mut(), null_mut()),
        trent_result::NullParameter
    );
    let bad = [trent_batch_item { data: null(), data_len: 4, context: null(), context_len: 0 }];
    assert_eq!(
        trent_kms_decrypt_batch(f.kms, f.caller, bad.as_ptr(), 1, &mut out, null_mut()),
        trent_result::NullParameter
    );
    assert!(out.is_null());
    assert_eq!(trent_batch_results_len(null()), 0);
    assert_eq!(trent_batch_results_get(null(), 0, null_mut(), null_mut(), null_mut()), trent_result::NullParameter);
    trent_batch_results_free(null_mut());
}

#[test]
fn root_key_rotation() {
    let f = Fixture::new();
    let blob = f.encrypt(b"survives", &[]).expect("encrypt");
    let mut count = 0u64;
    let key = [9u8; 32];
    assert_eq!(
        trent_kms_rotate_root_key(f.kms, trent_root_key_kind::Bytes as u32, key.as_ptr(), 32, &mut count, null_mut()),
        trent_result::Ok
    );
    assert!(count >= 1, "{count}");
    assert_eq!(f.decrypt(&blob, &[]).expect("decrypt"), b"survives");
    let (p, pl) = s("a passphrase");
    assert_eq!(
        trent_kms_rotate_root_key(f.kms, trent_root_key_kind::Passphrase as u32, p.cast(), pl, null_mut(), null_mut()),
        trent_result::Ok
    );
    let mut err = null_mut();
    assert_eq!(
        trent_kms_rotate_root_key(f.kms, trent_root_key_kind::Bytes as u32, key.as_ptr(), 31, &mut count, &mut err),
        trent_result::InvalidArgument
    );
    take_err(err);
    assert_eq!(
        trent_kms_rotate_root_key(f.kms, 77, key.as_ptr(), 32, null_mut(), null_mut()),
        trent_result::InvalidArgument
    );
    let (e, el) = s("TRENT_FFI_TEST_NO_SUCH_VARIABLE");
    let r = trent_kms_rotate_root_key(f.kms, trent_root_key_kind::Env as u32, e.cast(), el, null_mut(), null_mut());
    assert_ne!(r, trent_result::Ok);
    assert_eq!(
        trent_kms_rotate_root_key(null(), 0, key.as_ptr(), 32, null_mut(), null_mut()),
        trent_result::NullParameter
    );
    assert_eq!(f.decrypt(&blob, &[]).expect("decrypt"), b"survives");
}

/// Reads a `trent_str` result as text; `None` for `{NULL, 0}`.
fn text(v: trent_str) -> Option<String> {
    if v.data.is_null() {
        assert_eq!(v.len, 0);
        return None;
    }
    // SAFETY: the library returned `data` pointing to `len` bytes plus a NUL, live until the
    // object it came from is freed.
    let bytes = unsafe { std::slice::from_raw_parts(v.data.cast::<u8>(), v.len + 1) };
    assert_eq!(bytes[v.len], 0, "result strings are NUL-terminated");
    Some(String::from_utf8(bytes[..v.len].to_vec()).expect("UTF-8"))
}

/// Field `field` of row `row` of a listing.
fn list_get(list: *const trent_list, row: usize, field: &str) -> Result<Option<String>, trent_result> {
    let (p, l) = s(field);
    let untouched = b"untouched\0";
    let mut v = trent_str { data: untouched.as_ptr().cast(), len: 9 };
    let r = trent_list_get(list, row, p, l, &mut v, null_mut());
    if r != trent_result::Ok {
        assert!(std::ptr::eq(v.data, untouched.as_ptr().cast()) && v.len == 9, "an output was written on failure");
        return Err(r);
    }
    Ok(text(v))
}

fn tag(k: &'static str, v: &'static str) -> trent_tag {
    trent_tag { key: k.as_ptr().cast(), key_len: k.len(), value: v.as_ptr().cast(), value_len: v.len() }
}

#[test]
fn create_key_with_options_and_describe_key() {
    let f = Fixture::new();
    let tags = [tag("team", "payments"), tag("env", "test")];
    let (d, dl) = s("with options");
    let (spec, specl) = s("SYMMETRIC_DEFAULT");
    let (usage, usagel) = s("ENCRYPT_DECRYPT");
    let mut md = null_mut();
    let r = trent_kms_create_key_with_options(
        f.kms,
        f.caller,
        d,
        dl,
        spec,
        specl,
        usage,
        usagel,
        null(),
        0,
        tags.as_ptr(),
        2,
        true,
        &mut md,
        null_mut(),
    );
    assert_eq!(r, trent_result::Ok);
    let id = text(trent_key_metadata_key_id(md)).expect("id");
    assert!(id.starts_with("mrk-"), "{id}");
    assert!(text(trent_key_metadata_arn(md)).expect("arn").ends_with(&format!(":key/{id}")));
    assert_eq!(text(trent_key_metadata_description(md)).as_deref(), Some("with options"));
    assert_eq!(text(trent_key_metadata_key_state(md)).as_deref(), Some("Enabled"));
    assert_eq!(text(trent_key_metadata_key_spec(md)).as_deref(), Some("SYMMETRIC_DEFAULT"));
    assert_eq!(text(trent_key_metadata_key_usage(md)).as_deref(), Some("ENCRYPT_DECRYPT"));
    assert_eq!(text(trent_key_metadata_origin(md)).as_deref(), Some("AWS_KMS"));
    assert_eq!(text(trent_key_metadata_key_manager(md)).as_deref(), Some("CUSTOMER"));
    assert_eq!(text(trent_key_metadata_aws_account_id(md)).expect("account").len(), 12);
    assert!(trent_key_metadata_enabled(md));
    assert!(trent_key_metadata_multi_region(md));
    assert!(trent_key_metadata_creation_date(md) > 1_700_000_000_000);
    assert_eq!(trent_key_metadata_deletion_date(md), 0);
    assert_eq!(trent_key_metadata_pending_deletion_window_in_days(md), 0);
    trent_key_metadata_free(md);

    // The tags were set.
    let (k, kl) = s(&id);
    let mut list = null_mut();
    assert_eq!(
        trent_kms_list_resource_tags(f.kms, f.caller, k, kl, 0, null(), 0, &mut list, null_mut()),
        trent_result::Ok
    );
    assert_eq!(trent_list_len(list), 2);
    let mut pairs: Vec<(String, String)> = (0..2)
        .map(|i| (list_get(list, i, "TagKey").unwrap().unwrap(), list_get(list, i, "TagValue").unwrap().unwrap()))
        .collect();
    pairs.sort();
    assert_eq!(pairs, [("env".to_owned(), "test".to_owned()), ("team".to_owned(), "payments".to_owned())]);
    trent_list_free(list);

    // DescribeKey after scheduling deletion shows the new state and dates.
    assert_eq!(trent_kms_schedule_key_deletion(f.kms, f.caller, k, kl, 7, null_mut()), trent_result::Ok);
    let mut md = null_mut();
    assert_eq!(trent_kms_describe_key(f.kms, f.caller, k, kl, &mut md, null_mut()), trent_result::Ok);
    assert_eq!(text(trent_key_metadata_key_state(md)).as_deref(), Some("PendingDeletion"));
    assert!(!trent_key_metadata_enabled(md));
    // Shown only in state PendingReplicaDeletion, as AWS does.
    assert_eq!(trent_key_metadata_pending_deletion_window_in_days(md), 0);
    let days = (trent_key_metadata_deletion_date(md) - trent_key_metadata_creation_date(md)) / 86_400_000;
    assert_eq!(days, 7);
    trent_key_metadata_free(md);

    // Bad spec and usage names, an unknown key, NULLs.
    let mut md = null_mut();
    let mut err = null_mut();
    let (bad, badl) = s("AES_128");
    let r = trent_kms_create_key_with_options(
        f.kms,
        f.caller,
        null(),
        0,
        bad,
        badl,
        null(),
        0,
        null(),
        0,
        null(),
        0,
        false,
        &mut md,
        &mut err,
    );
    assert_eq!(r, trent_result::ValidationException);
    assert!(md.is_null());
    assert!(take_err(err).1.contains("keySpec"));
    let r = trent_kms_create_key_with_options(
        f.kms,
        f.caller,
        null(),
        0,
        null(),
        0,
        bad,
        badl,
        null(),
        0,
        null(),
        0,
        false,
        &mut md,
        null_mut(),
    );
    assert_eq!(r, trent_result::ValidationException);
    let (p, pl) = s("{not json");
    let r = trent_kms_create_key_with_options(
        f.kms,
        f.caller,
        null(),
        0,
        null(),
        0,
        null(),
        0,
        p,
        pl,
        null(),
        0,
        false,
        &mut md,
        null_mut(),
    );
    assert_eq!(r, trent_result::MalformedPolicyDocumentException);
    let r = trent_kms_create_key_with_options(
        f.kms,
        f.caller,
        null(),
        0,
        null(),
        0,
        null(),
        0,
        null(),
        0,
        null(),
        3,
        false,
        &mut md,
        null_mut(),
    );
    assert_eq!(r, trent_result::NullParameter);
    let r = trent_kms_create_key_with_options(
        f.kms,
        f.caller,
        null(),
        0,
        null(),
        0,
        null(),
        0,
        null(),
        0,
        null(),
        0,
        false,
        null_mut(),
        null_mut(),
    );
    assert_eq!(r, trent_result::NullParameter);
    assert!(md.is_null());
    let (u, ul) = s("11111111-2222-3333-4444-555555555555");
    assert_eq!(trent_kms_describe_key(f.kms, f.caller, u, ul, &mut md, null_mut()), trent_result::NotFoundException);
    assert_eq!(trent_kms_describe_key(f.kms, f.caller, k, kl, null_mut(), null_mut()), trent_result::NullParameter);
    assert!(md.is_null());
    // Accessors on NULL.
    assert_eq!(text(trent_key_metadata_key_id(null())), None);
    assert!(!trent_key_metadata_enabled(null()));
    assert_eq!(trent_key_metadata_creation_date(null()), 0);
    trent_key_metadata_free(null_mut());
}

#[test]
fn listings_page_and_name_their_fields() {
    let f = Fixture::new();
    for _ in 0..4 {
        let mut id = null_mut();
        assert_eq!(trent_kms_create_key(f.kms, f.caller, null(), 0, &mut id, null_mut()), trent_result::Ok);
        trent_buffer_free(id);
    }
    // Five keys, pages of two.
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let (m, ml) = marker.as_deref().map_or((null(), 0), s);
        let mut list = null_mut();
        assert_eq!(trent_kms_list_keys(f.kms, f.caller, 2, m, ml, &mut list, null_mut()), trent_result::Ok);
        assert!(trent_list_len(list) <= 2);
        for i in 0..trent_list_len(list) {
            let id = list_get(list, i, "KeyId").unwrap().unwrap();
            assert!(list_get(list, i, "KeyArn").unwrap().unwrap().ends_with(&id));
            seen.push(id);
        }
        assert_eq!(list_get(list, 0, "AliasName"), Err(trent_result::InvalidArgument));
        assert_eq!(list_get(list, 2, "KeyId"), Err(trent_result::IndexOutOfRange));
        marker = text(trent_list_next_marker(list));
        trent_list_free(list);
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.contains(&f.key));

    // Aliases, of all keys and of one.
    let (k, kl) = s(&f.key);
    let (a, al) = s("alias/listed");
    assert_eq!(trent_kms_create_alias(f.kms, f.caller, a, al, k, kl, null_mut()), trent_result::Ok);
    let mut list = null_mut();
    assert_eq!(trent_kms_list_aliases(f.kms, f.caller, k, kl, 0, null(), 0, &mut list, null_mut()), trent_result::Ok);
    assert_eq!(trent_list_len(list), 1);
    assert_eq!(list_get(list, 0, "AliasName").unwrap().as_deref(), Some("alias/listed"));
    assert_eq!(list_get(list, 0, "TargetKeyId").unwrap().as_deref(), Some(f.key.as_str()));
    assert!(list_get(list, 0, "AliasArn").unwrap().unwrap().ends_with(":alias/listed"));
    let created: i64 = list_get(list, 0, "CreationDate").unwrap().unwrap().parse().expect("milliseconds");
    assert!(created > 1_700_000_000_000);
    assert!(list_get(list, 0, "LastUpdatedDate").unwrap().is_some());
    assert_eq!(text(trent_list_next_marker(list)), None);
    trent_list_free(list);

    // Rotations: one on demand.
    assert_eq!(trent_kms_rotate_key_on_demand(f.kms, f.caller, k, kl, null_mut()), trent_result::Ok);
    let mut list = null_mut();
    assert_eq!(
        trent_kms_list_key_rotations(f.kms, f.caller, k, kl, 0, null(), 0, &mut list, null_mut()),
        trent_result::Ok
    );
    assert_eq!(trent_list_len(list), 1);
    assert_eq!(list_get(list, 0, "RotationType").unwrap().as_deref(), Some("ON_DEMAND"));
    assert_eq!(list_get(list, 0, "KeyId").unwrap().as_deref(), Some(f.key.as_str()));
    assert!(list_get(list, 0, "KeyMaterialId").unwrap().is_some());
    assert!(list_get(list, 0, "KeyMaterialState").unwrap().is_some());
    trent_list_free(list);

    // Errors: a bad limit, a bad marker, NULLs; nothing written.
    let mut list = null_mut();
    let mut err = null_mut();
    assert_eq!(
        trent_kms_list_keys(f.kms, f.caller, 5000, null(), 0, &mut list, &mut err),
        trent_result::ValidationException
    );
    take_err(err);
    let (m, ml) = s("not a marker");
    let r = trent_kms_list_keys(f.kms, f.caller, 0, m, ml, &mut list, null_mut());
    assert!(matches!(r, trent_result::InvalidMarkerException | trent_result::ValidationException), "{r:?}");
    assert_eq!(trent_kms_list_keys(f.kms, f.caller, 0, null(), 0, null_mut(), null_mut()), trent_result::NullParameter);
    let r = trent_kms_list_resource_tags(f.kms, f.caller, null(), 3, 0, null(), 0, &mut list, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    assert!(list.is_null());
    assert_eq!(trent_list_len(null()), 0);
    assert_eq!(text(trent_list_next_marker(null())), None);
    let mut v = trent_str { data: null(), len: 0 };
    let (kf, kfl) = s("KeyId");
    assert_eq!(trent_list_get(null(), 0, kf, kfl, &mut v, null_mut()), trent_result::NullParameter);
    trent_list_free(null_mut());
}

#[test]
fn tags_and_rotation_status() {
    let f = Fixture::new();
    let (k, kl) = s(&f.key);
    let tags = [tag("a", "1"), tag("b", "2"), tag("c", "")];
    assert_eq!(trent_kms_tag_resource(f.kms, f.caller, k, kl, tags.as_ptr(), 3, null_mut()), trent_result::Ok);
    let keys = [trent_str { data: "b".as_ptr().cast(), len: 1 }, trent_str { data: "zz".as_ptr().cast(), len: 2 }];
    assert_eq!(trent_kms_untag_resource(f.kms, f.caller, k, kl, keys.as_ptr(), 2, null_mut()), trent_result::Ok);
    let mut list = null_mut();
    assert_eq!(
        trent_kms_list_resource_tags(f.kms, f.caller, k, kl, 0, null(), 0, &mut list, null_mut()),
        trent_result::Ok
    );
    let mut names: Vec<String> =
        (0..trent_list_len(list)).map(|i| list_get(list, i, "TagKey").unwrap().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["a", "c"]);
    trent_list_free(list);
    // A reserved prefix is a TagException; NULL arrays with a count are refused.
    let bad = [tag("aws:x", "1")];
    assert_eq!(trent_kms_tag_resource(f.kms, f.caller, k, kl, bad.as_ptr(), 1, null_mut()), trent_result::TagException);
    assert_eq!(trent_kms_tag_resource(f.kms, f.caller, k, kl, null(), 1, null_mut()), trent_result::NullParameter);
    assert_eq!(trent_kms_untag_resource(f.kms, f.caller, k, kl, null(), 1, null_mut()), trent_result::NullParameter);
    let bad_utf8 = [trent_str { data: b"\xff".as_ptr().cast(), len: 1 }];
    assert_eq!(
        trent_kms_untag_resource(f.kms, f.caller, k, kl, bad_utf8.as_ptr(), 1, null_mut()),
        trent_result::InvalidUtf8
    );

    // Rotation status before and after enabling.
    let (mut on, mut period, mut next) = (true, 7u32, 7i64);
    let r = trent_kms_get_key_rotation_status(f.kms, f.caller, k, kl, &mut on, &mut period, &mut next, null_mut());
    assert_eq!(r, trent_result::Ok);
    assert_eq!((on, period, next), (false, 0, 0));
    assert_eq!(trent_kms_enable_key_rotation(f.kms, f.caller, k, kl, 90, null_mut()), trent_result::Ok);
    let r = trent_kms_get_key_rotation_status(f.kms, f.caller, k, kl, &mut on, &mut period, &mut next, null_mut());
    assert_eq!(r, trent_result::Ok);
    assert!(on);
    assert_eq!(period, 90);
    assert!(next > 1_700_000_000_000);
    let r = trent_kms_get_key_rotation_status(f.kms, f.caller, k, kl, &mut on, null_mut(), &mut next, null_mut());
    assert_eq!(r, trent_result::NullParameter);
}

#[test]
fn re_encrypt_batch_and_data_key_export() {
    let f = Fixture::new();
    let mut dest = null_mut();
    assert_eq!(trent_kms_create_key(f.kms, f.caller, null(), 0, &mut dest, null_mut()), trent_result::Ok);
    let src_ctx = [entry("from", "a")];
    let dst_ctx = [entry("to", "b")];
    let blobs: Vec<Vec<u8>> = (0..20u8).map(|i| f.encrypt(&[i; 10], &src_ctx).expect("encrypt")).collect();
    let mut items: Vec<trent_re_encrypt_item> = blobs
        .iter()
        .map(|b| trent_re_encrypt_item {
            ciphertext: b.as_ptr(),
            ciphertext_len: b.len(),
            source_context: src_ctx.as_ptr(),
            source_context_len: 1,
            destination_context: dst_ctx.as_ptr(),
            destination_context_len: 1,
        })
        .collect();
    // One item with the wrong source context fails alone.
    items[3].source_context_len = 0;
    let mut results = null_mut();
    let (d, dl) = (trent_buffer_data(dest).cast(), trent_buffer_len(dest));
    let r = trent_kms_re_encrypt_batch(f.kms, f.caller, d, dl, items.as_ptr(), items.len(), &mut results, null_mut());
    assert_eq!(r, trent_result::Ok);
    assert_eq!(trent_batch_results_len(results), 20);
    for i in 0..20 {
        let got = batch_get(results, i);
        if i == 3 {
            assert_eq!(got, Err(trent_result::InvalidCiphertextException));
        } else {
            assert_eq!(f.decrypt(&got.expect("blob"), &dst_ctx).expect("decrypt"), [i as u8; 10]);
        }
    }
    trent_batch_results_free(results);
    results = null_mut();
    let (u, ul) = s("alias/nowhere");
    let r = trent_kms_re_encrypt_batch(f.kms, f.caller, u, ul, items.as_ptr(), items.len(), &mut results, null_mut());
    assert_eq!(r, trent_result::NotFoundException);
    let r = trent_kms_re_encrypt_batch(f.kms, f.caller, d, dl, null(), 2, &mut results, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    assert!(results.is_null());
    trent_buffer_free(dest);

    // Export a data-key batch in one call.
    let (k, kl) = s(&f.key);
    let mut batch = null_mut();
    assert_eq!(
        trent_kms_generate_data_keys(f.kms, f.caller, k, kl, 16, null(), 0, 64, &mut batch, null_mut()),
        trent_result::Ok
    );
    let (mut pt_len, mut ct_len) = (0, 0);
    assert_eq!(trent_data_keys_total_len(batch, &mut pt_len, &mut ct_len, null_mut()), trent_result::Ok);
    assert_eq!(pt_len, 64 * 16);
    let mut pts = vec![0u8; pt_len];
    let mut cts = vec![0u8; ct_len];
    let mut ends = vec![0usize; 64];
    // Wrong sizes write nothing.
    let mut err = null_mut();
    let r = trent_data_keys_export(
        batch,
        pts.as_mut_ptr(),
        pt_len - 1,
        cts.as_mut_ptr(),
        ct_len,
        ends.as_mut_ptr(),
        64,
        &mut err,
    );
    assert_eq!(r, trent_result::InvalidArgument);
    assert!(take_err(err).1.contains("plaintexts_len"));
    let r = trent_data_keys_export(
        batch,
        pts.as_mut_ptr(),
        pt_len,
        cts.as_mut_ptr(),
        ct_len,
        ends.as_mut_ptr(),
        63,
        null_mut(),
    );
    assert_eq!(r, trent_result::InvalidArgument);
    assert!(pts.iter().all(|&b| b == 0) && ends.iter().all(|&e| e == 0));
    let r =
        trent_data_keys_export(batch, null_mut(), pt_len, cts.as_mut_ptr(), ct_len, ends.as_mut_ptr(), 64, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    let r = trent_data_keys_export(
        batch,
        pts.as_mut_ptr(),
        pt_len,
        cts.as_mut_ptr(),
        ct_len,
        ends.as_mut_ptr(),
        64,
        null_mut(),
    );
    assert_eq!(r, trent_result::Ok);
    assert_eq!(*ends.last().expect("ends"), ct_len);
    let mut start = 0;
    for (i, &end) in ends.iter().enumerate() {
        let (mut p, mut pl, mut c, mut cl) = (null(), 0, null(), 0);
        assert_eq!(trent_data_keys_get(batch, i, &mut p, &mut pl, &mut c, &mut cl, null_mut()), trent_result::Ok);
        // SAFETY: pointers into the batch, live until it is freed.
        let (pt, ct) = unsafe { (std::slice::from_raw_parts(p, pl), std::slice::from_raw_parts(c, cl)) };
        assert_eq!(&pts[i * 16..(i + 1) * 16], pt);
        assert_eq!(&cts[start..end], ct);
        start = end;
    }
    trent_data_keys_free(batch);
    let (mut a, mut b) = (0, 0);
    assert_eq!(trent_data_keys_total_len(null(), &mut a, &mut b, null_mut()), trent_result::NullParameter);
}

/// Packs an encryption context for the `_into` functions.
fn pack(pairs: &[(&str, &str)]) -> Vec<u8> {
    trent_ffi::context::pack(pairs.iter().copied()).expect("short strings")
}

impl Fixture {
    /// `trent_kms_encrypt_into` with a packed context, into a buffer of `cap` bytes.
    fn encrypt_into(&self, plaintext: &[u8], ctx: &[u8], cap: usize) -> Result<Vec<u8>, (trent_result, String)> {
        let (k, kl) = s(&self.key);
        let mut out = vec![0xAAu8; cap];
        let mut len = 7usize;
        let mut err = null_mut();
        let r = trent_kms_encrypt_into(
            self.kms,
            self.caller,
            k,
            kl,
            plaintext.as_ptr(),
            plaintext.len(),
            ctx.as_ptr(),
            ctx.len(),
            out.as_mut_ptr(),
            cap,
            &mut len,
            &mut err,
        );
        if r == trent_result::Ok {
            assert!(err.is_null());
            assert!(out[len..].iter().all(|&b| b == 0xAA), "nothing past the blob");
            out.truncate(len);
            Ok(out)
        } else {
            assert_eq!(len, 7, "the length was written on failure");
            assert!(out.iter().all(|&b| b == 0xAA), "the buffer was written on failure");
            let e = take_err(err);
            assert_eq!(e.0, r);
            Err(e)
        }
    }

    /// `trent_kms_decrypt_into` with a packed context, into a buffer of `cap` bytes.
    fn decrypt_into(&self, blob: &[u8], ctx: &[u8], cap: usize) -> Result<Vec<u8>, (trent_result, String)> {
        let mut out = vec![0xAAu8; cap];
        let mut len = 7usize;
        let mut err = null_mut();
        let r = trent_kms_decrypt_into(
            self.kms,
            self.caller,
            blob.as_ptr(),
            blob.len(),
            ctx.as_ptr(),
            ctx.len(),
            null(),
            0,
            out.as_mut_ptr(),
            cap,
            &mut len,
            &mut err,
        );
        if r == trent_result::Ok {
            assert!(err.is_null());
            assert!(out[len..].iter().all(|&b| b == 0xAA), "nothing past the plaintext");
            out.truncate(len);
            Ok(out)
        } else {
            assert_eq!(len, 7, "the length was written on failure");
            // A blob that fails to authenticate is opened in the buffer, and what it covered
            // is zeroed; any other failure writes nothing.
            let opened = out.iter().take_while(|&&b| b == 0).count();
            assert!(opened == 0 || r == trent_result::InvalidCiphertextException, "{r:?} wrote into the buffer");
            assert!(out[opened..].iter().all(|&b| b == 0xAA), "the buffer holds more than zeros on failure");
            let e = take_err(err);
            assert_eq!(e.0, r);
            Err(e)
        }
    }
}

#[test]
fn encrypt_into_the_callers_buffer() {
    let f = Fixture::new();
    let (k, kl) = s(&f.key);
    let ctx = pack(&[("into", "yes")]);
    let plaintext = [5u8; 4096];
    let need = trent_ciphertext_len(plaintext.len());
    assert_eq!(need, f.encrypt(&plaintext, &[entry("into", "yes")]).expect("encrypt").len());
    assert_eq!(trent_ciphertext_len(usize::MAX), usize::MAX);
    let blob = f.encrypt_into(&plaintext, &ctx, need + 10).expect("encrypt_into");
    assert_eq!(blob.len(), need);
    // The packed context is the same context as the entries of the other functions.
    assert_eq!(f.decrypt(&blob, &[entry("into", "yes")]).expect("decrypt"), plaintext);
    // Too small: a validation error, nothing written.
    let e = f.encrypt_into(&plaintext, &[], need - 1).expect_err("too small");
    assert_eq!(e.0, trent_result::ValidationException);
    assert!(e.1.contains("output buffer"), "{}", e.1);
    // A malformed packing: a validation error saying what is wrong, nothing written.
    let e = f.encrypt_into(b"x", b"\x05\0\0\0ab", 100).expect_err("malformed");
    assert_eq!(e.0, trent_result::ValidationException);
    assert_eq!(e.1, "ValidationException: context: pair 0: the key is 5 bytes long but only 2 remain");
    let mut dup = pack(&[("a", "1")]);
    dup.extend(pack(&[("a", "2")]));
    assert_eq!(f.encrypt_into(b"x", &dup, 100).expect_err("repeated key").0, trent_result::ValidationException);
    // Engine errors and NULLs.
    let mut out = vec![0u8; need + 10];
    let mut len = 7usize;
    let (u, ul) = s("alias/none");
    let r = trent_kms_encrypt_into(
        f.kms,
        f.caller,
        u,
        ul,
        b"x".as_ptr(),
        1,
        null(),
        0,
        out.as_mut_ptr(),
        out.len(),
        &mut len,
        null_mut(),
    );
    assert_eq!(r, trent_result::NotFoundException);
    let r = trent_kms_encrypt_into(
        f.kms,
        f.caller,
        k,
        kl,
        b"x".as_ptr(),
        1,
        null(),
        4,
        out.as_mut_ptr(),
        out.len(),
        &mut len,
        null_mut(),
    );
    assert_eq!(r, trent_result::NullParameter, "a NULL context with a length");
    let r = trent_kms_encrypt_into(
        f.kms,
        f.caller,
        k,
        kl,
        b"x".as_ptr(),
        1,
        null(),
        0,
        null_mut(),
        100,
        &mut len,
        null_mut(),
    );
    assert_eq!(r, trent_result::NullParameter);
    let r = trent_kms_encrypt_into(
        f.kms,
        f.caller,
        k,
        kl,
        b"x".as_ptr(),
        1,
        null(),
        0,
        out.as_mut_ptr(),
        out.len(),
        null_mut(),
        null_mut(),
    );
    assert_eq!(r, trent_result::NullParameter);
    assert_eq!(len, 7);
    assert_eq!(f.encrypt_into(&[], &[], 100).expect_err("empty").0, trent_result::ValidationException);
    // Every size class of plaintext: exactly the predicted length, and it decrypts.
    for n in [1usize, 2, 15, 16, 17, 31, 33, 255, 1000, 4095, 4096] {
        let pt: Vec<u8> = (0..n).map(|i| (i * 31) as u8).collect();
        let blob = f.encrypt_into(&pt, &ctx, trent_ciphertext_len(n)).expect("encrypt_into");
        assert_eq!(blob.len(), trent_ciphertext_len(n));
        assert_eq!(trent_plaintext_len_max(blob.len()), n);
        assert_eq!(f.decrypt_into(&blob, &ctx, n).expect("decrypt_into"), pt);
    }
    let e = f.encrypt_into(&[0u8; 4097], &[], 5000).expect_err("over 4096 bytes");
    assert_eq!(e.0, trent_result::ValidationException);
}

#[test]
fn output_sizes() {
    let overhead = trent_ciphertext_len(0);
    assert!(overhead > 0);
    assert_eq!(trent_plaintext_len_max(0), 0);
    assert_eq!(trent_plaintext_len_max(overhead), 0);
    assert_eq!(trent_plaintext_len_max(overhead + 1), 1);
    assert_eq!(trent_plaintext_len_max(usize::MAX), usize::MAX - overhead);
    for n in [1usize, 32, 4096] {
        assert_eq!(trent_plaintext_len_max(trent_ciphertext_len(n)), n);
    }
}

#[test]
fn decrypt_into_the_callers_buffer() {
    let f = Fixture::new();
    let ctx = pack(&[("tenant", "a"), ("purpose", "test")]);
    let reordered = pack(&[("purpose", "test"), ("tenant", "a")]);
    let plaintext = b"attack at dawn";
    let blob = f.encrypt(plaintext, &[entry("tenant", "a"), entry("purpose", "test")]).expect("encrypt");
    let need = trent_plaintext_len_max(blob.len());
    assert_eq!(need, plaintext.len());
    assert_eq!(f.decrypt_into(&blob, &ctx, need).expect("decrypt_into"), plaintext);
    assert_eq!(f.decrypt_into(&blob, &reordered, need + 5).expect("pairs in any order"), plaintext);
    // A wrong, missing or extra context: the one decryption failure, nothing written.
    for wrong in [pack(&[("tenant", "b"), ("purpose", "test")]), Vec::new(), pack(&[("tenant", "a")])] {
        let e = f.decrypt_into(&blob, &wrong, need).expect_err("wrong context");
        assert_eq!(e.0, trent_result::InvalidCiphertextException);
    }
    // A tampered blob, a blob too short, a buffer too small.
    let mut tampered = blob.clone();
    *tampered.last_mut().expect("bytes") ^= 1;
    assert_eq!(
        f.decrypt_into(&tampered, &ctx, need).expect_err("tampered").0,
        trent_result::InvalidCiphertextException
    );
    assert_eq!(f.decrypt_into(&blob[..10], &ctx, need).expect_err("short").0, trent_result::InvalidCiphertextException);
    let e = f.decrypt_into(&blob, &ctx, need - 1).expect_err("too small");
    assert_eq!(e.0, trent_result::ValidationException);
    assert!(e.1.contains("plaintext_cap holds 13 bytes; the result needs 14"), "{}", e.1);
    assert_eq!(f.decrypt_into(&blob, b"\x01", need).expect_err("malformed").0, trent_result::ValidationException);
    // The expected key, right and wrong; NULL outputs; without an error detail.
    let call = |key_id: Option<&str>, out: *mut u8, len: *mut usize| {
        let (k, kl) = key_id.map_or((null(), 0), s);
        trent_kms_decrypt_into(
            f.kms,
            f.caller,
            blob.as_ptr(),
            blob.len(),
            ctx.as_ptr(),
            ctx.len(),
            k,
            kl,
            out,
            64,
            len,
            null_mut(),
        )
    };
    let mut out = [0u8; 64];
    let mut len = 0usize;
    assert_eq!(call(Some(&f.key), out.as_mut_ptr(), &mut len), trent_result::Ok);
    assert_eq!(&out[..len], plaintext);
    let mut other = null_mut();
    let (d, dl) = s("other");
    assert_eq!(trent_kms_create_key(f.kms, f.caller, d, dl, &mut other, null_mut()), trent_result::Ok);
    let other_id = String::from_utf8(buffer(other)).expect("text");
    trent_buffer_free(other);
    let mut out = [0u8; 64];
    let mut len = 7usize;
    assert_eq!(call(Some(&other_id), out.as_mut_ptr(), &mut len), trent_result::IncorrectKeyException);
    assert_eq!((len, out), (7, [0u8; 64]), "nothing written");
    assert_eq!(call(None, out.as_mut_ptr(), null_mut()), trent_result::NullParameter);
    assert_eq!(call(None, null_mut(), &mut len), trent_result::NullParameter);
    assert_eq!(len, 7);
}

#[test]
fn re_encrypt_into_the_callers_buffer() {
    let f = Fixture::new();
    let from = pack(&[("from", "a")]);
    let to = pack(&[("to", "b")]);
    let blob = f.encrypt_into(b"moving", &from, 200).expect("encrypt_into");
    let (k, kl) = s(&f.key);
    let call = |ciphertext: &[u8], source: &[u8], dest: &[u8], out: &mut [u8], len: &mut usize| {
        let mut err = null_mut();
        let r = trent_kms_re_encrypt_into(
            f.kms,
            f.caller,
            ciphertext.as_ptr(),
            ciphertext.len(),
            source.as_ptr(),
            source.len(),
            k,
            kl,
            dest.as_ptr(),
            dest.len(),
            out.as_mut_ptr(),
            out.len(),
            len,
            &mut err,
        );
        if r == trent_result::Ok {
            assert!(err.is_null());
            Ok(())
        } else {
            Err(take_err(err))
        }
    };
    let mut out = vec![0xAAu8; blob.len()];
    let mut len = 7usize;
    call(&blob, &from, &to, &mut out, &mut len).expect("re_encrypt_into");
    assert_eq!(len, blob.len(), "a re-encrypted blob keeps its length");
    assert_ne!(out, blob);
    assert_eq!(f.decrypt_into(&out, &to, 6).expect("the new context"), b"moving");
    assert_eq!(
        f.decrypt_into(&out, &from, 6).expect_err("the old context").0,
        trent_result::InvalidCiphertextException
    );
    // A buffer too small, a wrong source context, a malformed destination: nothing written.
    for (source, dest, cap, code) in [
        (&from, &to, blob.len() - 1, trent_result::ValidationException),
        (&to, &to, blob.len(), trent_result::InvalidCiphertextException),
        (&from, &b"\0\0\0".to_vec(), blob.len(), trent_result::ValidationException),
    ] {
        let mut out = vec![0xAAu8; cap];
        let mut len = 7usize;
        let e = call(&blob, source, dest, &mut out, &mut len).expect_err("fails");
        assert_eq!(e.0, code, "{}", e.1);
        assert_eq!(len, 7);
        assert!(out.iter().all(|&b| b == 0xAA));
    }
}

#[test]
fn generate_data_key_into_the_callers_buffers() {
    let f = Fixture::new();
    let (k, kl) = s(&f.key);
    let ctx = pack(&[("purpose", "dek")]);
    let gen_key = |n: u32, pt_cap: usize, ct_cap: usize| {
        let mut pt = vec![0xAAu8; pt_cap];
        let mut ct = vec![0xAAu8; ct_cap];
        let mut len = 7usize;
        let mut err = null_mut();
        let r = trent_kms_generate_data_key_into(
            f.kms,
            f.caller,
            k,
            kl,
            n,
            ctx.as_ptr(),
            ctx.len(),
            pt.as_mut_ptr(),
            pt_cap,
            ct.as_mut_ptr(),
            ct_cap,
            &mut len,
            &mut err,
        );
        if r == trent_result::Ok {
            ct.truncate(len);
            Ok((pt, ct))
        } else {
            assert_eq!(len, 7);
            assert!(pt.iter().chain(&ct).all(|&b| b == 0xAA), "written on failure");
            Err(take_err(err))
        }
    };
    for (n, want) in [(0u32, 32usize), (1, 1), (16, 16), (1024, 1024)] {
        let (pt, ct) = gen_key(n, want, trent_ciphertext_len(want) + 3).expect("generate_data_key_into");
        assert_eq!(ct.len(), trent_ciphertext_len(want));
        assert_eq!(f.decrypt_into(&ct, &ctx, want).expect("unwraps"), pt);
    }
    assert_eq!(gen_key(0, 31, 200).expect_err("plaintext_cap").0, trent_result::ValidationException);
    assert_eq!(gen_key(0, 32, trent_ciphertext_len(32) - 1).expect_err("cap").0, trent_result::ValidationException);
    let e = gen_key(1025, 2000, 3000).expect_err("too many bytes");
    assert_eq!(e.0, trent_result::ValidationException);
    assert!(e.1.contains("numberOfBytes"), "{}", e.1);
    // Without plaintext.
    let gen_wrapped = |n: u32, cap: usize, err: *mut *mut trent_error| {
        let mut ct = vec![0u8; cap];
        let mut len = 7usize;
        let r = trent_kms_generate_data_key_without_plaintext_into(
            f.kms,
            f.caller,
            k,
            kl,
            n,
            ctx.as_ptr(),
            ctx.len(),
            ct.as_mut_ptr(),
            cap,
            &mut len,
            err,
        );
        (r, len, ct)
    };
    let (r, len, ct) = gen_wrapped(24, 200, null_mut());
    assert_eq!((r, len), (trent_result::Ok, trent_ciphertext_len(24)));
    assert_eq!(f.decrypt_into(&ct[..len], &ctx, 24).expect("unwraps").len(), 24);
    let (r, len, ct) = gen_wrapped(24, trent_ciphertext_len(24) - 1, null_mut());
    assert_eq!((r, len), (trent_result::ValidationException, 7));
    assert!(ct.iter().all(|&b| b == 0));
    let mut err = null_mut();
    let (r, _, _) = gen_wrapped(0, 200, &mut err);
    assert_eq!(r, trent_result::Ok);
    assert!(err.is_null());
}

#[test]
fn generate_random_into_the_callers_buffer() {
    let f = Fixture::new();
    let mut out = [0u8; 64];
    assert_eq!(trent_kms_generate_random_into(f.kms, f.caller, 64, out.as_mut_ptr(), 64, null_mut()), trent_result::Ok);
    let mut again = [0u8; 64];
    assert_eq!(
        trent_kms_generate_random_into(f.kms, f.caller, 64, again.as_mut_ptr(), 64, null_mut()),
        trent_result::Ok
    );
    assert_ne!(out, again);
    let mut tail = [0u8; 10];
    assert_eq!(trent_kms_generate_random_into(f.kms, f.caller, 4, tail.as_mut_ptr(), 10, null_mut()), trent_result::Ok);
    assert_eq!(tail[4..], [0u8; 6], "only number_of_bytes are written");
    let mut small = [0u8; 8];
    let mut err = null_mut();
    let r = trent_kms_generate_random_into(f.kms, f.caller, 9, small.as_mut_ptr(), 8, &mut err);
    assert_eq!(r, trent_result::ValidationException);
    assert!(take_err(err).1.contains("out_cap holds 8 bytes; the result needs 9"));
    assert_eq!(small, [0u8; 8]);
    let r = trent_kms_generate_random_into(f.kms, f.caller, 0, small.as_mut_ptr(), 8, null_mut());
    assert_eq!(r, trent_result::ValidationException);
    let r = trent_kms_generate_random_into(f.kms, f.caller, 4, null_mut(), 8, null_mut());
    assert_eq!(r, trent_result::NullParameter);
    let r = trent_kms_generate_random_into(null(), f.caller, 4, small.as_mut_ptr(), 8, null_mut());
    assert_eq!(r, trent_result::NullParameter);
}

/// Calls one of the ARN functions with a buffer of `cap` bytes: (code, length, text).
fn arn_call(
    cap: usize,
    f: impl FnOnce(*mut c_char, usize, *mut usize) -> trent_result,
) -> (trent_result, usize, Vec<u8>) {
    let mut out = vec![0xAAu8; cap];
    let mut len = 7usize;
    let r = f(out.as_mut_ptr().cast(), cap, &mut len);
    (r, len, out)
}

#[test]
fn key_arns() {
    let f = Fixture::new();
    let (k, kl) = s(&f.key);
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{}", f.key);
    let (a, al) = s("alias/arn-test");
    assert_eq!(trent_kms_create_alias(f.kms, f.caller, a, al, k, kl, null_mut()), trent_result::Ok);
    let alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/arn-test";
    // By id, ARN, alias name and alias ARN.
    for name in [f.key.as_str(), arn.as_str(), "alias/arn-test", alias_arn] {
        let (n, nl) = s(name);
        let (r, len, out) = arn_call(200, |o, c, l| trent_kms_key_arn(f.kms, f.caller, n, nl, o, c, l, null_mut()));
        assert_eq!(r, trent_result::Ok, "{name}");
        assert_eq!(&out[..len], arn.as_bytes());
        assert_eq!(out[len], 0, "a NUL after the ARN when there is room");
    }
    // Exactly the length: no room for a NUL, none written.
    let (r, len, out) = arn_call(arn.len(), |o, c, l| trent_kms_key_arn(f.kms, f.caller, k, kl, o, c, l, null_mut()));
    assert_eq!((r, len), (trent_result::Ok, arn.len()));
    assert_eq!(out, arn.as_bytes());
    // Too small: the length needed, nothing else.
    let mut err = null_mut();
    let (r, len, out) = arn_call(10, |o, c, l| trent_kms_key_arn(f.kms, f.caller, k, kl, o, c, l, &mut err));
    assert_eq!((r, len), (trent_result::ValidationException, arn.len()));
    assert!(out.iter().all(|&b| b == 0xAA));
    assert!(take_err(err).1.contains("out_cap holds 10 bytes"));
    let (n, nl) = s("alias/none");
    let (r, len, _) = arn_call(200, |o, c, l| trent_kms_key_arn(f.kms, f.caller, n, nl, o, c, l, null_mut()));
    assert_eq!((r, len), (trent_result::NotFoundException, 7));
    let (r, _, _) = arn_call(200, |o, c, _| trent_kms_key_arn(f.kms, f.caller, k, kl, o, c, null_mut(), null_mut()));
    assert_eq!(r, trent_result::NullParameter);

    // From a ciphertext blob, without a caller.
    let blob = f.encrypt_into(b"whose", &[], 200).expect("encrypt_into");
    let (r, len, out) =
        arn_call(200, |o, c, l| trent_kms_ciphertext_key_arn(f.kms, blob.as_ptr(), blob.len(), o, c, l, null_mut()));
    assert_eq!(r, trent_result::Ok);
    assert_eq!(&out[..len], arn.as_bytes());
    let (r, len, out) =
        arn_call(5, |o, c, l| trent_kms_ciphertext_key_arn(f.kms, blob.as_ptr(), blob.len(), o, c, l, null_mut()));
    assert_eq!((r, len), (trent_result::ValidationException, arn.len()));
    assert!(out.iter().all(|&b| b == 0xAA));
    let mut junk = blob.clone();
    junk[0] = 0x7F;
    for bad in [&junk[..], &blob[..20], &[][..]] {
        let mut err = null_mut();
        let (r, len, _) =
            arn_call(200, |o, c, l| trent_kms_ciphertext_key_arn(f.kms, bad.as_ptr(), bad.len(), o, c, l, &mut err));
        assert_eq!((r, len), (trent_result::InvalidCiphertextException, 7));
        assert_eq!(take_err(err).0, trent_result::InvalidCiphertextException);
    }
    let (r, _, _) =
        arn_call(200, |o, c, l| trent_kms_ciphertext_key_arn(null(), blob.as_ptr(), blob.len(), o, c, l, null_mut()));
    assert_eq!(r, trent_result::NullParameter);
}

/// The `CurrentKeyMaterialId` DescribeKey reports for the fixture's key.
fn current_material_id(f: &Fixture) -> String {
    let described = call_json(f, "DescribeKey", &format!(r#"{{"KeyId":"{}"}}"#, f.key)).expect("DescribeKey");
    let (_, rest) = described.split_once(r#""CurrentKeyMaterialId":""#).expect("a current material id");
    rest.split_once('"').expect("closing quote").0.to_owned()
}

#[test]
fn ciphertext_key_material_ids() {
    let f = Fixture::new();
    let first = current_material_id(&f);
    let old = f.encrypt_into(b"before", &[], 200).expect("encrypt_into");
    let id_of = |blob: &[u8]| {
        let (r, len, out) = arn_call(100, |o, c, l| {
            trent_kms_ciphertext_key_material_id(f.kms, blob.as_ptr(), blob.len(), o, c, l, null_mut())
        });
        assert_eq!(r, trent_result::Ok);
        assert_eq!(out[len], 0, "a NUL after the id when there is room");
        String::from_utf8(out[..len].to_vec()).expect("UTF-8")
    };
    assert_eq!(id_of(&old), first);
    assert_eq!(first.len(), 64);
    // After a rotation new blobs name the new version; the old blob keeps its own.
    let (k, kl) = s(&f.key);
    assert_eq!(trent_kms_rotate_key_on_demand(f.kms, f.caller, k, kl, null_mut()), trent_result::Ok);
    let second = current_material_id(&f);
    assert_ne!(first, second);
    let new = f.encrypt_into(b"after", &[], 200).expect("encrypt_into");
    assert_eq!(id_of(&new), second);
    assert_eq!(id_of(&old), first);
    // Too small: the length needed, nothing else written.
    let (r, len, out) = arn_call(10, |o, c, l| {
        trent_kms_ciphertext_key_material_id(f.kms, old.as_ptr(), old.len(), o, c, l, null_mut())
    });
    assert_eq!((r, len), (trent_result::ValidationException, 64));
    assert!(out.iter().all(|&b| b == 0xAA));
    // Not a blob, and a blob naming a version the key does not have.
    let mut junk = old.clone();
    junk[0] = 0x7F;
    let mut unknown_version = old.clone();
    unknown_version[18..22].copy_from_slice(&77u32.to_be_bytes());
    for bad in [&junk[..], &old[..20], &[][..], &unknown_version[..]] {
        let mut err = null_mut();
        let (r, len, _) = arn_call(100, |o, c, l| {
            trent_kms_ciphertext_key_material_id(f.kms, bad.as_ptr(), bad.len(), o, c, l, &mut err)
        });
        assert_eq!((r, len), (trent_result::InvalidCiphertextException, 7));
        assert_eq!(take_err(err).0, trent_result::InvalidCiphertextException);
    }
    let (r, _, _) = arn_call(100, |o, c, l| {
        trent_kms_ciphertext_key_material_id(null(), old.as_ptr(), old.len(), o, c, l, null_mut())
    });
    assert_eq!(r, trent_result::NullParameter);
    let (r, _, _) = arn_call(100, |o, c, _| {
        trent_kms_ciphertext_key_material_id(f.kms, old.as_ptr(), old.len(), o, c, null_mut(), null_mut())
    });
    assert_eq!(r, trent_result::NullParameter);
}
