#!/usr/bin/env bash
# Builds `trent` and runs the CLI's shell tests (cli/tests/shell/*.sh) with it first on PATH.
# (`cargo test -p trent-cli --test shell` runs the same scripts.)
#
#   cli/run-shell-tests.sh [--release] [extra cargo flags, e.g. --features aws-lc]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
if [[ ${1:-} == --release ]]; then profile=release; fi
cargo build -q -p trent-cli "$@"
export PATH="$PWD/target/$profile:$PATH"
for t in cli/tests/shell/*.sh; do
  echo "--- $t"
  bash "$t"
done
echo "$(ls cli/tests/shell/*.sh | wc -l) passed, 0 failed"
