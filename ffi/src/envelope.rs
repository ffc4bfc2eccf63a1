//! Envelope encryption of data of any size held in memory (`trent::envelope`): the file
//! format of `trent envelope`, chunks sealed in parallel on the engine's rayon pool.
//!
//! Failures of the format (a damaged, truncated, extended or reordered file, a changed
//! header) are `TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION`, with the reason in the error
//! detail; the engine's own refusals (a disabled key, a wrong context) keep their codes. No
//! plaintext is handed out unless the whole input authenticated.

use std::ffi::c_char;

use trent::envelope::{self, DecryptOptions, EncryptOptions, EnvelopeError};

use trent_ffi_macros::export;

use crate::buffers::{new_blob_buffer, new_text_buffer, trent_buffer};
use crate::error::{Failure, trent_result};
use crate::handles::{trent_caller, trent_error, trent_kms};
use crate::ops::trent_context_entry;

fn failure(e: EnvelopeError) -> Failure {
    match e {
        EnvelopeError::Kms(e) => Failure::from(e),
        EnvelopeError::InvalidArgument(m) => Failure::invalid_argument(m),
        EnvelopeError::Io(e) => Failure::invalid_argument(e.to_string()),
        other => Failure::new(trent_result::InvalidCiphertextException, other.to_string()),
    }
}

/// Envelope-encrypts `plaintext` under a fresh data key from GenerateDataKey on `key_id`
/// (any identifier form), with the encryption context `context` (`(NULL, 0)` for none) and
/// `chunk_size` plaintext bytes per chunk (0 for the default, 256 KiB; else 1 KiB ..= 64 MiB).
/// On success `*out` receives the envelope file (a binary `trent_buffer`).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_envelope_encrypt(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    context_entries: *const trent_context_entry,
    context_len: usize,
    chunk_size: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut *mut trent_buffer,
    err: *mut *mut trent_error,
) -> trent_result {
    let opts = EncryptOptions {
        chunk_size: if chunk_size == 0 { envelope::DEFAULT_CHUNK_SIZE } else { chunk_size },
        encryption_context: context_entries,
        ..EncryptOptions::default()
    };
    out.write(new_blob_buffer(envelope::encrypt_to_vec(kms, caller, key_id, &opts, plaintext).map_err(failure)?))
}

/// Decrypts an envelope file: the data key is unwrapped with Decrypt (the key and context
/// come from the file's header), then every chunk is authenticated. On success `*out`
/// receives the plaintext in a buffer that is zeroed when freed (it is followed by a NUL not
/// counted in `trent_buffer_len`).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_envelope_decrypt(
    kms: *const trent_kms,
    caller: *const trent_caller,
    sealed: *const u8,
    sealed_len: usize,
    out: *mut *mut trent_buffer,
    err: *mut *mut trent_error,
) -> trent_result {
    let (plain, _) = envelope::decrypt_from_slice(kms, caller, &DecryptOptions::default(), sealed).map_err(failure)?;
    out.write(new_text_buffer(plain))
}

#[cfg(test)]
mod tests {
    use std::ptr::{null, null_mut};

    use super::*;
    use crate::buffers::{trent_buffer_data, trent_buffer_free, trent_buffer_len};
    use crate::handles::{
        trent_caller_free, trent_caller_root, trent_error_free, trent_kms_free, trent_kms_open_in_memory,
    };
    use crate::ops::trent_kms_create_key;

    fn bytes(buf: *const trent_buffer) -> Vec<u8> {
        crate::boundary::arg_bytes(trent_buffer_data(buf), trent_buffer_len(buf), "buf")
            .expect("a live buffer")
            .to_vec()
    }

    #[test]
    fn round_trip_and_tamper_through_the_c_functions() {
        let mut kms = null_mut();
        assert_eq!(trent_kms_open_in_memory(&mut kms, null_mut()), trent_result::Ok);
        let mut caller = null_mut();
        assert_eq!(trent_caller_root(kms, &mut caller), trent_result::Ok);
        let mut key = null_mut();
        assert_eq!(trent_kms_create_key(kms, caller, null(), 0, &mut key, null_mut()), trent_result::Ok);
        let key_id = bytes(key);

        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let ctx = [trent_context_entry { key: c"k".as_ptr(), key_len: 1, value: c"v".as_ptr(), value_len: 1 }];
        let mut sealed = null_mut();
        let code = trent_kms_envelope_encrypt(
            kms,
            caller,
            key_id.as_ptr().cast(),
            key_id.len(),
            ctx.as_ptr(),
            1,
            4096,
            data.as_ptr(),
            data.len(),
            &mut sealed,
            null_mut(),
        );
        assert_eq!(code, trent_result::Ok);
        let mut file = bytes(sealed);
        trent_buffer_free(sealed);

        let mut plain = null_mut();
        assert_eq!(
            trent_kms_envelope_decrypt(kms, caller, file.as_ptr(), file.len(), &mut plain, null_mut()),
            trent_result::Ok
        );
        assert_eq!(bytes(plain), data);
        trent_buffer_free(plain);

        // A changed chunk: InvalidCiphertext, with the reason in the detail, and no output.
        let n = file.len();
        file[n - 100] ^= 1;
        let mut plain = null_mut();
        let mut err = null_mut();
        let code = trent_kms_envelope_decrypt(kms, caller, file.as_ptr(), file.len(), &mut plain, &mut err);
        assert_eq!(code, trent_result::from_engine(&trent::Error::InvalidCiphertext));
        assert!(plain.is_null());
        assert!(!err.is_null());
        trent_error_free(err);

        // NULL arguments.
        let code = trent_kms_envelope_decrypt(kms, caller, null(), 5, &mut plain, null_mut());
        assert_eq!(code, trent_result::NullParameter);

        trent_buffer_free(key);
        trent_caller_free(caller);
        trent_kms_free(kms);
    }
}
