#!/usr/bin/env bash
# The Python binding's benchmark: sets up a virtual environment (in
# ${CARGO_TARGET_DIR:-<root>/target}/python-bench-venv), pip-installs the package from
# bindings/python (release libtrent, reusing the build in CARGO_TARGET_DIR) and the peers
# (cryptography, tink, boto3, moto), and prints the table of benches/python/bench.py.
# Arguments go to bench.py (--quick, --json FILE).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../../bindings/python/venv.sh"
python_venv python-bench-venv
pip() { "$venv/bin/python" -m pip --disable-pip-version-check --no-input --quiet "$@"; }
pip install cryptography boto3 moto cffi setuptools wheel
pip install tink || echo "tink could not be installed: its column is left out" >&2
pip install --no-build-isolation --force-reinstall --no-deps "$root/bindings/python"
cd "$root"
exec "$venv/bin/python" "$here/bench.py" "$@"
