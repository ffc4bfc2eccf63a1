"""The cryptographic operations of `trent.Kms`: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext and GenerateRandom, each one `_into` call of `trent.h` writing
into a buffer this module makes (the result is then copied into the `bytes` returned; a buffer
that held plaintext is zeroed)."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

from ._args import (
    KEY_IDS, NULL, BytesLike, Context, blob, ciphertext_len, key_id_bytes, packed, packed_arg,
    plaintext_len_max, take_secret, wipe,
)  # fmt: skip
from ._errors import take_error
from ._args import _CIPHERTEXT_LEN, _PLAINTEXT_LEN_MAX
from ._ffi import SCRATCH, cells, ffi, lib, scratch

__all__ = ["DataKey", "CryptoOps"]

_new = ffi.new
_buffer = ffi.buffer
_tuple_new = tuple.__new__
_encrypt_into = lib.trent_kms_encrypt_into
_decrypt_into = lib.trent_kms_decrypt_into
_re_encrypt_into = lib.trent_kms_re_encrypt_into
_gdk_into = lib.trent_kms_generate_data_key_into
_gdkwp_into = lib.trent_kms_generate_data_key_without_plaintext_into
_random_into = lib.trent_kms_generate_random_into
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

    def encrypt(self, key_id: str, plaintext: BytesLike, context: Optional[Context] = None) -> bytes:
        """Encrypt: 1–4096 bytes under `key_id`, bound to the encryption context; returns the
        ciphertext blob."""
        if type(plaintext) is not bytes:
            plaintext = blob(plaintext, "plaintext")
        k = KEY_IDS.get(key_id) or key_id_bytes(key_id)
        n = len(plaintext)
        cap = _CIPHERTEXT_LEN.get(n) or ciphertext_len(n)
        if context:
            x = packed(context)
            xl = len(x)
        else:
            x, xl = NULL, 0
        size, err, pool = cells.hot
        if cap > SCRATCH:
            out = _new("uint8_t[]", cap)
            rc = _encrypt_into(self._eng.ptr, self._caller.ptr, k, len(k), plaintext, n, x, xl, out, cap, size, err)
            if rc:
                raise take_error(rc)
            return _buffer(out, size[0])[:]
        s = pool.pop() if pool else scratch()
        try:
            rc = _encrypt_into(self._eng.ptr, self._caller.ptr, k, len(k), plaintext, n, x, xl, s[0], cap, size, err)
            if rc:
                raise take_error(rc)
            return s[1][: size[0]]
        finally:
            pool.append(s)

    def decrypt(self, ciphertext_blob: BytesLike, context: Optional[Context] = None, key_id: Optional[str] = None) -> bytes:
        """Decrypt: the plaintext of a blob from encrypt, generate_data_key or re_encrypt,
        given the same encryption context. `key_id` (optional) names the key expected. Every
        decryption failure is the same `InvalidCiphertextException`.

        The plaintext is returned as `bytes`, which Python cannot wipe: see the README."""
        c = ciphertext_blob if type(ciphertext_blob) is bytes else blob(ciphertext_blob, "ciphertext_blob")
        if context:
            x = packed(context)
            xl = len(x)
        else:
            x, xl = NULL, 0
        if key_id is None:
            k, kl = NULL, 0
        else:
            k = KEY_IDS.get(key_id) or key_id_bytes(key_id)
            kl = len(k)
        n = len(c)
        cap = _PLAINTEXT_LEN_MAX.get(n)
        if cap is None:
            cap = plaintext_len_max(n)
        size, err, pool = cells.hot
        if cap > SCRATCH:
            out = _new("uint8_t[]", cap)
            rc = _decrypt_into(self._eng.ptr, self._caller.ptr, c, n, x, xl, k, kl, out, cap, size, err)
            if rc:
                raise take_error(rc)
            return take_secret(out, size[0])
        s = pool.pop() if pool else scratch()
        try:
            rc = _decrypt_into(self._eng.ptr, self._caller.ptr, c, n, x, xl, k, kl, s[0], cap, size, err)
            if rc:
                raise take_error(rc)
            m = size[0]
            try:
                return s[1][:m]
            finally:
                wipe(s[0], m)
        finally:
            pool.append(s)

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
        size_out, err, pool = cells.hot
        if pcap + bcap > SCRATCH:
            p = _new("uint8_t[]", pcap or 1)
            b = _new("uint8_t[]", bcap)
            rc = _gdk_into(self._eng.ptr, self._caller.ptr, k, len(k), nbytes, x, xl, p, pcap, b, bcap, size_out, err)
            if rc:
                raise take_error(rc)
            return _tuple_new(DataKey, (take_secret(p, pcap), _buffer(b, size_out[0])[:]))
        # One pooled buffer: the plaintext at its start, the blob after it.
        s = pool.pop() if pool else scratch()
        try:
            out = s[0]
            rc = _gdk_into(self._eng.ptr, self._caller.ptr, k, len(k), nbytes, x, xl, out, pcap, out + pcap, bcap, size_out, err)
            if rc:
                raise take_error(rc)
            blob_bytes = s[1][pcap : pcap + size_out[0]]
            try:
                return _tuple_new(DataKey, (s[1][:pcap], blob_bytes))
            finally:
                wipe(out, pcap)
        finally:
            pool.append(s)

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

