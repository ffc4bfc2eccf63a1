"""Arguments for the C calls: encryption contexts (packed, or as entry arrays), key ids,
byte buffers, texts and tags; and the output sizes the library gives."""

from __future__ import annotations

import struct
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from ._errors import take_error
from ._ffi import ffi, lib
from ._handle import Handle

BytesLike = Union[bytes, bytearray, memoryview]
Context = Mapping[str, str]

NULL = ffi.NULL
_len4 = struct.Struct("<I").pack

# -- encryption contexts ------------------------------------------------------------------------

#: Packed contexts as `(packed, len(packed))`, by the context's items (a service uses few
#: contexts): the hot calls read it through `context_arg`.
CONTEXT_ARGS: Dict[Tuple[Tuple[str, str], ...], Tuple[bytes, int]] = {}


def _not_a_context(context: Any) -> TypeError:
    if not isinstance(context, Mapping):
        return TypeError(f"encryption context must be a mapping of str to str, not {type(context).__name__}")
    return TypeError("encryption context keys and values must be str")


def _packed_pair(context: Context) -> Tuple[bytes, int]:
    try:
        items = tuple(context.items())
        cached = CONTEXT_ARGS.get(items)
    except (AttributeError, TypeError):
        raise _not_a_context(context) from None
    if cached is not None:
        return cached
    parts: list = []
    for k, v in items:
        if not isinstance(k, str) or not isinstance(v, str):
            raise _not_a_context(context)
        kb = k.encode()
        vb = v.encode()
        parts += (_len4(len(kb)), kb, _len4(len(vb)), vb)
    out = b"".join(parts)
    if len(CONTEXT_ARGS) >= 1024:
        CONTEXT_ARGS.clear()
    pair = CONTEXT_ARGS[items] = (out, len(out))
    return pair


#: `(NULL, 0)`: the argument pair of no encryption context, or of no key id.
NO_ARG: Tuple[Any, int] = (NULL, 0)


def context_arg(context: Context) -> Tuple[Any, int]:
    """A context given (not empty) as the `(context, context_len)` argument pair: for the hot
    calls, straight from `CONTEXT_ARGS` when it was seen before."""
    try:
        return CONTEXT_ARGS[tuple(context.items())]
    except (KeyError, AttributeError, TypeError):
        return _packed_pair(context)


def packed(context: Context) -> bytes:
    """An encryption context in `trent.h`'s packed form (for each pair, the key then the value,
    each a 4-byte little-endian length and the UTF-8 bytes). Limits are the engine's. Recent
    contexts are remembered (a service uses few)."""
    return _packed_pair(context)[0]


def packed_arg(context: Optional[Context]) -> Tuple[Any, int]:
    """A context as the `(context, context_len)` argument pair; `(NULL, 0)` for none."""
    return context_arg(context) if context else NO_ARG


def entries(context: Optional[Context]) -> Tuple[Any, int, list]:
    """A context as a `trent_context_entry` array (the batch and envelope calls take these),
    its length, and what keeps it alive."""
    if not context:
        return NULL, 0, []
    if not isinstance(context, Mapping):
        raise _not_a_context(context)
    n = len(context)
    arr = ffi.new("trent_context_entry[]", n)
    keep: list = [arr]
    for i, (k, v) in enumerate(context.items()):
        if not isinstance(k, str) or not isinstance(v, str):
            raise _not_a_context(context)
        kb = ffi.new("char[]", k.encode())
        vb = ffi.new("char[]", v.encode())
        e = arr[i]
        e.key = kb
        e.key_len = len(kb) - 1
        e.value = vb
        e.value_len = len(vb) - 1
        keep += (kb, vb)
    return arr, n, keep


# -- key ids, buffers, texts --------------------------------------------------------------------

KEY_IDS: Dict[str, bytes] = {}
#: The same as `(bytes, len(bytes))` pairs, for the hottest calls.
KEY_ARGS: Dict[str, Tuple[bytes, int]] = {}


def key_id_bytes(key_id: str) -> bytes:
    """The UTF-8 bytes of a key id, remembered (a service uses few key ids): the hot calls
    read `KEY_IDS` first and call this on a miss."""
    if type(key_id) is not str:
        raise TypeError(f"key_id must be str, not {type(key_id).__name__}")
    k = key_id.encode()
    if len(KEY_IDS) >= 4096:
        KEY_IDS.clear()
    KEY_IDS[key_id] = k
    return k


def key_id_arg(key_id: str) -> Tuple[bytes, int]:
    """`key_id_bytes` as the `(key_id, key_id_len)` argument pair, remembered in `KEY_ARGS`."""
    k = key_id_bytes(key_id)
    if len(KEY_ARGS) >= 4096:
        KEY_ARGS.clear()
    pair = KEY_ARGS[key_id] = (k, len(k))
    return pair


def blob(value: Any, what: str) -> Any:
    """Input bytes for a `const uint8_t *` parameter: `bytes` as they are (cffi passes their
    storage), other buffers through `ffi.from_buffer`."""
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)) or hasattr(value, "__buffer__"):
        return ffi.from_buffer("uint8_t[]", value)
    raise TypeError(f"{what} must be bytes-like, not {type(value).__name__}")


def opt_text(value: Optional[str]) -> Tuple[Any, int]:
    if value is None:
        return NULL, 0
    b = value.encode()
    return b, len(b)


def tag_array(tags: Optional[Mapping[str, str]]) -> Tuple[Any, int, list]:
    if not tags:
        return NULL, 0, []
    arr = ffi.new("trent_tag[]", len(tags))
    keep: list = [arr]
    for i, (k, v) in enumerate(tags.items()):
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError("tag keys and values must be str")
        kb = ffi.new("char[]", k.encode())
        vb = ffi.new("char[]", v.encode())
        arr[i].key = kb
        arr[i].key_len = len(kb) - 1
        arr[i].value = vb
        arr[i].value_len = len(vb) - 1
        keep += (kb, vb)
    return arr, len(tags), keep


# -- output sizes (the library's, as sums) ------------------------------------------------------

#: The bytes a blob adds to its plaintext, `trent_ciphertext_len(0)`: trent.h's blob is the
#: plaintext inside a fixed header and tag, so the sizes below are sums, without a foreign call
#: (the tests compare them with `trent_ciphertext_len` and `trent_plaintext_len_max`).
BLOB_OVERHEAD: int = lib.trent_ciphertext_len(0)


def ciphertext_len(plaintext_len: int) -> int:
    """`trent_ciphertext_len`: the blob size of a plaintext size."""
    return plaintext_len + BLOB_OVERHEAD


def plaintext_len_max(ciphertext_len: int) -> int:
    """`trent_plaintext_len_max`: the largest plaintext a blob of this size holds (0 for one
    too short to be a blob)."""
    n = ciphertext_len - BLOB_OVERHEAD
    return n if n > 0 else 0


# -- output buffers -----------------------------------------------------------------------------

_wipe = lib.trent_wipe
_memmove = ffi.memmove
_ZEROS = bytes(8192)
_ZEROS_LEN = len(_ZEROS)


def take_secret(buf: Any, n: int) -> bytes:
    """The first n bytes of an output buffer that holds plaintext, as `bytes`; the buffer is
    zeroed (Python's copy cannot be: see the README's "Secrets")."""
    try:
        return ffi.buffer(buf, n)[:]
    finally:
        wipe(buf, n)


def wipe(buf: Any, n: int) -> None:
    """Zeroes the first n bytes of an output buffer. Up to 8 KiB (the hot calls' plaintexts)
    by a copy from zeros, several times faster here than `trent_wipe` (whose byte-wise
    volatile writes guard against a C compiler, which cannot elide this call from Python);
    larger buffers (the batches' staging) by `trent_wipe`."""
    if n <= _ZEROS_LEN:
        _memmove(buf, _ZEROS, n)
    else:
        _wipe(buf, n)


def check(rc: int) -> None:
    """Raises the exception of a failed call."""
    if rc:
        raise take_error(rc)


def take_buffer(raw: Any) -> bytes:
    """The bytes of a `trent_buffer` a call returned, which is then freed (wiped)."""
    with Handle(raw, lib.trent_buffer_free, "buffer") as b:
        return ffi.buffer(lib.trent_buffer_data(b), lib.trent_buffer_len(b))[:]
