#!/usr/bin/env bash
# The Go binding's benchmarks beside their peers, in one `go test -bench` run, and a table of
# the ratios against the issue's targets:
#   Encrypt 4 KiB through the binding (a full KMS operation) vs the standard library's bare
#     AES-256-GCM seal of 4 KiB (crypto/aes + cipher.NewGCM): target ≥ 80% of its throughput;
#   GenerateDataKeys (1024 AES-256 keys) from Go vs the same batch called from C in the same
#     process (internal/cbench): target ≥ 90%.
# The table comes from the interleaved benchmarks (bench_interleaved_test.go), which run the
# binding and its peers in alternating blocks so that a neighbour's load on a shared machine
# falls on all alike; each runs COUNT times (default 5) and the table shows the median run.
#   bindings/go/bench.sh [COUNT [BENCHTIME]]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
count=${1:-5}
benchtime=${2:-1s}
target=${CARGO_TARGET_DIR:-$root/target}
[[ $target == /* ]] || target="$root/$target"

(cd "$root" && cargo build --release -p trent-ffi --quiet)
lib="$target/release/libtrent_ffi.a"
export CGO_LDFLAGS="-L$target/release"
export CGO_CFLAGS="-O2 -g -DTRENT_LIBTRENT_SHA=$(sha256sum "$lib" | cut -c1-16)"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
cd "$here"
go test -run '^$' -bench . -benchtime "$benchtime" -count "$count" . | tee "$out"

# metric BENCH UNIT: the median over the runs of BENCH of the value reported with UNIT.
metric() {
  awk -v b="$1" -v u="$2" '$1 ~ "^" b "(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i+1) == u) print $i }' "$out" |
    sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "nan" }'
}
E=BenchmarkInterleavedEncrypt4KiB
G=BenchmarkInterleavedGenerateDataKeys1024

row() { # label, binding ns, peer label, peer ns, ratio %, target %
  awk -v l="$1" -v a="$2" -v pl="$3" -v b="$4" -v r="$5" -v t="$6" 'BEGIN {
    verdict = t > 0 ? sprintf("≥ %d%%: %s", t, (r >= t ? "met" : "not met")) : "(reference)"
    printf "| %s | %.0f ns | %s | %.0f ns | %.1f%% | %s |\n", l, a, pl, b, r, verdict }'
}

echo
echo "| figure | binding | peer | peer figure | binding throughput / peer's | target |"
echo "|---|---|---|---|---|---|"
row "Encrypt 4 KiB, EncryptAppend (reused buffer)" "$(metric $E append-ns/op)" \
  "stdlib GCM Seal(dst[:0])" "$(metric $E stdlib-ns/op)" "$(metric $E append-%-of-stdlib)" 80
row "Encrypt 4 KiB, Encrypt (new slice)" "$(metric $E alloc-ns/op)" \
  "stdlib GCM Seal(dst[:0])" "$(metric $E stdlib-ns/op)" "$(metric $E alloc-%-of-stdlib)" 80
row "Encrypt 4 KiB, Encrypt (new slice)" "$(metric $E alloc-ns/op)" \
  "stdlib GCM Seal(nil) (new slice)" "$(metric $E stdlib-alloc-ns/op)" "$(metric $E alloc-%-of-stdlib-alloc)" 80
row "Encrypt 4 KiB, EncryptAppend" "$(metric $E append-ns/op)" \
  "trent_kms_encrypt from C" "$(metric $E c-ns/op)" "$(metric $E append-%-of-c)" 0
row "GenerateDataKeys ×1024, GenerateDataKeysInto (reused batch)" "$(metric $G into-ns/batch)" \
  "same batch from C, trent_data_keys_export" "$(metric $G c-export-ns/batch)" "$(metric $G into-%-of-c-export)" 90
row "GenerateDataKeys ×1024, GenerateDataKeysInto (reused batch)" "$(metric $G into-ns/batch)" \
  "same batch from C, trent_data_keys_get per item" "$(metric $G c-get-ns/batch)" "$(metric $G into-%-of-c-get)" 90
row "GenerateDataKeys ×1024, GenerateDataKeys (new batch)" "$(metric $G new-ns/batch)" \
  "same batch from C, trent_data_keys_export" "$(metric $G c-export-ns/batch)" "$(metric $G new-%-of-c-export)" 90
echo
echo "Separate benchmarks (median ns/op): Decrypt 4 KiB $(metric BenchmarkDecrypt4KiB/trent ns/op)" \
  "(DecryptAppend $(metric BenchmarkDecrypt4KiB/trent-append ns/op)), GenerateDataKey $(metric BenchmarkGenerateDataKey ns/op)."
