"""The binding against trent.h: built from this header (no drift), calling nothing but the
header, and every engine operation of the header used by the Pythonic API."""

import re
from pathlib import Path

import pytest

import trent
from trent import _build_ffi, _keys
from trent._ffi import MODE, lib

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
    # The key metadata readers describe_key calls from its table, by name.
    source += "".join(f" trent_key_metadata_{name}" for name, _, _ in _keys.METADATA_MEMBERS)
    # Every operation and every reader of its results. Superseded: trent_data_keys_get by
    # trent_data_keys_export (the one-call copy-out the binding uses), and each operation
    # with an `_into` form by that form (the binding owns its output memory).
    wanted = [
        n for n in names
        if n.startswith(("trent_kms_", "trent_caller_", "trent_batch_", "trent_list", "trent_key_metadata_", "trent_data_keys_"))
        and n != "trent_data_keys_get" and n + "_into" not in names
    ]  # fmt: skip
    unused = [n for n in wanted if not re.search(rf"\b{n}\b", source)]
    assert not unused, f"C functions with no Python method: {unused}"
    for n in names:
        if n + "_into" in names:
            assert re.search(rf"\b{n}_into\b", source), n


@needs_header
def test_the_module_declares_nothing_but_the_header():
    """No C glue of the binding's own: every function the module has is the header's."""
    names = set(_build_ffi.function_names(_build_ffi.header_declarations(HEADER)))
    functions = [n for n in dir(lib) if callable(getattr(lib, n))]
    assert functions and set(functions) <= names, sorted(set(functions) - names)
    source = "\n".join(p.read_text() for p in PACKAGE.glob("*.py"))
    assert "set_source" in source and "GLUE" not in source and not re.search(r"\btp_[a-z0-9_]+\(", source)


@pytest.mark.skipif(MODE != "api", reason="the portable path loads libtrent.so by design")
def test_native_library_is_inside_the_package():
    """libtrent is linked into the extension module inside the package: no libtrent.so needed."""
    import subprocess

    from trent import _native

    module = Path(_native.__file__).resolve()
    assert module.parent == PACKAGE
    ldd = subprocess.run(["ldd", str(module)], capture_output=True, text=True)
    if ldd.returncode == 0:
        assert "libtrent" not in ldd.stdout


def test_the_path_asked_for_is_the_path_taken():
    """run-tests.sh runs the suite on both paths: the compiled module, and TRENT_FFI=abi."""
    import os

    from trent import _ffi

    assert MODE == (os.environ.get("TRENT_FFI") or "api")
    assert (MODE == "api") == (type(lib).__name__ == "Lib")  # else cffi's FFILibrary_<path>
    assert _ffi.CDEF_FILE.is_file()
