//! The one module where pointers are handled: the `Castable` casts between opaque C handles
//! and Rust objects (rustls-ffi's pattern), borrowing `(pointer, length)` arguments, writing
//! out-parameters, and the boundary macro every exported function body goes through.
//!
//! Nothing else in the crate may use `unsafe`: the exported functions' `#[export]` attribute
//! (`trent-ffi-macros`) converts their arguments with the safe helpers here, which check every
//! pointer for NULL before turning it into a reference, and wraps their bodies in
//! [`ffi_boundary!`] or [`ffi_boundary_infallible!`].

use std::ffi::c_char;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::Arc;

use crate::error::Failure;

/// A C handle type (`trent_x`) that stands for a Rust object.
pub(crate) trait Castable {
    /// How the handle owns the object: [`OwnershipBox`] or [`OwnershipArc`].
    type Ownership;
    /// The Rust object behind the handle.
    type RustType;
}

/// Declares what a handle type stands for: `castable!(trent_x: OwnershipBox<RustType>);`.
macro_rules! castable {
    ($handle:ident: $ownership:ident<$rust:ty>) => {
        impl $crate::boundary::Castable for $handle {
            type Ownership = $crate::boundary::$ownership;
            type RustType = $rust;
        }
    };
}
pub(crate) use castable;

/// The handle is a `Box<RustType>` turned into a raw pointer: one owner, freed once.
pub(crate) struct OwnershipBox;

/// The handle is an `Arc<RustType>` turned into a raw pointer: shared across threads.
pub(crate) struct OwnershipArc;

/// Moves `value` into a new box and returns it as a `trent_x` handle.
pub(crate) fn to_boxed_mut_ptr<C: Castable<Ownership = OwnershipBox>>(value: C::RustType) -> *mut C {
    Box::into_raw(Box::new(value)).cast::<C>()
}

/// Moves `value` into a new `Arc` and returns it as a `trent_x` handle.
pub(crate) fn to_arc_mut_ptr<C: Castable<Ownership = OwnershipArc>>(value: C::RustType) -> *mut C {
    Arc::into_raw(Arc::new(value)).cast_mut().cast::<C>()
}

/// Drops the boxed object behind `ptr`; NULL is accepted and ignored.
pub(crate) fn free_box<C: Castable<Ownership = OwnershipBox>>(ptr: *mut C) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: non-NULL handles of this type are only made by `to_boxed_mut_ptr::<C>`, which
    // leaked a `Box<C::RustType>`; the C contract is that each handle is freed exactly once
    // and not used afterwards.
    drop(unsafe { Box::from_raw(ptr.cast::<C::RustType>()) });
}

/// Releases the caller's reference to the shared object behind `ptr`; NULL is accepted.
pub(crate) fn free_arc<C: Castable<Ownership = OwnershipArc>>(ptr: *mut C) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: non-NULL handles of this type are only made by `to_arc_mut_ptr::<C>` (from
    // `Arc::into_raw`); the C contract is that each handle is freed exactly once, after every
    // call using it has returned.
    drop(unsafe { Arc::from_raw(ptr.cast_const().cast::<C::RustType>()) });
}

/// Borrows the object behind a handle argument, or fails with `NULL_PARAMETER` naming it.
pub(crate) fn arg_ref<'a, C: Castable>(ptr: *const C, name: &'static str) -> Result<&'a C::RustType, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: the pointer is not NULL, and non-NULL handles of this type point to a live
    // `C::RustType` (made by `to_boxed_mut_ptr` / `to_arc_mut_ptr`, not yet freed: the C
    // contract). Only shared references are made from `const` handles, and every Rust object
    // behind a handle is `Sync` or only borrowed by one call at a time (documented per type).
    Ok(unsafe { &*ptr.cast::<C::RustType>() })
}

/// Borrows the boxed object behind a mutable handle argument (one call at a time: the C
/// contract for mutable handles), or fails with `NULL_PARAMETER` naming it.
pub(crate) fn arg_mut<'a, C: Castable<Ownership = OwnershipBox>>(
    ptr: *mut C,
    name: &'static str,
) -> Result<&'a mut C::RustType, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: the pointer is not NULL and points to a live boxed `C::RustType` made by
    // `to_boxed_mut_ptr`; the C contract for non-`const` handles is that no other call uses
    // the handle at the same time, so this is the only reference.
    Ok(unsafe { &mut *ptr.cast::<C::RustType>() })
}

/// Borrows `(ptr, len)` as a byte slice: `(NULL, 0)` is the empty slice, `(NULL, n > 0)` is
/// `NULL_PARAMETER`, a length over `isize::MAX` is `INVALID_ARGUMENT`.
pub(crate) fn arg_bytes<'a>(ptr: *const u8, len: usize, name: &'static str) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid_argument(format!("{name}: length {len} is too large")));
    }
    // SAFETY: `ptr` is not NULL and `len` is at most `isize::MAX`; the C contract is that
    // `ptr` points to `len` readable bytes that stay unchanged for the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows `(ptr, len)` as UTF-8 text (no NUL terminator needed; an embedded NUL is refused).
pub(crate) fn arg_str<'a>(ptr: *const c_char, len: usize, name: &'static str) -> Result<&'a str, Failure> {
    str_from_bytes(arg_bytes(ptr.cast::<u8>(), len, name)?, name)
}

/// Reads an argument's bytes as [`arg_str`] does.
pub(crate) fn str_from_bytes<'a>(bytes: &'a [u8], name: &str) -> Result<&'a str, Failure> {
    let text = std::str::from_utf8(bytes).map_err(|_| Failure::invalid_utf8(name))?;
    if text.contains('\0') {
        return Err(Failure::invalid_argument(format!("{name} contains a NUL character")));
    }
    Ok(text)
}

/// Borrows `(ptr, len)` as a caller-owned output array of `len` elements of `T`, possibly
/// uninitialised (write-only); `(NULL, 0)` is empty.
pub(crate) fn arg_out_array<'a, T>(
    ptr: *mut T,
    len: usize,
    name: &'static str,
) -> Result<&'a mut [MaybeUninit<T>], Failure> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(Failure::invalid_argument(format!("{name}: length {len} is too large")));
    }
    // SAFETY: `ptr` is not NULL and `len * size_of::<T>()` fits in `isize`; the C contract is
    // that `ptr` points to `len` properly aligned elements the library may write, not read or
    // written by anyone else for the duration of the call. As `MaybeUninit`, they need not
    // be initialised.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<T>>(), len) })
}

/// Copies `src` into the write-only `dst` of the same length.
pub(crate) fn write_bytes(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        d.write(*s);
    }
}

/// Zeroes the caller's `dst` with volatile writes the compiler may not remove.
pub(crate) fn wipe(dst: &mut [MaybeUninit<u8>]) {
    for byte in dst.iter_mut() {
        // SAFETY: `byte` is a valid, aligned, writable byte (it is borrowed mutably).
        unsafe { std::ptr::write_volatile(byte.as_mut_ptr(), 0) }
    }
}

/// Like [`arg_str`], with `NULL` meaning "absent" whatever the length.
pub(crate) fn arg_opt_str<'a>(ptr: *const c_char, len: usize, name: &'static str) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() { Ok(None) } else { arg_str(ptr, len, name).map(Some) }
}

/// Borrows an array argument of `len` elements of `T`; `(NULL, 0)` is empty.
pub(crate) fn arg_array<'a, T>(ptr: *const T, len: usize, name: &'static str) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(Failure::invalid_argument(format!("{name}: length {len} is too large")));
    }
    // SAFETY: `ptr` is not NULL and `len * size_of::<T>()` fits in `isize`; the C contract is
    // that `ptr` points to `len` initialised, properly aligned elements that stay unchanged
    // for the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A checked, non-NULL out-parameter `T **`, written at most once, on success.
pub(crate) struct Out<T> {
    ptr: *mut *mut T,
}

impl<T> Out<T> {
    /// Checks the out-parameter; NULL is `NULL_PARAMETER` naming it.
    pub(crate) fn new(ptr: *mut *mut T, name: &'static str) -> Result<Self, Failure> {
        if ptr.is_null() { Err(Failure::null(name)) } else { Ok(Self { ptr }) }
    }

    /// Writes the new handle.
    pub(crate) fn write(self, value: *mut T) {
        // SAFETY: `self.ptr` was checked non-NULL in `new`; the C contract is that it points
        // to a writable `T *`. The previous value is not read (it need not be initialised).
        unsafe { self.ptr.write(value) }
    }
}

/// A checked, non-NULL out-parameter of a plain value (`size_t *`, `const uint8_t **`, …).
pub(crate) struct OutValue<T> {
    ptr: *mut T,
}

impl<T> OutValue<T> {
    /// Checks the out-parameter; NULL is `NULL_PARAMETER` naming it.
    pub(crate) fn new(ptr: *mut T, name: &'static str) -> Result<Self, Failure> {
        if ptr.is_null() { Err(Failure::null(name)) } else { Ok(Self { ptr }) }
    }

    /// Writes the value.
    pub(crate) fn write(self, value: T) {
        // SAFETY: `self.ptr` was checked non-NULL in `new`; the C contract is that it points
        // to a writable, aligned `T`. The previous value is not read or dropped (`T` is a
        // plain C value).
        unsafe { self.ptr.write(value) }
    }
}

/// The optional error-detail out-parameter `trent_error **err`.
pub(crate) struct ErrOut<T> {
    ptr: *mut *mut T,
    _t: PhantomData<T>,
}

impl<T: Castable<Ownership = OwnershipBox>> ErrOut<T> {
    /// Wraps the raw parameter (NULL means the caller wants no detail).
    pub(crate) fn new(ptr: *mut *mut T) -> Self {
        Self { ptr, _t: PhantomData }
    }

    /// Hands `detail` to the caller if they asked for it (else drops it).
    pub(crate) fn write(self, detail: T::RustType) {
        if self.ptr.is_null() {
            return;
        }
        let handle = to_boxed_mut_ptr::<T>(detail);
        // SAFETY: `self.ptr` is not NULL; the C contract is that a non-NULL `err` points to a
        // writable `trent_error *`. The previous value is not read.
        unsafe { self.ptr.write(handle) }
    }
}

/// What the body of a fallible exported function may end with: nothing (its outputs are
/// written), or the `Result` of the engine or of the crate.
pub(crate) trait Outcome {
    fn into_result(self) -> Result<(), Failure>;
}

impl Outcome for () {
    fn into_result(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl Outcome for Result<(), Failure> {
    fn into_result(self) -> Result<(), Failure> {
        self
    }
}

impl Outcome for trent::Result<()> {
    fn into_result(self) -> Result<(), Failure> {
        Ok(self?)
    }
}

/// Wraps an exported function's body: runs it under `catch_unwind` (a panic becomes
/// `TRENT_RESULT_PANIC`), turns its `Result<(), Failure>` into a `trent_result`, and writes the
/// error detail to `$err` (a `*mut *mut trent_error`, may be NULL) on failure. The body may
/// not use `unsafe`: pointer arguments go through the helpers of this module, whose NULL
/// checks return `TRENT_RESULT_NULL_PARAMETER`.
macro_rules! ffi_boundary {
    ($err:expr, $body:block) => {{
        let err = $crate::boundary::ErrOut::<$crate::handles::trent_error>::new($err);
        #[deny(unsafe_code)]
        let body = || -> ::std::result::Result<(), $crate::error::Failure> { $body };
        let outcome = ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(body))
            .unwrap_or_else(|_| Err($crate::error::Failure::panic()));
        match outcome {
            Ok(()) => $crate::error::trent_result::Ok,
            Err(failure) => {
                let code = failure.code;
                err.write(failure.into_detail());
                code
            }
        }
    }};
}

/// Like [`ffi_boundary!`] for functions that cannot fail but for a panic, returning `$default`
/// then (NULL-tolerant accessors and free functions).
macro_rules! ffi_boundary_infallible {
    ($default:expr, $body:block) => {{
        #[deny(unsafe_code)]
        let body = || $body;
        ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(body)).unwrap_or($default)
    }};
}

pub(crate) use {ffi_boundary, ffi_boundary_infallible};
