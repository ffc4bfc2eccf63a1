"""Envelope encryption of `trent.Kms`: data of any size sealed inside the engine, in Trent's
envelope file format."""

from __future__ import annotations

from typing import Any, Optional

from ._args import BytesLike, Context, check, entries, take_buffer
from ._ffi import cells, ffi, lib

__all__ = ["EnvelopeOps"]


class EnvelopeOps:
    """Mixin of `Kms`: envelope encryption."""

    __slots__ = ()
    _eng: Any
    _caller: Any

    def envelope_encrypt(
        self,
        key_id: str,
        plaintext: BytesLike,
        context: Optional[Context] = None,
        chunk_size: Optional[int] = None,
    ) -> bytes:
        """Envelope-encrypts data of any size inside the engine: a fresh data key from
        GenerateDataKey on `key_id` (bound to `context`), the data sealed with it in
        authenticated chunks of `chunk_size` bytes (default 256 KiB; 1 KiB to 64 MiB). Returns
        the envelope (Trent's envelope file format: the wrapped data key, the key and context
        in its header, then the chunks); `envelope_decrypt` opens it."""
        k = key_id.encode()
        arr, n, _keep = entries(context)
        data = ffi.from_buffer("uint8_t[]", plaintext)
        out = ffi.new("trent_buffer **")
        check(
            lib.trent_kms_envelope_encrypt(
                self._eng.ptr, self._caller.ptr, k, len(k), arr, n, chunk_size or 0, data, len(data), out, cells.err
            )
        )
        return take_buffer(out[0])

    def envelope_decrypt(self, envelope: BytesLike) -> bytes:
        """Opens an envelope from `envelope_encrypt`: Decrypt unwraps its data key (the key and
        context come from its header), then every chunk is authenticated. The plaintext is
        returned as `bytes` (see the README's "Secrets"); the library's copy is zeroed."""
        data = ffi.from_buffer("uint8_t[]", envelope)
        out = ffi.new("trent_buffer **")
        check(lib.trent_kms_envelope_decrypt(self._eng.ptr, self._caller.ptr, data, len(data), out, cells.err))
        return take_buffer(out[0])
