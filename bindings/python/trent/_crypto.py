"""The cryptographic operations of `trent.Kms`: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext and GenerateRandom, each one `_into` call of `trent.h` writing
into a buffer this module makes (the result is then copied into the `bytes` returned; a buffer
that held plaintext is zeroed)."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

from ._args import (
    BLOB_OVERHEAD, KEY_ARGS, KEY_IDS, NO_ARG, BytesLike, Context, blob, ciphertext_len, context_arg,
    key_id_arg, key_id_bytes, packed_arg, plaintext_len_max, take_secret, wipe,
)  # fmt: skip
from ._errors import take_error, take_error_in
from ._ffi import SCRATCH, SLOTS, cells, ffi, lib, slot

__all__ = ["DataKey", "CryptoOps"]

_new = ffi.new
# Bound once: CPython 3.11 compiles `NAME.method()` on a name bound by an import as an
# attribute read that makes a bound method each call (it takes the name for a module).
_take_slot = SLOTS.pop
_put_slot = SLOTS.append
_key_arg = KEY_ARGS.get
_buffer = ffi.buffer
_tuple_new = tuple.__new__
_encrypt_into = lib.trent_kms_encrypt_into
_decrypt_into = lib.trent_kms_decrypt_into
_re_encrypt_into = lib.trent_kms_re_encrypt_into
_gdk_into = lib.trent_kms_generate_data_key_into
_gdkwp_into = lib.trent_kms_generate_data_key_without_plaintext_into
_random_into = lib.trent_kms_generate_random_into
#: A pooled buffer's worth of zeros, to wipe one.
_SLOT_ZEROS = bytes(SCRATCH)
#: The size of a data key when GenerateDataKey is given no `number_of_bytes` (AES_256).
DEFAULT_DATA_KEY_BYTES = 32


def _sized(n: int) -> int:
    """The capacity to give a call for n bytes of output: n, so that a size out of the engine's
    range gets the engine's own message; 0 (a capacity error) for a size too large to
    allocate for that."""
    return n if 0 < n <= 1 << 20 else 0


class DataKey(NamedTuple):
    """A data key: `plaintext` (use it, then drop it) and `ciphertext_blob` (store it).

    The plaintext is a Python `bytes`, which cannot be wiped: see the README's "Secrets". The
    repr never shows it.
    """

    plaintext: bytes
    ciphertext_blob: bytes

    def __repr__(self) -> str:
        return f"DataKey(plaintext=<{len(self.plaintext)} bytes>, ciphertext_blob=<{len(self.ciphertext_blob)} bytes>)"


class CryptoOps:
    """Mixin of `Kms`: the single-item cryptographic operations."""

    __slots__ = ()
    _eng: Any
    _caller: Any

    # Encrypt and Decrypt are the hottest calls, and on CPython each bytecode counts next to
    # the engine's microsecond: the key id and the context come as ready argument pairs from
    # their caches (KEY_ARGS, and CONTEXT_ARGS through `context_arg`; on a miss, or for a wrong
    # type, the function that fills them, which also raises), the sizes are sums, and a slot
    # (output buffer, size and error cells) is taken off the shared SLOTS list for the one
    # `_into` call. The handles' pointers are read into the call's arguments, so the handles
    # stay alive while it runs.

    def encrypt(self, key_id: str, plaintext: BytesLike, context: Optional[Context] = None) -> bytes:
        """Encrypt: 1–4096 bytes under `key_id`, bound to the encryption context; returns the
        ciphertext blob."""
        if type(plaintext) is not bytes:
            plaintext = blob(plaintext, "plaintext")
        k, kl = _key_arg(key_id) or key_id_arg(key_id)
        x, xl = context_arg(context) if context else NO_ARG
        n = len(plaintext)
        # trent.h: the blob is always trent_ciphertext_len(plaintext_len) bytes, so its length
        # is `cap` without reading the size cell back.
        cap = n + BLOB_OVERHEAD
        if cap > SCRATCH:
            return self._encrypt_large(k, kl, plaintext, n, x, xl)
        try:
            s = _take_slot()
        except IndexError:
            s = slot()
        out, view, size, err = s
        try:
            rc = _encrypt_into(self._eng.ptr, self._caller.ptr, k, kl, plaintext, n, x, xl, out, cap, size, err)
            if rc:
                raise take_error_in(err, rc)
            return view[:cap]
        finally:
            _put_slot(s)

    def _encrypt_large(self, k: bytes, kl: int, plaintext: Any, n: int, x: Any, xl: int) -> bytes:
        """Encrypt into a buffer of its own (a plaintext beyond the pooled buffers: the engine
        refuses it with its own message)."""
        cap = ciphertext_len(n)
        out = _new("uint8_t[]", cap)
        size = cells.size
        rc = _encrypt_into(self._eng.ptr, self._caller.ptr, k, kl, plaintext, n, x, xl, out, cap, size, cells.err)
        if rc:
            raise take_error(rc)
        return _buffer(out, size[0])[:]

    def decrypt(self, ciphertext_blob: BytesLike, context: Optional[Context] = None, key_id: Optional[str] = None) -> bytes:
        """Decrypt: the plaintext of a blob from encrypt, generate_data_key or re_encrypt,
        given the same encryption context. `key_id` (optional) names the key expected. Every
        decryption failure is the same `InvalidCiphertextException`.

        The plaintext is returned as `bytes`, which Python cannot wipe: see the README."""
        c = ciphertext_blob if type(ciphertext_blob) is bytes else blob(ciphertext_blob, "ciphertext_blob")
        x, xl = context_arg(context) if context else NO_ARG
        k, kl = NO_ARG if key_id is None else (_key_arg(key_id) or key_id_arg(key_id))
        n = len(c)
        # trent.h: a blob's plaintext is exactly trent_plaintext_len_max(blob) bytes.
        cap = n - BLOB_OVERHEAD
        if cap > SCRATCH:
            return self._decrypt_large(c, n, x, xl, k, kl, cap)
        if cap < 0:  # too short to be a blob: the engine says so
            cap = 0
        try:
            s = _take_slot()
        except IndexError:
            s = slot()
        out, view, size, err = s
        try:
            rc = _decrypt_into(self._eng.ptr, self._caller.ptr, c, n, x, xl, k, kl, out, cap, size, err)
            if rc:
                raise take_error_in(err, rc)
            try:
                return view[:cap]
            finally:
                view[:] = _SLOT_ZEROS  # the wipe: the whole buffer, cheaper from here than a part
        finally:
            _put_slot(s)

    def _decrypt_large(self, c: Any, n: int, x: Any, xl: int, k: Any, kl: int, cap: int) -> bytes:
        """Decrypt into a buffer of its own (a blob beyond the pooled buffers)."""
        out = _new("uint8_t[]", cap)
        size = cells.size
        rc = _decrypt_into(self._eng.ptr, self._caller.ptr, c, n, x, xl, k, kl, out, cap, size, cells.err)
        if rc:
            raise take_error(rc)
        return take_secret(out, size[0])

    def re_encrypt(
        self,
        ciphertext_blob: BytesLike,
        destination_key_id: str,
        source_context: Optional[Context] = None,
        destination_context: Optional[Context] = None,
    ) -> bytes:
        """ReEncrypt: decrypts and encrypts under `destination_key_id` inside the engine (the
        plaintext never reaches Python); returns the new blob."""
        c = blob(ciphertext_blob, "ciphertext_blob")
        sx, sxl = packed_arg(source_context)
        dx, dxl = packed_arg(destination_context)
        d = KEY_IDS.get(destination_key_id) or key_id_bytes(destination_key_id)
        n = len(c)
        # A blob keeps its size when re-encrypted.
        cap = ciphertext_len(plaintext_len_max(n))
        out = _new("uint8_t[]", cap or 1)
        cl = cells
        rc = _re_encrypt_into(
            self._eng.ptr, self._caller.ptr, c, n, sx, sxl, d, len(d), dx, dxl, out, cap, cl.size, cl.err
        )
        if rc:
            raise take_error(rc)
        return _buffer(out, cl.size[0])[:]

    def generate_data_key(
        self, key_id: str, context: Optional[Context] = None, number_of_bytes: Optional[int] = None
    ) -> DataKey:
        """GenerateDataKey: an AES-256 data key (or `number_of_bytes` random bytes, 1–1024)
        under `key_id`: `DataKey(plaintext, ciphertext_blob)`. Keep only the blob; decrypt
        unwraps it."""
        k = KEY_IDS.get(key_id) or key_id_bytes(key_id)
        nbytes = number_of_bytes or 0
        size = nbytes or DEFAULT_DATA_KEY_BYTES
        x, xl = packed_arg(context)
        pcap = _sized(size)
        bcap = ciphertext_len(pcap)
        if pcap + bcap > SCRATCH:
            size_out = cells.size
            p = _new("uint8_t[]", pcap or 1)
            b = _new("uint8_t[]", bcap)
            rc = _gdk_into(self._eng.ptr, self._caller.ptr, k, len(k), nbytes, x, xl, p, pcap, b, bcap, size_out, cells.err)
            if rc:
                raise take_error(rc)
            return _tuple_new(DataKey, (take_secret(p, pcap), _buffer(b, size_out[0])[:]))
        # One pooled buffer: the plaintext at its start, the blob after it.
        try:
            s = _take_slot()
        except IndexError:
            s = slot()
        try:
            out, view, size_out, err = s
            rc = _gdk_into(self._eng.ptr, self._caller.ptr, k, len(k), nbytes, x, xl, out, pcap, out + pcap, bcap, size_out, err)
            if rc:
                raise take_error_in(err, rc)
            blob_bytes = view[pcap : pcap + size_out[0]]
            try:
                return _tuple_new(DataKey, (view[:pcap], blob_bytes))
            finally:
                wipe(out, pcap)
        finally:
            _put_slot(s)

    def generate_data_key_without_plaintext(
        self, key_id: str, context: Optional[Context] = None, number_of_bytes: Optional[int] = None
    ) -> bytes:
        """GenerateDataKeyWithoutPlaintext: only the wrapped data key."""
        k = KEY_IDS.get(key_id) or key_id_bytes(key_id)
        nbytes = number_of_bytes or 0
        size = nbytes or DEFAULT_DATA_KEY_BYTES
        x, xl = packed_arg(context)
        cap = ciphertext_len(_sized(size))
        out = _new("uint8_t[]", cap)
        cl = cells
        rc = _gdkwp_into(self._eng.ptr, self._caller.ptr, k, len(k), nbytes, x, xl, out, cap, cl.size, cl.err)
        if rc:
            raise take_error(rc)
        return _buffer(out, cl.size[0])[:]

    def generate_random(self, number_of_bytes: int) -> bytes:
        """GenerateRandom: 1–1024 random bytes."""
        cap = _sized(number_of_bytes)
        out = _new("uint8_t[]", cap or 1)
        rc = _random_into(self._eng.ptr, self._caller.ptr, number_of_bytes, out, cap, cells.err)
        if rc:
            raise take_error(rc)
        return take_secret(out, cap)

