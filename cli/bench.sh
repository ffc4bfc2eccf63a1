#!/usr/bin/env bash
# Envelope throughput, one run on this machine:
#  1. in memory (SIZE MiB, default 1024): the raw provider's AES-256-GCM (seal in place, 1 MiB
#     pieces, a rayon pool) beside trent::envelope (encrypt_into/decrypt_into, and the
#     Read/Write streaming encrypt/decrypt), on 1 and 2 threads
#     (cli/examples/envelope_throughput.rs);
#  2. file to file: `trent envelope encrypt|decrypt` on a SIZE MiB file, beside
#     `cat FILE > /dev/null` of the same file, the AWS Encryption SDK for Python (3.x, raw AES
#     wrapping key, default committing suite, 1 MiB frames) and `age` (Debian package, X25519).
#
#   cli/bench.sh [SIZE_MIB]          BENCH_AWS_LC=1 also runs step 1 with aws-lc-rs
#
# Installs what is missing: Debian's `age`, and aws-encryption-sdk in a venv under target/.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
root=$PWD
export PATH="$root/target/release:$PATH"

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
cargo build --release -q -p trent-cli --bin trent --example envelope_throughput

echo
echo "== 1. in memory, ${size} MiB (ring)"
target/release/examples/envelope_throughput "$size" 1 2
if [[ ${BENCH_AWS_LC:-} == 1 ]]; then
  echo "== 1b. in memory, ${size} MiB (aws-lc-rs)"
  cargo run --release -q -p trent-cli --features aws-lc --example envelope_throughput -- "$size" 1 2
fi

# Tools for the comparison.
if ! command -v age >/dev/null; then
  echo "(installing Debian's age)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq age >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq age >/dev/null; }
fi
venv=$root/target/bench-venv
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import aws_encryption_sdk' 2>/dev/null; then
  echo "(installing aws-encryption-sdk in $venv)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'aws-encryption-sdk>=3,<4'
fi

work=$(mktemp -d "${TRENT_BENCH_DIR:-$root/target}/trent-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
export TRENT_DATA_DIR=$work/data TRENT_CONFIG_FILE=$work/none TRENT_ROOT_KEY_SOURCE=file:$work/root.key
head -c "$((size << 20))" /dev/urandom > in.bin
cat in.bin > /dev/null # in the page cache, for every contender alike

# timeit LABEL COMMAND...: runs it once, prints seconds and MiB/s of the ${size} MiB.
timeit() {
  local label=$1; shift
  local s e
  s=$(date +%s.%N)
  "$@" >/dev/null
  e=$(date +%s.%N)
  awk -v l="$label" -v s="$s" -v e="$e" -v m="$size" 'BEGIN { printf "%-44s %7.3f s %9.0f MiB/s\n", l, e - s, m / (e - s) }'
}

echo
echo "== 2. file to file, ${size} MiB (page cache warm; output on the same file system)"
trent create-key --query KeyMetadata.KeyId --output text > key.txt
timeit "cat FILE > /dev/null" sh -c 'cat in.bin > /dev/null'
timeit "trent envelope encrypt (2 threads, fsync)" trent envelope encrypt --key-id "$(cat key.txt)" --in in.bin --out in.trent --no-progress --output text --query Chunks
timeit "trent envelope decrypt (2 threads, fsync)" trent envelope decrypt --in in.trent --out out.trent.bin --no-progress --output text --query Chunks
cmp in.bin out.trent.bin
rm -f out.trent.bin
timeit "trent envelope encrypt (1 thread, fsync)" env RAYON_NUM_THREADS=1 trent envelope encrypt --key-id "$(cat key.txt)" --in in.bin --out in.trent --no-progress --output text --query Chunks
timeit "trent envelope decrypt (1 thread, fsync)" env RAYON_NUM_THREADS=1 trent envelope decrypt --in in.trent --out out.trent.bin --no-progress --output text --query Chunks
rm -f in.trent out.trent.bin

cat > esdk.py <<'PY'
import os, sys
import aws_encryption_sdk
from aws_encryption_sdk.identifiers import CommitmentPolicy, EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

KEY = bytes(range(32))

class StaticKeys(RawMasterKeyProvider):
    provider_id = "bench"
    def __init__(self, **kwargs):
        pass
    def _get_raw_key(self, key_id):
        return WrappingKey(wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                           wrapping_key=KEY, wrapping_key_type=EncryptionKeyType.SYMMETRIC)

mode, src, dst = sys.argv[1:4]
provider = StaticKeys()
provider.add_master_key(b"bench-key")
client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
with open(src, "rb") as i, open(dst, "wb") as o:
    kwargs = {"frame_length": 1 << 20} if mode == "e" else {}
    with client.stream(mode=mode, source=i, key_provider=provider, **kwargs) as stream:
        for chunk in stream:
            o.write(chunk)
PY
timeit "AWS Encryption SDK (Python) encrypt" "$venv/bin/python" esdk.py e in.bin in.esdk
timeit "AWS Encryption SDK (Python) decrypt" "$venv/bin/python" esdk.py d in.esdk out.esdk.bin
cmp in.bin out.esdk.bin
rm -f in.esdk out.esdk.bin

age-keygen -o age.key 2>/dev/null
timeit "age encrypt (X25519)" age -r "$(age-keygen -y age.key)" -o in.age in.bin
timeit "age decrypt" age -d -i age.key -o out.age.bin in.age
cmp in.bin out.age.bin
echo "== done"
