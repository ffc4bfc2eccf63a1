# The two commands of the seed notes (shared/seed/kms-notes-pl.md), verbatim with `aws kms`
# replaced by `trent`, as functions; sourced by cli/walkthrough.sh and by
# cli/tests/shell/seed-notes.sh, so that both run the notes' text itself. They work in the
# current directory: bar.txt -> encrypted-bar.enc -> decrypted-bar.txt, with alias/foo.
# shellcheck shell=bash

# The notes' encrypt command.
notes_encrypt() {
    trent encrypt \
    --key-id alias/foo \
    --plaintext fileb://bar.txt \
    --output text \
    --query CiphertextBlob \
    | base64 --decode > encrypted-bar.enc
}

# The notes' decrypt command (no key id: the blob names its key).
notes_decrypt() {
    trent decrypt \
    --ciphertext-blob fileb://encrypted-bar.enc \
    --output text \
    --query Plaintext |
    base64 --decode > decrypted-bar.txt
}
