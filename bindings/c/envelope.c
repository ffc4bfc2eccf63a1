/* The envelope flow of Trent, from C.
 *
 *   envelope [FILE]
 *
 * 1. Open an engine and create a KMS key.
 * 2. GenerateDataKey: a fresh AES-256 data key, in plaintext (locked memory) and wrapped
 *    under the KMS key. Bulk data is encrypted locally with the plaintext data key, which is
 *    then wiped; only the wrapped key is kept beside the data.
 * 3. Later: Decrypt the wrapped key to get the data key back, and decrypt the data.
 *
 * libtrent has no bulk cipher in its C API yet: encrypting a file of any size locally with
 * the data key needs a crypto library (e.g. OpenSSL's EVP_aes_256_gcm), and arrives with the
 * streaming envelope module. So this example shows the data-key round trip, and encrypts the
 * file's content itself (up to 4096 bytes) with Encrypt under the KMS key, bound to an
 * encryption context naming the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trent.h"

#define S(text) (text), strlen(text)

static int fail(const char *what, trent_result rc, trent_error *err) {
    fprintf(stderr, "envelope: %s failed: %s (%s)\n", what, trent_result_name(rc),
            err != NULL ? trent_error_message(err) : trent_result_message(rc));
    trent_error_free(err);
    return 1;
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "(built-in sample)";
    uint8_t data[4096];
    size_t data_len;
    if (argc > 1) {
        data_len = read_file(argv[1], data, sizeof data);
        if (data_len == 0) {
            fprintf(stderr, "envelope: cannot read %s (or it is empty)\n", argv[1]);
            return 1;
        }
    } else {
        const char *sample = "Quarterly figures: revenue up, costs down.\n";
        data_len = strlen(sample);
        memcpy(data, sample, data_len);
    }

    trent_error *err = NULL;
    trent_result rc;
    trent_kms_builder *b = NULL;
    trent_kms *kms = NULL;
    trent_caller *me = NULL;
    trent_buffer *key = NULL;
    if ((rc = trent_kms_builder_new(&b)) != TRENT_RESULT_OK) return fail("builder", rc, NULL);
    /* Sanitizer and valgrind runs may not be allowed to lock memory. */
    trent_kms_builder_allow_unlocked_memory(b, true, NULL);
    rc = trent_kms_builder_open(b, &kms, &err);
    trent_kms_builder_free(b);
    if (rc != TRENT_RESULT_OK) return fail("open", rc, err);
    if ((rc = trent_caller_root(kms, &me)) != TRENT_RESULT_OK) return fail("caller", rc, NULL);
    if ((rc = trent_kms_create_key(kms, me, S("envelope example"), &key, &err)) != TRENT_RESULT_OK)
        return fail("CreateKey", rc, err);
    const char *key_id = (const char *)trent_buffer_data(key);
    printf("KMS key:           %s\n", key_id);

    /* The encryption context binds both blobs to the file's name. */
    trent_context_entry ctx[1] = {{"file", 4, name, strlen(name)}};

    /* 2. A data key; keep only its wrapped form. */
    trent_secret *data_key = NULL;
    trent_buffer *wrapped_key = NULL;
    rc = trent_kms_generate_data_key(kms, me, S(key_id), 0, ctx, 1, &data_key, &wrapped_key, &err);
    if (rc != TRENT_RESULT_OK) return fail("GenerateDataKey", rc, err);
    printf("data key:          %zu bytes (plaintext, locked memory)\n", trent_secret_len(data_key));
    printf("wrapped data key:  %zu bytes (stored beside the data)\n", trent_buffer_len(wrapped_key));
    /* Here the file would be encrypted locally, e.g. with AES-256-GCM under
     * trent_secret_data(data_key). Keep a fingerprint to compare with after unwrapping. */
    uint8_t first = trent_secret_data(data_key)[0], last = trent_secret_data(data_key)[31];
    trent_secret_free(data_key); /* zeroed */

    /* The small file itself, encrypted under the KMS key. */
    trent_buffer *blob = NULL;
    rc = trent_kms_encrypt(kms, me, S(key_id), data, data_len, ctx, 1, &blob, &err);
    if (rc != TRENT_RESULT_OK) return fail("Encrypt", rc, err);
    printf("file:              %s, %zu bytes -> %zu bytes of ciphertext\n", name, data_len, trent_buffer_len(blob));

    /* 3. Later: unwrap the data key, decrypt the file. */
    trent_secret *unwrapped = NULL;
    rc = trent_kms_decrypt(kms, me, trent_buffer_data(wrapped_key), trent_buffer_len(wrapped_key), ctx, 1, NULL, 0,
                           &unwrapped, &err);
    if (rc != TRENT_RESULT_OK) return fail("Decrypt (data key)", rc, err);
    int same_key = trent_secret_len(unwrapped) == 32 && trent_secret_data(unwrapped)[0] == first &&
                   trent_secret_data(unwrapped)[31] == last;
    printf("unwrapped data key: %s\n", same_key ? "matches" : "DIFFERS");
    trent_secret_free(unwrapped);

    trent_secret *plain = NULL;
    rc = trent_kms_decrypt(kms, me, trent_buffer_data(blob), trent_buffer_len(blob), ctx, 1, NULL, 0, &plain, &err);
    if (rc != TRENT_RESULT_OK) return fail("Decrypt (file)", rc, err);
    int same_data = trent_secret_len(plain) == data_len && memcmp(trent_secret_data(plain), data, data_len) == 0;
    printf("decrypted file:     %s\n", same_data ? "matches" : "DIFFERS");
    trent_secret_free(plain);

    /* The wrong context is refused. */
    trent_context_entry other[1] = {{"file", 4, "other.txt", 9}};
    rc = trent_kms_decrypt(kms, me, trent_buffer_data(blob), trent_buffer_len(blob), other, 1, NULL, 0, &plain, NULL);
    printf("wrong context:      %s\n", trent_result_name(rc));

    trent_buffer_free(blob);
    trent_buffer_free(wrapped_key);
    trent_buffer_free(key);
    trent_caller_free(me);
    trent_kms_free(kms);
    return same_key && same_data && rc == TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION ? 0 : 1;
}
