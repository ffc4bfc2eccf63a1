/* fork(): an engine belongs to the process that opened it.
 *
 * Four threads encrypt on one engine (a SQLite data directory) while the main thread forks.
 * Each child finds every call on the inherited engine refused with
 * TRENT_RESULT_KMS_INTERNAL_EXCEPTION (a detail saying to open a new engine), frees the
 * inherited handle (which must neither hang nor disturb the parent), opens its own engine on
 * the same directory and sends the parent a blob encrypted under the same key. The parent
 * checks that no (salt, counter) pair of any blob, its own or a child's, repeats, and that
 * its engine still works.
 *
 * Under AddressSanitizer the workers pause while the main thread forks: GCC 12's ASan
 * allocator takes a lock of its own that it does not hand over across fork(), so a child of a
 * process whose other threads allocate can wait for it forever (an ASan limitation, not
 * Trent's; the plain and valgrind builds fork under full concurrency). */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#define QUIESCE 1
#else
#define QUIESCE 0
#endif
/* Writer-preferring, so the forking thread is not starved by the workers. */
static pthread_rwlock_t quiesce;
#define THREADS 4
#ifndef FORKS
#define FORKS 100
#endif
#define PER_THREAD 200000
/* Blob header: format, kind, key id (16), version (4), salt (16), counter (8). */
#define NONCE_AT 22
#define NONCE_LEN 24

/* Set when the workers are to stop. */
static volatile int stop;

struct worker {
    const struct fixture *shared;
    uint8_t (*nonces)[NONCE_LEN];
    size_t count;
    int errors;
};

static void *run(void *arg) {
    struct worker *w = arg;
    const struct fixture *s = w->shared;
    while (!stop) {
        if (QUIESCE) {
            pthread_rwlock_rdlock(&quiesce);
        }
        trent_buffer *blob = NULL;
        if (trent_kms_encrypt(s->kms, s->caller, S(s->key_id), (const uint8_t *)"parent", 6, NULL, 0, &blob, NULL) !=
            TRENT_RESULT_OK) {
            w->errors++;
        } else if (w->count < PER_THREAD) { /* beyond that the thread goes on, unrecorded */
            memcpy(w->nonces[w->count++], trent_buffer_data(blob) + NONCE_AT, NONCE_LEN);
        }
        trent_buffer_free(blob);
        if (QUIESCE) {
            pthread_rwlock_unlock(&quiesce);
        }
    }
    return NULL;
}

/* The child: returns its exit code (0, or the number of the check that failed). */
static int child(trent_kms *inherited, const trent_caller *caller, const char *dir, const char *key_id, int out) {
    trent_buffer *blob = NULL;
    trent_error *err = NULL;
    if (trent_kms_encrypt(inherited, caller, S(key_id), (const uint8_t *)"child", 5, NULL, 0, &blob, &err) !=
        TRENT_RESULT_KMS_INTERNAL_EXCEPTION) {
        return 10;
    }
    if (strstr(trent_error_message(err), "Open a new engine in the child") == NULL) {
        return 11;
    }
    trent_error_free(err);
    trent_buffer *id = NULL;
    if (trent_kms_create_key(inherited, caller, S("child"), &id, NULL) != TRENT_RESULT_KMS_INTERNAL_EXCEPTION) {
        return 12;
    }
    trent_kms_free(inherited); /* the last reference here: must not touch the parent's */
    trent_kms *own = open_engine(dir);
    if (own == NULL) {
        return 13;
    }
    trent_caller *me = NULL;
    if (trent_caller_root(own, &me) != TRENT_RESULT_OK ||
        trent_kms_encrypt(own, me, S(key_id), (const uint8_t *)"child", 5, NULL, 0, &blob, NULL) != TRENT_RESULT_OK) {
        return 14;
    }
    if (write(out, trent_buffer_data(blob) + NONCE_AT, NONCE_LEN) != NONCE_LEN) {
        return 15;
    }
    return 0;
}

static int cmp_nonce(const void *a, const void *b) { return memcmp(a, b, NONCE_LEN); }

int main(void) {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&quiesce, &attr);
    char dir[] = "/tmp/trent-c-fork-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char data[64];
    snprintf(data, sizeof data, "%s/data", dir);
    struct fixture shared;
    if (!fixture_open(&shared, data, "fork")) {
        return check_summary("test_fork");
    }

    struct worker workers[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){&shared, calloc(PER_THREAD, NONCE_LEN), 0, 0};
        pthread_create(&threads[i], NULL, run, &workers[i]);
    }

    uint8_t(*children)[NONCE_LEN] = calloc(FORKS, NONCE_LEN);
    int children_ok = 0;
    for (int n = 0; n < FORKS; n++) {
        struct timespec pause = {0, (long)(rand() % 2000) * 1000L};
        nanosleep(&pause, NULL);
        int fds[2];
        CHECK(pipe(fds) == 0);
        if (QUIESCE) {
            pthread_rwlock_wrlock(&quiesce);
        }
        pid_t pid = fork();
        if (QUIESCE && pid != 0) {
            pthread_rwlock_unlock(&quiesce);
        }
        if (pid == 0) {
            close(fds[0]);
            _exit(child(shared.kms, shared.caller, data, shared.key_id, fds[1]));
        }
        close(fds[1]);
        ssize_t got = read(fds[0], children[children_ok], NONCE_LEN);
        close(fds[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            fprintf(stderr, "fork %d: the child failed check %d\n", n, WEXITSTATUS(status));
        }
        CHECK(got == NONCE_LEN);
        if (got == NONCE_LEN) {
            children_ok++;
        }
    }
    stop = 1;

    size_t total = (size_t)children_ok;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].errors == 0);
        total += workers[i].count;
    }
    uint8_t(*all)[NONCE_LEN] = calloc(total, NONCE_LEN);
    size_t at = 0;
    for (int i = 0; i < THREADS; i++) {
        memcpy(all[at], workers[i].nonces, workers[i].count * NONCE_LEN);
        at += workers[i].count;
        free(workers[i].nonces);
    }
    memcpy(all[at], children, (size_t)children_ok * NONCE_LEN);
    qsort(all, total, NONCE_LEN, cmp_nonce);
    size_t repeats = 0;
    for (size_t i = 1; i < total; i++) {
        repeats += memcmp(all[i - 1], all[i], NONCE_LEN) == 0;
    }
    CHECK(repeats == 0);
    printf("test_fork: %d forks, %zu blobs, %zu repeated (salt, counter) pairs\n", FORKS, total, repeats);
    free(all);
    free(children);

    /* The parent's engine still works, keystore included. */
    trent_buffer *again = NULL;
    CHECK_RC(trent_kms_create_key(shared.kms, shared.caller, S("after the children"), &again, NULL), TRENT_RESULT_OK);
    trent_buffer_free(again);
    fixture_close(&shared);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_summary("test_fork");
}
