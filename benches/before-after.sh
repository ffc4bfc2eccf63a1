#!/usr/bin/env bash
# The binding figures of an earlier revision and of this checkout, measured in one run: builds
# REV in a worktree of its own (under the target dir, with its own target dir), then runs each
# figure's command on REV and on this checkout one after the other, ROUNDS times, so that the
# machine's load falls on both alike. Compare a row with the same row of the other side, in the
# same round; between rounds the load moves.
#
#   benches/before-after.sh REV [ROUNDS]      # e.g. benches/before-after.sh 504f9dc
#
# The figures (each the command a README names for it, unchanged):
#   C-ABI overhead       cargo bench -p trent-ffi --bench abi (Encrypt 4 KiB and GenerateDataKey,
#                        the engine call beside the exported function wrapping it)
#   Python               benches/python/run.sh --quick (Encrypt 4 KiB beside cryptography's
#                        AESGCM, batched data keys, the boto3-shaped client)
#   Go                   bindings/go/bench.sh 3 (EncryptAppend beside the standard library's
#                        GCM, batched data keys beside C)
# A figure whose command REV lacks is reported as missing on that side.
set -euo pipefail

rev=${1:?usage: benches/before-after.sh REV [ROUNDS]}
rounds=${2:-1}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
[[ $target == /* ]] || target="$root/$target"
sha=$(git -C "$root" rev-parse --short "$rev^{commit}")
before="$target/before-after/$sha"
if [[ ! -d $before/.git && ! -f $before/.git ]]; then
  mkdir -p "$(dirname "$before")"
  git -C "$root" worktree add --detach "$before" "$sha" >/dev/null
fi
trap 'git -C "$root" worktree prune' EXIT

# abi_overhead DIR TARGET: the ABI bench's Encrypt 4 KiB and GenerateDataKey rows from
# criterion's estimates (mean ns), the engine call beside the C function.
abi_overhead() {
  local dir=$1 tgt=$2
  (cd "$dir" && CARGO_TARGET_DIR=$tgt cargo bench -q -p trent-ffi --bench abi -- \
    --warm-up-time 1 --measurement-time 3 'abi_encrypt/(engine|c_abi)/4096|abi_generate_data_key' \
    >/dev/null 2>&1) || { echo "  (the ABI bench did not run here)"; return; }
  mean() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])' \
    "$tgt/criterion/$1/new/estimates.json" 2>/dev/null || echo nan; }
  local e c g gc
  e=$(mean abi_encrypt/engine/4096) c=$(mean abi_encrypt/c_abi/4096)
  g=$(mean abi_generate_data_key/engine) gc=$(mean abi_generate_data_key/c_abi)
  awk -v e="$e" -v c="$c" -v g="$g" -v gc="$gc" 'BEGIN {
    printf "  Encrypt 4 KiB: engine %.0f ns, C ABI %.0f ns, overhead %+.1f%% (target <= 5%%)\n", e, c, (c / e - 1) * 100
    printf "  GenerateDataKey: engine %.0f ns, C ABI %.0f ns, overhead %+.0f ns (target <= 60 ns)\n", g, gc, gc - g }'
}

# figure NAME: runs one figure on REV and on this checkout.
figure() {
  local name=$1 side dir tgt
  for side in before after; do
    if [[ $side == before ]]; then dir=$before tgt=$before/target label="before ($sha)"
    else dir=$root tgt=$target label="after ($(git -C "$root" rev-parse --short HEAD))"; fi
    echo "### $name, $label"
    case $name in
      "C-ABI overhead") abi_overhead "$dir" "$tgt" ;;
      Python) CARGO_TARGET_DIR=$tgt "$dir/benches/python/run.sh" --quick 2>/dev/null | grep '^|' ||
        echo "  (the Python bench did not run here)" ;;
      Go) CARGO_TARGET_DIR=$tgt "$dir/bindings/go/bench.sh" 3 2>/dev/null | grep -E '^\||^Separate' ||
        echo "  (the Go bench did not run here)" ;;
    esac
    echo
  done
}

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
  echo "## round $r of $rounds"
  for name in "C-ABI overhead" Python Go; do figure "$name"; done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
