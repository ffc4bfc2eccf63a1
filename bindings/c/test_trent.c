/* The C test suite of libtrent: every exported function, its error codes, NULL and
 * bad-length handling, and that outputs are written only on success. Built with
 * -fsanitize=address,undefined and run under valgrind by run-tests.sh. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static const trent_kms *g_kms;
static const trent_caller *g_caller;

/* Creates a key and returns its id (a NUL-terminated text buffer). */
static trent_buffer *new_key(const trent_kms *kms, const trent_caller *caller) {
    trent_buffer *id = NULL;
    CHECK_RC(trent_kms_create_key(kms, caller, S("a C test key"), &id, NULL), TRENT_RESULT_OK);
    CHECK(id != NULL);
    return id;
}

/* Runs `test` with a key of its own (its id, NUL-terminated), freed after. */
static void with_key(void (*test)(const char *key_id)) {
    trent_buffer *key = new_key(g_kms, g_caller);
    if (key != NULL) {
        test((const char *)trent_buffer_data(key));
    }
    trent_buffer_free(key);
}

/* Whether every byte of `p` is `byte`. */
static bool all_bytes(const uint8_t *p, size_t n, uint8_t byte) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] != byte) {
            return false;
        }
    }
    return true;
}

static void test_results_and_version(void) {
    CHECK(strcmp(trent_version(), TRENT_VERSION) == 0);
    CHECK(strcmp(trent_result_name(TRENT_RESULT_OK), "Ok") == 0);
    CHECK(strcmp(trent_result_name(TRENT_RESULT_NULL_PARAMETER), "NullParameter") == 0);
    CHECK(strcmp(trent_result_name(TRENT_RESULT_NOT_FOUND_EXCEPTION), "NotFoundException") == 0);
    CHECK(strcmp(trent_result_name(TRENT_RESULT_KMS_INVALID_STATE_EXCEPTION), "KMSInvalidStateException") == 0);
    CHECK(strcmp(trent_result_name(TRENT_RESULT_KMS_INTERNAL_EXCEPTION), "KMSInternalException") == 0);
    CHECK(strcmp(trent_result_name(424242), "Unknown") == 0);
    CHECK(strcmp(trent_result_message(TRENT_RESULT_PANIC), "the library panicked (a bug in Trent)") == 0);
    CHECK(strcmp(trent_result_message(424242), "Unknown") == 0);
    /* The bands. */
    CHECK(TRENT_RESULT_OK == 0);
    CHECK(TRENT_RESULT_PANIC == 1 && TRENT_RESULT_NULL_PARAMETER == 2);
    CHECK(TRENT_RESULT_OPEN_LOCKED_MEMORY == 101);
    CHECK(TRENT_RESULT_NOT_FOUND_EXCEPTION == 1000 && TRENT_RESULT_KMS_INTERNAL_EXCEPTION == 1019);
    CHECK(TRENT_VERSION_MAJOR >= 0 && TRENT_VERSION_MINOR >= 0 && TRENT_VERSION_PATCH >= 0);
}

static void test_open(void) {
    trent_kms *kms = NULL;
    trent_error *err = NULL;
    trent_result rc = trent_kms_open_in_memory(&kms, &err);
    /* Locked memory is required by default; a machine may refuse it. */
    CHECK(rc == TRENT_RESULT_OK || rc == TRENT_RESULT_OPEN_LOCKED_MEMORY);
    if (rc == TRENT_RESULT_OK) {
        CHECK(err == NULL);
        CHECK(trent_kms_memory_is_locked(kms));
    } else {
        CHECK(kms == NULL);
        CHECK(trent_error_code(err) == rc);
    }
    trent_error_free(err);
    trent_kms_free(kms);

    /* A data directory, opened twice: the key survives. */
    char dir[] = "/tmp/trent-c-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    trent_kms_builder *b = NULL;
    CHECK_RC(trent_kms_builder_new(&b), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_data_dir(b, S(dir), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_allow_unlocked_memory(b, true, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_locked_memory_budget(b, 1 << 20, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_region(b, S("eu-west-1"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_account(b, S("123456789012"), NULL), TRENT_RESULT_OK);
    kms = NULL;
    CHECK_RC(trent_kms_builder_open(b, &kms, NULL), TRENT_RESULT_OK);
    trent_caller *root = NULL;
    CHECK_RC(trent_caller_root(kms, &root), TRENT_RESULT_OK);
    trent_buffer *key = new_key(kms, root);
    trent_kms_free(kms);

    kms = NULL;
    CHECK_RC(trent_kms_builder_data_dir(b, S(dir), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_allow_unlocked_memory(b, true, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_region(b, S("eu-west-1"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_account(b, S("123456789012"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_open(b, &kms, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_enable_key(kms, root, (const char *)trent_buffer_data(key), trent_buffer_len(key), NULL),
             TRENT_RESULT_OK);
    trent_kms_free(kms);

    /* trent_kms_open_dir on a fresh directory. */
    char dir2[] = "/tmp/trent-c-test-XXXXXX";
    CHECK(mkdtemp(dir2) != NULL);
    kms = NULL;
    rc = trent_kms_open_dir(S(dir2), &kms, NULL);
    CHECK(rc == TRENT_RESULT_OK || rc == TRENT_RESULT_OPEN_LOCKED_MEMORY);
    trent_kms_free(kms);
    CHECK_RC(trent_kms_open_dir(NULL, 0, &kms, NULL), TRENT_RESULT_INVALID_ARGUMENT);

    /* Root key options: a wrong length, then a SQLite file with a passphrase, a key file and
     * an environment variable. */
    err = NULL;
    uint8_t root_key[32] = {0};
    CHECK_RC(trent_kms_builder_root_key(b, root_key, 31, &err), TRENT_RESULT_INVALID_ARGUMENT);
    CHECK(trent_error_code(err) == TRENT_RESULT_INVALID_ARGUMENT);
    trent_error_free(err);
    CHECK_RC(trent_kms_builder_root_key(b, root_key, sizeof root_key, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_root_key_passphrase(b, S("correct horse"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_root_key_file(b, S("/nonexistent/root.key"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_root_key_env(b, S("TRENT_C_TEST_ROOT_KEY"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_audit_file(b, S("/nonexistent/audit.jsonl"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_sqlite(b, S("/nonexistent/trent.db"), NULL), TRENT_RESULT_OK);
    kms = NULL;
    err = NULL;
    rc = trent_kms_builder_open(b, &kms, &err);
    CHECK(rc >= 100 && rc < 200); /* an open failure */
    CHECK(kms == NULL);
    CHECK(trent_error_code(err) == rc);
    CHECK(strlen(trent_error_message(err)) > 0);
    trent_error_free(err);
    /* A PostgreSQL URL nothing listens on. */
    CHECK_RC(trent_kms_builder_postgres(b, S("postgresql://trent@127.0.0.1:1/trent"), NULL, 0, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_postgres(b, S("postgresql://trent@127.0.0.1:1/trent"), S("s"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_root_key(b, root_key, sizeof root_key, NULL), TRENT_RESULT_OK);
    rc = trent_kms_builder_open(b, &kms, NULL);
    CHECK(rc >= 100 && rc < 200);
    CHECK(kms == NULL);

    trent_buffer_free(key);
    trent_caller_free(root);
    trent_kms_builder_free(b);
}

static void test_callers(void) {
    trent_caller *c = NULL;
    trent_error *err = NULL;
    CHECK_RC(trent_caller_from_arn(S("arn:aws:iam::111122223333:root"), &c, NULL), TRENT_RESULT_OK);
    trent_buffer *key = new_key(g_kms, c);
    trent_buffer_free(key);
    trent_caller_free(c);
    c = NULL;
    CHECK_RC(trent_caller_from_arn(S("not an arn"), &c, &err), TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK(c == NULL);
    CHECK(strncmp(trent_error_message(err), "ValidationException: ", 21) == 0);
    trent_error_free(err);
    CHECK_RC(trent_caller_from_arn(NULL, 3, &c, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_caller_from_arn(S("arn:aws:iam::111122223333:root"), NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_caller_root(NULL, &c), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_caller_root(g_kms, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK(c == NULL);
}

static void test_encrypt_decrypt(const char *key_id) {
    trent_context_entry ctx[2] = {
        {"tenant", 6, "acme", 4},
        {"purpose", 7, "test", 4},
    };
    trent_context_entry ctx_reordered[2] = {ctx[1], ctx[0]};
    trent_context_entry wrong[1] = {{"tenant", 6, "other", 5}};
    const char *msg = "attack at dawn";

    trent_buffer *blob = NULL;
    trent_error *err = NULL;
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), (const uint8_t *)msg, strlen(msg), ctx, 2, &blob, &err),
             TRENT_RESULT_OK);
    CHECK(err == NULL);
    CHECK(trent_buffer_len(blob) > strlen(msg));

    trent_secret *pt = NULL;
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(blob), trent_buffer_len(blob), ctx_reordered, 2,
                               NULL, 0, &pt, NULL),
             TRENT_RESULT_OK);
    CHECK(trent_secret_len(pt) == strlen(msg));
    CHECK(memcmp(trent_secret_data(pt), msg, strlen(msg)) == 0);
    trent_secret_free(pt);

    /* With the key named. */
    pt = NULL;
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(blob), trent_buffer_len(blob), ctx, 2, S(key_id),
                               &pt, NULL),
             TRENT_RESULT_OK);
    trent_secret_free(pt);

    /* Wrong context, truncated blob: the one decryption failure; nothing written. */
    pt = NULL;
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(blob), trent_buffer_len(blob), wrong, 1, NULL, 0,
                               &pt, &err),
             TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    CHECK(pt == NULL);
    CHECK(trent_error_code(err) == TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    CHECK(strncmp(trent_error_message(err), "InvalidCiphertextException: ", 28) == 0);
    trent_error_free(err);
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(blob), trent_buffer_len(blob) - 1, ctx, 2, NULL, 0,
                               &pt, NULL),
             TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    CHECK(pt == NULL);

    /* ReEncrypt to another key and context. */
    trent_buffer *key2 = new_key(g_kms, g_caller);
    trent_buffer *moved = NULL;
    CHECK_RC(trent_kms_re_encrypt(g_kms, g_caller, trent_buffer_data(blob), trent_buffer_len(blob), ctx, 2,
                                  (const char *)trent_buffer_data(key2), trent_buffer_len(key2), wrong, 1, &moved,
                                  NULL),
             TRENT_RESULT_OK);
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(moved), trent_buffer_len(moved), wrong, 1,
                               S(key_id), &pt, NULL),
             TRENT_RESULT_INCORRECT_KEY_EXCEPTION);
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(moved), trent_buffer_len(moved), wrong, 1, NULL, 0,
                               &pt, NULL),
             TRENT_RESULT_OK);
    CHECK(pt != NULL && memcmp(trent_secret_data(pt), msg, strlen(msg)) == 0);
    trent_secret_free(pt);
    pt = NULL;
    trent_buffer_free(moved);
    trent_buffer_free(key2);

    /* Engine validation: empty and oversized plaintexts, unknown keys. */
    trent_buffer *none = NULL;
    uint8_t *big = calloc(4097, 1);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), NULL, 0, NULL, 0, &none, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), big, 4097, NULL, 0, &none, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), big, 4096, NULL, 0, &none, NULL), TRENT_RESULT_OK);
    trent_buffer_free(none);
    none = NULL;
    free(big);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S("alias/missing"), (const uint8_t *)"x", 1, NULL, 0, &none, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK(none == NULL);

    /* Argument errors. */
    CHECK_RC(trent_kms_encrypt(NULL, g_caller, S(key_id), (const uint8_t *)"x", 1, NULL, 0, &none, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_encrypt(g_kms, NULL, S(key_id), (const uint8_t *)"x", 1, NULL, 0, &none, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, NULL, 5, (const uint8_t *)"x", 1, NULL, 0, &none, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), NULL, 1, NULL, 0, &none, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), (const uint8_t *)"x", 1, NULL, 1, &none, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), (const uint8_t *)"x", 1, NULL, 0, NULL, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, key_id, SIZE_MAX, (const uint8_t *)"x", 1, NULL, 0, &none, NULL),
             TRENT_RESULT_INVALID_ARGUMENT);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, "\xff\xfe", 2, (const uint8_t *)"x", 1, NULL, 0, &none, NULL),
             TRENT_RESULT_INVALID_UTF8);
    trent_context_entry dup[2] = {{"a", 1, "1", 1}, {"a", 1, "2", 1}};
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), (const uint8_t *)"x", 1, dup, 2, &none, NULL),
             TRENT_RESULT_INVALID_ARGUMENT);
    trent_context_entry null_key[1] = {{NULL, 2, "v", 1}};
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), (const uint8_t *)"x", 1, null_key, 1, &none, &err),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK(strcmp(trent_error_message(err), "NullParameter: encryption context key is NULL") == 0);
    trent_error_free(err);
    CHECK(none == NULL);
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, NULL, 0, NULL, 0, NULL, 0, &pt, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, NULL, 10, NULL, 0, NULL, 0, &pt, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(blob), trent_buffer_len(blob), ctx, 2, NULL, 0,
                               NULL, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_re_encrypt(g_kms, g_caller, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK(pt == NULL);

    trent_buffer_free(blob);
}

static void test_data_keys(const char *key_id) {
    trent_context_entry ctx[1] = {{"file", 4, "report.pdf", 10}};

    /* 0 bytes is AES_256's 32, with a context; 64 bytes by number, without. Each data key's
     * ciphertext decrypts to its plaintext. */
    const struct {
        size_t bytes, want, ctx_len;
    } sizes[] = {{0, 32, 1}, {64, 64, 0}};
    trent_secret *unwrapped = NULL;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const trent_context_entry *c = sizes[i].ctx_len ? ctx : NULL;
        size_t want = sizes[i].want;
        trent_secret *dk = NULL;
        trent_buffer *wrapped = NULL;
        CHECK_RC(trent_kms_generate_data_key(g_kms, g_caller, S(key_id), sizes[i].bytes, c, sizes[i].ctx_len, &dk,
                                             &wrapped, NULL),
                 TRENT_RESULT_OK);
        CHECK(trent_secret_len(dk) == want);
        CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(wrapped), trent_buffer_len(wrapped), c,
                                   sizes[i].ctx_len, NULL, 0, &unwrapped, NULL),
                 TRENT_RESULT_OK);
        CHECK(trent_secret_len(unwrapped) == want &&
              memcmp(trent_secret_data(unwrapped), trent_secret_data(dk), want) == 0);
        trent_secret_free(unwrapped);
        unwrapped = NULL;
        trent_secret_free(dk);
        trent_buffer_free(wrapped);
    }

    trent_secret *dk = NULL;
    trent_buffer *wrapped = NULL;
    CHECK_RC(trent_kms_generate_data_key(g_kms, g_caller, S(key_id), 1025, NULL, 0, &dk, &wrapped, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_generate_data_key(g_kms, g_caller, S(key_id), 0, NULL, 0, &dk, NULL, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_generate_data_key(g_kms, g_caller, S(key_id), 0, NULL, 0, NULL, &wrapped, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK(dk == NULL && wrapped == NULL);

    CHECK_RC(trent_kms_generate_data_key_without_plaintext(g_kms, g_caller, S(key_id), 16, NULL, 0, &wrapped, NULL),
             TRENT_RESULT_OK);
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(wrapped), trent_buffer_len(wrapped), NULL, 0, NULL,
                               0, &unwrapped, NULL),
             TRENT_RESULT_OK);
    CHECK(trent_secret_len(unwrapped) == 16);
    trent_secret_free(unwrapped);
    trent_buffer_free(wrapped);
    wrapped = NULL;
    CHECK_RC(trent_kms_generate_data_key_without_plaintext(g_kms, NULL, S(key_id), 0, NULL, 0, &wrapped, NULL),
             TRENT_RESULT_NULL_PARAMETER);

    trent_secret *rnd = NULL;
    CHECK_RC(trent_kms_generate_random(g_kms, g_caller, 1024, &rnd, NULL), TRENT_RESULT_OK);
    CHECK(trent_secret_len(rnd) == 1024);
    trent_secret_free(rnd);
    rnd = NULL;
    CHECK_RC(trent_kms_generate_random(g_kms, g_caller, 0, &rnd, NULL), TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_generate_random(g_kms, g_caller, 1025, &rnd, NULL), TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_generate_random(g_kms, g_caller, 16, NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK(rnd == NULL);

    /* The batch. */
    trent_data_keys *batch = NULL;
    CHECK_RC(trent_kms_generate_data_keys(g_kms, g_caller, S(key_id), 0, ctx, 1, 64, &batch, NULL), TRENT_RESULT_OK);
    CHECK(trent_data_keys_len(batch) == 64);
    for (size_t i = 0; i < trent_data_keys_len(batch); i++) {
        const uint8_t *p = NULL, *c = NULL;
        size_t pl = 0, cl = 0;
        CHECK_RC(trent_data_keys_get(batch, i, &p, &pl, &c, &cl, NULL), TRENT_RESULT_OK);
        CHECK(pl == 32 && cl > 32);
        if (i % 16 == 0) {
            CHECK_RC(trent_kms_decrypt(g_kms, g_caller, c, cl, ctx, 1, NULL, 0, &unwrapped, NULL), TRENT_RESULT_OK);
            CHECK(memcmp(trent_secret_data(unwrapped), p, 32) == 0);
            trent_secret_free(unwrapped);
        }
    }
    const uint8_t *p = NULL, *c = NULL;
    size_t pl = 0, cl = 0;
    trent_error *err = NULL;
    CHECK_RC(trent_data_keys_get(batch, 64, &p, &pl, &c, &cl, &err), TRENT_RESULT_INDEX_OUT_OF_RANGE);
    CHECK(p == NULL && pl == 0 && c == NULL && cl == 0);
    CHECK(trent_error_code(err) == TRENT_RESULT_INDEX_OUT_OF_RANGE);
    trent_error_free(err);
    CHECK_RC(trent_data_keys_get(batch, 0, NULL, &pl, &c, &cl, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_data_keys_get(NULL, 0, &p, &pl, &c, &cl, NULL), TRENT_RESULT_NULL_PARAMETER);
    trent_data_keys_free(batch);
    batch = NULL;
    CHECK_RC(trent_kms_generate_data_keys(g_kms, g_caller, S("alias/missing"), 0, NULL, 0, 4, &batch, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_generate_data_keys(g_kms, g_caller, S(key_id), 0, NULL, 0, 4, NULL, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK(batch == NULL);

}

static void test_lifecycle(const char *key_id) {
    trent_buffer *blob = NULL;
    const uint8_t one = 1;

    CHECK_RC(trent_kms_disable_key(g_kms, g_caller, S(key_id), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), &one, 1, NULL, 0, &blob, NULL),
             TRENT_RESULT_DISABLED_EXCEPTION);
    CHECK_RC(trent_kms_enable_key(g_kms, g_caller, S(key_id), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), &one, 1, NULL, 0, &blob, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_rotate_key_on_demand(g_kms, g_caller, S(key_id), NULL), TRENT_RESULT_OK);
    trent_secret *pt = NULL;
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, trent_buffer_data(blob), trent_buffer_len(blob), NULL, 0, NULL, 0,
                               &pt, NULL),
             TRENT_RESULT_OK);
    trent_secret_free(pt);
    trent_buffer_free(blob);
    blob = NULL;

    CHECK_RC(trent_kms_schedule_key_deletion(g_kms, g_caller, S(key_id), 6, NULL), TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_schedule_key_deletion(g_kms, g_caller, S(key_id), 7, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(key_id), &one, 1, NULL, 0, &blob, NULL),
             TRENT_RESULT_KMS_INVALID_STATE_EXCEPTION);
    CHECK_RC(trent_kms_enable_key(g_kms, g_caller, S(key_id), NULL), TRENT_RESULT_KMS_INVALID_STATE_EXCEPTION);
    CHECK_RC(trent_kms_cancel_key_deletion(g_kms, g_caller, S(key_id), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_enable_key(g_kms, g_caller, S(key_id), NULL), TRENT_RESULT_OK);
    CHECK(blob == NULL);

    CHECK_RC(trent_kms_enable_key(g_kms, g_caller, S("1234abcd-12ab-34cd-56ef-1234567890ab"), NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_disable_key(NULL, g_caller, S(key_id), NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_rotate_key_on_demand(g_kms, NULL, S(key_id), NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_cancel_key_deletion(g_kms, g_caller, NULL, 4, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_schedule_key_deletion(g_kms, g_caller, NULL, 4, 7, NULL), TRENT_RESULT_NULL_PARAMETER);
    trent_buffer *id = NULL;
    CHECK_RC(trent_kms_create_key(g_kms, g_caller, NULL, 0, NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_create_key(NULL, g_caller, NULL, 0, &id, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK(id == NULL);

}

static void test_call_json(const char *key_id) {
    char body[256];
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"Plaintext\":\"aGVsbG8=\"}",
             key_id);
    trent_buffer *resp = NULL;
    CHECK_RC(trent_kms_call_json(g_kms, g_caller, S("Encrypt"), (const uint8_t *)body, strlen(body), &resp, NULL),
             TRENT_RESULT_OK);
    CHECK(resp != NULL && strstr((const char *)trent_buffer_data(resp), "\"CiphertextBlob\":\"") != NULL);
    trent_buffer_free(resp);
    resp = NULL;
    /* (NULL, 0) reads as {}. */
    CHECK_RC(trent_kms_call_json(g_kms, g_caller, S("ListKeys"), NULL, 0, &resp, NULL), TRENT_RESULT_OK);
    CHECK(resp != NULL && strncmp((const char *)trent_buffer_data(resp), "{\"Keys\":[", 9) == 0);
    trent_buffer_free(resp);
    resp = NULL;
    trent_error *err = NULL;
    CHECK_RC(trent_kms_call_json(g_kms, g_caller, S("Frobnicate"), NULL, 0, &resp, &err),
             TRENT_RESULT_UNSUPPORTED_OPERATION_EXCEPTION);
    CHECK(strncmp(trent_error_message(err), "UnsupportedOperationException: ", 31) == 0);
    trent_error_free(err);
    CHECK_RC(trent_kms_call_json(g_kms, g_caller, S("Encrypt"), (const uint8_t *)"nope", 4, &resp, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_call_json(g_kms, g_caller, S("DescribeKey"), (const uint8_t *)"{\"KeyId\":\"alias/x\"}", 19,
                                 &resp, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_call_json(g_kms, g_caller, NULL, 4, NULL, 0, &resp, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_call_json(g_kms, g_caller, S("ListKeys"), NULL, 0, NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_call_json(NULL, g_caller, S("ListKeys"), NULL, 0, &resp, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK(resp == NULL);
}

static void test_aliases_and_maintenance(void) {
    trent_buffer *key = new_key(g_kms, g_caller);
    trent_buffer *key2 = new_key(g_kms, g_caller);
    const char *id = (const char *)trent_buffer_data(key);
    const char *id2 = (const char *)trent_buffer_data(key2);
    trent_buffer *blob = NULL;

    CHECK_RC(trent_kms_create_alias(g_kms, g_caller, S("alias/c-test"), S(id), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_create_alias(g_kms, g_caller, S("alias/c-test"), S(id), NULL),
             TRENT_RESULT_ALREADY_EXISTS_EXCEPTION);
    CHECK_RC(trent_kms_create_alias(g_kms, g_caller, S("alias/aws/x"), S(id), NULL),
             TRENT_RESULT_INVALID_ALIAS_NAME_EXCEPTION);
    CHECK_RC(trent_kms_create_alias(g_kms, g_caller, S("no-prefix"), S(id), NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S("alias/c-test"), (const uint8_t *)"x", 1, NULL, 0, &blob, NULL),
             TRENT_RESULT_OK);
    trent_buffer_free(blob);
    CHECK_RC(trent_kms_update_alias(g_kms, g_caller, S("alias/c-test"), S(id2), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_delete_alias(g_kms, g_caller, S("alias/c-test"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_delete_alias(g_kms, g_caller, S("alias/c-test"), NULL), TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_update_alias(g_kms, g_caller, S("alias/c-test"), S(id2), NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_create_alias(g_kms, g_caller, S("alias/c-test"), NULL, 3, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_update_alias(NULL, g_caller, S("alias/c-test"), S(id2), NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_delete_alias(g_kms, NULL, S("alias/c-test"), NULL), TRENT_RESULT_NULL_PARAMETER);

    CHECK_RC(trent_kms_enable_key_rotation(g_kms, g_caller, S(id), 0, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_enable_key_rotation(g_kms, g_caller, S(id), 89, NULL), TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_enable_key_rotation(g_kms, g_caller, S(id), 2560, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_disable_key_rotation(g_kms, g_caller, S(id), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_disable_key_rotation(g_kms, g_caller, NULL, 1, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_enable_key_rotation(NULL, g_caller, S(id), 0, NULL), TRENT_RESULT_NULL_PARAMETER);

    CHECK_RC(trent_kms_update_key_description(g_kms, g_caller, S(id), S("described"), NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_update_key_description(g_kms, g_caller, S(id), NULL, 1, NULL), TRENT_RESULT_NULL_PARAMETER);

    CHECK_RC(trent_kms_run_maintenance(g_kms, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_refresh_now(g_kms, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_check_store_integrity(g_kms, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_flush_audit(g_kms, NULL), TRENT_RESULT_OK);
    CHECK(strcmp(trent_kms_store_backend(g_kms), "memory") == 0);
    CHECK(strcmp(trent_kms_store_backend(NULL), "") == 0);
    CHECK_RC(trent_kms_run_maintenance(NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_refresh_now(NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_check_store_integrity(NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_flush_audit(NULL, NULL), TRENT_RESULT_NULL_PARAMETER);

    trent_kms_builder *b = NULL;
    trent_kms *kms = NULL;
    CHECK_RC(trent_kms_builder_new(&b), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_allow_unlocked_memory(b, true, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_audit_table(b, false, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_refresh_interval_ms(b, 0, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_max_hot_versions(b, 2, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_open(b, &kms, NULL), TRENT_RESULT_OK);
    trent_kms_free(kms);
    trent_kms_builder_free(b);
    CHECK_RC(trent_kms_builder_audit_table(NULL, true, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_refresh_interval_ms(NULL, 1, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_max_hot_versions(NULL, 1, NULL), TRENT_RESULT_NULL_PARAMETER);

    trent_buffer_free(key2);
    trent_buffer_free(key);
}

static void test_batches_and_root_key(const char *id) {
    trent_context_entry ctx[1] = {{"batch", 5, "c", 1}};
    enum { N = 20 };
    uint8_t plain[N][16];
    trent_batch_item items[N + 1];
    for (int i = 0; i < N; i++) {
        memset(plain[i], 'a' + i, sizeof plain[i]);
        items[i].data = plain[i];
        items[i].data_len = (size_t)(1 + i % 16);
        items[i].context = ctx;
        items[i].context_len = 1;
    }
    items[N].data = NULL; /* an empty plaintext: this item alone fails */
    items[N].data_len = 0;
    items[N].context = NULL;
    items[N].context_len = 0;

    trent_batch_results *enc = NULL;
    CHECK_RC(trent_kms_encrypt_batch(g_kms, g_caller, S(id), items, N + 1, &enc, NULL), TRENT_RESULT_OK);
    CHECK(trent_batch_results_len(enc) == N + 1);
    const uint8_t *p = NULL;
    size_t len = 0;
    trent_error *err = NULL;
    CHECK_RC(trent_batch_results_get(enc, N, &p, &len, &err), TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK(p == NULL && len == 0);
    CHECK(trent_error_code(err) == TRENT_RESULT_VALIDATION_EXCEPTION);
    trent_error_free(err);
    CHECK_RC(trent_batch_results_get(enc, N + 1, &p, &len, NULL), TRENT_RESULT_INDEX_OUT_OF_RANGE);
    CHECK_RC(trent_batch_results_get(enc, 0, NULL, &len, NULL), TRENT_RESULT_NULL_PARAMETER);

    /* Decrypt the blobs in one batch (pointers into `enc`, alive until it is freed). */
    trent_batch_item dec_items[N];
    for (int i = 0; i < N; i++) {
        CHECK_RC(trent_batch_results_get(enc, (size_t)i, &p, &len, NULL), TRENT_RESULT_OK);
        dec_items[i].data = p;
        dec_items[i].data_len = len;
        dec_items[i].context = ctx;
        dec_items[i].context_len = i == N - 1 ? 0 : 1; /* the last with the wrong context */
    }
    trent_batch_results *dec = NULL;
    CHECK_RC(trent_kms_decrypt_batch(g_kms, g_caller, dec_items, N, &dec, NULL), TRENT_RESULT_OK);
    CHECK(trent_batch_results_len(dec) == N);
    for (int i = 0; i < N - 1; i++) {
        CHECK_RC(trent_batch_results_get(dec, (size_t)i, &p, &len, NULL), TRENT_RESULT_OK);
        CHECK(len == (size_t)(1 + i % 16) && memcmp(p, plain[i], len) == 0);
    }
    CHECK_RC(trent_batch_results_get(dec, N - 1, &p, &len, NULL), TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    /* The whole batch out in one call, then wiped. */
    size_t total = 0, ends[N];
    uint32_t codes[N];
    CHECK_RC(trent_batch_results_total_len(dec, &total, NULL), TRENT_RESULT_OK);
    uint8_t *all = malloc(total);
    CHECK(all != NULL);
    CHECK_RC(trent_batch_results_export(dec, all, total, ends, N, codes, N, NULL), TRENT_RESULT_OK);
    size_t start = 0;
    for (int i = 0; i < N - 1; i++) {
        CHECK(codes[i] == TRENT_RESULT_OK && ends[i] - start == (size_t)(1 + i % 16));
        CHECK(memcmp(all + start, plain[i], ends[i] - start) == 0);
        start = ends[i];
    }
    CHECK(codes[N - 1] == TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION && ends[N - 1] == total);
    CHECK_RC(trent_batch_results_export(dec, all, total, ends, N - 1, codes, N, NULL), TRENT_RESULT_INVALID_ARGUMENT);
    CHECK_RC(trent_batch_results_total_len(NULL, &total, NULL), TRENT_RESULT_NULL_PARAMETER);
    trent_wipe(all, total);
    CHECK(total == 0 || all_bytes(all, total, 0));
    trent_wipe(NULL, 0);
    free(all);
    trent_batch_results_free(dec);
    trent_batch_results_free(enc);

    trent_batch_results *none = NULL;
    CHECK_RC(trent_kms_encrypt_batch(g_kms, g_caller, S("alias/none"), items, 1, &none, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_encrypt_batch(g_kms, g_caller, S(id), NULL, 2, &none, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_encrypt_batch(g_kms, g_caller, S(id), items, 1, NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_decrypt_batch(NULL, g_caller, items, 1, &none, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK(none == NULL);
    CHECK(trent_batch_results_len(NULL) == 0);
    CHECK_RC(trent_batch_results_get(NULL, 0, &p, &len, NULL), TRENT_RESULT_NULL_PARAMETER);
    trent_batch_results_free(NULL);

    /* Root key rotation on a separate engine (it rewraps every key). */
    trent_kms *kms = open_engine(NULL);
    trent_caller *root = NULL;
    CHECK_RC(trent_caller_root(kms, &root), TRENT_RESULT_OK);
    trent_buffer *k2 = new_key(kms, root);
    trent_buffer *blob = NULL;
    CHECK_RC(trent_kms_encrypt(kms, root, (const char *)trent_buffer_data(k2), trent_buffer_len(k2),
                               (const uint8_t *)"keep", 4, NULL, 0, &blob, NULL),
             TRENT_RESULT_OK);
    uint8_t new_root[32];
    memset(new_root, 0x42, sizeof new_root);
    uint64_t rewrapped = 0;
    CHECK_RC(trent_kms_rotate_root_key(kms, TRENT_ROOT_KEY_KIND_BYTES, new_root, sizeof new_root, &rewrapped, NULL),
             TRENT_RESULT_OK);
    CHECK(rewrapped >= 1);
    char dir[] = "/tmp/trent-c-root-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/root.key", dir);
    CHECK_RC(trent_kms_rotate_root_key(kms, TRENT_ROOT_KEY_KIND_FILE, (const uint8_t *)path, strlen(path), NULL, NULL),
             TRENT_RESULT_OK);
    unlink(path);
    rmdir(dir);
    CHECK_RC(trent_kms_rotate_root_key(kms, TRENT_ROOT_KEY_KIND_BYTES, new_root, 16, NULL, NULL),
             TRENT_RESULT_INVALID_ARGUMENT);
    CHECK_RC(trent_kms_rotate_root_key(kms, 99, new_root, 32, NULL, NULL), TRENT_RESULT_INVALID_ARGUMENT);
    CHECK_RC(trent_kms_rotate_root_key(NULL, TRENT_ROOT_KEY_KIND_BYTES, new_root, 32, NULL, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    trent_secret *pt = NULL;
    CHECK_RC(trent_kms_decrypt(kms, root, trent_buffer_data(blob), trent_buffer_len(blob), NULL, 0, NULL, 0, &pt,
                               NULL),
             TRENT_RESULT_OK);
    CHECK(pt != NULL && trent_secret_len(pt) == 4 && memcmp(trent_secret_data(pt), "keep", 4) == 0);
    trent_secret_free(pt);
    trent_buffer_free(blob);
    trent_buffer_free(k2);
    trent_caller_free(root);
    trent_kms_free(kms);
}

/* True when a returned string equals `want` (and is NUL-terminated). */
static int str_eq(trent_str got, const char *want) {
    return got.data != NULL && got.len == strlen(want) && memcmp(got.data, want, got.len) == 0 && got.data[got.len] == 0;
}

/* Field `field` of row `row`, or {NULL, 0} on failure. */
static trent_str list_field(const trent_list *list, size_t row, const char *field) {
    trent_str v = {NULL, 0};
    CHECK_RC(trent_list_get(list, row, S(field), &v, NULL), TRENT_RESULT_OK);
    return v;
}

static void test_metadata_lists_and_tags(void) {
    /* CreateKey with every option, then DescribeKey. */
    trent_tag tags[2] = {{"team", 4, "payments", 8}, {"env", 3, "test", 4}};
    trent_key_metadata *md = NULL;
    CHECK_RC(trent_kms_create_key_with_options(g_kms, g_caller, S("described"), S("SYMMETRIC_DEFAULT"),
                                               S("ENCRYPT_DECRYPT"), NULL, 0, tags, 2, false, &md, NULL),
             TRENT_RESULT_OK);
    trent_str id = trent_key_metadata_key_id(md);
    CHECK(id.data != NULL && id.len == 36);
    char key_id[64] = {0};
    memcpy(key_id, id.data, id.len < 63 ? id.len : 63);
    CHECK(str_eq(trent_key_metadata_description(md), "described"));
    CHECK(str_eq(trent_key_metadata_key_state(md), "Enabled"));
    CHECK(str_eq(trent_key_metadata_key_spec(md), "SYMMETRIC_DEFAULT"));
    CHECK(str_eq(trent_key_metadata_key_usage(md), "ENCRYPT_DECRYPT"));
    CHECK(str_eq(trent_key_metadata_origin(md), "AWS_KMS"));
    CHECK(str_eq(trent_key_metadata_key_manager(md), "CUSTOMER"));
    CHECK(trent_key_metadata_aws_account_id(md).len == 12);
    CHECK(strstr(trent_key_metadata_arn(md).data, key_id) != NULL);
    CHECK(trent_key_metadata_current_key_material_id(md).len > 0);
    CHECK(trent_key_metadata_enabled(md));
    CHECK(!trent_key_metadata_multi_region(md));
    CHECK(trent_key_metadata_creation_date(md) > 1700000000000LL);
    CHECK(trent_key_metadata_deletion_date(md) == 0);
    CHECK(trent_key_metadata_pending_deletion_window_in_days(md) == 0);
    trent_key_metadata_free(md);

    trent_key_metadata *none = NULL;
    trent_error *err = NULL;
    CHECK_RC(trent_kms_create_key_with_options(g_kms, g_caller, NULL, 0, S("RSA_9"), NULL, 0, NULL, 0, NULL, 0,
                                               false, &none, &err),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK(none == NULL && trent_error_code(err) == TRENT_RESULT_VALIDATION_EXCEPTION);
    trent_error_free(err);
    CHECK_RC(trent_kms_create_key_with_options(g_kms, g_caller, NULL, 0, NULL, 0, NULL, 0, S("[]"), NULL, 0, false,
                                               &none, NULL),
             TRENT_RESULT_MALFORMED_POLICY_DOCUMENT_EXCEPTION);
    CHECK_RC(trent_kms_create_key_with_options(g_kms, g_caller, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 1, false,
                                               &none, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_describe_key(g_kms, g_caller, S("alias/missing"), &none, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_describe_key(g_kms, g_caller, S(key_id), NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK(none == NULL);
    CHECK(trent_key_metadata_key_id(NULL).data == NULL);
    CHECK(trent_key_metadata_arn(NULL).data == NULL);
    CHECK(trent_key_metadata_aws_account_id(NULL).data == NULL);
    CHECK(trent_key_metadata_description(NULL).data == NULL);
    CHECK(trent_key_metadata_key_state(NULL).data == NULL);
    CHECK(trent_key_metadata_key_spec(NULL).data == NULL);
    CHECK(trent_key_metadata_key_usage(NULL).data == NULL);
    CHECK(trent_key_metadata_origin(NULL).data == NULL);
    CHECK(trent_key_metadata_key_manager(NULL).data == NULL);
    CHECK(trent_key_metadata_current_key_material_id(NULL).data == NULL);
    CHECK(!trent_key_metadata_enabled(NULL) && !trent_key_metadata_multi_region(NULL));
    CHECK(trent_key_metadata_creation_date(NULL) == 0 && trent_key_metadata_deletion_date(NULL) == 0);
    CHECK(trent_key_metadata_pending_deletion_window_in_days(NULL) == 0);
    trent_key_metadata_free(NULL);

    /* Tags: add, remove, list. */
    trent_tag more[1] = {{"extra", 5, "", 0}};
    CHECK_RC(trent_kms_tag_resource(g_kms, g_caller, S(key_id), more, 1, NULL), TRENT_RESULT_OK);
    trent_str drop[2] = {{"team", 4}, {"never-set", 9}};
    CHECK_RC(trent_kms_untag_resource(g_kms, g_caller, S(key_id), drop, 2, NULL), TRENT_RESULT_OK);
    trent_list *list = NULL;
    CHECK_RC(trent_kms_list_resource_tags(g_kms, g_caller, S(key_id), 0, NULL, 0, &list, NULL), TRENT_RESULT_OK);
    CHECK(trent_list_len(list) == 2);
    int saw_env = 0, saw_extra = 0;
    for (size_t i = 0; i < trent_list_len(list); i++) {
        trent_str k = list_field(list, i, "TagKey");
        trent_str v = list_field(list, i, "TagValue");
        saw_env += str_eq(k, "env") && str_eq(v, "test");
        saw_extra += str_eq(k, "extra") && v.data != NULL && v.len == 0;
    }
    CHECK(saw_env == 1 && saw_extra == 1);
    trent_str v = {NULL, 0};
    CHECK_RC(trent_list_get(list, 0, S("KeyId"), &v, NULL), TRENT_RESULT_INVALID_ARGUMENT);
    CHECK_RC(trent_list_get(list, 2, S("TagKey"), &v, NULL), TRENT_RESULT_INDEX_OUT_OF_RANGE);
    CHECK_RC(trent_list_get(list, 0, S("TagKey"), NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK(v.data == NULL);
    CHECK(trent_list_next_marker(list).data == NULL);
    trent_list_free(list);
    trent_tag reserved[1] = {{"aws:owner", 9, "x", 1}};
    CHECK_RC(trent_kms_tag_resource(g_kms, g_caller, S(key_id), reserved, 1, NULL), TRENT_RESULT_TAG_EXCEPTION);
    CHECK_RC(trent_kms_tag_resource(g_kms, g_caller, S(key_id), NULL, 1, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_untag_resource(g_kms, g_caller, S(key_id), NULL, 1, NULL), TRENT_RESULT_NULL_PARAMETER);

    /* Keys, page by page. */
    size_t total = 0;
    int found = 0;
    char marker[256] = {0};
    for (int page = 0; page < 1000; page++) {
        list = NULL;
        CHECK_RC(trent_kms_list_keys(g_kms, g_caller, 2, marker[0] ? marker : NULL, strlen(marker), &list, NULL),
                 TRENT_RESULT_OK);
        CHECK(trent_list_len(list) <= 2);
        for (size_t i = 0; i < trent_list_len(list); i++) {
            found += str_eq(list_field(list, i, "KeyId"), key_id);
            CHECK(list_field(list, i, "KeyArn").len > 0);
        }
        total += trent_list_len(list);
        trent_str next = trent_list_next_marker(list);
        if (next.data == NULL) {
            trent_list_free(list);
            break;
        }
        CHECK(next.len < sizeof marker);
        memcpy(marker, next.data, next.len + 1);
        trent_list_free(list);
    }
    CHECK(found == 1 && total >= 2);
    CHECK_RC(trent_kms_list_keys(g_kms, g_caller, 1001, NULL, 0, &list, NULL), TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_list_keys(g_kms, g_caller, 0, NULL, 0, NULL, NULL), TRENT_RESULT_NULL_PARAMETER);

    /* Aliases of one key. */
    CHECK_RC(trent_kms_create_alias(g_kms, g_caller, S("alias/c-listed"), S(key_id), NULL), TRENT_RESULT_OK);
    list = NULL;
    CHECK_RC(trent_kms_list_aliases(g_kms, g_caller, S(key_id), 0, NULL, 0, &list, NULL), TRENT_RESULT_OK);
    CHECK(trent_list_len(list) == 1);
    CHECK(str_eq(list_field(list, 0, "AliasName"), "alias/c-listed"));
    CHECK(str_eq(list_field(list, 0, "TargetKeyId"), key_id));
    CHECK(strtoll(list_field(list, 0, "CreationDate").data, NULL, 10) > 1700000000000LL);
    CHECK(list_field(list, 0, "LastUpdatedDate").len > 0);
    CHECK(list_field(list, 0, "AliasArn").len > 0);
    trent_list_free(list);
    CHECK_RC(trent_kms_list_aliases(g_kms, g_caller, NULL, 0, 0, NULL, 0, NULL, NULL), TRENT_RESULT_NULL_PARAMETER);

    /* Rotation status and rotations. */
    bool enabled = true;
    uint32_t period = 1;
    int64_t next = 1;
    CHECK_RC(trent_kms_get_key_rotation_status(g_kms, g_caller, S(key_id), &enabled, &period, &next, NULL),
             TRENT_RESULT_OK);
    CHECK(!enabled && period == 0 && next == 0);
    CHECK_RC(trent_kms_enable_key_rotation(g_kms, g_caller, S(key_id), 180, NULL), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_get_key_rotation_status(g_kms, g_caller, S(key_id), &enabled, &period, &next, NULL),
             TRENT_RESULT_OK);
    CHECK(enabled && period == 180 && next > 1700000000000LL);
    CHECK_RC(trent_kms_get_key_rotation_status(g_kms, g_caller, S(key_id), NULL, &period, &next, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_rotate_key_on_demand(g_kms, g_caller, S(key_id), NULL), TRENT_RESULT_OK);
    list = NULL;
    CHECK_RC(trent_kms_list_key_rotations(g_kms, g_caller, S(key_id), 0, NULL, 0, &list, NULL), TRENT_RESULT_OK);
    CHECK(trent_list_len(list) == 1);
    CHECK(str_eq(list_field(list, 0, "RotationType"), "ON_DEMAND"));
    CHECK(str_eq(list_field(list, 0, "KeyId"), key_id));
    CHECK(list_field(list, 0, "KeyMaterialId").len > 0);
    CHECK(list_field(list, 0, "KeyMaterialState").len > 0);
    CHECK(list_field(list, 0, "RotationDate").len > 0);
    trent_list_free(list);
    CHECK_RC(trent_kms_list_key_rotations(g_kms, g_caller, S("alias/missing"), 0, NULL, 0, &list, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK(trent_list_len(NULL) == 0);
    CHECK(trent_list_next_marker(NULL).data == NULL);
    CHECK_RC(trent_list_get(NULL, 0, S("KeyId"), &v, NULL), TRENT_RESULT_NULL_PARAMETER);
    trent_list_free(NULL);
}

static void test_re_encrypt_batch_and_export(void) {
    trent_buffer *src = new_key(g_kms, g_caller);
    trent_buffer *dst = new_key(g_kms, g_caller);
    const char *src_id = (const char *)trent_buffer_data(src);
    const char *dst_id = (const char *)trent_buffer_data(dst);
    trent_context_entry from[1] = {{"from", 4, "a", 1}};
    trent_context_entry to[1] = {{"to", 2, "b", 1}};
    enum { N = 8 };
    trent_buffer *blobs[N];
    trent_re_encrypt_item items[N];
    for (int i = 0; i < N; i++) {
        uint8_t data[4] = {(uint8_t)i, 1, 2, 3};
        blobs[i] = NULL;
        CHECK_RC(trent_kms_encrypt(g_kms, g_caller, S(src_id), data, sizeof data, from, 1, &blobs[i], NULL),
                 TRENT_RESULT_OK);
        items[i].ciphertext = trent_buffer_data(blobs[i]);
        items[i].ciphertext_len = trent_buffer_len(blobs[i]);
        items[i].source_context = from;
        items[i].source_context_len = i == N - 1 ? 0 : 1; /* the last with the wrong context */
        items[i].destination_context = to;
        items[i].destination_context_len = 1;
    }
    trent_batch_results *res = NULL;
    CHECK_RC(trent_kms_re_encrypt_batch(g_kms, g_caller, S(dst_id), items, N, &res, NULL), TRENT_RESULT_OK);
    CHECK(trent_batch_results_len(res) == N);
    for (int i = 0; i < N - 1; i++) {
        const uint8_t *p = NULL;
        size_t len = 0;
        CHECK_RC(trent_batch_results_get(res, (size_t)i, &p, &len, NULL), TRENT_RESULT_OK);
        trent_secret *pt = NULL;
        CHECK_RC(trent_kms_decrypt(g_kms, g_caller, p, len, to, 1, S(dst_id), &pt, NULL), TRENT_RESULT_OK);
        CHECK(pt != NULL && trent_secret_len(pt) == 4 && trent_secret_data(pt)[0] == i);
        trent_secret_free(pt);
    }
    const uint8_t *p = NULL;
    size_t len = 0;
    CHECK_RC(trent_batch_results_get(res, N - 1, &p, &len, NULL), TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    trent_batch_results_free(res);
    res = NULL;
    CHECK_RC(trent_kms_re_encrypt_batch(g_kms, g_caller, S("alias/none"), items, N, &res, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_re_encrypt_batch(g_kms, g_caller, S(dst_id), NULL, 1, &res, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK(res == NULL);
    for (int i = 0; i < N; i++) {
        trent_buffer_free(blobs[i]);
    }

    /* A data-key batch copied out in one call. */
    trent_data_keys *keys = NULL;
    CHECK_RC(trent_kms_generate_data_keys(g_kms, g_caller, S(src_id), 0, NULL, 0, 10, &keys, NULL), TRENT_RESULT_OK);
    size_t pt_total = 0, ct_total = 0;
    CHECK_RC(trent_data_keys_total_len(keys, &pt_total, &ct_total, NULL), TRENT_RESULT_OK);
    CHECK(pt_total == 10 * 32 && ct_total > pt_total);
    uint8_t *pts = malloc(pt_total);
    uint8_t *cts = malloc(ct_total);
    size_t ends[10];
    CHECK_RC(trent_data_keys_export(keys, pts, pt_total, cts, ct_total, ends, 9, NULL), TRENT_RESULT_INVALID_ARGUMENT);
    CHECK_RC(trent_data_keys_export(keys, pts, pt_total, cts, ct_total - 1, ends, 10, NULL),
             TRENT_RESULT_INVALID_ARGUMENT);
    CHECK_RC(trent_data_keys_export(keys, pts, pt_total, NULL, ct_total, ends, 10, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_data_keys_export(keys, pts, pt_total, cts, ct_total, ends, 10, NULL), TRENT_RESULT_OK);
    CHECK(ends[9] == ct_total);
    size_t start = 0;
    for (size_t i = 0; i < 10; i++) {
        trent_secret *pt = NULL;
        CHECK_RC(trent_kms_decrypt(g_kms, g_caller, cts + start, ends[i] - start, NULL, 0, NULL, 0, &pt, NULL),
                 TRENT_RESULT_OK);
        CHECK(pt != NULL && trent_secret_len(pt) == 32 && memcmp(trent_secret_data(pt), pts + 32 * i, 32) == 0);
        trent_secret_free(pt);
        start = ends[i];
    }
    memset(pts, 0, pt_total);
    free(pts);
    free(cts);
    trent_data_keys_free(keys);
    CHECK_RC(trent_data_keys_total_len(NULL, &pt_total, &ct_total, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_data_keys_export(NULL, NULL, 0, NULL, 0, NULL, 0, NULL), TRENT_RESULT_NULL_PARAMETER);
    trent_buffer_free(src);
    trent_buffer_free(dst);
}

static void test_envelope(const char *id) {
    trent_context_entry ctx[1] = {{"file", 4, "big.bin", 7}};
    size_t n = 3 * 1024 + 5; /* four chunks of 1 KiB */
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++) {
        data[i] = (uint8_t)(i * 7);
    }
    trent_buffer *sealed = NULL;
    CHECK_RC(trent_kms_envelope_encrypt(g_kms, g_caller, S(id), ctx, 1, 1024, data, n, &sealed, NULL),
             TRENT_RESULT_OK);
    CHECK(sealed != NULL && trent_buffer_len(sealed) > n);
    trent_buffer *opened = NULL;
    CHECK_RC(trent_kms_envelope_decrypt(g_kms, g_caller, trent_buffer_data(sealed), trent_buffer_len(sealed), &opened,
                                        NULL),
             TRENT_RESULT_OK);
    CHECK(opened != NULL && trent_buffer_len(opened) == n && memcmp(trent_buffer_data(opened), data, n) == 0);
    trent_buffer_free(opened);

    /* A flipped byte in the last chunk, and a truncated file: no plaintext, a clear code. */
    size_t len = trent_buffer_len(sealed);
    uint8_t *copy = malloc(len);
    memcpy(copy, trent_buffer_data(sealed), len);
    copy[len - 20] ^= 1;
    opened = NULL;
    trent_error *err = NULL;
    CHECK_RC(trent_kms_envelope_decrypt(g_kms, g_caller, copy, len, &opened, &err),
             TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    CHECK(opened == NULL && strlen(trent_error_message(err)) > 0);
    trent_error_free(err);
    copy[len - 20] ^= 1;
    CHECK_RC(trent_kms_envelope_decrypt(g_kms, g_caller, copy, len - 100, &opened, NULL),
             TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    CHECK(opened == NULL);
    free(copy);

    /* Bad arguments. */
    trent_buffer *none = NULL;
    CHECK_RC(trent_kms_envelope_encrypt(g_kms, g_caller, S(id), NULL, 0, 10, data, n, &none, NULL),
             TRENT_RESULT_INVALID_ARGUMENT); /* chunk size below 1 KiB */
    CHECK_RC(trent_kms_envelope_encrypt(g_kms, g_caller, S("alias/none"), NULL, 0, 0, data, n, &none, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_envelope_encrypt(g_kms, g_caller, S(id), NULL, 0, 0, NULL, 5, &none, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_envelope_encrypt(g_kms, g_caller, S(id), NULL, 0, 0, data, n, NULL, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_envelope_decrypt(g_kms, g_caller, (const uint8_t *)"not an envelope", 15, &none, NULL),
             TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    CHECK_RC(trent_kms_envelope_decrypt(NULL, g_caller, data, n, &none, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK(none == NULL);
    free(data);
    trent_buffer_free(sealed);
}

static void test_encrypt_into(const char *id) {
    uint8_t plain[100];
    memset(plain, 'p', sizeof plain);
    size_t need = trent_ciphertext_len(sizeof plain);
    CHECK(need > sizeof plain && trent_ciphertext_len(SIZE_MAX) == SIZE_MAX);
    uint8_t *out = malloc(need);
    size_t len = 0;
    CHECK_RC(trent_kms_encrypt_into(g_kms, g_caller, S(id), plain, sizeof plain, NULL, 0, out, need, &len, NULL),
             TRENT_RESULT_OK);
    CHECK(len == need);
    trent_secret *pt = NULL;
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, out, len, NULL, 0, NULL, 0, &pt, NULL), TRENT_RESULT_OK);
    CHECK(pt != NULL && trent_secret_len(pt) == sizeof plain && memcmp(trent_secret_data(pt), plain, sizeof plain) == 0);
    trent_secret_free(pt);
    len = 3;
    CHECK_RC(trent_kms_encrypt_into(g_kms, g_caller, S(id), plain, sizeof plain, NULL, 0, out, need - 1, &len, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_encrypt_into(g_kms, g_caller, S(id), plain, sizeof plain, NULL, 0, NULL, need, &len, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_encrypt_into(g_kms, g_caller, S(id), plain, sizeof plain, NULL, 0, out, need, NULL, NULL),
             TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_encrypt_into(g_kms, g_caller, S("alias/none"), plain, 1, NULL, 0, out, need, &len, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK(len == 3);
    free(out);
}

/* Appends one pair to a packed encryption context: the key then the value, each a 4-byte
 * little-endian length and its bytes. Returns the new length of `buf`. */
static size_t pack_pair(uint8_t *buf, size_t at, const char *key, const char *value) {
    const char *parts[2] = {key, value};
    for (int i = 0; i < 2; i++) {
        uint32_t n = (uint32_t)strlen(parts[i]);
        for (int b = 0; b < 4; b++) {
            buf[at++] = (uint8_t)(n >> (8 * b));
        }
        memcpy(buf + at, parts[i], n);
        at += n;
    }
    return at;
}

static void test_into_forms(const char *id) {
    uint8_t ctx[64], other[64], bad[8] = {5, 0, 0, 0, 'a', 'b'};
    size_t ctx_len = pack_pair(ctx, 0, "tenant", "a");
    ctx_len = pack_pair(ctx, ctx_len, "purpose", "c");
    size_t other_len = pack_pair(other, 0, "tenant", "b");
    const uint8_t plain[] = "the into forms";
    size_t plain_len = sizeof plain - 1;

    /* Sizes. */
    size_t blob_len = trent_ciphertext_len(plain_len);
    CHECK(trent_plaintext_len_max(blob_len) == plain_len);
    CHECK(trent_plaintext_len_max(trent_ciphertext_len(0)) == 0 && trent_plaintext_len_max(0) == 0);

    /* Encrypt with a packed context; the entries form of the same context decrypts it. */
    uint8_t blob[256], out[256];
    size_t len = 0;
    CHECK_RC(trent_kms_encrypt_into(g_kms, g_caller, S(id), plain, plain_len, ctx, ctx_len, blob, sizeof blob, &len,
                                    NULL),
             TRENT_RESULT_OK);
    CHECK(len == blob_len);
    trent_context_entry entries[2] = {{"purpose", 7, "c", 1}, {"tenant", 6, "a", 1}};
    trent_secret *pt = NULL;
    CHECK_RC(trent_kms_decrypt(g_kms, g_caller, blob, len, entries, 2, NULL, 0, &pt, NULL), TRENT_RESULT_OK);
    CHECK(pt != NULL && trent_secret_len(pt) == plain_len && memcmp(trent_secret_data(pt), plain, plain_len) == 0);
    trent_secret_free(pt);
    trent_error *err = NULL;
    len = 3;
    CHECK_RC(trent_kms_encrypt_into(g_kms, g_caller, S(id), plain, plain_len, bad, 6, blob, sizeof blob, &len, &err),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK(err != NULL && strstr(trent_error_message(err), "pair 0") != NULL);
    trent_error_free(err);
    CHECK(len == 3);

    /* Decrypt into: round trip, a wrong context leaves only zeros where the blob was opened,
     * a small buffer writes nothing, NULL err. */
    memset(out, 0xAA, sizeof out);
    CHECK_RC(trent_kms_decrypt_into(g_kms, g_caller, blob, blob_len, ctx, ctx_len, NULL, 0, out, plain_len, &len,
                                    NULL),
             TRENT_RESULT_OK);
    CHECK(len == plain_len && memcmp(out, plain, plain_len) == 0 && out[plain_len] == 0xAA);
    memset(out, 0xAA, sizeof out);
    len = 3;
    CHECK_RC(trent_kms_decrypt_into(g_kms, g_caller, blob, blob_len, other, other_len, NULL, 0, out, sizeof out,
                                    &len, NULL),
             TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    CHECK(len == 3 && all_bytes(out, plain_len, 0) && all_bytes(out + plain_len, sizeof out - plain_len, 0xAA));
    memset(out, 0xAA, sizeof out);
    CHECK_RC(trent_kms_decrypt_into(g_kms, g_caller, blob, blob_len, ctx, ctx_len, NULL, 0, out, plain_len - 1, &len,
                                    NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK(len == 3 && all_bytes(out, sizeof out, 0xAA));
    CHECK_RC(trent_kms_decrypt_into(g_kms, g_caller, blob, blob_len, bad, 6, NULL, 0, out, sizeof out, &len, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_decrypt_into(g_kms, g_caller, blob, blob_len, ctx, ctx_len, S(id), out, sizeof out, NULL,
                                    NULL),
             TRENT_RESULT_NULL_PARAMETER);

    /* ReEncrypt into: the same length, the new context. */
    uint8_t moved[256];
    size_t moved_len = 0;
    CHECK_RC(trent_kms_re_encrypt_into(g_kms, g_caller, blob, blob_len, ctx, ctx_len, S(id), other, other_len, moved,
                                       sizeof moved, &moved_len, NULL),
             TRENT_RESULT_OK);
    CHECK(moved_len == blob_len);
    CHECK_RC(trent_kms_decrypt_into(g_kms, g_caller, moved, moved_len, other, other_len, NULL, 0, out, sizeof out,
                                    &len, NULL),
             TRENT_RESULT_OK);
    CHECK(len == plain_len && memcmp(out, plain, plain_len) == 0);
    memset(moved, 0xAA, sizeof moved);
    moved_len = 3;
    CHECK_RC(trent_kms_re_encrypt_into(g_kms, g_caller, blob, blob_len, ctx, ctx_len, S(id), other, other_len, moved,
                                       blob_len - 1, &moved_len, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_re_encrypt_into(g_kms, g_caller, blob, blob_len, other, other_len, S(id), NULL, 0, moved,
                                       sizeof moved, &moved_len, NULL),
             TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    CHECK(moved_len == 3 && all_bytes(moved, sizeof moved, 0xAA));

    /* GenerateDataKey into: 32 bytes for 0, the wrapped key unwraps to the plaintext. */
    uint8_t dk[32], wrapped[256];
    size_t wrapped_len = 0;
    CHECK_RC(trent_kms_generate_data_key_into(g_kms, g_caller, S(id), 0, ctx, ctx_len, dk, sizeof dk, wrapped,
                                              sizeof wrapped, &wrapped_len, NULL),
             TRENT_RESULT_OK);
    CHECK(wrapped_len == trent_ciphertext_len(32));
    CHECK_RC(trent_kms_decrypt_into(g_kms, g_caller, wrapped, wrapped_len, ctx, ctx_len, NULL, 0, out, sizeof out,
                                    &len, NULL),
             TRENT_RESULT_OK);
    CHECK(len == 32 && memcmp(out, dk, 32) == 0);
    wrapped_len = 3;
    CHECK_RC(trent_kms_generate_data_key_into(g_kms, g_caller, S(id), 0, ctx, ctx_len, dk, 31, wrapped,
                                              sizeof wrapped, &wrapped_len, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK_RC(trent_kms_generate_data_key_into(g_kms, g_caller, S(id), 16, ctx, ctx_len, dk, sizeof dk, wrapped,
                                              trent_ciphertext_len(16) - 1, &wrapped_len, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK(wrapped_len == 3);
    CHECK_RC(trent_kms_generate_data_key_without_plaintext_into(g_kms, g_caller, S(id), 16, NULL, 0, wrapped,
                                                                sizeof wrapped, &wrapped_len, NULL),
             TRENT_RESULT_OK);
    CHECK(wrapped_len == trent_ciphertext_len(16));
    CHECK_RC(trent_kms_generate_data_key_without_plaintext_into(g_kms, g_caller, S(id), 16, bad, 6, wrapped,
                                                                sizeof wrapped, &wrapped_len, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);

    /* GenerateRandom into. */
    uint8_t rnd[16];
    memset(rnd, 0, sizeof rnd);
    CHECK_RC(trent_kms_generate_random_into(g_kms, g_caller, 8, rnd, sizeof rnd, NULL), TRENT_RESULT_OK);
    CHECK(!all_bytes(rnd, 8, 0) && all_bytes(rnd + 8, 8, 0));
    CHECK_RC(trent_kms_generate_random_into(g_kms, g_caller, 17, rnd, sizeof rnd, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);

    /* Key ARNs: by id and from the blob agree; a small buffer gets the length needed. */
    char arn[256], blob_arn[256];
    size_t arn_len = 0, blob_arn_len = 0;
    CHECK_RC(trent_kms_key_arn(g_kms, g_caller, S(id), arn, sizeof arn, &arn_len, NULL), TRENT_RESULT_OK);
    CHECK(arn_len > strlen(id) && arn[arn_len] == '\0' && strstr(arn, id) != NULL);
    CHECK(strncmp(arn, "arn:aws:kms:", 12) == 0);
    CHECK_RC(trent_kms_ciphertext_key_arn(g_kms, blob, blob_len, blob_arn, sizeof blob_arn, &blob_arn_len, NULL),
             TRENT_RESULT_OK);
    CHECK(blob_arn_len == arn_len && memcmp(arn, blob_arn, arn_len) == 0);
    size_t need = 0;
    CHECK_RC(trent_kms_key_arn(g_kms, g_caller, S(id), arn, 4, &need, NULL), TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK(need == arn_len);
    CHECK_RC(trent_kms_key_arn(g_kms, g_caller, S("alias/none"), arn, sizeof arn, &need, NULL),
             TRENT_RESULT_NOT_FOUND_EXCEPTION);
    CHECK_RC(trent_kms_ciphertext_key_arn(g_kms, plain, plain_len, arn, sizeof arn, &need, NULL),
             TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
    CHECK_RC(trent_kms_ciphertext_key_arn(g_kms, blob, blob_len, arn, sizeof arn, NULL, NULL),
             TRENT_RESULT_NULL_PARAMETER);

    /* Key material id from the blob: DescribeKey's current one (the blob is the newest). */
    char mid[128];
    size_t mid_len = 0;
    CHECK_RC(trent_kms_ciphertext_key_material_id(g_kms, blob, blob_len, mid, sizeof mid, &mid_len, NULL),
             TRENT_RESULT_OK);
    CHECK(mid_len == 64 && mid[64] == '\0');
    trent_key_metadata *meta = NULL;
    CHECK_RC(trent_kms_describe_key(g_kms, g_caller, S(id), &meta, NULL), TRENT_RESULT_OK);
    CHECK(str_eq(trent_key_metadata_current_key_material_id(meta), mid));
    trent_key_metadata_free(meta);
    CHECK_RC(trent_kms_ciphertext_key_material_id(g_kms, blob, blob_len, mid, 8, &need, NULL),
             TRENT_RESULT_VALIDATION_EXCEPTION);
    CHECK(need == 64);
    CHECK_RC(trent_kms_ciphertext_key_material_id(g_kms, plain, plain_len, mid, sizeof mid, &need, NULL),
             TRENT_RESULT_INVALID_CIPHERTEXT_EXCEPTION);
}

static void test_null_tolerant_functions(void) {
    CHECK(trent_buffer_data(NULL) == NULL);
    CHECK(trent_buffer_len(NULL) == 0);
    CHECK(trent_secret_data(NULL) == NULL);
    CHECK(trent_secret_len(NULL) == 0);
    CHECK(trent_data_keys_len(NULL) == 0);
    CHECK(trent_error_code(NULL) == TRENT_RESULT_NULL_PARAMETER);
    CHECK(strcmp(trent_error_message(NULL), "") == 0);
    CHECK(!trent_kms_memory_is_locked(NULL));
    trent_buffer_free(NULL);
    trent_secret_free(NULL);
    trent_error_free(NULL);
    trent_kms_free(NULL);
    trent_caller_free(NULL);
    trent_kms_builder_free(NULL);
    trent_data_keys_free(NULL);
    CHECK_RC(trent_kms_open_in_memory(NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_new(NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_open(NULL, NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_data_dir(NULL, S("x"), NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_allow_unlocked_memory(NULL, true, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_locked_memory_budget(NULL, 1, NULL), TRENT_RESULT_NULL_PARAMETER);
    trent_kms_builder *b = NULL;
    trent_kms *kms = NULL;
    CHECK_RC(trent_kms_builder_new(&b), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_open(b, NULL, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_sqlite(b, NULL, 1, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_root_key(b, NULL, 32, NULL), TRENT_RESULT_NULL_PARAMETER);
    CHECK_RC(trent_kms_builder_region(b, S("not a region!"), NULL), TRENT_RESULT_OK);
    trent_error *err = NULL;
    CHECK_RC(trent_kms_builder_open(b, &kms, &err), TRENT_RESULT_OPEN_CONFIG);
    CHECK(kms == NULL);
    CHECK(strncmp(trent_error_message(err), "OpenConfig: ", 12) == 0);
    trent_error_free(err);
    trent_kms_builder_free(b);
}

int main(void) {
    trent_kms *kms = open_engine(NULL);
    trent_caller *caller = NULL;
    CHECK_RC(trent_caller_root(kms, &caller), TRENT_RESULT_OK);
    if (kms == NULL || caller == NULL) {
        return check_summary("test_trent");
    }
    g_kms = kms;
    g_caller = caller;

    test_results_and_version();
    test_open();
    test_callers();
    with_key(test_encrypt_decrypt);
    with_key(test_data_keys);
    with_key(test_lifecycle);
    with_key(test_call_json);
    test_aliases_and_maintenance();
    with_key(test_batches_and_root_key);
    test_metadata_lists_and_tags();
    test_re_encrypt_batch_and_export();
    with_key(test_envelope);
    with_key(test_encrypt_into);
    with_key(test_into_forms);
    test_null_tolerant_functions();

    trent_caller_free(caller);
    trent_kms_free(kms);
    return check_summary("test_trent");
}
