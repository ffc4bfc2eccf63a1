//! The KMS operations: key lifecycle, the cryptographic operations, the data-key batch and
//! the JSON dispatcher.

use std::ffi::c_char;

use trent::{
    AliasRequest, CreateKeyRequest, DataKey, DecryptBatchRequest, DecryptItem, DecryptRequest, DeleteAliasRequest,
    EnableKeyRotationRequest, EncryptBatchRequest, EncryptItem, EncryptionContext, GenerateDataKeyRequest,
    GenerateDataKeysRequest, GenerateRandomRequest, KeyIdRequest, ReEncryptBatchRequest, ReEncryptItem,
    ReEncryptRequest, ScheduleKeyDeletionRequest, UpdateKeyDescriptionRequest,
};

use trent_ffi_macros::export;

use crate::boundary::{arg_array, arg_bytes, arg_str, castable, free_box, to_boxed_mut_ptr, write_bytes};
use crate::buffers::{new_blob_buffer, new_secret, new_text_buffer, trent_buffer, trent_secret};
use crate::error::{Failure, trent_result};
use crate::handles::{trent_caller, trent_error, trent_kms};

/// One pair of an encryption context: UTF-8 key and value as `(pointer, length)`, no NUL
/// needed. An array of these (`(NULL, 0)` for none) is bound to a ciphertext as additional
/// authenticated data; Decrypt must present the same pairs, in any order.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct trent_context_entry {
    /// The key's UTF-8 bytes.
    pub key: *const c_char,
    /// The key's length in bytes.
    pub key_len: usize,
    /// The value's UTF-8 bytes.
    pub value: *const c_char,
    /// The value's length in bytes.
    pub value_len: usize,
}

/// Reads an encryption-context argument; a repeated key is `INVALID_ARGUMENT`.
pub(crate) fn arg_context(
    ptr: *const trent_context_entry,
    len: usize,
    name: &'static str,
) -> Result<EncryptionContext, Failure> {
    let mut ctx = EncryptionContext::new();
    for entry in arg_array(ptr, len, name)? {
        let key = arg_str(entry.key, entry.key_len, "encryption context key")?;
        let value = arg_str(entry.value, entry.value_len, "encryption context value")?;
        if ctx.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(Failure::invalid_argument(format!("{name}: the key {key:?} appears twice")));
        }
    }
    Ok(ctx)
}

/// `KeySpec = AES_256` when `number_of_bytes` is 0, else `NumberOfBytes`.
fn data_key_size(number_of_bytes: u32) -> (Option<u32>, Option<trent::key::DataKeySpec>) {
    if number_of_bytes == 0 { (None, Some(trent::key::DataKeySpec::Aes256)) } else { (Some(number_of_bytes), None) }
}

/// The GenerateDataKey request of the data-key functions' arguments.
pub(crate) fn data_key_request(
    key_id: &str,
    number_of_bytes: u32,
    encryption_context: EncryptionContext,
) -> GenerateDataKeyRequest {
    let (number_of_bytes, key_spec) = data_key_size(number_of_bytes);
    GenerateDataKeyRequest {
        key_id: key_id.to_owned(),
        encryption_context,
        number_of_bytes,
        key_spec,
        ..Default::default()
    }
}

/// The ReEncrypt request of the ReEncrypt functions' arguments.
pub(crate) fn re_encrypt_request(
    ciphertext: &[u8],
    source_context: EncryptionContext,
    destination_key_id: &str,
    destination_context: EncryptionContext,
) -> ReEncryptRequest {
    ReEncryptRequest {
        ciphertext_blob: ciphertext.to_vec(),
        source_encryption_context: source_context,
        destination_key_id: destination_key_id.to_owned(),
        destination_encryption_context: destination_context,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Key lifecycle

/// CreateKey: a new symmetric encryption key (`SYMMETRIC_DEFAULT`) with the UTF-8
/// `description` (`(NULL, 0)` for none). On success `*key_id_out` receives the new key's id
/// (a NUL-terminated text buffer).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_create_key(
    kms: *const trent_kms,
    caller: *const trent_caller,
    #[optional] description: *const c_char,
    description_len: usize,
    key_id_out: *mut *mut trent_buffer,
    err: *mut *mut trent_error,
) -> trent_result {
    let req = CreateKeyRequest { description: description.map(str::to_owned), ..Default::default() };
    key_id_out.write(new_text_buffer(kms.create_key(caller, &req)?.key_metadata.key_id))
}

/// EnableKey: `key_id` (id or ARN) becomes `Enabled`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_enable_key(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    kms.enable_key(caller, &KeyIdRequest::new(key_id))
}

/// DisableKey: `key_id` (id or ARN) becomes `Disabled`; cryptographic operations with it fail
/// with `TRENT_RESULT_DISABLED_EXCEPTION` until it is enabled again.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_disable_key(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    kms.disable_key(caller, &KeyIdRequest::new(key_id))
}

/// ScheduleKeyDeletion: `key_id` becomes `PendingDeletion` and is deleted after
/// `pending_window_in_days` days (7–30; 0 means the default, 30).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_schedule_key_deletion(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    pending_window_in_days: u32,
    err: *mut *mut trent_error,
) -> trent_result {
    let days = (pending_window_in_days != 0).then_some(pending_window_in_days);
    let req = ScheduleKeyDeletionRequest { key_id: key_id.to_owned(), pending_window_in_days: days };
    kms.schedule_key_deletion(caller, &req).map(drop)
}

/// CancelKeyDeletion: a key `PendingDeletion` becomes `Disabled`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_cancel_key_deletion(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    kms.cancel_key_deletion(caller, &KeyIdRequest::new(key_id)).map(drop)
}

/// RotateKeyOnDemand: new key material for `key_id` now; older ciphertexts still decrypt.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_rotate_key_on_demand(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    kms.rotate_key_on_demand(caller, &KeyIdRequest::new(key_id)).map(drop)
}

/// UpdateKeyDescription: sets the UTF-8 description of `key_id` (up to 8192 characters).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_update_key_description(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    description: *const c_char,
    description_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let req = UpdateKeyDescriptionRequest { key_id: key_id.to_owned(), description: description.to_owned() };
    kms.update_key_description(caller, &req)
}

/// EnableKeyRotation: automatic rotation of `key_id` every `rotation_period_in_days` days
/// (90–2560; 0 means the default, 365).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_enable_key_rotation(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    rotation_period_in_days: u32,
    err: *mut *mut trent_error,
) -> trent_result {
    let days = (rotation_period_in_days != 0).then_some(rotation_period_in_days);
    let req = EnableKeyRotationRequest { key_id: key_id.to_owned(), rotation_period_in_days: days };
    kms.enable_key_rotation(caller, &req)
}

/// DisableKeyRotation: turns automatic rotation of `key_id` off.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_disable_key_rotation(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    kms.disable_key_rotation(caller, &KeyIdRequest::new(key_id))
}

// ---------------------------------------------------------------------------------------------
// Aliases

/// CreateAlias: `alias_name` (`alias/…`) names `target_key_id` (id or ARN).
/// `TRENT_RESULT_ALREADY_EXISTS_EXCEPTION` if the alias exists.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_create_alias(
    kms: *const trent_kms,
    caller: *const trent_caller,
    alias_name: *const c_char,
    alias_name_len: usize,
    target_key_id: *const c_char,
    target_key_id_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    kms.create_alias(caller, &AliasRequest::new(alias_name, target_key_id))
}

/// UpdateAlias: points the existing `alias_name` at `target_key_id`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_update_alias(
    kms: *const trent_kms,
    caller: *const trent_caller,
    alias_name: *const c_char,
    alias_name_len: usize,
    target_key_id: *const c_char,
    target_key_id_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    kms.update_alias(caller, &AliasRequest::new(alias_name, target_key_id))
}

/// DeleteAlias: removes `alias_name` (the key stays).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_delete_alias(
    kms: *const trent_kms,
    caller: *const trent_caller,
    alias_name: *const c_char,
    alias_name_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    kms.delete_alias(caller, &DeleteAliasRequest { alias_name: alias_name.to_owned() })
}

// ---------------------------------------------------------------------------------------------
// Cryptographic operations

/// Encrypt: seals 1–4096 bytes of `plaintext` under `key_id` (id, ARN, alias name or alias
/// ARN) with the encryption context `context` (`context_len` entries; `(NULL, 0)` for none).
/// On success `*ciphertext_out` receives the ciphertext blob.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_encrypt(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    context: *const trent_context_entry,
    context_len: usize,
    ciphertext_out: *mut *mut trent_buffer,
    err: *mut *mut trent_error,
) -> trent_result {
    // Sealed straight from the caller's memory: no copy of the plaintext to wipe.
    let result = kms.encrypt_borrowed(caller, key_id, plaintext, &context);
    ciphertext_out.write(new_blob_buffer(result?.ciphertext_blob))
}

/// Decrypt: opens a ciphertext blob from Encrypt, GenerateDataKey or ReEncrypt, given the
/// same encryption context. `key_id` (NULL for any) names the key expected to have encrypted
/// it. On success `*plaintext_out` receives the plaintext in locked memory. Every decryption
/// failure is the same `TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_decrypt(
    kms: *const trent_kms,
    caller: *const trent_caller,
    ciphertext: *const u8,
    ciphertext_len: usize,
    context: *const trent_context_entry,
    context_len: usize,
    #[optional] key_id: *const c_char,
    key_id_len: usize,
    plaintext_out: *mut *mut trent_secret,
    err: *mut *mut trent_error,
) -> trent_result {
    let mut req = DecryptRequest::new(ciphertext).with_context(context);
    req.key_id = key_id.map(str::to_owned);
    plaintext_out.write(new_secret(kms.decrypt(caller, &req)?.plaintext))
}

/// ReEncrypt: decrypts a blob (with its `source_context`) and encrypts the plaintext under
/// `destination_key_id` with `destination_context`, inside the engine. On success
/// `*ciphertext_out` receives the new blob.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_re_encrypt(
    kms: *const trent_kms,
    caller: *const trent_caller,
    ciphertext: *const u8,
    ciphertext_len: usize,
    source_context: *const trent_context_entry,
    source_context_len: usize,
    destination_key_id: *const c_char,
    destination_key_id_len: usize,
    destination_context: *const trent_context_entry,
    destination_context_len: usize,
    ciphertext_out: *mut *mut trent_buffer,
    err: *mut *mut trent_error,
) -> trent_result {
    let req = re_encrypt_request(ciphertext, source_context, destination_key_id, destination_context);
    ciphertext_out.write(new_blob_buffer(kms.re_encrypt(caller, &req)?.ciphertext_blob))
}

/// GenerateDataKey: a new data key under `key_id`: `number_of_bytes` random bytes (1–1024), or
/// an AES-256 key (32 bytes) when `number_of_bytes` is 0. On success `*plaintext_out` receives
/// the data key in locked memory and `*ciphertext_out` the data key wrapped under the KMS key
/// (keep only the wrapped key; Decrypt unwraps it).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_data_key(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    number_of_bytes: u32,
    context: *const trent_context_entry,
    context_len: usize,
    plaintext_out: *mut *mut trent_secret,
    ciphertext_out: *mut *mut trent_buffer,
    err: *mut *mut trent_error,
) -> trent_result {
    let resp = kms.generate_data_key(caller, &data_key_request(key_id, number_of_bytes, context))?;
    plaintext_out.write(new_secret(resp.plaintext));
    ciphertext_out.write(new_blob_buffer(resp.ciphertext_blob))
}

/// GenerateDataKeyWithoutPlaintext: like `trent_kms_generate_data_key`, returning only the
/// wrapped data key in `*ciphertext_out`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_data_key_without_plaintext(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    number_of_bytes: u32,
    context: *const trent_context_entry,
    context_len: usize,
    ciphertext_out: *mut *mut trent_buffer,
    err: *mut *mut trent_error,
) -> trent_result {
    let req = data_key_request(key_id, number_of_bytes, context);
    ciphertext_out.write(new_blob_buffer(kms.generate_data_key_without_plaintext(caller, &req)?.ciphertext_blob))
}

/// GenerateRandom: `number_of_bytes` (1–1024) random bytes, in `*random_out` on success.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_random(
    kms: *const trent_kms,
    caller: *const trent_caller,
    number_of_bytes: u32,
    random_out: *mut *mut trent_secret,
    err: *mut *mut trent_error,
) -> trent_result {
    let req = GenerateRandomRequest { number_of_bytes: Some(number_of_bytes), ..Default::default() };
    random_out.write(new_secret(kms.generate_random(caller, &req)?.plaintext))
}

// ---------------------------------------------------------------------------------------------
// The data-key batch

/// The result of `trent_kms_generate_data_keys`: `count` data keys, each a plaintext (locked
/// memory) and its wrapped form, or that item's error. Immutable: readable from any thread.
/// Freed (plaintexts zeroed) with `trent_data_keys_free`.
#[allow(non_camel_case_types)]
pub struct trent_data_keys {
    _private: [u8; 0],
}

/// The Rust side of `trent_data_keys`.
#[derive(Debug)]
pub struct DataKeys {
    items: Vec<trent::Result<DataKey>>,
}

impl DataKeys {
    /// Every item's data key, or the first failed item's error.
    fn successes(&self) -> Result<impl Iterator<Item = &DataKey>, Failure> {
        if let Some(Err(e)) = self.items.iter().find(|r| r.is_err()) {
            return Err(Failure::from(e.clone()));
        }
        Ok(self.items.iter().filter_map(|r| r.as_ref().ok()))
    }

    /// The total lengths of the plaintexts and of the wrapped keys, or the first failed
    /// item's error.
    fn totals(&self) -> Result<(usize, usize), Failure> {
        Ok(self
            .successes()?
            .fold((0, 0), |(p, c), key| (p + key.plaintext.expose_secret().len(), c + key.ciphertext_blob.len())))
    }
}

/// Checks the sizes of an export's output arrays: each `(name, given, want)` must match.
fn check_sizes(sizes: &[(&str, usize, usize)]) -> Result<(), Failure> {
    for &(name, given, want) in sizes {
        if given != want {
            return Err(Failure::invalid_argument(format!("{name} is {given}, the batch needs exactly {want}")));
        }
    }
    Ok(())
}

castable!(trent_data_keys: OwnershipBox<DataKeys>);

/// GenerateDataKey `count` times under one key in one call, spread over the engine's thread
/// pool: the fast path for many data keys. Sizes as in `trent_kms_generate_data_key`. Fails as
/// a whole when the key cannot be used; otherwise `*data_keys_out` receives the batch, and
/// each item succeeds or fails on its own (`trent_data_keys_get`).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_generate_data_keys(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    number_of_bytes: u32,
    context: *const trent_context_entry,
    context_len: usize,
    count: usize,
    data_keys_out: *mut *mut trent_data_keys,
    err: *mut *mut trent_error,
) -> trent_result {
    let (number_of_bytes, key_spec) = data_key_size(number_of_bytes);
    let req = GenerateDataKeysRequest {
        key_id: key_id.to_owned(),
        encryption_context: context,
        number_of_bytes,
        key_spec,
        count,
        ..Default::default()
    };
    let items = kms.generate_data_keys(caller, &req)?.data_keys;
    data_keys_out.write(to_boxed_mut_ptr::<trent_data_keys>(DataKeys { items }))
}

/// Item `index` of a batch: its output, or its error (`INDEX_OUT_OF_RANGE` past the end).
fn batch_item<T>(items: &[trent::Result<T>], index: usize) -> Result<&T, Failure> {
    let item = items.get(index).ok_or_else(|| {
        Failure::new(
            trent_result::IndexOutOfRange,
            format!("index {index} is past the end of a batch of {}", items.len()),
        )
    })?;
    item.as_ref().map_err(|e| Failure::from(e.clone()))
}

/// The number of data keys in a batch; 0 if `data_keys` is NULL.
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_data_keys_len(data_keys: *const trent_data_keys) -> usize {
    data_keys.items.len()
}

/// Item `index` of a batch. On success the four out-parameters receive pointers into the
/// batch (valid until `trent_data_keys_free`) and their lengths; if the item failed, its code
/// is returned (and its detail in `*err`), and nothing is written.
/// `TRENT_RESULT_INDEX_OUT_OF_RANGE` if `index` is past the end.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_data_keys_get(
    data_keys: *const trent_data_keys,
    index: usize,
    plaintext_out: *mut *const u8,
    plaintext_len_out: *mut usize,
    ciphertext_out: *mut *const u8,
    ciphertext_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let key = batch_item(&data_keys.items, index)?;
    let plaintext = key.plaintext.expose_secret();
    plaintext_out.write(plaintext.as_ptr());
    plaintext_len_out.write(plaintext.len());
    ciphertext_out.write(key.ciphertext_blob.as_ptr());
    ciphertext_len_out.write(key.ciphertext_blob.len());
}

/// The total sizes of a batch's data keys, for `trent_data_keys_export`: on success
/// `*plaintexts_len_out` receives the sum of the plaintext lengths and `*ciphertexts_len_out`
/// the sum of the wrapped keys' lengths. If an item failed, its code is returned (and its
/// detail in `*err`), and nothing is written.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_data_keys_total_len(
    data_keys: *const trent_data_keys,
    plaintexts_len_out: *mut usize,
    ciphertexts_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let (plaintexts, ciphertexts) = data_keys.totals()?;
    plaintexts_len_out.write(plaintexts);
    ciphertexts_len_out.write(ciphertexts);
}

/// Copies a whole batch out in one call, the fast path for bindings: every plaintext data
/// key, back to back, into `(plaintexts, plaintexts_len)`; every wrapped key, back to back,
/// into `(ciphertexts, ciphertexts_len)`; and where each wrapped key ends (an offset into
/// `ciphertexts`) into `(ciphertext_ends, ciphertext_ends_len)`, one per item. The sizes must
/// be exactly those of `trent_data_keys_total_len` and `trent_data_keys_len`, else
/// `TRENT_RESULT_INVALID_ARGUMENT` and nothing is written. If an item failed, its code is
/// returned and nothing is written. The caller owns, and should zero, the plaintext copy.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_data_keys_export(
    data_keys: *const trent_data_keys,
    plaintexts: *mut u8,
    plaintexts_len: usize,
    ciphertexts: *mut u8,
    ciphertexts_len: usize,
    ciphertext_ends: *mut usize,
    ciphertext_ends_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let (pt_total, ct_total) = data_keys.totals()?;
    check_sizes(&[
        ("plaintexts_len", plaintexts_len, pt_total),
        ("ciphertexts_len", ciphertexts_len, ct_total),
        ("ciphertext_ends_len", ciphertext_ends_len, data_keys.items.len()),
    ])?;
    let (mut p, mut c) = (0, 0);
    for (key, end) in data_keys.successes()?.zip(ciphertext_ends.iter_mut()) {
        let pt = key.plaintext.expose_secret();
        write_bytes(&mut plaintexts[p..p + pt.len()], pt);
        p += pt.len();
        write_bytes(&mut ciphertexts[c..c + key.ciphertext_blob.len()], &key.ciphertext_blob);
        c += key.ciphertext_blob.len();
        end.write(c);
    }
}

/// Frees a batch, zeroing its plaintext data keys; NULL is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_data_keys_free(data_keys: *mut trent_data_keys) {
    free_box(data_keys)
}

// ---------------------------------------------------------------------------------------------
// The JSON dispatcher

/// Runs any AWS KMS operation by its wire name (`"Encrypt"`, `"CreateKey"`, `"ListAliases"`,
/// …, without the `TrentService.` prefix; also Trent's batches `"GenerateDataKeys"`,
/// `"EncryptBatch"`, `"DecryptBatch"`, `"ReEncryptBatch"`) with its AWS JSON 1.1 request body
/// `(request, request_len)` (`(NULL, 0)` reads as `{}`): PascalCase members, blobs in base64.
/// On success `*response_out` receives the JSON response body (NUL-terminated text). Errors
/// are the operation's exception codes; a body that is not valid JSON for the operation is
/// `TRENT_RESULT_VALIDATION_EXCEPTION`, an unknown operation
/// `TRENT_RESULT_UNSUPPORTED_OPERATION_EXCEPTION`. Responses of Decrypt, GenerateDataKey,
/// GenerateRandom and the batches hold plaintext (base64): `trent_buffer_free` wipes them.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_call_json(
    kms: *const trent_kms,
    caller: *const trent_caller,
    operation: *const c_char,
    operation_len: usize,
    request: *const u8,
    request_len: usize,
    response_out: *mut *mut trent_buffer,
    err: *mut *mut trent_error,
) -> trent_result {
    response_out.write(new_text_buffer(kms.call_json(caller, operation, request)?))
}

// ---------------------------------------------------------------------------------------------
// Encrypt and Decrypt batches

/// One item of an Encrypt or Decrypt batch: its bytes (a plaintext of 1–4096 bytes, or a
/// ciphertext blob) and its encryption context (`(NULL, 0)` for none).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct trent_batch_item {
    /// The plaintext (Encrypt) or ciphertext blob (Decrypt).
    pub data: *const u8,
    /// Its length in bytes.
    pub data_len: usize,
    /// The item's encryption context entries.
    pub context: *const trent_context_entry,
    /// How many entries `context` has.
    pub context_len: usize,
}

/// The results of `trent_kms_encrypt_batch` or `trent_kms_decrypt_batch`: one per item, each a
/// ciphertext blob or a plaintext (in locked memory), or that item's error. Immutable:
/// readable from any thread. Freed (plaintexts zeroed) with `trent_batch_results_free`.
#[allow(non_camel_case_types)]
pub struct trent_batch_results {
    _private: [u8; 0],
}

/// One successful batch item.
#[derive(Debug)]
enum BatchOutput {
    Blob(Vec<u8>),
    Secret(trent::SecretBytes),
}

/// The Rust side of `trent_batch_results`.
#[derive(Debug)]
pub struct BatchResults {
    items: Vec<trent::Result<BatchOutput>>,
}

castable!(trent_batch_results: OwnershipBox<BatchResults>);

impl BatchResults {
    /// Hands a batch's results to C.
    fn new_handle(items: impl Iterator<Item = trent::Result<BatchOutput>>) -> *mut trent_batch_results {
        to_boxed_mut_ptr::<trent_batch_results>(Self { items: items.collect() })
    }
}

/// Reads the batch items argument.
fn arg_items(items: &[trent_batch_item]) -> Result<Vec<(&[u8], EncryptionContext)>, Failure> {
    items
        .iter()
        .map(|item| {
            Ok((
                arg_bytes(item.data, item.data_len, "item data")?,
                arg_context(item.context, item.context_len, "item context")?,
            ))
        })
        .collect()
}

/// Encrypt in bulk under one key (id, ARN, alias name or alias ARN), spread over the engine's
/// thread pool: `items_len` items (at most 2^20), each with its plaintext and context. Fails as a
/// whole when the key cannot be used; otherwise `*results_out` receives one ciphertext blob or
/// error per item (`trent_batch_results_get`).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_encrypt_batch(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    items: *const trent_batch_item,
    items_len: usize,
    results_out: *mut *mut trent_batch_results,
    err: *mut *mut trent_error,
) -> trent_result {
    // The copies of the plaintexts are wiped when `req` is dropped.
    let req = EncryptBatchRequest {
        key_id: key_id.to_owned(),
        items: arg_items(items)?
            .into_iter()
            .map(|(plaintext, ctx)| EncryptItem { plaintext: plaintext.into(), encryption_context: ctx })
            .collect(),
        ..Default::default()
    };
    let items = kms.encrypt_batch(caller, &req)?.ciphertext_blobs.into_iter().map(|r| r.map(BatchOutput::Blob));
    results_out.write(BatchResults::new_handle(items))
}

/// Decrypt in bulk, spread over the engine's thread pool: `items_len` items (at most 2^20), each a
/// ciphertext blob with its context; items may come from different keys. `*results_out`
/// receives one plaintext (locked memory) or error per item (`trent_batch_results_get`).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_decrypt_batch(
    kms: *const trent_kms,
    caller: *const trent_caller,
    items: *const trent_batch_item,
    items_len: usize,
    results_out: *mut *mut trent_batch_results,
    err: *mut *mut trent_error,
) -> trent_result {
    let req = DecryptBatchRequest {
        items: arg_items(items)?
            .into_iter()
            .map(|(blob, ctx)| DecryptItem { ciphertext_blob: blob.to_vec(), encryption_context: ctx })
            .collect(),
        ..Default::default()
    };
    let items = kms.decrypt_batch(caller, &req)?.into_iter().map(|r| r.map(|d| BatchOutput::Secret(d.plaintext)));
    results_out.write(BatchResults::new_handle(items))
}

/// One item of a ReEncrypt batch: a ciphertext blob, the context it was encrypted with and
/// the context to bind to its new blob (each `(NULL, 0)` for none).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct trent_re_encrypt_item {
    /// The ciphertext blob.
    pub ciphertext: *const u8,
    /// Its length in bytes.
    pub ciphertext_len: usize,
    /// The context the blob was encrypted with.
    pub source_context: *const trent_context_entry,
    /// How many entries `source_context` has.
    pub source_context_len: usize,
    /// The context to bind to the new blob.
    pub destination_context: *const trent_context_entry,
    /// How many entries `destination_context` has.
    pub destination_context_len: usize,
}

/// ReEncrypt in bulk to one destination key (id, ARN, alias name or alias ARN), spread over
/// the engine's thread pool: `items_len` items (at most 2^20), whose sources may be different
/// keys; the plaintexts never leave the engine. Fails as a whole when the destination key
/// cannot be used; otherwise `*results_out` receives one new ciphertext blob or error per item
/// (`trent_batch_results_get`).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_re_encrypt_batch(
    kms: *const trent_kms,
    caller: *const trent_caller,
    destination_key_id: *const c_char,
    destination_key_id_len: usize,
    items: *const trent_re_encrypt_item,
    items_len: usize,
    results_out: *mut *mut trent_batch_results,
    err: *mut *mut trent_error,
) -> trent_result {
    let items = items
        .iter()
        .map(|item| {
            Ok(ReEncryptItem {
                ciphertext_blob: arg_bytes(item.ciphertext, item.ciphertext_len, "item ciphertext")?.to_vec(),
                source_encryption_context: arg_context(
                    item.source_context,
                    item.source_context_len,
                    "item source_context",
                )?,
                destination_encryption_context: arg_context(
                    item.destination_context,
                    item.destination_context_len,
                    "item destination_context",
                )?,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let req = ReEncryptBatchRequest { destination_key_id: destination_key_id.to_owned(), items, ..Default::default() };
    let items =
        kms.re_encrypt_batch(caller, &req)?.into_iter().map(|r| r.map(|e| BatchOutput::Blob(e.ciphertext_blob)));
    results_out.write(BatchResults::new_handle(items))
}

/// The number of results in a batch; 0 if `results` is NULL.
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_batch_results_len(results: *const trent_batch_results) -> usize {
    results.items.len()
}

/// Result `index` of a batch. On success `*data_out` and `*data_len_out` receive the item's
/// ciphertext blob (Encrypt) or plaintext (Decrypt), valid until `trent_batch_results_free`;
/// if the item failed, its code is returned (and its detail in `*err`), and nothing is
/// written. `TRENT_RESULT_INDEX_OUT_OF_RANGE` if `index` is past the end.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_batch_results_get(
    results: *const trent_batch_results,
    index: usize,
    data_out: *mut *const u8,
    data_len_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let data = batch_item(&results.items, index)?.bytes();
    data_out.write(data.as_ptr());
    data_len_out.write(data.len());
}

impl BatchOutput {
    /// The item's bytes: the blob, or the plaintext.
    fn bytes(&self) -> &[u8] {
        match self {
            BatchOutput::Blob(blob) => blob.as_slice(),
            BatchOutput::Secret(secret) => secret.expose_secret(),
        }
    }
}

/// The bytes of one successful batch item.
fn batch_output(item: &trent::Result<BatchOutput>) -> Option<&[u8]> {
    item.as_ref().ok().map(BatchOutput::bytes)
}

/// The total size of a batch's successful results, for `trent_batch_results_export`: on
/// success `*total_out` receives the sum of their lengths (failed items count 0).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_batch_results_total_len(
    results: *const trent_batch_results,
    total_out: *mut usize,
    err: *mut *mut trent_error,
) -> trent_result {
    total_out.write(results.items.iter().filter_map(batch_output).map(<[u8]>::len).sum())
}

/// Copies a whole batch's results out in one call, the fast path for bindings: every
/// successful item's bytes (ciphertext blob or plaintext), back to back, into `(out,
/// out_len)`; where each item ends (an offset into `out`; a failed item is empty) into
/// `(ends, ends_len)`; and each item's code (`TRENT_RESULT_OK` or why it failed) into
/// `(codes, codes_len)`. `out_len` must be exactly `trent_batch_results_total_len`, and
/// `ends_len` and `codes_len` exactly `trent_batch_results_len`, else
/// `TRENT_RESULT_INVALID_ARGUMENT` and nothing is written. A failed item's detail is had from
/// `trent_batch_results_get`. The caller owns, and should wipe, any plaintext copied out.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_batch_results_export(
    results: *const trent_batch_results,
    out: *mut u8,
    out_len: usize,
    ends: *mut usize,
    ends_len: usize,
    codes: *mut u32,
    codes_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let total: usize = results.items.iter().filter_map(batch_output).map(<[u8]>::len).sum();
    let n = results.items.len();
    check_sizes(&[("out_len", out_len, total), ("ends_len", ends_len, n), ("codes_len", codes_len, n)])?;
    let mut at = 0;
    for ((item, end), code) in results.items.iter().zip(ends.iter_mut()).zip(codes.iter_mut()) {
        if let Some(bytes) = batch_output(item) {
            write_bytes(&mut out[at..at + bytes.len()], bytes);
            at += bytes.len();
        }
        end.write(at);
        code.write(item.as_ref().map_or_else(|e| trent_result::from_engine(e) as u32, |_| 0));
    }
}

/// Frees batch results, zeroing their plaintexts; NULL is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_batch_results_free(results: *mut trent_batch_results) {
    free_box(results)
}
