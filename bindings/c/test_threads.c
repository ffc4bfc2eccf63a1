/* 8 threads encrypt and decrypt on one shared trent_kms handle (and one shared caller):
 * every call must succeed and every round trip give back its plaintext. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define THREADS 8
#define ROUNDS 200

struct worker {
    const struct fixture *shared;
    int index;
    int errors;
};

static void *run(void *arg) {
    struct worker *w = arg;
    const struct fixture *s = w->shared;
    char value[32];
    snprintf(value, sizeof value, "thread-%d", w->index);
    trent_context_entry ctx[1] = {{"thread", 6, value, strlen(value)}};
    for (int round = 0; round < ROUNDS; round++) {
        uint8_t msg[64];
        size_t len = (size_t)(1 + (round + w->index) % 64);
        for (size_t i = 0; i < len; i++) {
            msg[i] = (uint8_t)(w->index * 31 + round + i);
        }
        trent_buffer *blob = NULL;
        trent_error *err = NULL;
        if (trent_kms_encrypt(s->kms, s->caller, s->key_id, strlen(s->key_id), msg, len, ctx, 1, &blob, &err) !=
            TRENT_RESULT_OK) {
            fprintf(stderr, "thread %d: encrypt: %s\n", w->index, trent_error_message(err));
            trent_error_free(err);
            w->errors++;
            continue;
        }
        trent_secret *pt = NULL;
        if (trent_kms_decrypt(s->kms, s->caller, trent_buffer_data(blob), trent_buffer_len(blob), ctx, 1, NULL, 0,
                              &pt, &err) != TRENT_RESULT_OK) {
            fprintf(stderr, "thread %d: decrypt: %s\n", w->index, trent_error_message(err));
            trent_error_free(err);
            w->errors++;
        } else if (trent_secret_len(pt) != len || memcmp(trent_secret_data(pt), msg, len) != 0) {
            fprintf(stderr, "thread %d: round trip mismatch\n", w->index);
            w->errors++;
        }
        trent_secret_free(pt);
        trent_buffer_free(blob);
        /* A data key now and then, too. */
        if (round % 25 == 0) {
            trent_secret *dk = NULL;
            trent_buffer *wrapped = NULL;
            if (trent_kms_generate_data_key(s->kms, s->caller, s->key_id, strlen(s->key_id), 0, ctx, 1, &dk, &wrapped,
                                            NULL) != TRENT_RESULT_OK) {
                w->errors++;
            }
            trent_secret_free(dk);
            trent_buffer_free(wrapped);
        }
    }
    return NULL;
}

int main(void) {
    struct fixture shared;
    if (!fixture_open(&shared, NULL, "threads")) {
        return check_summary("test_threads");
    }

    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i].shared = &shared;
        workers[i].index = i;
        workers[i].errors = 0;
        CHECK(pthread_create(&threads[i], NULL, run, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(workers[i].errors == 0);
    }

    fixture_close(&shared);
    return check_summary("test_threads");
}
