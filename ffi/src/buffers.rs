//! The buffers the library returns: `trent_buffer` (blobs and text) and `trent_secret`
//! (plaintext in locked memory), how the crate makes them, and their accessors.

use trent::SecretBytes;
use trent::secret::SecretVec;

use trent_ffi_macros::export;

use crate::boundary::{castable, free_box, to_boxed_mut_ptr};

/// A byte string the library returns: a ciphertext blob, or text (a key id, a JSON response,
/// an envelope's plaintext). Text buffers are followed by one NUL byte not counted in their
/// length, so they can be read as C strings. Freed by `trent_buffer_free`, which first wipes
/// text buffers (JSON responses and envelope plaintexts hold plaintext). Immutable: readable
/// from any thread.
#[allow(non_camel_case_types)]
pub struct trent_buffer {
    _private: [u8; 0],
}

/// The Rust side of a `trent_buffer`.
#[derive(Debug)]
pub enum Buffer {
    /// A ciphertext blob.
    Blob(Vec<u8>),
    /// Text followed by a NUL that is not part of it; wiped when freed.
    Text(SecretVec),
}

impl Buffer {
    fn data(&self) -> &[u8] {
        match self {
            Self::Blob(bytes) => bytes,
            Self::Text(text) => text.expose_secret().split_last().map_or(&[], |(_nul, text)| text),
        }
    }
}

castable!(trent_buffer: OwnershipBox<Buffer>);

/// Secret bytes the library returns (a plaintext data key, Decrypt's plaintext, random
/// bytes), held in the engine's locked memory and zeroed by `trent_secret_free`. Immutable:
/// readable from any thread.
#[allow(non_camel_case_types)]
pub struct trent_secret {
    _private: [u8; 0],
}

castable!(trent_secret: OwnershipBox<SecretBytes>);

/// Hands binary data that is not secret (a ciphertext blob) to C as a new `trent_buffer`.
pub(crate) fn new_blob_buffer(bytes: Vec<u8>) -> *mut trent_buffer {
    to_boxed_mut_ptr::<trent_buffer>(Buffer::Blob(bytes))
}

/// Hands text to C as a new NUL-terminated `trent_buffer`, wiped when freed: it may hold
/// plaintext. (Adding the NUL may move the text; `SecretVec` wipes the allocation it leaves.)
pub(crate) fn new_text_buffer(text: impl Into<SecretVec>) -> *mut trent_buffer {
    let mut text = text.into();
    text.reserve_exact(1);
    text.push(0);
    to_boxed_mut_ptr::<trent_buffer>(Buffer::Text(text))
}

/// Hands secret bytes to C as a new `trent_secret`.
pub(crate) fn new_secret(secret: SecretBytes) -> *mut trent_secret {
    to_boxed_mut_ptr::<trent_secret>(secret)
}

/// The bytes of a buffer (for text buffers, followed by a NUL not counted in
/// `trent_buffer_len`), valid until `trent_buffer_free`; NULL if `buf` is NULL.
#[export(or = std::ptr::null())]
#[unsafe(no_mangle)]
pub extern "C" fn trent_buffer_data(buf: *const trent_buffer) -> *const u8 {
    buf.data().as_ptr()
}

/// The length of a buffer in bytes (not counting the trailing NUL); 0 if `buf` is NULL.
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_buffer_len(buf: *const trent_buffer) -> usize {
    buf.data().len()
}

/// Frees a buffer, wiping text buffers first (JSON responses and envelope plaintexts may hold
/// plaintext); NULL is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_buffer_free(buf: *mut trent_buffer) {
    free_box(buf)
}

/// The bytes of a secret, valid until `trent_secret_free`; NULL if `secret` is NULL. Do not
/// copy them into memory you do not wipe.
#[export(or = std::ptr::null())]
#[unsafe(no_mangle)]
pub extern "C" fn trent_secret_data(secret: *const trent_secret) -> *const u8 {
    secret.expose_secret().as_ptr()
}

/// The length of a secret in bytes; 0 if `secret` is NULL.
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_secret_len(secret: *const trent_secret) -> usize {
    secret.len()
}

/// Zeroes and frees a secret; NULL is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_secret_free(secret: *mut trent_secret) {
    free_box(secret)
}
