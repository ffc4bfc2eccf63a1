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

use trent::{DecryptRequest, GenerateRandomRequest, KeyIdRequest, ReEncryptRequest};

use crate::boundary::{
    OutValue, arg_bytes, arg_opt_str, arg_out_array, arg_ref, arg_str, ffi_boundary, ffi_boundary_infallible, wipe,
    write_bytes,
};
use crate::context::arg_packed_context;
use crate::error::{Failure, trent_result};
use crate::handles::{trent_caller, trent_error, trent_kms};
use crate::ops::{data_key_request, kms_and_caller};

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

/// The length of the plaintext a Trent blob of `ciphertext_len` bytes holds, 0 when too short.
fn plaintext_len(ciphertext_len: usize) -> usize {
    ciphertext_len.saturating_sub(trent::ciphertext_len(0))
}

/// The length of the ciphertext blob Encrypt makes of `plaintext_len` bytes of plaintext
/// (a fixed header and tag around it), for sizing the buffers of `trent_kms_encrypt_into` and
/// `trent_kms_re_encrypt_into` (a blob's length does not change when it is re-encrypted).
/// Saturates at `SIZE_MAX`.
#[unsafe(no_mangle)]
pub extern "C" fn trent_ciphertext_len(plaintext_len: usize) -> usize {
    ffi_boundary_infallible!(0, { trent::ciphertext_len(plaintext_len) })
}

/// The largest plaintext a ciphertext blob of `ciphertext_len` bytes can hold (exactly its
/// plaintext's length for a Trent blob), for sizing `trent_kms_decrypt_into`'s buffer; 0 if
/// `ciphertext_len` is too short to be a blob.
#[unsafe(no_mangle)]
pub extern "C" fn trent_plaintext_len_max(ciphertext_len: usize) -> usize {
    ffi_boundary_infallible!(0, { plaintext_len(ciphertext_len) })
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
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_encrypt_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    context: *const u8,
    context_len: usize,
    ciphertext: *mut u8,
    ciphertext_cap: usize,
    ciphertext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let (kms, caller) = kms_and_caller(kms, caller)?;
        let key_id = arg_str(key_id, key_id_len, "key_id")?;
        let plaintext = arg_bytes(plaintext, plaintext_len, "plaintext")?;
        let ctx = arg_packed_context(context, context_len, "context")?;
        let len_out = OutValue::new(ciphertext_len_out, "ciphertext_len_out")?;
        let out = arg_out_array(ciphertext, ciphertext_cap, "ciphertext")?;
        let len = kms.encrypt_into(caller, key_id, plaintext, &ctx, out)?;
        len_out.write(len);
        Ok(())
    })
}

/// Decrypt into the caller's memory: opens a ciphertext blob given the same encryption
/// context (packed, as in `trent_kms_encrypt_into`); `key_id` (NULL for any) names the key
/// expected to have encrypted it. The plaintext is written into `(plaintext, plaintext_cap)`,
/// which must hold `trent_plaintext_len_max(ciphertext_len)` bytes (else
/// `TRENT_RESULT_VALIDATION_EXCEPTION`, checked first); on success `*plaintext_len_out`
/// receives its length. The caller owns, and should wipe, that copy; `trent_kms_decrypt`
/// keeps the plaintext in locked memory instead. Every decryption failure is the same
/// `TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION`, and writes nothing.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_decrypt_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    ciphertext: *const u8,
    ciphertext_len: usize,
    context: *const u8,
    context_len: usize,
    key_id: *const c_char,
    key_id_len: usize,
    plaintext: *mut u8,
    plaintext_cap: usize,
    plaintext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let (kms, caller) = kms_and_caller(kms, caller)?;
        let blob = arg_bytes(ciphertext, ciphertext_len, "ciphertext")?;
        let ctx = arg_packed_context(context, context_len, "context")?;
        let key_id = arg_opt_str(key_id, key_id_len, "key_id")?;
        let len_out = OutValue::new(plaintext_len_out, "plaintext_len_out")?;
        let out = arg_out_array(plaintext, plaintext_cap, "plaintext")?;
        check_cap("plaintext_cap", plaintext_cap, plaintext_len(blob.len()))?;
        let mut req = DecryptRequest::new(blob).with_context(ctx);
        req.key_id = key_id.map(str::to_owned);
        // The plaintext comes out of the engine in locked memory, is copied once into the
        // caller's buffer, and is wiped when `resp` drops.
        let resp = kms.decrypt(caller, &req)?;
        len_out.write(copy_out(out, resp.plaintext.expose_secret(), "plaintext_cap")?);
        Ok(())
    })
}

/// ReEncrypt into the caller's memory: decrypts a blob (with its packed `source_context`) and
/// encrypts the plaintext under `destination_key_id` with the packed `destination_context`,
/// inside the engine, writing the new blob into `(ciphertext_out, ciphertext_cap)`. The new
/// blob has the old one's length (`trent_ciphertext_len(trent_plaintext_len_max(ciphertext_len))`);
/// a smaller capacity is `TRENT_RESULT_VALIDATION_EXCEPTION`. On success
/// `*ciphertext_len_out` receives its length.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_re_encrypt_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    ciphertext: *const u8,
    ciphertext_len: usize,
    source_context: *const u8,
    source_context_len: usize,
    destination_key_id: *const c_char,
    destination_key_id_len: usize,
    destination_context: *const u8,
    destination_context_len: usize,
    ciphertext_out: *mut u8,
    ciphertext_cap: usize,
    ciphertext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let (kms, caller) = kms_and_caller(kms, caller)?;
        let blob = arg_bytes(ciphertext, ciphertext_len, "ciphertext")?;
        let source_ctx = arg_packed_context(source_context, source_context_len, "source_context")?;
        let dest = arg_str(destination_key_id, destination_key_id_len, "destination_key_id")?;
        let dest_ctx = arg_packed_context(destination_context, destination_context_len, "destination_context")?;
        let len_out = OutValue::new(ciphertext_len_out, "ciphertext_len_out")?;
        let out = arg_out_array(ciphertext_out, ciphertext_cap, "ciphertext_out")?;
        let inner = plaintext_len(blob.len());
        if inner > 0 {
            check_cap("ciphertext_cap", ciphertext_cap, trent::ciphertext_len(inner))?;
        }
        let req = ReEncryptRequest {
            ciphertext_blob: blob.to_vec(),
            source_encryption_context: source_ctx,
            destination_key_id: dest.to_owned(),
            destination_encryption_context: dest_ctx,
            ..Default::default()
        };
        let resp = kms.re_encrypt(caller, &req)?;
        len_out.write(copy_out(out, &resp.ciphertext_blob, "ciphertext_cap")?);
        Ok(())
    })
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
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_data_key_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    number_of_bytes: u32,
    context: *const u8,
    context_len: usize,
    plaintext: *mut u8,
    plaintext_cap: usize,
    ciphertext: *mut u8,
    ciphertext_cap: usize,
    ciphertext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let (kms, caller) = kms_and_caller(kms, caller)?;
        let key_id = arg_str(key_id, key_id_len, "key_id")?;
        let ctx = arg_packed_context(context, context_len, "context")?;
        let len_out = OutValue::new(ciphertext_len_out, "ciphertext_len_out")?;
        let plaintext = arg_out_array(plaintext, plaintext_cap, "plaintext")?;
        let ciphertext = arg_out_array(ciphertext, ciphertext_cap, "ciphertext")?;
        check_data_key_caps(
            number_of_bytes,
            &[("plaintext_cap", plaintext_cap, true), ("ciphertext_cap", ciphertext_cap, false)],
        )?;
        let req = data_key_request(key_id, number_of_bytes, ctx);
        let resp = kms.generate_data_key(caller, &req)?;
        copy_out(plaintext, resp.plaintext.expose_secret(), "plaintext_cap")?;
        len_out.write(copy_out(ciphertext, &resp.ciphertext_blob, "ciphertext_cap")?);
        Ok(())
    })
}

/// GenerateDataKeyWithoutPlaintext into the caller's memory: like
/// `trent_kms_generate_data_key_into`, writing only the wrapped data key.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_data_key_without_plaintext_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    number_of_bytes: u32,
    context: *const u8,
    context_len: usize,
    ciphertext: *mut u8,
    ciphertext_cap: usize,
    ciphertext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let (kms, caller) = kms_and_caller(kms, caller)?;
        let key_id = arg_str(key_id, key_id_len, "key_id")?;
        let ctx = arg_packed_context(context, context_len, "context")?;
        let len_out = OutValue::new(ciphertext_len_out, "ciphertext_len_out")?;
        let ciphertext = arg_out_array(ciphertext, ciphertext_cap, "ciphertext")?;
        check_data_key_caps(number_of_bytes, &[("ciphertext_cap", ciphertext_cap, false)])?;
        let req = data_key_request(key_id, number_of_bytes, ctx);
        let resp = kms.generate_data_key_without_plaintext(caller, &req)?;
        len_out.write(copy_out(ciphertext, &resp.ciphertext_blob, "ciphertext_cap")?);
        Ok(())
    })
}

/// GenerateRandom into the caller's memory: `number_of_bytes` (1–1024) random bytes written
/// into `(out, out_cap)`; a smaller `out_cap` is `TRENT_RESULT_VALIDATION_EXCEPTION`.
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_random_into(
    kms: *const trent_kms,
    caller: *const trent_caller,
    number_of_bytes: u32,
    out: *mut u8,
    out_cap: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    ffi_boundary!(err, {
        let (kms, caller) = kms_and_caller(kms, caller)?;
        let out = arg_out_array(out, out_cap, "out")?;
        check_cap("out_cap", out_cap, number_of_bytes as usize)?;
        let req = GenerateRandomRequest { number_of_bytes: Some(number_of_bytes), ..Default::default() };
        let resp = kms.generate_random(caller, &req)?;
        copy_out(out, resp.plaintext.expose_secret(), "out_cap")?;
        Ok(())
    })
}

/// Zeroes `(ptr, len)`, memory the caller owns (a plaintext an `_into` function wrote there),
/// with writes the compiler may not remove as dead stores; `(NULL, 0)` is accepted.
#[unsafe(no_mangle)]
pub extern "C" fn trent_wipe(ptr: *mut u8, len: usize) {
    ffi_boundary_infallible!((), {
        if let Ok(bytes) = arg_out_array(ptr, len, "ptr") {
            wipe(bytes);
        }
    })
}

/// Writes `text` into the caller's `(out, out_cap)` and its length into `*len_out`, with a NUL
/// after it when there is room; a capacity too small writes only the length needed.
fn text_out(out: *mut c_char, out_cap: usize, len_out: *mut usize, text: &str) -> Result<(), Failure> {
    let len_out = OutValue::new(len_out, "len_out")?;
    let out = arg_out_array(out.cast::<u8>(), out_cap, "out")?;
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
    ffi_boundary!(err, {
        let kms = arg_ref(kms, "kms")?;
        let blob = arg_bytes(ciphertext, ciphertext_len, "ciphertext")?;
        let header = trent::ciphertext::parse(blob)?.header;
        let arn = trent::id::key_arn(kms.region(), kms.account(), &header.key_id);
        text_out(out, out_cap, len_out, &arn)
    })
}

/// The key material id of the key version a ciphertext blob names (the `KeyMaterialId` of the
/// Decrypt and GenerateDataKey responses, and the source or destination one of ReEncrypt's,
/// as the blob read or written there names it), from the blob's header and the key's record:
/// nothing is decrypted or unwrapped, no caller is authorized and nothing is audited. Same
/// out convention as `trent_kms_ciphertext_key_arn` (a material id is 64 hex digits); a blob
/// that is not Trent's or names a version its key lacks is
/// `TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION`, a key that no longer exists
/// `TRENT_RESULT_NOT_FOUND_EXCEPTION`.
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
    ffi_boundary!(err, {
        let kms = arg_ref(kms, "kms")?;
        let blob = arg_bytes(ciphertext, ciphertext_len, "ciphertext")?;
        let id = kms.ciphertext_key_material_id(blob)?;
        text_out(out, out_cap, len_out, &id)
    })
}

/// The ARN of the key `key_id` names (an id, ARN, alias name or alias ARN), as DescribeKey
/// finds it (with the caller's permission to describe it; audited as DescribeKey), in the
/// out convention of `trent_kms_ciphertext_key_arn`. A key or alias that does not exist is
/// `TRENT_RESULT_NOT_FOUND_EXCEPTION`.
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
    ffi_boundary!(err, {
        let (kms, caller) = kms_and_caller(kms, caller)?;
        let key_id = arg_str(key_id, key_id_len, "key_id")?;
        let arn = kms.describe_key(caller, &KeyIdRequest::new(key_id))?.key_metadata.arn;
        text_out(out, out_cap, len_out, &arn)
    })
}
