/* The C ABI's figures from C: ns per call of Encrypt 4 KiB, Decrypt 4 KiB and
 * GenerateDataKey (AES_256) on one engine, single-threaded.
 *
 *   bench [ITERATIONS]      (default 20000)
 *
 * Build against the release library for meaningful numbers:
 *   cargo build -p trent-ffi --release
 *   gcc -O2 -std=c99 -I ffi/include bindings/c/bench.c target/release/libtrent_ffi.a \
 *       -lpthread -ldl -lm -lrt -lutil -o bench
 * The Rust side of the comparison (the same calls on the engine directly) is
 * `cargo bench -p trent-ffi --bench abi`. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trent.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int check(trent_result rc, const char *what) {
    if (rc != TRENT_RESULT_OK) {
        fprintf(stderr, "bench: %s failed: %s\n", what, trent_result_name(rc));
        return 1;
    }
    return 0;
}

/* What every measured call uses. */
struct bench {
    const trent_kms *kms;
    const trent_caller *me;
    const char *key_id;
    size_t key_len;
    const uint8_t *plaintext;
    size_t plaintext_len;
    const trent_buffer *blob; /* the plaintext, encrypted */
};

static trent_result op_encrypt(const struct bench *b) {
    trent_buffer *out = NULL;
    trent_result rc =
        trent_kms_encrypt(b->kms, b->me, b->key_id, b->key_len, b->plaintext, b->plaintext_len, NULL, 0, &out, NULL);
    trent_buffer_free(out);
    return rc;
}

static trent_result op_decrypt(const struct bench *b) {
    trent_secret *pt = NULL;
    trent_result rc = trent_kms_decrypt(b->kms, b->me, trent_buffer_data(b->blob), trent_buffer_len(b->blob), NULL, 0,
                                        NULL, 0, &pt, NULL);
    trent_secret_free(pt);
    return rc;
}

static trent_result op_generate_data_key(const struct bench *b) {
    trent_secret *dk = NULL;
    trent_buffer *wrapped = NULL;
    trent_result rc =
        trent_kms_generate_data_key(b->kms, b->me, b->key_id, b->key_len, 0, NULL, 0, &dk, &wrapped, NULL);
    trent_secret_free(dk);
    trent_buffer_free(wrapped);
    return rc;
}

/* Mean ns per call of `op` over `iterations` calls, or a negative number when a call failed
 * (after printing which). */
static double per_call_ns(trent_result (*op)(const struct bench *), const char *what, const struct bench *b,
                          long iterations) {
    double t0 = now_ns();
    for (long i = 0; i < iterations; i++) {
        if (check(op(b), what)) {
            return -1;
        }
    }
    return (now_ns() - t0) / (double)iterations;
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 20000;
    if (iterations <= 0) {
        iterations = 1;
    }
    trent_kms_builder *b = NULL;
    trent_kms *kms = NULL;
    trent_caller *me = NULL;
    trent_buffer *key = NULL;
    if (check(trent_kms_builder_new(&b), "builder")) return 1;
    trent_kms_builder_allow_unlocked_memory(b, true, NULL);
    if (check(trent_kms_builder_open(b, &kms, NULL), "open")) return 1;
    trent_kms_builder_free(b);
    if (check(trent_caller_root(kms, &me), "caller")) return 1;
    if (check(trent_kms_create_key(kms, me, NULL, 0, &key, NULL), "CreateKey")) return 1;

    static uint8_t plaintext[4096];
    memset(plaintext, 0x5a, sizeof plaintext);
    struct bench bench = {kms, me, (const char *)trent_buffer_data(key), trent_buffer_len(key), plaintext,
                          sizeof plaintext, NULL};
    trent_buffer *blob = NULL;
    if (check(trent_kms_encrypt(kms, me, bench.key_id, bench.key_len, plaintext, sizeof plaintext, NULL, 0, &blob,
                                NULL),
              "Encrypt")) return 1;
    bench.blob = blob;

    double encrypt_ns = per_call_ns(op_encrypt, "Encrypt", &bench, iterations);
    double decrypt_ns = per_call_ns(op_decrypt, "Decrypt", &bench, iterations);
    double gdk_ns = per_call_ns(op_generate_data_key, "GenerateDataKey", &bench, iterations);
    if (encrypt_ns < 0 || decrypt_ns < 0 || gdk_ns < 0) return 1;

    printf("libtrent %s, %ld iterations each, one thread\n", trent_version(), iterations);
    printf("Encrypt 4 KiB        %8.0f ns/call  %6.2f GiB/s\n", encrypt_ns,
           4096.0 / encrypt_ns * 1e9 / (1024.0 * 1024.0 * 1024.0));
    printf("Decrypt 4 KiB        %8.0f ns/call  %6.2f GiB/s\n", decrypt_ns,
           4096.0 / decrypt_ns * 1e9 / (1024.0 * 1024.0 * 1024.0));
    printf("GenerateDataKey      %8.0f ns/call\n", gdk_ns);

    trent_buffer_free(blob);
    trent_buffer_free(key);
    trent_caller_free(me);
    trent_kms_free(kms);
    return 0;
}
