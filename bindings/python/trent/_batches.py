"""The batches of `trent.Kms`: many data keys, Encrypt, Decrypt and ReEncrypt in bulk, each
batch one engine call spread over the engine's thread pool."""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat
from typing import Any, List, Optional, Sequence, Tuple, Union

from . import _errors
from ._args import NULL, BytesLike, Context, check, entries, wipe
from ._crypto import DEFAULT_DATA_KEY_BYTES, DataKey
from ._errors import KmsError, take_error
from ._ffi import cells, ffi, lib
from ._handle import Handle

__all__ = ["BatchOps", "DATA_KEYS_CHUNK"]

_tuple_new = tuple.__new__

#: Data keys per engine call in `Kms.generate_data_keys`: the plaintexts of one call live in the
#: engine's locked memory (4 MiB by default) until they are copied out.
DATA_KEYS_CHUNK = 8192

Items = Sequence[Union[BytesLike, Tuple[BytesLike, Optional[Context]]]]


class BatchOps:
    """Mixin of `Kms`: the batches."""

    __slots__ = ()
    _eng: Any
    _caller: Any

    def generate_data_keys(
        self,
        key_id: str,
        count: int,
        context: Optional[Context] = None,
        number_of_bytes: Optional[int] = None,
    ) -> List[DataKey]:
        """GenerateDataKey `count` times under one key, over the engine's thread pool: a list of
        `DataKey`. Raises when the key cannot be used; an item that failed on its own (rare:
        locked memory exhausted) is raised as its exception.

        Runs in engine calls of `DATA_KEYS_CHUNK` keys, so a large count does not hold all its
        plaintexts in locked memory at once.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        plains, blobs = self._data_keys(key_id, count, context, number_of_bytes)
        # A million small tuples would set off the cyclic GC many times over (tuples are
        # tracked; none of these can be in a cycle): hold it off while building them.
        enabled = gc.isenabled()
        if enabled:
            gc.disable()
        try:
            return list(map(_tuple_new, repeat(DataKey), zip(plains, blobs)))
        finally:
            if enabled:
                gc.enable()

    def generate_data_keys_split(
        self,
        key_id: str,
        count: int,
        context: Optional[Context] = None,
        number_of_bytes: Optional[int] = None,
    ) -> Tuple[List[bytes], List[bytes]]:
        """Like `generate_data_keys`, as two lists: the plaintexts and the ciphertext blobs (in
        the same order). The fastest form."""
        if count < 0:
            raise ValueError("count must be >= 0")
        return self._data_keys(key_id, count, context, number_of_bytes)

    def _data_keys(
        self, key_id: str, count: int, context: Optional[Context], number_of_bytes: Optional[int]
    ) -> Tuple[List[bytes], List[bytes]]:
        # The engine and caller for the whole batch (these references keep them alive until it
        # ends, even if the engine is closed meanwhile).
        eng = self._eng.ptr
        caller = self._caller.ptr
        k = key_id.encode()
        arr, n, _keep = entries(context)
        nbytes = number_of_bytes or 0
        size = nbytes or DEFAULT_DATA_KEY_BYTES
        sizes = [min(DATA_KEYS_CHUNK, count - i) for i in range(0, count, DATA_KEYS_CHUNK)]

        def generate(m: int) -> Tuple[int, Handle]:
            """One chunk of m data keys (run on a worker thread for all chunks but the first,
            so the engine makes chunk i + 1 while Python exports and slices chunk i; the worker
            makes this one call, so it wants the GIL only once per chunk)."""
            out = ffi.new("trent_data_keys **")
            check(lib.trent_kms_generate_data_keys(eng, caller, k, len(k), nbytes, arr, n, m, out, cells.err))
            return m, Handle(out[0], lib.trent_data_keys_free, "data keys")

        plains: List[bytes] = []
        blobs: List[bytes] = []
        if not sizes:
            return plains, blobs
        if len(sizes) == 1:
            _slice_chunk(_export(*generate(sizes[0])), size, plains, blobs)
            return plains, blobs
        with ThreadPoolExecutor(1, thread_name_prefix="trent-data-keys") as pool:
            pending = pool.submit(generate, sizes[0])
            for m in sizes[1:] + [0]:
                chunk = pending.result()
                if m:
                    pending = pool.submit(generate, m)
                try:
                    _slice_chunk(_export(*chunk), size, plains, blobs)
                except BaseException:
                    if m:
                        pending.cancel()
                        try:
                            pending.result()[1].close()  # frees (zeroes) the next chunk now
                        except Exception:  # noqa: BLE001 - the first error is the one to raise
                            pass
                    raise
        return plains, blobs

    def encrypt_batch(self, key_id: str, items: Items) -> List[Union[bytes, KmsError]]:
        """Encrypt in bulk under one key, over the engine's thread pool. `items` are plaintexts
        or `(plaintext, context)` pairs; returns one ciphertext blob per item, or the item's
        exception (an instance, not raised) where that item failed. Raises when the key
        cannot be used."""
        k = key_id.encode()
        arr, keep = _batch_items(items)
        out = ffi.new("trent_batch_results **")
        check(lib.trent_kms_encrypt_batch(self._eng.ptr, self._caller.ptr, k, len(k), arr, len(items), out, cells.err))
        return _batch_results(out[0])

    def decrypt_batch(self, items: Items) -> List[Union[bytes, KmsError]]:
        """Decrypt in bulk (blobs may come from different keys): `items` are blobs or
        `(blob, context)` pairs; returns one plaintext per item, or the item's exception
        (an instance, not raised) where that item failed."""
        arr, keep = _batch_items(items)
        out = ffi.new("trent_batch_results **")
        check(lib.trent_kms_decrypt_batch(self._eng.ptr, self._caller.ptr, arr, len(items), out, cells.err))
        return _batch_results(out[0])

    def re_encrypt_batch(
        self,
        destination_key_id: str,
        items: Sequence[Union[BytesLike, Tuple[BytesLike, Optional[Context], Optional[Context]]]],
    ) -> List[Union[bytes, KmsError]]:
        """ReEncrypt in bulk to one destination key, over the engine's thread pool (the
        plaintexts never reach Python): `items` are blobs or `(blob, source_context,
        destination_context)` triples; returns one new blob per item, or the item's exception
        (an instance, not raised) where that item failed."""
        d = destination_key_id.encode()
        n = len(items)
        arr = ffi.new("trent_re_encrypt_item[]", n)
        keep: list = [arr]
        for i, item in enumerate(items):
            blob: Any
            sctx: Any
            dctx: Any
            if isinstance(item, tuple):
                blob, sctx, dctx = (tuple(item) + (None, None))[:3]
            else:
                blob, sctx, dctx = item, None, None
            if not isinstance(blob, (bytes, bytearray, memoryview)):
                raise TypeError(f"batch items must be bytes-like, not {type(blob).__name__}")
            buf = ffi.from_buffer("uint8_t[]", blob)
            sa, sn, sk = entries(sctx)
            da, dn, dk = entries(dctx)
            e = arr[i]
            e.ciphertext = buf
            e.ciphertext_len = len(buf)
            e.source_context = sa
            e.source_context_len = sn
            e.destination_context = da
            e.destination_context_len = dn
            keep += (buf, sk, dk)
        out = ffi.new("trent_batch_results **")
        check(lib.trent_kms_re_encrypt_batch(self._eng.ptr, self._caller.ptr, d, len(d), arr, n, out, cells.err))
        return _batch_results(out[0])


def _export(m: int, handle: Handle) -> Any:
    """A generated chunk copied out of the engine in one call (`trent_data_keys_export`) into
    buffers of this module; the chunk is then freed, which zeroes its plaintexts."""
    err = cells.err
    with handle as dk:
        if lib.trent_data_keys_len(dk) != m:
            raise _errors.KMSInternalException("a batch of data keys of another size than asked")
        totals = ffi.new("size_t[2]")
        check(lib.trent_data_keys_total_len(dk, totals, totals + 1, err))
        pt, ct = totals[0], totals[1]
        pbuf = ffi.new("uint8_t[]", pt)
        cbuf = ffi.new("uint8_t[]", ct)
        ends = ffi.new("size_t[]", m)
        rc = lib.trent_data_keys_export(dk, pbuf, pt, cbuf, ct, ends, m, err)
        if rc:
            wipe(pbuf, pt)
            raise take_error(rc)
    return m, pbuf, cbuf, ends, pt, ct


def _slice_chunk(chunk: Any, size: int, plains: List[bytes], blobs: List[bytes]) -> None:
    """Appends a generated chunk's plaintexts and blobs as `bytes`, then wipes the chunk's
    plaintext buffer."""
    m, pbuf, cbuf, ends, ptotal, ctotal = chunk
    try:
        if ptotal != m * size:
            raise _errors.KMSInternalException("data keys of an unexpected size")
        pb = ffi.buffer(pbuf, ptotal)
        plains += [pb[i : i + size] for i in range(0, ptotal, size)]
        cb = ffi.buffer(cbuf, ctotal)
        width = ends[0]
        if ctotal == m * width and ffi.unpack(ends, m) == list(range(width, ctotal + 1, width)):
            blobs += [cb[i : i + width] for i in range(0, ctotal, width)]
        else:
            e = ffi.unpack(ends, m)
            blobs += [cb[s:t] for s, t in zip([0] + e[:-1], e)]
    finally:
        wipe(pbuf, ptotal)


def _item_error(code: int, err: Any) -> KmsError:
    message = ""
    if err != NULL:
        try:
            message = ffi.string(lib.trent_error_message(err)).decode("utf-8", "replace")
        finally:
            lib.trent_error_free(err)
        prefix = ffi.string(lib.trent_result_name(code)).decode() + ": "
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return _errors.error_class(code)(message)


def _batch_items(items: Sequence[Any]) -> Tuple[Any, list]:
    n = len(items)
    arr = ffi.new("trent_batch_item[]", n)
    if n and all(type(i) is bytes for i in items):
        # The common case (no contexts): the items joined into one buffer, each entry pointing
        # into it (the contexts stay NULL).
        joined = ffi.from_buffer("uint8_t[]", b"".join(items))
        at = 0
        for i, d in enumerate(items):
            e = arr[i]
            e.data = joined + at
            e.data_len = len(d)
            at += len(d)
        return arr, [arr, joined]
    keep: list = [arr]
    for i, item in enumerate(items):
        if isinstance(item, tuple):
            data, ctx = (tuple(item) + (None,))[:2]
        else:
            data, ctx = item, None
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"batch items must be bytes-like, not {type(data).__name__}")
        buf = ffi.from_buffer("uint8_t[]", data)
        carr, cn, ckeep = entries(ctx)
        e = arr[i]
        e.data = buf
        e.data_len = len(buf)
        e.context = carr
        e.context_len = cn
        keep.append(buf)
        keep.append(ckeep)
    return arr, keep


def _batch_results(raw: Any) -> List[Union[bytes, KmsError]]:
    """One result per item (`bytes`, or the item's exception), copied out in one call
    (`trent_batch_results_export`); the copy is wiped once sliced (it may hold plaintexts) and
    the results freed, which zeroes the library's."""
    err = cells.err
    with Handle(raw, lib.trent_batch_results_free, "batch results") as res:
        n = lib.trent_batch_results_len(res)
        total = ffi.new("size_t *")
        check(lib.trent_batch_results_total_len(res, total, err))
        size = total[0]
        buf = ffi.new("uint8_t[]", size or 1)
        ends_c = ffi.new("size_t[]", n or 1)
        codes_c = ffi.new("uint32_t[]", n or 1)
        try:
            check(lib.trent_batch_results_export(res, buf, size, ends_c, n, codes_c, n, err))
            ends = ffi.unpack(ends_c, n)
            b = ffi.buffer(buf, size)
            out: List[Union[bytes, KmsError]] = [b[s:t] for s, t in zip([0] + ends[:-1], ends)]
        finally:
            wipe(buf, size)
        codes = ffi.unpack(codes_c, n)
        if any(codes):
            data = ffi.new("uint8_t **")
            length = ffi.new("size_t *")
            detail = ffi.new("trent_error **")
            for i, code in enumerate(codes):
                if code:
                    lib.trent_batch_results_get(res, i, data, length, detail)
                    out[i] = _item_error(code, detail[0])
                    detail[0] = NULL
        return out
