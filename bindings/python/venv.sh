# Sourced by bindings/python/run-tests.sh and benches/python/run.sh (bash, `set -euo pipefail`):
# `python_venv NAME` sets `root` (the repository), `target` (${CARGO_TARGET_DIR:-<root>/target},
# made absolute and exported as CARGO_TARGET_DIR, so the package's build reuses its release
# libtrent) and `venv` (<target>/NAME), and creates that virtual environment with
# ${TRENT_PYTHON:-python3} if it is not there yet.

python_venv() {
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    target="${CARGO_TARGET_DIR:-$root/target}"
    case "$target" in /*) ;; *) target="$root/$target" ;; esac
    export CARGO_TARGET_DIR="$target"
    venv="$target/$1"
    if [ ! -x "$venv/bin/python" ]; then
        echo "--- creating $venv" >&2
        "${TRENT_PYTHON:-python3}" -m venv "$venv"
    fi
}
