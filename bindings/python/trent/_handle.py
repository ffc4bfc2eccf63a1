"""`Handle`: the one owner of every native handle the binding holds (as wasmtime-py's
`Managed` is): a raw pointer and the function that frees it."""

from __future__ import annotations

from typing import Any, Callable

from ._errors import ClosedError
from ._ffi import ffi

__all__ = ["Handle"]


class Handle:
    """Owns one native handle: the pointer `raw` and its `free` function.

    The pointer is kept as an `ffi.gc` cdata, so `free` runs exactly once, when the last
    reference to that cdata goes. `ptr` returns it: a call that passes `handle.ptr` to a C
    function holds a reference for as long as the call runs, so `close()` from another thread
    while calls are running only makes later `ptr` reads raise `ClosedError`, and the handle is
    freed when the last running call returns (on CPython at once when nothing uses it). Only
    this class reads or drops the pointer; no caller needs to keep it alive by hand.

    As a context manager (for a call's temporary results) it gives the pointer and closes on
    exit.
    """

    # `ptr` is a plain slot (the cheapest attribute to read, once per call on the hot paths);
    # closing empties it, and reading an empty slot falls through to __getattr__, which raises.
    __slots__ = ("ptr", "_what")

    def __init__(self, raw: Any, free: Callable[[Any], None], what: str = "handle") -> None:
        if raw == ffi.NULL:
            raise ValueError(f"a NULL {what}")
        self._what = what
        #: The pointer, for one call (reading it raises `ClosedError` once closed).
        self.ptr = ffi.gc(raw, free)

    def __getattr__(self, name: str) -> Any:
        if name == "ptr":  # the slot is empty: closed
            raise ClosedError(f"the {self._what} is closed")
        raise AttributeError(name)

    @property
    def closed(self) -> bool:
        try:
            self.ptr
        except ClosedError:
            return True
        return False

    def close(self) -> None:
        """Drops the owner's reference: later `ptr` reads raise; the handle is freed when no
        running call uses it any more. Idempotent."""
        try:
            del self.ptr
        except AttributeError:
            pass

    def __enter__(self) -> Any:
        return self.ptr

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<trent.Handle {self._what}{' closed' if self.closed else ''}>"
