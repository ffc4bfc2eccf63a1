//! # Trent's C ABI
//!
//! The `extern "C"` functions, opaque handles and result codes that `libtrent_ffi.a`,
//! `libtrent_ffi.so` and `include/trent.h` expose, following rustls-ffi's conventions (see the
//! crate's README, "C API conventions"):
//!
//! - ten opaque handles, each with a `_free` function that accepts NULL: `trent_kms`,
//!   `trent_caller` and `trent_error` ([`handles`]), `trent_kms_builder` ([`builder`]),
//!   `trent_buffer` and `trent_secret` ([`buffers`]), `trent_data_keys` and
//!   `trent_batch_results` ([`ops`]), `trent_key_metadata` and `trent_list` ([`metadata`]);
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

// The one module where pointers are turned into references, with a `// SAFETY:` comment on
// every `unsafe` block.
#[allow(unsafe_code)]
mod boundary;
pub mod context;
pub mod error;

// The modules of exported functions. They allow `unsafe_code` for one use, the
// `#[unsafe(no_mangle)]` attribute that exports a function (the lint has no finer grain).
// Every exported function but the static `trent_version` carries `#[export]`
// (`trent-ffi-macros`), which checks and converts its C arguments with the helpers of
// `boundary` and runs its body inside `ffi_boundary!` or `ffi_boundary_infallible!`, which
// deny `unsafe` in it (`trent_error_code` calls the latter by hand); the test
// `unsafe_only_in_boundary` (tests/header.rs) fails if `unsafe` appears in these modules
// anywhere but in that attribute.
#[allow(unsafe_code)]
pub mod buffers;
#[allow(unsafe_code)]
pub mod builder;
#[allow(unsafe_code)]
pub mod envelope;
#[allow(unsafe_code)]
pub mod handles;
#[allow(unsafe_code)]
pub mod into;
#[allow(unsafe_code)]
pub mod maintenance;
#[allow(unsafe_code)]
pub mod metadata;
#[allow(unsafe_code)]
pub mod ops;

pub use buffers::*;
pub use builder::*;
pub use envelope::*;
pub use error::*;
pub use handles::*;
pub use into::*;
pub use maintenance::*;
pub use metadata::*;
pub use ops::*;

#[cfg(test)]
mod tests {
    use std::ffi::CStr;
    use std::ptr::null_mut;

    use crate::boundary::ffi_boundary;
    use crate::error::trent_result;
    use crate::handles::{trent_error, trent_error_code, trent_error_free, trent_error_message};

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
