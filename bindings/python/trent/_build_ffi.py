"""The cffi declarations of `trent._native`, read from `trent.h` (used by setup.py at build time).

The header's own text, through the C preprocessor (`cc -E -P`, C99, its `#include` lines
removed), is the cdef: every type, enum value and function of `trent.h` is declared exactly as
the header declares it, and cffi's API mode compiles the module against the real header, so a
mismatch fails the build. Nothing else is declared or compiled: the binding calls `trent.h`
and nothing but `trent.h`. The same declarations are written into the package
(`_trent_cdef.h`) for the portable path (`trent._ffi`, cffi's ABI mode over `libtrent_ffi.so`).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path


def header_declarations(header: Path, cc: str | None = None) -> str:
    """The declarations of `header` as cffi reads them: preprocessed as C99, includes removed."""
    text = Path(header).read_text()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#include"))
    cc_cmd = shlex.split(cc or os.environ.get("CC", "cc"))
    out = subprocess.run(
        cc_cmd + ["-E", "-P", "-std=c99", "-x", "c", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out


def function_names(declarations: str) -> list[str]:
    """The `trent_*` function names declared in preprocessed header text."""
    return sorted(set(re.findall(r"\b(trent_[a-z0-9_]+)\s*\(", declarations)))


def make_ffi(header: Path):
    import cffi

    ffibuilder = cffi.FFI()
    ffibuilder.cdef(header_declarations(header))
    ffibuilder.set_source("trent._native", '#include "trent.h"\n')
    return ffibuilder
