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
pub mod error;
pub mod handles;
pub mod ops;

pub use error::*;
pub use handles::*;
pub use ops::*;
