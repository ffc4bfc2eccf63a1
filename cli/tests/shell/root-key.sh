#!/usr/bin/env bash
# Root key sources of the CLI (--root-key-source, TRENT_ROOT_KEY_SOURCE, root_key_source in
# the configuration file): the default key file outside the data directory, a key file
# elsewhere, a key in a variable, a passphrase from a file or a variable; the warning when
# the key file in use is inside the data directory (a data directory made by an earlier
# version keeps working, with the warning); a passphrase is never taken as a value.
# Needs `trent` on PATH.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export HOME="$work/home" TRENT_CONFIG_FILE="$work/no-config"
unset TRENT_ROOT_KEY_SOURCE TRENT_DATA_DIR

fail() { echo "FAIL: $*" >&2; exit 1; }
eq() { [[ "$1" == "$2" ]] || fail "expected '$2', got '$1' ($3)"; }
warnings() { grep -c "^trent: warning:" "$1" || true; }
no_warning() { eq "$(warnings "$1")" 0 "no warning: $2 ($(cat "$1"))"; }
one_warning() {
  eq "$(warnings "$1")" 1 "one warning: $2 ($(cat "$1"))"
  grep -q "is inside the keystore's directory" "$1" || fail "the warning says why: $(cat "$1")"
  grep -q 'See "Keystores and the root key" in the README' "$1" || fail "the warning points to the docs: $(cat "$1")"
}
# round_trip ARGS...: a key, then Encrypt and Decrypt with it, under the given global options.
round_trip() {
  local key blob
  key=$(trent "$@" create-key --query KeyMetadata.KeyId --output text 2>>err.txt)
  blob=$(trent "$@" encrypt --key-id "$key" --plaintext aGVsbG8= --query CiphertextBlob --output text 2>>err.txt)
  eq "$(trent "$@" decrypt --ciphertext-blob "$blob" --query Plaintext --output text 2>>err.txt)" aGVsbG8= "round trip $*"
}
printf 'hello' > hello.txt

# 1. A new data directory without a source: the key file is ~/.trent/root.key, outside it.
: > err.txt
round_trip --data-dir "$work/fresh"
no_warning err.txt "default key file"
[[ -f $HOME/.trent/root.key && ! -e $work/fresh/root.key ]] || fail "the default key file is not ~/.trent/root.key"
eq "$(stat -c %a "$HOME/.trent/root.key")" 600 "default key file mode"
eq "$(stat -c %a "$HOME/.trent")" 700 "its directory's mode"

# 2. A key file elsewhere, from the flag, the environment or the configuration file.
mkdir -p keys
: > err.txt
round_trip --data-dir "$work/a" --root-key-source "file:$work/keys/a.key"
no_warning err.txt "key file outside the data directory"
[[ -f keys/a.key && ! -e a/root.key ]] || fail "file: did not make keys/a.key"
eq "$(TRENT_ROOT_KEY_SOURCE="file:$work/keys/a.key" trent --data-dir a list-keys --query 'length(Keys)')" 1 "from TRENT_ROOT_KEY_SOURCE"
printf '[profile keys]\nroot_key_source = file:%s\n' "$work/keys/a.key" > config
eq "$(TRENT_CONFIG_FILE=$work/config trent --profile keys --data-dir a list-keys --query 'length(Keys)')" 1 "from the config file"
# The flag wins over the environment, which wins over the file.
eq "$(TRENT_CONFIG_FILE=$work/config TRENT_ROOT_KEY_SOURCE=file:/nonexistent/k trent --profile keys --data-dir a \
  --root-key-source "file:$work/keys/a.key" list-keys --query 'length(Keys)')" 1 "flag over environment"
# Another key file is refused, saying where the source is set.
head -c 32 /dev/urandom > keys/other.key && chmod 600 keys/other.key
rc=0; trent --data-dir a --root-key-source "file:$work/keys/other.key" list-keys 2>err.txt || rc=$?
eq "$rc" 253 "another key file"
grep -q "is not the one this sqlite keystore was created with" err.txt || fail "wrong key text: $(cat err.txt)"
grep -q -- "--root-key-source" err.txt || fail "the error names the setting: $(cat err.txt)"

# 3. The key in a variable (64 hex digits or base64): no key file at all.
ROOT_HEX=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export ROOT_HEX
: > err.txt
round_trip --data-dir "$work/e" --root-key-source env:ROOT_HEX
no_warning err.txt "env:"
[[ ! -e e/root.key ]] || fail "env: made a key file"
ROOT_B64=$(printf '%s' "$ROOT_HEX" | xxd -r -p | base64) trent --data-dir e --root-key-source env:ROOT_B64 list-keys >/dev/null
rc=0; ROOT_HEX=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') trent --data-dir e --root-key-source env:ROOT_HEX \
  list-keys 2>err.txt || rc=$?
eq "$rc" 253 "another key in the variable"
rc=0; trent --data-dir e --root-key-source env:NO_SUCH_VARIABLE list-keys 2>err.txt || rc=$?
eq "$rc" 253 "unset variable"
grep -q "NO_SUCH_VARIABLE is not set" err.txt || fail "unset variable text: $(cat err.txt)"

# 4. A passphrase from a file (owner-only; one final newline dropped) or from a variable: the
# same passphrase opens the keystore either way; another one does not.
printf 'correct horse battery staple\n' > pass.txt && chmod 600 pass.txt
: > err.txt
round_trip --data-dir "$work/p" --root-key-source "passphrase-file:$work/pass.txt"
no_warning err.txt "passphrase-file:"
[[ ! -e p/root.key ]] || fail "a passphrase made a key file"
eq "$(PASS='correct horse battery staple' trent --data-dir p --root-key-source passphrase-env:PASS \
  list-keys --query 'length(Keys)')" 1 "passphrase-env:"
rc=0; PASS='incorrect horse' trent --data-dir p --root-key-source passphrase-env:PASS list-keys 2>err.txt || rc=$?
eq "$rc" 253 "wrong passphrase"
grep -q "passphrase from variable PASS" err.txt || fail "wrong passphrase text: $(cat err.txt)"
chmod 644 pass.txt
rc=0; trent --data-dir p --root-key-source "passphrase-file:$work/pass.txt" list-keys 2>err.txt || rc=$?
eq "$rc" 253 "passphrase file others may read"
grep -q "make it 0600" err.txt || fail "passphrase file mode text: $(cat err.txt)"
chmod 600 pass.txt
# A passphrase is never a value: refused, and not echoed.
for source in 'passphrase:hunter2hunter2' hunter2hunter2; do
  rc=0; trent --data-dir p --root-key-source "$source" list-keys 2>err.txt || rc=$?
  eq "$rc" 252 "--root-key-source $source"
  ! grep -q hunter2 err.txt || fail "the value was echoed: $(cat err.txt)"
  rc=0; TRENT_ROOT_KEY_SOURCE=$source trent --data-dir p list-keys 2>err.txt || rc=$?
  eq "$rc" 253 "TRENT_ROOT_KEY_SOURCE=$source"
  ! grep -q hunter2 err.txt || fail "the value was echoed: $(cat err.txt)"
done
# Without a terminal, the prompt says what to use instead.
rc=0; setsid --wait trent --data-dir p --root-key-source passphrase-prompt list-keys </dev/null 2>err.txt || rc=$?
eq "$rc" 253 "passphrase-prompt without a terminal"
grep -q "no terminal" err.txt || fail "prompt text: $(cat err.txt)"

# 5. The warning: a key file inside the data directory, named explicitly (also in a
# subdirectory of it) or found there without a source (a data directory of an earlier
# version, which keeps working). Once per command, on stderr; the command succeeds.
export HOME="$work/home2"
: > err.txt
round_trip --data-dir "$work/old" --root-key-source "file:$work/old/root.key"
[[ -f old/root.key ]] || fail "file: inside the data directory was not made"
eq "$(warnings err.txt)" 3 "a warning for each of three commands"
rc=0; out=$(trent --data-dir old list-keys --query 'length(Keys)' 2>err.txt) || rc=$?
eq "$rc/$out" 0/1 "an old data directory keeps its root.key"
one_warning err.txt "root.key found in the data directory"
grep -qF "the root key file $work/old/root.key is inside" err.txt || fail "the warning names the file: $(cat err.txt)"
grep -qF "mv $work/old/root.key $HOME/.trent/root.key" err.txt || fail "the warning says how to move it: $(cat err.txt)"
mkdir -p old/sub
trent --data-dir "$work/old" --root-key-source "file:$work/old/sub/../root.key" list-keys >/dev/null 2>err.txt
one_warning err.txt "a path through the data directory"
mkdir -p sub/keys
: > err.txt
round_trip --data-dir "$work/sub" --root-key-source "file:$work/sub/keys/k.key"
eq "$(warnings err.txt)" 3 "a key file in a subdirectory of the data directory"
cp -p keys/a.key sub/keys/a.key
trent --data-dir "$work/a" --root-key-source "file:$work/sub/keys/a.key" list-keys >/dev/null 2>err.txt
no_warning err.txt "a key file inside another data directory than the command's"
mkdir -p pp && cp -p pass.txt pp/pass.txt
: > err.txt
round_trip --data-dir "$work/pp" --root-key-source "passphrase-file:$work/pp/pass.txt"
eq "$(warnings err.txt)" 3 "a passphrase file in the data directory"
grep -q "the passphrase file $work/pp/pass.txt is inside" err.txt || fail "the warning names a passphrase file: $(cat err.txt)"
# Moved out as the warning says: no warning, same keys.
mkdir -p "$HOME/.trent" && mv old/root.key "$HOME/.trent/root.key"
eq "$(trent --data-dir old list-keys --query 'length(Keys)' 2>err.txt)" 1 "after moving the key out"
no_warning err.txt "after moving the key out"
echo "root-key: ok"
