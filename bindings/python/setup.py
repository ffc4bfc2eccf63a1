"""Builds the `trent` package: libtrent (cargo) and the cffi extension `trent._native`.

`pip install ./bindings/python` runs this. The build:

1. runs `cargo build --release -p trent-ffi` in the repository root (the directory two levels
   up, or `TRENT_SOURCE_ROOT`), honouring `CARGO_TARGET_DIR`, so a release build made before is
   reused; `TRENT_LIB_DIR` names a directory holding a prebuilt `libtrent_ffi.a` instead;
2. reads the C declarations from `ffi/include/trent.h` itself (the header cbindgen generates
   and the repository commits), through the C preprocessor, so the binding's declarations are
   the header's and cannot drift from it; cffi's API mode then compiles them against the real
   header, and the C compiler checks every signature and enum value;
3. links `libtrent_ffi.a` statically into `trent/_native.*.so`, so the wheel carries the native
   library inside the package and needs nothing else at run time but `cffi` (the fast path);
4. writes the same declarations into the package as `trent/_trent_cdef.h`, which the portable
   path reads (`trent._ffi`: cffi's ABI mode over `libtrent_ffi.so`, when the compiled module
   cannot be imported or `TRENT_FFI=abi`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "trent"))
import _build_ffi  # noqa: E402  (the declarations; shared with the tests' drift check)

sys.path.pop(0)


def source_root() -> Path:
    root = os.environ.get("TRENT_SOURCE_ROOT")
    if root:
        return Path(root).resolve()
    candidate = HERE.parent.parent
    if (candidate / "ffi" / "include" / "trent.h").is_file():
        return candidate
    raise SystemExit(
        "trent: cannot find the Trent source tree (ffi/include/trent.h) two directories above "
        f"{HERE}; build from a clone of the repository or set TRENT_SOURCE_ROOT"
    )


def build_libtrent(root: Path) -> Path:
    """Builds libtrent_ffi.a (release) and returns the directory holding it."""
    prebuilt = os.environ.get("TRENT_LIB_DIR")
    if prebuilt:
        return Path(prebuilt).resolve()
    cargo = os.environ.get("CARGO", "cargo")
    cmd = [cargo, "build", "--release", "-p", "trent-ffi"]
    features = os.environ.get("TRENT_CARGO_FEATURES")
    if features:
        cmd += ["--features", features]
    print("trent: " + " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=root, check=True)
    target = os.environ.get("CARGO_TARGET_DIR")
    target_dir = (root / target) if target and not os.path.isabs(target) else Path(target or root / "target")
    return target_dir / "release"


class BuildNative(build_ext):
    def run(self) -> None:
        root = source_root()
        libdir = build_libtrent(root)
        static = libdir / "libtrent_ffi.a"
        if not static.is_file():
            raise SystemExit(f"trent: {static} not found after the cargo build")
        header = root / "ffi" / "include" / "trent.h"
        ffibuilder = _build_ffi.make_ffi(header)
        # The portable path (trent._ffi, ABI mode over libtrent_ffi.so) reads the same declarations.
        for package_dir in {Path(self.build_lib) / "trent", *([HERE / "trent"] if self.inplace else [])}:
            package_dir.mkdir(parents=True, exist_ok=True)
            (package_dir / "_trent_cdef.h").write_text(_build_ffi.header_declarations(header))
        tmp = Path(self.build_temp)
        tmp.mkdir(parents=True, exist_ok=True)
        c_file = tmp / "_native.c"
        ffibuilder.emit_c_code(str(c_file))
        for ext in self.extensions:
            if ext.name == "trent._native":
                ext.sources = [str(c_file)]
                ext.include_dirs = [str(header.parent)]
                ext.extra_objects = [str(static)]
                # Relink when libtrent_ffi.a or the header changed, even if the generated C did not.
                ext.depends = [str(static), str(header)]
                ext.libraries = ["pthread", "dl", "m", "rt", "util"]
                # Keep the Rust runtime's symbols private to this module.
                ext.extra_link_args = ["-Wl,--exclude-libs,ALL", "-Wl,--gc-sections"]
                # A helper used but not defined must fail the build, not the import.
                ext.extra_compile_args = ["-O2", "-Werror=implicit-function-declaration"]
        super().run()


setup(
    ext_modules=[Extension("trent._native", sources=[])],
    cmdclass={"build_ext": BuildNative},
)
