#!/usr/bin/env bash
# The two commands of the seed notes (shared/seed/kms-notes-pl.md), verbatim with `aws kms`
# replaced by `trent`, on a fresh embedded keystore; decrypted-bar.txt must equal bar.txt.
# Needs `trent` on PATH (cli/tests/shell.rs and cli/run-shell-tests.sh arrange that).
set -euo pipefail
# shellcheck source=cli/seed-notes-commands.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../seed-notes-commands.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# HOME too: the root key file goes to ~/.trent/root.key, outside the data directory.
export HOME="$work/home" TRENT_DATA_DIR="$work/data" TRENT_CONFIG_FILE="$work/no-config"

# A key and alias/foo for the notes to use (the first command creates the keystore).
key_id=$(trent create-key --description "seed notes" --query KeyMetadata.KeyId --output text)
trent create-alias --alias-name alias/foo --target-key-id "$key_id"
printf 'Zakoduj plik bar.txt kluczem o aliasie foo.\n' > bar.txt

# The notes' commands, verbatim (cli/seed-notes-commands.sh).
notes_encrypt
notes_decrypt

cmp bar.txt decrypted-bar.txt
# The ciphertext is a real KMS blob, not the plaintext.
! cmp -s bar.txt encrypted-bar.enc
# `trent kms …` (only `aws` replaced) works the same.
trent kms decrypt --ciphertext-blob fileb://encrypted-bar.enc --output text --query Plaintext | base64 --decode | cmp - bar.txt
trent --output text kms decrypt --ciphertext-blob fileb://encrypted-bar.enc --query Plaintext | base64 --decode | cmp - bar.txt
echo "seed-notes: ok"
