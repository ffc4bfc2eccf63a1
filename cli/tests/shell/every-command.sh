#!/usr/bin/env bash
# The seed notes' flow through every subcommand of `trent`: keys, aliases, tags, the
# lifecycle, rotation (old ciphertexts still decrypt), data keys, random bytes, envelope
# files, and AWS's error text and exit codes. Needs `trent` on PATH.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# HOME too: the root key file goes to ~/.trent/root.key, outside the data directory.
export HOME="$work/home" TRENT_DATA_DIR="$work/data" TRENT_CONFIG_FILE="$work/no-config"

fail() { echo "FAIL: $*" >&2; exit 1; }
eq() { [[ "$1" == "$2" ]] || fail "expected '$2', got '$1' ($3)"; }
# expect_error CODE EXCEPTION OPERATION -- command...: the exit code and AWS's error line.
expect_error() {
  local code=$1 exception=$2 op=$3; shift 4
  local err rc=0
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  eq "$rc" "$code" "exit code of $*"
  [[ $err == *"An error occurred ($exception) when calling the $op operation: "* ]] || fail "stderr of $*: $err"
}

# create-key, describe-key, list-keys, update-key-description
key=$(trent create-key --description "first" --tags TagKey=team,TagValue=blue --query KeyMetadata.KeyId --output text)
arn=$(trent describe-key --key-id "$key" --query KeyMetadata.Arn --output text)
[[ $arn == arn:aws:kms:us-east-1:111122223333:key/$key ]] || fail "arn $arn"
trent update-key-description --key-id "$key" --description "seed key"
eq "$(trent describe-key --key-id "$key" --query KeyMetadata.Description --output text)" "seed key" description
eq "$(trent list-keys --query 'length(Keys)' --output text)" 1 list-keys
key2=$(trent create-key --multi-region --query KeyMetadata.KeyId --output text)
[[ $key2 == mrk-* ]] || fail "multi-Region id $key2"
eq "$(trent list-keys --query 'length(Keys)')" 2 "list-keys json"
eq "$(trent list-keys --page-size 1 --query 'length(Keys)')" 2 "pagination joins pages"
eq "$(trent list-keys --page-size 1 --no-paginate --query 'length(Keys)')" 1 "--no-paginate"

# aliases: create-alias, list-aliases, update-alias, delete-alias
trent create-alias --alias-name alias/foo --target-key-id "$key"
trent create-alias --alias-name alias/bar --target-key-id "$key"
eq "$(trent list-aliases --key-id "$key" --query 'Aliases[].AliasName' --output text)" "alias/bar	alias/foo" list-aliases
trent update-alias --alias-name alias/bar --target-key-id "$key2"
eq "$(trent describe-key --key-id alias/bar --query KeyMetadata.KeyId --output text)" "$key2" update-alias
trent delete-alias --alias-name alias/bar
expect_error 254 NotFoundException DescribeKey -- trent describe-key --key-id alias/bar
expect_error 254 AlreadyExistsException CreateAlias -- trent create-alias --alias-name alias/foo --target-key-id "$key2"

# tags: tag-resource, list-resource-tags, untag-resource
trent tag-resource --key-id "$key" --tags TagKey=env,TagValue=test '{"TagKey":"x","TagValue":"y"}'
eq "$(trent list-resource-tags --key-id "$key" --query 'Tags[].TagKey' --output text)" "env	team	x" list-resource-tags
trent untag-resource --key-id "$key" --tag-keys x team
eq "$(trent list-resource-tags --key-id "$key" --output text)" "TAGS	env	test" "list-resource-tags text"

# encrypt / decrypt with an encryption context, shorthand and JSON forms
printf 'hello, trent\n' > bar.txt
trent encrypt --key-id alias/foo --plaintext fileb://bar.txt --encryption-context purpose=test,app=cli \
  --output text --query CiphertextBlob | base64 --decode > bar.enc
trent decrypt --ciphertext-blob fileb://bar.enc --encryption-context '{"app":"cli","purpose":"test"}' \
  --output text --query Plaintext | base64 --decode | cmp - bar.txt
expect_error 254 InvalidCiphertextException Decrypt -- trent decrypt --ciphertext-blob fileb://bar.enc
# Inline blobs are base64 (AWS CLI v2).
eq "$(trent encrypt --key-id alias/foo --plaintext aGk= --query CiphertextBlob --output text | base64 --decode \
  | trent decrypt --ciphertext-blob fileb:///dev/stdin --query Plaintext --output text)" "aGk=" "inline base64"

# re-encrypt to another key
trent re-encrypt --ciphertext-blob fileb://bar.enc --source-encryption-context purpose=test,app=cli \
  --destination-key-id "$key2" --output text --query CiphertextBlob | base64 --decode > bar2.enc
eq "$(trent decrypt --ciphertext-blob fileb://bar2.enc --query KeyId --output text)" \
  "arn:aws:kms:us-east-1:111122223333:key/$key2" re-encrypt

# data keys and random bytes
eq "$(trent generate-data-key --key-id alias/foo --key-spec AES_256 --query Plaintext --output text | base64 --decode | wc -c)" 32 generate-data-key
trent generate-data-key-without-plaintext --key-id alias/foo --number-of-bytes 16 --query CiphertextBlob --output text \
  | base64 --decode > dk.enc
eq "$(trent decrypt --ciphertext-blob fileb://dk.enc --query Plaintext --output text | base64 --decode | wc -c)" 16 \
  generate-data-key-without-plaintext
eq "$(trent generate-random --number-of-bytes 64 --query Plaintext --output text | base64 --decode | wc -c)" 64 generate-random

# rotation: the old ciphertext still decrypts
trent enable-key-rotation --key-id "$key" --rotation-period-in-days 90
eq "$(trent get-key-rotation-status --key-id "$key" --query KeyRotationEnabled --output text)" True get-key-rotation-status
eq "$(trent get-key-rotation-status --key-id "$key" --query RotationPeriodInDays)" 90 "rotation period"
trent rotate-key-on-demand --key-id "$key" >/dev/null
eq "$(trent list-key-rotations --key-id "$key" --query 'length(Rotations)')" 1 list-key-rotations
trent decrypt --ciphertext-blob fileb://bar.enc --encryption-context purpose=test,app=cli \
  --output text --query Plaintext | base64 --decode | cmp - bar.txt
trent disable-key-rotation --key-id "$key"
eq "$(trent get-key-rotation-status --key-id "$key" --query KeyRotationEnabled --output text)" False disable-key-rotation

# lifecycle: disable-key, enable-key, schedule-key-deletion, cancel-key-deletion
trent disable-key --key-id "$key"
expect_error 254 DisabledException Encrypt -- trent encrypt --key-id alias/foo --plaintext fileb://bar.txt
trent enable-key --key-id "$key"
eq "$(trent schedule-key-deletion --key-id "$key2" --pending-window-in-days 7 --query KeyState --output text)" PendingDeletion schedule-key-deletion
expect_error 254 KMSInvalidStateException Encrypt -- trent encrypt --key-id "$key2" --plaintext fileb://bar.txt
eq "$(trent cancel-key-deletion --key-id "$key2" --query KeyId --output text)" "arn:aws:kms:us-east-1:111122223333:key/$key2" cancel-key-deletion
eq "$(trent describe-key --key-id "$key2" --query KeyMetadata.KeyState --output text)" Disabled "after cancel"

# envelope files, stdin/stdout, and the header's key
head -c 3000000 /dev/urandom > big.bin
trent envelope encrypt --key-id alias/foo --in big.bin --out big.trent --encryption-context file=big --chunk-size 65536 >/dev/null
trent envelope decrypt --in big.trent --out big.out --query PlaintextBytes --output text >/dev/null
cmp big.bin big.out
trent envelope encrypt --key-id alias/foo --in - --out - < big.bin | trent envelope decrypt --in - --out - | cmp - big.bin
# A damaged file: exit 255, no output file left behind.
cp big.trent bad.trent
printf '\x01' | dd of=bad.trent bs=1 seek=200000 conv=notrunc status=none
rc=0; trent envelope decrypt --in bad.trent --out bad.out 2>err.txt || rc=$?
eq "$rc" 255 "damaged envelope"
grep -q "failed to authenticate" err.txt || fail "envelope error text: $(cat err.txt)"
[[ ! -e bad.out ]] || fail "partial output left behind"
[[ -z "$(ls -A . | grep partial || true)" ]] || fail "temporary file left behind"

# usage errors: exit 252
rc=0; trent encrypt --key-id alias/foo 2>/dev/null || rc=$?
eq "$rc" 252 "missing --plaintext"
rc=0; trent encrypt --key-id alias/foo --plaintext 'not base64!' 2>/dev/null || rc=$?
eq "$rc" 252 "bad base64"
rc=0; trent no-such-command 2>/dev/null || rc=$?
eq "$rc" 252 "unknown command"
# Operations the engine does not implement answer as AWS does for unsupported ones.
expect_error 254 UnsupportedOperationException Sign -- trent sign --key-id alias/foo --message aGk= --signing-algorithm RSASSA_PSS_SHA_256

# global options: region and account, from flags, environment and the config file
printf '[profile eu]\nregion = eu-west-1\n' > config
eq "$(TRENT_CONFIG_FILE=$work/config trent --profile eu create-key --query KeyMetadata.Arn --output text | cut -d: -f4)" eu-west-1 "config file"
eq "$(TRENT_REGION=eu-central-1 trent create-key --query KeyMetadata.Arn --output text | cut -d: -f4)" eu-central-1 "environment"
eq "$(trent create-key --region ap-south-1 --query KeyMetadata.Arn --output text | cut -d: -f4)" ap-south-1 "flag"
# The data directory the first command created is owner-only, like the keystore in it; the
# root key file is outside it, owner-only too.
eq "$(stat -c %a "$TRENT_DATA_DIR")" 700 "data directory mode"
eq "$(stat -c %a "$TRENT_DATA_DIR/trent.db")" 600 "keystore mode"
eq "$(stat -c %a "$HOME/.trent/root.key")" 600 "root key mode"
[[ ! -e $TRENT_DATA_DIR/root.key ]] || fail "the root key file is in the data directory"
echo "every-command: ok"
