/* The C tests' fixture: an engine (in memory, or on a data directory) that may fall back to
 * unlocked memory (sanitizers and valgrind runs may lack the locked-memory budget), its root
 * caller and a key. Every step is a CHECK. */
#ifndef TRENT_FIXTURE_H
#define TRENT_FIXTURE_H

#include <stdbool.h>
#include <string.h>

#include "trent.h"
#include "check.h"

/* A NUL-terminated string as the (pointer, length) pair the ABI takes. */
#define S(text) (text), strlen(text)

/* Opens an engine: in memory when `data_dir` is NULL. NULL when it cannot. */
static inline trent_kms *open_engine(const char *data_dir) {
    trent_kms_builder *b = NULL;
    trent_kms *kms = NULL;
    CHECK_RC(trent_kms_builder_new(&b), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_builder_allow_unlocked_memory(b, true, NULL), TRENT_RESULT_OK);
    if (data_dir != NULL) {
        CHECK_RC(trent_kms_builder_data_dir(b, S(data_dir), NULL), TRENT_RESULT_OK);
    }
    CHECK_RC(trent_kms_builder_open(b, &kms, NULL), TRENT_RESULT_OK);
    trent_kms_builder_free(b);
    return kms;
}

/* What a test's threads share: an engine, its root caller and a key. */
struct fixture {
    trent_kms *kms;
    trent_caller *caller;
    trent_buffer *key;
    const char *key_id; /* the key's id, NUL-terminated */
};

/* Opens the engine (see open_engine), its root caller and a key with `description`; false
 * when any of them failed. */
static inline bool fixture_open(struct fixture *f, const char *data_dir, const char *description) {
    *f = (struct fixture){NULL, NULL, NULL, NULL};
    f->kms = open_engine(data_dir);
    CHECK_RC(trent_caller_root(f->kms, &f->caller), TRENT_RESULT_OK);
    CHECK_RC(trent_kms_create_key(f->kms, f->caller, S(description), &f->key, NULL), TRENT_RESULT_OK);
    if (f->key == NULL) {
        return false;
    }
    f->key_id = (const char *)trent_buffer_data(f->key);
    return true;
}

static inline void fixture_close(struct fixture *f) {
    trent_buffer_free(f->key);
    trent_caller_free(f->caller);
    trent_kms_free(f->kms);
}

#endif /* TRENT_FIXTURE_H */
