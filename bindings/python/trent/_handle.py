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

    # `ptr` is a plain slot, and the class defines no `__getattr__`, so reading it (twice per
    # call on the hot paths) is CPython's cheapest attribute read. Closing turns the object into
    # a `_ClosedHandle` (same layout), whose `ptr` is a property that raises, and then empties
    # the slot.
    __slots__ = ("ptr", "_what")

    def __init__(self, raw: Any, free: Callable[[Any], None], what: str = "handle") -> None:
        if raw == ffi.NULL:
            raise ValueError(f"a NULL {what}")
        self._what = what
        #: The pointer, for one call (reading it raises `ClosedError` once closed).
        self.ptr = ffi.gc(raw, free)

    @property
    def closed(self) -> bool:
        return isinstance(self, _ClosedHandle)

    def close(self) -> None:
        """Drops the owner's reference: later `ptr` reads raise; the handle is freed when no
        running call uses it any more. Idempotent."""
        self.__class__ = _ClosedHandle
        try:
            _PTR_SLOT.__delete__(self)
        except AttributeError:  # already empty (closed before, or by another thread just now)
            pass

    def __enter__(self) -> Any:
        return self.ptr

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<trent.Handle {self._what}{' closed' if self.closed else ''}>"


#: The slot under `Handle.ptr` (a closed handle's `ptr` is `_ClosedHandle`'s property).
_PTR_SLOT = Handle.ptr


class _ClosedHandle(Handle):
    """What a `Handle` becomes when closed: reading `ptr` raises `ClosedError`."""

    __slots__ = ()

    @property
    def ptr(self) -> Any:  # type: ignore[override]
        raise ClosedError(f"the {self._what} is closed")
