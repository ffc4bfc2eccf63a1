"""The binding against trent.h: built from this header (no drift), and every engine operation of
the header used by the Pythonic API."""

import re
from pathlib import Path

import pytest

import trent
from trent import _build_ffi
from trent._native import lib

HEADER = Path(__file__).resolve().parents[3] / "ffi" / "include" / "trent.h"
PACKAGE = Path(trent.__file__).resolve().parent

needs_header = pytest.mark.skipif(not HEADER.exists(), reason="needs the source tree's trent.h")


@needs_header
def test_every_header_function_is_in_the_module():
    """The installed module was built from the header in this tree (rebuild it if this fails)."""
    names = _build_ffi.function_names(_build_ffi.header_declarations(HEADER))
    assert len(names) > 50
    missing = [n for n in names if not hasattr(lib, n)]
    assert not missing, f"trent.h declares functions the installed binding lacks: {missing}"


@needs_header
def test_every_enum_value_matches():
    for name, value in re.findall(r"\b(TRENT_[A-Z0-9_]+) = (\d+)", HEADER.read_text()):
        assert getattr(lib, name) == int(value), name


@needs_header
def test_every_kms_operation_is_used_by_the_python_api():
    names = _build_ffi.function_names(_build_ffi.header_declarations(HEADER))
    source = "\n".join(p.read_text() for p in PACKAGE.glob("*.py") if p.name != "_build_ffi.py")
    glue = _build_ffi.GLUE_SOURCE
    # Every operation and every reader of its results (trent_data_keys_get is superseded by
    # trent_data_keys_export, the one-call copy-out the binding uses).
    wanted = [
        n for n in names
        if n.startswith(("trent_kms_", "trent_caller_", "trent_batch_", "trent_list", "trent_key_metadata_", "trent_data_keys_"))
        and n != "trent_data_keys_get"
    ]  # fmt: skip
    unused = [n for n in wanted if not re.search(rf"\b{n}\b", source) and not re.search(rf"\b{n}\b", glue)]
    assert not unused, f"C functions with no Python method: {unused}"


def test_native_library_is_inside_the_package():
    """libtrent is linked into the extension module inside the package: no libtrent.so needed."""
    import subprocess

    from trent import _native

    module = Path(_native.__file__).resolve()
    assert module.parent == PACKAGE
    ldd = subprocess.run(["ldd", str(module)], capture_output=True, text=True)
    if ldd.returncode == 0:
        assert "libtrent" not in ldd.stdout
