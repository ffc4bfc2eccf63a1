#!/usr/bin/env bash
# Runs the Python binding's tests: creates a virtual environment (outside the source tree, in
# ${CARGO_TARGET_DIR:-<root>/target}/python-venv), pip-installs the package from
# bindings/python (its build runs `cargo build --release -p trent-ffi`, reusing the release
# build in the same CARGO_TARGET_DIR) and the test dependencies, and runs pytest twice: on the
# compiled module (the fast path) and on libtrent's shared library in cffi's ABI mode (the
# portable path, TRENT_FFI=abi).
# TRENT_PYTHON picks the interpreter (default python3); TRENT_HYPOTHESIS_EXAMPLES the
# Hypothesis example count per property (default 60).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/venv.sh"
python_venv python-venv
pip() { "$venv/bin/python" -m pip --disable-pip-version-check --no-input "$@"; }

echo "--- installing test dependencies"
pip install --quiet pytest hypothesis boto3 moto cryptography cffi setuptools wheel

echo "--- pip install $here (cargo build --release -p trent-ffi in $target)"
# --no-build-isolation: the build needs only setuptools and cffi, installed above.
pip install --quiet --no-build-isolation --force-reinstall --no-deps "$here"

# Hypothesis's caches (it makes them even without an example database) outside the tree.
export HYPOTHESIS_STORAGE_DIRECTORY="$target/python-hypothesis"
# From the repository root, so `import trent` is the installed package, not the source dir.
cd "$root"
pytest() { "$venv/bin/pytest" -q -p no:cacheprovider --import-mode=importlib "$here/tests" "$@"; }

echo "--- pytest: the fast path (the compiled module trent._native)"
TRENT_FFI=api pytest "$@"

# The portable path: the same suite on libtrent's shared library in cffi's ABI mode.
lib=""
for name in libtrent_ffi.so libtrent.so; do
    if [ -f "$target/release/$name" ]; then lib="$target/release/$name"; break; fi
done
if [ -z "$lib" ]; then
    echo "no libtrent shared library in $target/release" >&2
    exit 1
fi
echo "--- pytest: the portable path (TRENT_FFI=abi, $lib)"
TRENT_FFI=abi TRENT_LIBRARY="$lib" pytest "$@"
