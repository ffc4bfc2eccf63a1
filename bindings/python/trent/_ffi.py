"""The C library under the binding: `ffi`, `lib` and the per-thread out-parameters.

Two ways to reach `trent.h`, the same declarations in both:

- **the fast path**: the compiled cffi module `trent._native` (API mode), which links
  libtrent statically; the C compiler checked every declaration against the header when it
  was built;
- **the portable path**: libtrent's shared library (`libtrent_ffi.so`) loaded with `ffi.dlopen`
  (cffi's ABI mode, no compiler needed at run time), declared with the header's preprocessed
  text the build saved beside this file (`_trent_cdef.h`). It is used when the compiled module
  cannot be imported, or when `TRENT_FFI=abi`; the library is `TRENT_LIBRARY` (a path), else a
  `libtrent*.so` inside the package, else the system's `libtrent`.

`TRENT_FFI=api` refuses the portable path (the import fails instead). `MODE` says which path
was taken: `"api"` or `"abi"`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Tuple

__all__ = ["ffi", "lib", "MODE", "cells"]

_HERE = Path(__file__).resolve().parent
#: The header's declarations as cffi reads them, written here by the build (setup.py).
CDEF_FILE = _HERE / "_trent_cdef.h"
#: Shared-library names looked for inside the package and on the system, in order.
LIBRARY_NAMES = ("trent_ffi", "trent")


def _library_path() -> str:
    path = os.environ.get("TRENT_LIBRARY")
    if path:
        return path
    for name in LIBRARY_NAMES:
        candidate = _HERE / f"lib{name}.so"
        if candidate.is_file():
            return str(candidate)
    import ctypes.util

    for name in LIBRARY_NAMES:
        found = ctypes.util.find_library(name)
        if found:
            return found
    raise ImportError(
        "trent: the compiled module trent._native is not available and no libtrent shared "
        "library was found; set TRENT_LIBRARY to the path of libtrent_ffi.so"
    )


def _dlopen() -> Tuple[Any, Any]:
    """The portable path: the shared library in cffi's ABI mode."""
    import cffi

    if not CDEF_FILE.is_file():
        raise ImportError(f"trent: {CDEF_FILE} is missing (it is written when the package is built)")
    ffi = cffi.FFI()
    ffi.cdef(CDEF_FILE.read_text())
    return ffi, ffi.dlopen(_library_path())


_WANT = os.environ.get("TRENT_FFI", "").strip().lower()
if _WANT not in ("", "api", "abi"):
    raise ImportError(f"trent: TRENT_FFI must be 'api' or 'abi', not {_WANT!r}")

ffi: Any = None
lib: Any = None
MODE = "abi"
if _WANT != "abi":
    try:
        from ._native import ffi, lib  # type: ignore[no-redef]

        MODE = "api"
    except ImportError:
        if _WANT == "api":
            raise
if lib is None:
    ffi, lib = _dlopen()


class _Cells(threading.local):
    """One thread's out-parameters for the C calls: `err` (`trent_error **`, where a failed
    call leaves its detail for `take_error`), `size` (`size_t *`, a result's length), `buffer`
    (`trent_buffer **`), `text` (a 2 KiB text output, e.g. a key ARN) and `out` (a SCRATCH-byte
    output, e.g. the client's Encrypt blob, with `view`, its `ffi.buffer`).
    Per thread because the GIL is released during every call; made once per thread instead
    of once per call."""

    def __init__(self) -> None:
        self.err = ffi.new("trent_error **")
        self.size = ffi.new("size_t *")
        self.buffer = ffi.new("trent_buffer **")
        self.text = ffi.new("char[]", 2048)
        self.out = ffi.new("uint8_t[]", SCRATCH)
        self.view = ffi.buffer(self.out)


#: The size of the pooled output buffers (a 4 KiB plaintext's blob fits).
SCRATCH = 8192


def slot() -> tuple:
    """A new slot for the hottest calls: everything one call writes, `(out, view, size, err)`:
    a SCRATCH-byte output buffer, its `ffi.buffer`, a `size_t *` and a `trent_error **`."""
    out = ffi.new("uint8_t[]", SCRATCH)
    return out, ffi.buffer(out), ffi.new("size_t *"), ffi.new("trent_error **")


#: The free slots of the hottest calls, shared by all threads. A call takes one off
#: (`SLOTS.pop()`, atomic under the GIL: the slot is that call's alone while the GIL is released
#: during the C call, and a call that interrupts another on the same thread from a signal
#: handler takes another) and puts it back when done; a new one is made when none is free, so
#: there are as many as calls ever ran at once. Cheaper than a per-thread pool (no
#: `threading.local` lookup per call).
SLOTS: list = []

cells = _Cells()
