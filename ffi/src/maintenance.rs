//! The engine's maintenance calls: due work, refresh, integrity, audit flush and root-key
//! rotation.

use trent::RootKeySource;
use trent_ffi_macros::export;

use crate::boundary::str_from_bytes;
use crate::error::{Failure, trent_result};
use crate::handles::{trent_error, trent_kms};

/// Carries out what the clock has made due now (deletes keys whose waiting period has passed,
/// rotates keys whose rotation date has come). Never needed for correctness: operations do it
/// for the keys they touch.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_run_maintenance(kms: *const trent_kms, err: *mut *mut trent_error) -> trent_result {
    kms.run_maintenance()
}

/// Applies the changes other engines made to a shared keystore now, instead of at the next
/// poll.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_refresh_now(kms: *const trent_kms, err: *mut *mut trent_error) -> trent_result {
    kms.refresh_now()
}

/// Checks the keystore's integrity; `TRENT_RESULT_KMS_INTERNAL_EXCEPTION` with the finding
/// otherwise.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_check_store_integrity(kms: *const trent_kms, err: *mut *mut trent_error) -> trent_result {
    kms.check_store_integrity()
}

/// Waits until the audit sink has stored every event of the operations that returned before
/// this call; `TRENT_RESULT_KMS_INTERNAL_EXCEPTION` if writing the audit trail failed.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_flush_audit(kms: *const trent_kms, err: *mut *mut trent_error) -> trent_result {
    kms.flush_audit().map_err(|e| Failure::new(trent_result::KmsInternalException, format!("audit: {e}")))
}

/// Where a new root key comes from, for `trent_kms_rotate_root_key` (passed as a `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum trent_root_key_kind {
    /// The value is the key itself: 32 bytes.
    Bytes = 0,
    /// The value is the path of a key file (32 bytes, mode 0600; created if missing).
    File = 1,
    /// The value is a UTF-8 passphrase (PBKDF2-HMAC-SHA256, 600,000 iterations).
    Passphrase = 2,
    /// The value is the name of an environment variable holding 64 hex digits or 44
    /// characters of base64.
    Env = 3,
}

/// Rotates the root key that wraps all key material in the keystore: every version is
/// unwrapped with the current root key and wrapped with the new one (`kind`, one of
/// `trent_root_key_kind`, and its value), in one store transaction. On success
/// `*rewrapped_out`, if not NULL, receives the number of versions rewrapped. Other engines
/// sharing the keystore must be reopened with the new root key.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_rotate_root_key(
    kms: *const trent_kms,
    kind: u32,
    value: *const u8,
    value_len: usize,
    #[optional] rewrapped_out: *mut u64,
    err: *mut *mut trent_error,
) -> trent_result {
    let text = || str_from_bytes(value, "value").map(str::to_owned);
    let source = match kind {
        k if k == trent_root_key_kind::Bytes as u32 => {
            let key: [u8; 32] = value
                .try_into()
                .map_err(|_| Failure::invalid_argument(format!("a root key is 32 bytes, not {value_len}")))?;
            RootKeySource::bytes(key)
        }
        k if k == trent_root_key_kind::File as u32 => RootKeySource::file(text()?),
        k if k == trent_root_key_kind::Passphrase as u32 => RootKeySource::passphrase(text()?),
        k if k == trent_root_key_kind::Env as u32 => RootKeySource::env(text()?),
        other => return Err(Failure::invalid_argument(format!("unknown root key kind {other}"))),
    };
    let count = kms.rotate_root_key(source)?;
    if let Some(out) = rewrapped_out {
        out.write(count);
    }
}
