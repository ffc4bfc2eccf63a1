//! The `_into` forms of the hot operations, for bindings that own their output memory: each
//! result is written into a caller's buffer instead of a new `trent_buffer` or `trent_secret`,
//! and every encryption context is one packed argument (see `context.rs`). With them, the
//! output-size functions and the key-ARN lookups the drop-in clients need.
//!
//! Conventions of this module: a capacity too small is `TRENT_RESULT_VALIDATION_EXCEPTION`
//! and nothing is written (checked before the engine runs, so nothing happens either); outputs
//! are written only on success. Plaintext lands in caller memory only through these functions
//! (Decrypt, GenerateDataKey, GenerateRandom): the caller asked for it, and owns wiping it.

use std::ffi::c_char;
use std::mem::MaybeUninit;

use trent::{GenerateRandomRequest, KeyIdRequest};

use trent_ffi_macros::export;

use crate::boundary::{OutValue, wipe, write_bytes};
use crate::error::{Failure, trent_result};
use crate::handles::{trent_caller, trent_error, trent_kms};
use crate::ops::{data_key_request, re_encrypt_request};

/// A capacity too small for `need` bytes: a validation error naming the argument.
fn too_small(name: &str, cap: usize, need: usize) -> Failure {
    Failure::new(trent_result::ValidationException, format!("{name} holds {cap} bytes; the result needs {need}"))
}

/// Checks `cap` against `need` before anything runs.
fn check_cap(name: &str, cap: usize, need: usize) -> Result<(), Failure> {
    if cap < need { Err(too_small(name, cap, need)) } else { Ok(()) }
}

/// Copies `src` into the front of the caller's `dst`, which was checked to be large enough
/// (a larger result is an internal error: the predicted sizes are the engine's).
fn copy_out(dst: &mut [MaybeUninit<u8>], src: &[u8], name: &str) -> Result<usize, Failure> {
    let Some(dst) = dst.get_mut(..src.len()) else {
        return Err(Failure::new(
            trent_result::KmsInternalException,
            format!("the result is {} bytes, more than {name} holds ({})", src.len(), dst.len()),
        ));
    };
    write_bytes(dst, src);
    Ok(src.len())
}

/// The length of the ciphertext blob Encrypt makes of `plaintext_len` bytes of plaintext
/// (a fixed header and tag around it), for sizing the buffers of `trent_kms_encrypt_into` and
/// `trent_kms_re_encrypt_into` (a blob's length does not change when it is re-encrypted).
/// Saturates at `SIZE_MAX`.
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_ciphertext_len(plaintext_len: usize) -> usize {
    trent::ciphertext_len(plaintext_len)
}

/// The largest plaintext a ciphertext blob of `ciphertext_len` bytes can hold (exactly its
/// plaintext's length for a Trent blob), for sizing `trent_kms_decrypt_into`'s buffer; 0 if
/// `ciphertext_len` is too short to be a blob.
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_plaintext_len_max(ciphertext_len: usize) -> usize {
    trent::plaintext_len_max(ciphertext_len)
}

/// Encrypt into the caller's memory: seals 1–4096 bytes of `plaintext` under `key_id` (id,
/// ARN, alias name or alias ARN) with the packed encryption context `(context, context_len)`
/// (for each pair, the key then the value, each a 4-byte little-endian byte length followed
/// by that many UTF-8 bytes; `(NULL, 0)` for none; a malformed packing is
/// `TRENT_RESULT_VALIDATION_EXCEPTION`), writing the ciphertext blob into
/// `(ciphertext, ciphertext_cap)` (no allocation for the result). The blob is always
/// `trent_ciphertext_len(plaintext_len)` bytes; a smaller `ciphertext_cap` is
/// `TRENT_RESULT_VALIDATION_EXCEPTION`. On success `*ciphertext_len_out` receives the blob's
/// length (the first bytes of `ciphertext`); on failure nothing is written.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_encrypt_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    #[packed] context: *const u8,
    context_len: usize,
    ciphertext: *mut u8,
    ciphertext_cap: usize,
    ciphertext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ciphertext_len_out.write(kms.encrypt_into(caller, key_id, plaintext, &context, ciphertext)?)
}

/// Decrypt into the caller's memory: opens a ciphertext blob given the same encryption
/// context (packed, as in `trent_kms_encrypt_into`); `key_id` (NULL for any) names the key
/// expected to have encrypted it. The plaintext is written into `(plaintext, plaintext_cap)`,
/// which must hold `trent_plaintext_len_max(ciphertext_len)` bytes (else
/// `TRENT_RESULT_VALIDATION_EXCEPTION`, checked first); on success `*plaintext_len_out`
/// receives its length. The caller owns, and should wipe, that copy; `trent_kms_decrypt`
/// keeps the plaintext in locked memory instead. Every decryption failure is the same
/// `TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION`. On any failure `*plaintext_len_out` is not
/// written and the buffer holds nothing of the blob: a request refused before the blob is
/// opened (a bad argument, a short buffer, an unknown key) writes nothing, and a blob that
/// fails to authenticate (opened in place in the buffer) leaves the bytes it covered zeroed.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_decrypt_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    ciphertext: *const u8,
    ciphertext_len: usize,
    #[packed] context: *const u8,
    context_len: usize,
    #[optional] key_id: *const c_char,
    key_id_len: usize,
    plaintext: *mut u8,
    plaintext_cap: usize,
    plaintext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    check_cap("plaintext_cap", plaintext_cap, trent::plaintext_len_max(ciphertext.len()))?;
    // The engine opens the blob straight into the caller's buffer.
    plaintext_len_out.write(kms.decrypt_into(caller, ciphertext, &context, key_id, plaintext)?)
}

/// ReEncrypt into the caller's memory: decrypts a blob (with its packed `source_context`) and
/// encrypts the plaintext under `destination_key_id` with the packed `destination_context`,
/// inside the engine, writing the new blob into `(ciphertext_out, ciphertext_cap)`. The new
/// blob has the old one's length (`trent_ciphertext_len(trent_plaintext_len_max(ciphertext_len))`);
/// a smaller capacity is `TRENT_RESULT_VALIDATION_EXCEPTION`. On success
/// `*ciphertext_len_out` receives its length.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_re_encrypt_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    ciphertext: *const u8,
    ciphertext_len: usize,
    #[packed] source_context: *const u8,
    source_context_len: usize,
    destination_key_id: *const c_char,
    destination_key_id_len: usize,
    #[packed] destination_context: *const u8,
    destination_context_len: usize,
    ciphertext_out: *mut u8,
    ciphertext_cap: usize,
    ciphertext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let inner = trent::plaintext_len_max(ciphertext.len());
    if inner > 0 {
        check_cap("ciphertext_cap", ciphertext_cap, trent::ciphertext_len(inner))?;
    }
    let req = re_encrypt_request(ciphertext, source_context, destination_key_id, destination_context);
    let resp = kms.re_encrypt(caller, &req)?;
    ciphertext_len_out.write(copy_out(ciphertext_out, &resp.ciphertext_blob, "ciphertext_cap")?)
}

/// The plaintext length of a data key of `number_of_bytes` (32, an AES-256 key, for 0).
fn data_key_len(number_of_bytes: u32) -> usize {
    if number_of_bytes == 0 { 32 } else { number_of_bytes as usize }
}

/// Checks the data-key output capacities before the engine runs.
fn check_data_key_caps(number_of_bytes: u32, caps: &[(&str, usize, bool)]) -> Result<(), Failure> {
    let len = data_key_len(number_of_bytes);
    for &(name, cap, is_plaintext) in caps {
        check_cap(name, cap, if is_plaintext { len } else { trent::ciphertext_len(len) })?;
    }
    Ok(())
}

/// GenerateDataKey into the caller's memory: a new data key under `key_id` of
/// `number_of_bytes` random bytes (1–1024), or an AES-256 key (32 bytes) when
/// `number_of_bytes` is 0, bound to the packed `context`. The plaintext data key (exactly that
/// many bytes) is written into `(plaintext, plaintext_cap)` and the data key wrapped under the
/// KMS key into `(ciphertext, ciphertext_cap)` (`trent_ciphertext_len` of the key's length);
/// smaller capacities are `TRENT_RESULT_VALIDATION_EXCEPTION`. On success
/// `*ciphertext_len_out` receives the wrapped key's length. The caller owns, and should wipe,
/// the plaintext copy; `trent_kms_generate_data_key` keeps it in locked memory instead.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_data_key_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    number_of_bytes: u32,
    #[packed] context: *const u8,
    context_len: usize,
    plaintext: *mut u8,
    plaintext_cap: usize,
    ciphertext: *mut u8,
    ciphertext_cap: usize,
    ciphertext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    check_data_key_caps(
        number_of_bytes,
        &[("plaintext_cap", plaintext_cap, true), ("ciphertext_cap", ciphertext_cap, false)],
    )?;
    let resp = kms.generate_data_key(caller, &data_key_request(key_id, number_of_bytes, context))?;
    copy_out(plaintext, resp.plaintext.expose_secret(), "plaintext_cap")?;
    ciphertext_len_out.write(copy_out(ciphertext, &resp.ciphertext_blob, "ciphertext_cap")?)
}

/// GenerateDataKeyWithoutPlaintext into the caller's memory: like
/// `trent_kms_generate_data_key_into`, writing only the wrapped data key.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_data_key_without_plaintext_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    number_of_bytes: u32,
    #[packed] context: *const u8,
    context_len: usize,
    ciphertext: *mut u8,
    ciphertext_cap: usize,
    ciphertext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    check_data_key_caps(number_of_bytes, &[("ciphertext_cap", ciphertext_cap, false)])?;
    let req = data_key_request(key_id, number_of_bytes, context);
    let resp = kms.generate_data_key_without_plaintext(caller, &req)?;
    ciphertext_len_out.write(copy_out(ciphertext, &resp.ciphertext_blob, "ciphertext_cap")?)
}

/// GenerateRandom into the caller's memory: `number_of_bytes` (1–1024) random bytes written
/// into `(out, out_cap)`; a smaller `out_cap` is `TRENT_RESULT_VALIDATION_EXCEPTION`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_random_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    number_of_bytes: u32,
    out: *mut u8,
    out_cap: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    check_cap("out_cap", out_cap, number_of_bytes as usize)?;
    let req = GenerateRandomRequest { number_of_bytes: Some(number_of_bytes), ..Default::default() };
    let resp = kms.generate_random(caller, &req)?;
    copy_out(out, resp.plaintext.expose_secret(), "out_cap").map(drop)
}

/// Zeroes `(ptr, len)`, memory the caller owns (a plaintext an `_into` function wrote there),
/// with writes the compiler may not remove as dead stores; `(NULL, 0)` is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_wipe(ptr: *mut u8, len: usize) {
    if let Ok(bytes) = crate::boundary::arg_out_array(ptr, len, "ptr") {
        wipe(bytes);
    }
}

/// Writes `text` into the caller's `(out, out_cap)` and its length into `*len_out`, with a NUL
/// after it when there is room; a capacity too small writes only the length needed.
fn text_out(out: &mut [MaybeUninit<u8>], len_out: OutValue<usize>, text: &str) -> Result<(), Failure> {
    let out_cap = out.len();
    if out_cap < text.len() {
        len_out.write(text.len());
        return Err(too_small("out_cap", out_cap, text.len()));
    }
    let len = copy_out(out, text.as_bytes(), "out_cap")?;
    if let Some(nul) = out.get_mut(len) {
        nul.write(0);
    }
    len_out.write(len);
    Ok(())
}

/// The ARN of the key a ciphertext blob names (the KeyId of the Decrypt, Encrypt and
/// ReEncrypt responses), read from the blob's header without decrypting it or looking the key
/// up: writes the ARN (UTF-8, followed by a NUL when `out_cap` leaves room for one) into
/// `(out, out_cap)` and its length into `*len_out`. A capacity too small is
/// `TRENT_RESULT_VALIDATION_EXCEPTION` with `*len_out` set to the length needed (and nothing
/// else written); a blob that is not Trent's is `TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_ciphertext_key_arn(
    kms: *const trent_kms,
    ciphertext: *const u8,
    ciphertext_len: usize,
    out: *mut c_char,
    out_cap: usize,
    len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let header = trent::ciphertext::parse(ciphertext)?.header;
    text_out(out, len_out, &trent::id::key_arn(kms.region(), kms.account(), &header.key_id))
}

/// The key material id of the key version a ciphertext blob names (the `KeyMaterialId` of the
/// Decrypt and GenerateDataKey responses, and the source or destination one of ReEncrypt's,
/// as the blob read or written there names it), from the blob's header and the key's record:
/// nothing is decrypted or unwrapped, no caller is authorized and nothing is audited. Same
/// out convention as `trent_kms_ciphertext_key_arn` (a material id is 64 hex digits); a blob
/// that is not Trent's or names a version its key lacks is
/// `TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION`, a key that no longer exists
/// `TRENT_RESULT_NOT_FOUND_EXCEPTION`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_ciphertext_key_material_id(
    kms: *const trent_kms,
    ciphertext: *const u8,
    ciphertext_len: usize,
    out: *mut c_char,
    out_cap: usize,
    len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    text_out(out, len_out, &kms.ciphertext_key_material_id(ciphertext)?)
}

/// The ARN of the key `key_id` names (an id, ARN, alias name or alias ARN), as DescribeKey
/// finds it (with the caller's permission to describe it; audited as DescribeKey), in the
/// out convention of `trent_kms_ciphertext_key_arn`. A key or alias that does not exist is
/// `TRENT_RESULT_NOT_FOUND_EXCEPTION`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_key_arn(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    out: *mut c_char,
    out_cap: usize,
    len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    text_out(out, len_out, &kms.describe_key(caller, &KeyIdRequest::new(key_id))?.key_metadata.arn)
}
