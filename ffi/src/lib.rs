//! # Trent's C ABI
//!
//! The `extern "C"` functions, opaque handles and result codes that `libtrent.a`,
//! `libtrent.so` and `include/trent.h` expose, following rustls-ffi's conventions (see the
//! crate's README, "C API conventions"):
//!
//! - opaque handles (`trent_kms`, `trent_caller`, `trent_kms_builder`, `trent_buffer`,
//!   `trent_secret`, `trent_data_keys`, `trent_batch_results`, `trent_error`), each with a
//!   `_free` function that accepts NULL;
//! - every fallible function returns a [`trent_result`] and writes its outputs only on
//!   success; an optional last parameter `trent_error **err` receives the detail of a failure;
//! - every buffer argument is a `(pointer, length)` pair, `(NULL, 0)` being empty;
//! - a panic never crosses the boundary (`TRENT_RESULT_PANIC`), a NULL argument is
//!   `TRENT_RESULT_NULL_PARAMETER`.
//!
//! Rust code should use the engine crate (`trent-engine`) directly; this crate's items are
//! public for the header generator and for tests that call the C functions.
#![deny(unsafe_code)]
#![allow(clippy::too_many_arguments)]

#[allow(unsafe_code)]
mod boundary;
mod context;
pub mod envelope;
pub mod error;
pub mod handles;
pub mod into;
pub mod metadata;
pub mod ops;

pub use envelope::*;
pub use error::*;
pub use handles::*;
pub use into::*;
pub use metadata::*;
pub use ops::*;

#[cfg(test)]
mod tests {
    use std::ffi::CStr;
    use std::ptr::null_mut;

    use crate::boundary::ffi_boundary;
    use crate::error::{trent_error, trent_error_code, trent_error_free, trent_error_message, trent_result};

    fn message(err: *const trent_error) -> String {
        let p = trent_error_message(err);
        assert!(!p.is_null());
        #[allow(unsafe_code)]
        // SAFETY: `trent_error_message` returns a NUL-terminated string owned by `err`.
        let text = unsafe { CStr::from_ptr(p) };
        text.to_str().expect("UTF-8").to_owned()
    }

    #[test]
    fn a_panic_becomes_a_code_and_a_detail() {
        let mut err: *mut trent_error = null_mut();
        let code = ffi_boundary!(&mut err, { panic!("a bug") });
        assert_eq!(code, trent_result::Panic);
        assert_eq!(trent_error_code(err), trent_result::Panic);
        assert_eq!(message(err), "Panic: the library panicked (a bug in Trent)");
        trent_error_free(err);
        // Without a detail pointer too.
        assert_eq!(ffi_boundary!(null_mut(), { panic!("again") }), trent_result::Panic);
    }

    #[test]
    fn success_leaves_the_detail_untouched() {
        let mut err: *mut trent_error = null_mut();
        assert_eq!(ffi_boundary!(&mut err, { Ok(()) }), trent_result::Ok);
        assert!(err.is_null());
    }
}
