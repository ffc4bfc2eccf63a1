#!/usr/bin/env bash
# The seed notes (shared/seed/kms-notes-pl.md) from the shell, on the embedded keystore:
# a KMS key and alias/foo, the notes' encrypt and decrypt commands with `aws kms` replaced by
# `trent`, a data key, an envelope-encrypted file, and a rotation after which the old
# ciphertexts still decrypt. Prints each command before it runs it.
#
#   cli/walkthrough.sh            # builds trent (release) first
#
# Keystore: ./trent-data/ (or $TRENT_DATA_DIR), created at the first run and reused after; its
# root key: ./trent-root.key, beside the data directory and not in it (or
# $TRENT_ROOT_KEY_SOURCE); files: ./trent-example/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p trent-cli --bin trent
export PATH="$PWD/target/release:$PATH"
export TRENT_DATA_DIR="${TRENT_DATA_DIR:-$PWD/trent-data}"
# The root key apart from the keystore, so that a copy of the data directory alone decrypts
# nothing. A data directory made by an earlier version keeps its root.key (trent warns).
if [[ -z ${TRENT_ROOT_KEY_SOURCE:-} && ! -e $TRENT_DATA_DIR/root.key ]]; then
  export TRENT_ROOT_KEY_SOURCE="file:$PWD/trent-root.key"
elif [[ -z ${TRENT_ROOT_KEY_SOURCE:-} ]]; then
  echo "# $TRENT_DATA_DIR/root.key is from an earlier version; to keep it apart, as later runs do:"
  echo "#   mv $TRENT_DATA_DIR/root.key $PWD/trent-root.key"
fi
root_key=${TRENT_ROOT_KEY_SOURCE:-file:$TRENT_DATA_DIR/root.key}
# The notes' two commands, verbatim (shared with cli/tests/shell/seed-notes.sh).
# shellcheck source=cli/seed-notes-commands.sh
source cli/seed-notes-commands.sh
mkdir -p trent-example
cd trent-example

say() { printf '\n# %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
runsh() { printf '$ %s\n' "$1"; sh -c "$1"; }

say "1. A KMS key and alias/foo in the embedded keystore $TRENT_DATA_DIR (created at the first use; root key: $root_key)"
if key_id=$(trent describe-key --key-id alias/foo --query KeyMetadata.KeyId --output text 2>/dev/null); then
  echo "alias/foo exists from an earlier run: key $key_id"
else
  printf '$ trent create-key --description "seed notes walkthrough" --query KeyMetadata.KeyId --output text\n'
  key_id=$(trent create-key --description "seed notes walkthrough" --query KeyMetadata.KeyId --output text)
  echo "$key_id"
  run trent create-alias --alias-name alias/foo --target-key-id "$key_id"
fi
run trent describe-key --key-id alias/foo --output table

say "2. The notes' encrypt command, verbatim with 'aws kms' -> 'trent'"
printf 'Zakoduj plik bar.txt kluczem o aliasie foo (at most 4 KB per Encrypt).\n' > bar.txt
cat <<'CMD'
$ trent encrypt --key-id alias/foo --plaintext fileb://bar.txt --output text \
      --query CiphertextBlob | base64 --decode > encrypted-bar.enc
CMD
notes_encrypt
echo "encrypted-bar.enc: $(wc -c < encrypted-bar.enc) bytes (a KMS ciphertext blob: key id, material version, nonce, tag)"

say "3. The notes' decrypt command, verbatim (no key id needed: the blob names its key)"
cat <<'CMD'
$ trent decrypt --ciphertext-blob fileb://encrypted-bar.enc --output text \
      --query Plaintext | base64 --decode > decrypted-bar.txt
CMD
notes_decrypt
run cmp bar.txt decrypted-bar.txt && echo "decrypted-bar.txt == bar.txt"

say "4. A data key (DEK) for data over 4 KB: plaintext to use now, ciphertext to keep"
run trent generate-data-key --key-id alias/foo --key-spec AES_256 --encryption-context purpose=walkthrough \
  --query '{KeyId: KeyId, CiphertextBlobBytes: length(CiphertextBlob)}'
read -r dek_blob dek_plain < <(trent generate-data-key --key-id alias/foo --key-spec AES_256 \
  --encryption-context purpose=walkthrough --query '[CiphertextBlob, Plaintext]' --output text)
printf '%s' "$dek_blob" | base64 --decode > dek.enc
unset dek_blob
echo "kept only the wrapped DEK (dek.enc); unwrapping it with Decrypt gives the same key:"
unwrapped=$(trent decrypt --ciphertext-blob fileb://dek.enc --encryption-context purpose=walkthrough --query Plaintext --output text)
printf '$ trent decrypt --ciphertext-blob fileb://dek.enc --encryption-context purpose=walkthrough --query Plaintext --output text\n'
[[ $unwrapped == "$dek_plain" ]] && echo "same key"
unset dek_plain unwrapped

say "5. The whole DEK flow on a 64 MiB file: trent envelope (data key -> chunked AES-256-GCM -> only the wrapped key kept)"
head -c $((64 << 20)) /dev/urandom > big.bin
run trent envelope encrypt --key-id alias/foo --in big.bin --out big.bin.trent --encryption-context file=big.bin --output table
run trent envelope decrypt --in big.bin.trent --out big.bin.out --query '[KeyId, PlaintextBytes]' --output text
run cmp big.bin big.bin.out && echo "big.bin.out == big.bin"

say "6. Rotation: new key material; the old ciphertexts still decrypt (rotation takes a key id, not an alias)"
run trent rotate-key-on-demand --key-id "$key_id"
run trent list-key-rotations --key-id "$key_id" --query 'Rotations[].[RotationType,KeyMaterialState]' --output text
runsh 'trent decrypt --ciphertext-blob fileb://encrypted-bar.enc --output text --query Plaintext | base64 --decode | cmp - bar.txt && echo "encrypted-bar.enc (old material) still decrypts"'
run trent envelope decrypt --in big.bin.trent --out big.bin.out2 --query PlaintextBytes --output text
run cmp big.bin big.bin.out2 && echo "big.bin.trent (data key wrapped under the old material) still decrypts"
rm -f big.bin big.bin.out big.bin.out2

say "Done. The keystore is in $TRENT_DATA_DIR, its root key at $root_key: back them up separately (README, \"Keystores and the root key\"). Try, with the same TRENT_DATA_DIR and TRENT_ROOT_KEY_SOURCE: trent list-aliases --output table"
