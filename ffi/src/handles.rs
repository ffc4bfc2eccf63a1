//! The opaque handles and what makes and frees them: the engine, the caller and the error
//! detail (the builder is in `builder.rs`, the buffers in `buffers.rs`, the engine's
//! maintenance calls in `maintenance.rs`).

use std::ffi::c_char;

use trent::{Caller, Kms};

use trent_ffi_macros::export;

use crate::boundary::{castable, ffi_boundary_infallible, free_arc, free_box, to_arc_mut_ptr, to_boxed_mut_ptr};
use crate::error::{ErrorDetail, Failure, trent_result};

/// An engine. Shared: every function taking a `const trent_kms *` may run concurrently with
/// any other on the same handle from any number of threads. Made by `trent_kms_open_*` or
/// `trent_kms_builder_open`, released by `trent_kms_free` once no call uses it.
#[allow(non_camel_case_types)]
pub struct trent_kms {
    _private: [u8; 0],
}

castable!(trent_kms: OwnershipArc<Kms>);

/// The principal operations run as. Immutable once made: it may be used by any number of
/// threads at once. Freed with `trent_caller_free`.
#[allow(non_camel_case_types)]
pub struct trent_caller {
    _private: [u8; 0],
}

castable!(trent_caller: OwnershipBox<Caller>);

/// The detail of one failed call, handed out through the optional `trent_error **err`
/// parameter every fallible function takes last. Free it with `trent_error_free`.
#[allow(non_camel_case_types)]
pub struct trent_error {
    _private: [u8; 0],
}

castable!(trent_error: OwnershipBox<ErrorDetail>);

// ---------------------------------------------------------------------------------------------
// The engine

/// The library's version, `"MAJOR.MINOR.PATCH"` (the same as `TRENT_VERSION`). Static.
#[unsafe(no_mangle)]
pub extern "C" fn trent_version() -> *const c_char {
    const VERSION: &std::ffi::CStr =
        match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// Opens an engine with every default: an in-memory keystore (lost when the engine is freed)
/// with a random root key, Region `us-east-1`, account `111122223333`, memory that must be
/// lockable. On success `*kms_out` receives the engine.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_open_in_memory(kms_out: *mut *mut trent_kms, err: *mut *mut trent_error) -> trent_result {
    kms_out.write(to_arc_mut_ptr::<trent_kms>(Kms::open_in_memory()?))
}

/// Opens the embedded default engine on the data directory `dir` (UTF-8, `dir_len` bytes, no
/// NUL needed): a SQLite keystore and a root key file, both created at the first open. On
/// success `*kms_out` receives the engine.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_open_dir(
    dir: *const c_char,
    dir_len: usize,
    kms_out: *mut *mut trent_kms,
    err: *mut *mut trent_error,
) -> trent_result {
    if dir.is_empty() {
        return Err(Failure::invalid_argument("dir is empty"));
    }
    kms_out.write(to_arc_mut_ptr::<trent_kms>(Kms::open(dir)?))
}

/// Releases an engine; NULL is accepted. Call it once, after every call using `kms` has
/// returned; the engine closes when the last `trent_kms` sharing it is freed.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_free(kms: *mut trent_kms) {
    free_arc(kms)
}

/// Whether the engine's key material is really in locked memory (false only when
/// `trent_kms_builder_allow_unlocked_memory` was set and locking failed); false if `kms` is
/// NULL.
#[export(or = false)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_memory_is_locked(kms: *const trent_kms) -> bool {
    kms.memory_is_locked()
}

/// The keystore backend's name (`"memory"`, `"sqlite"`, `"postgres"`), static; `""` if `kms`
/// is NULL.
#[export(or = c"".as_ptr())]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_store_backend(kms: *const trent_kms) -> *const c_char {
    match kms.store_backend() {
        "memory" => c"memory",
        "sqlite" => c"sqlite",
        "postgres" => c"postgres",
        _ => c"other",
    }
    .as_ptr()
}

// ---------------------------------------------------------------------------------------------
// Callers

/// The root principal of the engine's account (`arn:aws:iam::<account>:root`), the caller
/// single-tenant embedders use. On success `*caller_out` receives it.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_caller_root(kms: *const trent_kms, caller_out: *mut *mut trent_caller) -> trent_result {
    caller_out.write(to_boxed_mut_ptr::<trent_caller>(kms.root_caller()))
}

/// A principal given by its ARN (`arn:<partition>:iam::<account>:…` or
/// `arn:<partition>:sts::<account>:…`); `TRENT_RESULT_VALIDATION_EXCEPTION` if malformed. On
/// success `*caller_out` receives it.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_caller_from_arn(
    arn: *const c_char,
    arn_len: usize,
    caller_out: *mut *mut trent_caller,
    err: *mut *mut trent_error,
) -> trent_result {
    caller_out.write(to_boxed_mut_ptr::<trent_caller>(Caller::from_arn(arn)?))
}

/// Frees a caller; NULL is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_caller_free(caller: *mut trent_caller) {
    free_box(caller)
}

// ---------------------------------------------------------------------------------------------
// Result codes and error details

/// The name of a result code: the AWS exception name for engine errors
/// (`"NotFoundException"`), a short CamelCase name otherwise (`"NullParameter"`), and
/// `"Unknown"` for a value that is no code. Static: never free it.
#[export(or = c"Unknown".as_ptr())]
#[unsafe(no_mangle)]
pub extern "C" fn trent_result_name(code: u32) -> *const c_char {
    trent_result::from_u32(code).map_or(c"Unknown", trent_result::name).as_ptr()
}

/// A static, one-line description of a result code (`"Unknown"` for a value that is no
/// code). Never free it. For the message of one failed call, use the `trent_error` detail.
#[export(or = c"Unknown".as_ptr())]
#[unsafe(no_mangle)]
pub extern "C" fn trent_result_message(code: u32) -> *const c_char {
    trent_result::from_u32(code).map_or(c"Unknown", trent_result::message).as_ptr()
}

/// The result code of a failed call's detail (`TRENT_RESULT_NULL_PARAMETER` if `err` is
/// NULL).
#[unsafe(no_mangle)]
pub extern "C" fn trent_error_code(err: *const trent_error) -> trent_result {
    // By hand: a NULL `err` answers NULL_PARAMETER, a panic PANIC.
    ffi_boundary_infallible!(trent_result::Panic, {
        crate::boundary::arg_ref(err, "err").map_or(trent_result::NullParameter, |e| e.code)
    })
}

/// The message of a failed call's detail, as `"<name>: <engine message>"`, NUL-terminated
/// UTF-8 valid until `trent_error_free(err)`; `""` if `err` is NULL. Messages never carry
/// plaintext or key material.
#[export(or = c"".as_ptr())]
#[unsafe(no_mangle)]
pub extern "C" fn trent_error_message(err: *const trent_error) -> *const c_char {
    err.message.as_ptr()
}

/// Frees an error detail; NULL is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_error_free(err: *mut trent_error) {
    free_box(err)
}
