"""The cffi declarations of `trent._native`, read from `trent.h` (used by setup.py at build time).

The header's own text, through the C preprocessor (`cc -E -P`, C99, its `#include` lines
removed), is the cdef: every type, enum value and function of `trent.h` is declared exactly as
the header declares it, and cffi's API mode compiles the module against the real header, so a
mismatch fails the build. `GLUE` adds a few C helpers of this binding's own (compiled into the
same module, not part of the C ABI).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

# C helpers compiled into the extension (not part of the C ABI):
#  - a per-thread error slot, so a failed call's `trent_error` detail is kept without
#    allocating an out-parameter on every call (the Python thread that made the call takes it
#    straight after; Python threads are OS threads);
#  - the hot paths (Encrypt, Decrypt, GenerateDataKey) returning pointer, length and handle in
#    one struct, so Python makes one foreign call instead of four;
#  - a wipe of a buffer the compiler may not elide (explicit_bzero).
GLUE_CDEF = """
typedef struct tp_out { uint32_t rc; const char *data; size_t len; void *handle; } tp_out;
typedef struct tp_out2 {
    uint32_t rc; const char *data; size_t len; void *handle; const char *data2; size_t len2; void *handle2;
} tp_out2;
#define TP_ELSEWHERE 4294967295
uint32_t tp_encrypt_into(const trent_kms *kms, const trent_caller *caller, const char *key_id, size_t key_id_len,
                         const char *plaintext, size_t plaintext_len, const char *ctx, size_t ctx_len,
                         size_t ctx_n, char *dst, size_t cap);
uint32_t tp_decrypt_into(const trent_kms *kms, const trent_caller *caller, const char *ciphertext,
                         size_t ciphertext_len, const char *ctx, size_t ctx_len, size_t ctx_n,
                         const char *key_id, size_t key_id_len, char *dst, size_t cap);
typedef struct tp_session { const trent_kms *kms; const trent_caller *caller; } tp_session;
uint32_t tp_encrypt0(const tp_session *s, const char *key_id, const char *plaintext, size_t plaintext_len,
                     char *dst, size_t cap);
uint32_t tp_decrypt0(const tp_session *s, const char *ciphertext, size_t ciphertext_len, char *dst, size_t cap);
uint32_t tp_encrypt_ctx0(const tp_session *s, const char *key_id, const char *plaintext, size_t plaintext_len,
                         const char *ctx, size_t ctx_len, size_t ctx_n, char *dst, size_t cap);
uint32_t tp_decrypt_ctx0(const tp_session *s, const char *ciphertext, size_t ciphertext_len, const char *ctx,
                         size_t ctx_len, size_t ctx_n, char *dst, size_t cap);
uint32_t tp_generate_data_key0(const tp_session *s, const char *key_id, uint32_t number_of_bytes, const char *ctx,
                               size_t ctx_len, size_t ctx_n, char *plaintext_dst, size_t plaintext_cap,
                               char *blob_dst, size_t blob_cap);
uint32_t tp_data_keys_into(const trent_kms *kms, const trent_caller *caller, const char *key_id, size_t key_id_len,
                           uint32_t number_of_bytes, const trent_context_entry *context, size_t context_len,
                           size_t count, uint8_t *plaintexts, size_t plaintexts_cap, uint8_t *blobs,
                           size_t blobs_cap, size_t *ends, size_t *totals);
tp_out tp_call_json(const trent_kms *kms, const trent_caller *caller, const char *operation,
                    size_t operation_len, const char *request, size_t request_len);
void tp_batch_fill(trent_batch_item *items, const char *joined, size_t *lens, size_t n);
uint32_t tp_batch_results_total(const trent_batch_results *results, size_t n, size_t *total);
void tp_batch_results_copy(const trent_batch_results *results, size_t n, char *out, size_t *ends, uint32_t *codes);
trent_buffer *tp_take_buffer(void);
trent_secret *tp_take_secret(void);
trent_error **tp_err(void);
trent_error *tp_take_error(void);
tp_out tp_encrypt(const trent_kms *kms, const trent_caller *caller, const char *key_id, size_t key_id_len,
                  const char *plaintext, size_t plaintext_len, const char *ctx, size_t ctx_len, size_t ctx_n);
tp_out tp_decrypt(const trent_kms *kms, const trent_caller *caller, const char *ciphertext,
                  size_t ciphertext_len, const char *ctx, size_t ctx_len, size_t ctx_n,
                  const char *key_id, size_t key_id_len);
tp_out2 tp_generate_data_key(const trent_kms *kms, const trent_caller *caller, const char *key_id,
                             size_t key_id_len, uint32_t number_of_bytes, const char *ctx, size_t ctx_len,
                             size_t ctx_n);
void tp_wipe(char *p, size_t n);
"""

GLUE_SOURCE = r"""
#include "trent.h"

typedef struct tp_out { uint32_t rc; const char *data; size_t len; void *handle; } tp_out;
typedef struct tp_out2 {
    uint32_t rc; const char *data; size_t len; void *handle; const char *data2; size_t len2; void *handle2;
} tp_out2;

#define TP_ELSEWHERE 4294967295u

static __thread trent_error *tp_err_slot = NULL;
/* A result that did not have the size Python expected, waiting to be taken. */
static __thread trent_buffer *tp_buffer_slot = NULL;
static __thread trent_secret *tp_secret_slot = NULL;

static trent_buffer *tp_take_buffer(void) {
    trent_buffer *b = tp_buffer_slot;
    tp_buffer_slot = NULL;
    return b;
}

static trent_secret *tp_take_secret(void) {
    trent_secret *s = tp_secret_slot;
    tp_secret_slot = NULL;
    return s;
}

static trent_error **tp_err(void) {
    if (tp_err_slot != NULL) { /* a detail nobody took: never leak it */
        trent_error_free(tp_err_slot);
        tp_err_slot = NULL;
    }
    return &tp_err_slot;
}

static trent_error *tp_take_error(void) {
    trent_error *e = tp_err_slot;
    tp_err_slot = NULL;
    return e;
}

/* An encryption context packed by Python as "k1\0v1\0k2\0v2" (ctx_n pairs; Python has
 * checked that the text holds exactly 2 * ctx_n - 1 NULs) into `out` (ctx_n entries). */
static void tp_ctx_unpack(const char *ctx, size_t ctx_len, size_t ctx_n, trent_context_entry *out) {
    const char *p = ctx, *end = ctx + ctx_len;
    for (size_t i = 0; i < ctx_n; i++) {
        const char *z = memchr(p, 0, (size_t)(end - p));
        out[i].key = p;
        out[i].key_len = z ? (size_t)(z - p) : (size_t)(end - p);
        p = z ? z + 1 : end;
        z = memchr(p, 0, (size_t)(end - p));
        out[i].value = p;
        out[i].value_len = z ? (size_t)(z - p) : (size_t)(end - p);
        p = z ? z + 1 : end;
    }
}

#define TP_MAX_CTX 64
/* Declares `entries` and unpacks the context into it; too many pairs: r.rc is set and
 * `ret` returned. */
#define TP_CTX_OR(ctx, ctx_len, ctx_n, entries, ret)                                \
    trent_context_entry entries[TP_MAX_CTX];                                        \
    if ((ctx_n) > TP_MAX_CTX) { r.rc = TRENT_RESULT_INVALID_ARGUMENT; return ret; } \
    tp_ctx_unpack((ctx), (ctx_len), (ctx_n), entries);
#define TP_CTX(ctx, ctx_len, ctx_n, entries) TP_CTX_OR(ctx, ctx_len, ctx_n, entries, r)

static tp_out tp_encrypt(const trent_kms *kms, const trent_caller *caller, const char *key_id,
                         size_t key_id_len, const char *plaintext, size_t plaintext_len,
                         const char *ctx, size_t ctx_len, size_t context_len) {
    tp_out r = {0, NULL, 0, NULL};
    trent_buffer *b = NULL;
    TP_CTX(ctx, ctx_len, context_len, context)
    r.rc = trent_kms_encrypt(kms, caller, key_id, key_id_len, (const uint8_t *)plaintext, plaintext_len, context,
                             context_len, &b, tp_err());
    if (r.rc == 0) {
        r.data = (const char *)trent_buffer_data(b);
        r.len = trent_buffer_len(b);
        r.handle = b;
    }
    return r;
}

static tp_out tp_decrypt(const trent_kms *kms, const trent_caller *caller, const char *ciphertext,
                         size_t ciphertext_len, const char *ctx, size_t ctx_len, size_t context_len,
                         const char *key_id, size_t key_id_len) {
    tp_out r = {0, NULL, 0, NULL};
    trent_secret *s = NULL;
    TP_CTX(ctx, ctx_len, context_len, context)
    r.rc = trent_kms_decrypt(kms, caller, (const uint8_t *)ciphertext, ciphertext_len, context, context_len, key_id,
                             key_id_len, &s, tp_err());
    if (r.rc == 0) {
        r.data = (const char *)trent_secret_data(s);
        r.len = trent_secret_len(s);
        r.handle = s;
    }
    return r;
}

static tp_out2 tp_generate_data_key(const trent_kms *kms, const trent_caller *caller, const char *key_id,
                                    size_t key_id_len, uint32_t number_of_bytes, const char *ctx,
                                    size_t ctx_len, size_t context_len) {
    tp_out2 r = {0, NULL, 0, NULL, NULL, 0, NULL};
    trent_secret *s = NULL;
    trent_buffer *b = NULL;
    TP_CTX(ctx, ctx_len, context_len, context)
    r.rc = trent_kms_generate_data_key(kms, caller, key_id, key_id_len, number_of_bytes, context,
                                       context_len, &s, &b, tp_err());
    if (r.rc == 0) {
        r.data = (const char *)trent_secret_data(s);
        r.len = trent_secret_len(s);
        r.handle = s;
        r.data2 = (const char *)trent_buffer_data(b);
        r.len2 = trent_buffer_len(b);
        r.handle2 = b;
    }
    return r;
}

/* Encrypt into `dst` (`cap` bytes, the size Python expects the blob to have): sealed there
 * directly (trent_kms_encrypt_into) when `cap` is the blob's size; otherwise the blob is made
 * by trent_kms_encrypt and, if it has exactly that size, copied there and freed (OK), else
 * TP_ELSEWHERE is returned and the blob left for tp_take_buffer. Errors return their code. */
static uint32_t tp_encrypt_into(const trent_kms *kms, const trent_caller *caller, const char *key_id,
                                size_t key_id_len, const char *plaintext, size_t plaintext_len,
                                const char *ctx, size_t ctx_len, size_t context_len, char *dst,
                                size_t cap) {
    struct { uint32_t rc; } r = {0};
    trent_buffer *b = NULL;
    TP_CTX_OR(ctx, ctx_len, context_len, context, r.rc)
    if (cap == trent_ciphertext_len(plaintext_len)) {
        /* The usual case: the blob is sealed straight into `dst`. */
        size_t len = 0;
        return trent_kms_encrypt_into(kms, caller, key_id, key_id_len, (const uint8_t *)plaintext, plaintext_len,
                                      context, context_len, (uint8_t *)dst, cap, &len, tp_err());
    }
    r.rc = trent_kms_encrypt(kms, caller, key_id, key_id_len, (const uint8_t *)plaintext, plaintext_len,
                             context, context_len, &b, tp_err());
    if (r.rc != 0) return r.rc;
    if (trent_buffer_len(b) != cap) {
        trent_buffer_free(tp_buffer_slot);
        tp_buffer_slot = b;
        return TP_ELSEWHERE;
    }
    memcpy(dst, trent_buffer_data(b), cap);
    trent_buffer_free(b);
    return 0;
}

/* Decrypt into `dst` likewise (the secret is zeroed and freed once copied; a plaintext of
 * another size is left for tp_take_secret). */
static uint32_t tp_decrypt_into(const trent_kms *kms, const trent_caller *caller, const char *ciphertext,
                                size_t ciphertext_len, const char *ctx, size_t ctx_len, size_t context_len,
                                const char *key_id, size_t key_id_len, char *dst, size_t cap) {
    struct { uint32_t rc; } r = {0};
    trent_secret *s = NULL;
    TP_CTX_OR(ctx, ctx_len, context_len, context, r.rc)
    r.rc = trent_kms_decrypt(kms, caller, (const uint8_t *)ciphertext, ciphertext_len, context, context_len,
                             key_id, key_id_len, &s, tp_err());
    if (r.rc != 0) return r.rc;
    if (trent_secret_len(s) != cap) {
        trent_secret_free(tp_secret_slot);
        tp_secret_slot = s;
        return TP_ELSEWHERE;
    }
    memcpy(dst, trent_secret_data(s), cap);
    trent_secret_free(s);
    return 0;
}

/* The fewest-argument forms of the hottest calls (each argument costs the Python side a
 * conversion): the engine and caller in one struct. `dst` has `cap` bytes, the size Python
 * expects the result to have; nothing is ever written past it (a result of another size is
 * left in the thread's slot, see tp_encrypt_into). */
typedef struct tp_session { const trent_kms *kms; const trent_caller *caller; } tp_session;

/* `key_id` is NUL-terminated here (Python passes the bytes of a key id it checked holds no
 * NUL; CPython's bytes always end with one). */
static uint32_t tp_encrypt0(const tp_session *s, const char *key_id, const char *plaintext, size_t plaintext_len,
                            char *dst, size_t cap) {
    return tp_encrypt_into(s->kms, s->caller, key_id, strlen(key_id), plaintext, plaintext_len, NULL, 0, 0, dst,
                           cap);
}

static uint32_t tp_decrypt0(const tp_session *s, const char *ciphertext, size_t ciphertext_len, char *dst,
                            size_t cap) {
    return tp_decrypt_into(s->kms, s->caller, ciphertext, ciphertext_len, NULL, 0, 0, NULL, 0, dst, cap);
}

/* The same with a packed encryption context ("k1\0v1\0…", ctx_n pairs). */
static uint32_t tp_encrypt_ctx0(const tp_session *s, const char *key_id, const char *plaintext,
                                size_t plaintext_len, const char *ctx, size_t ctx_len, size_t ctx_n, char *dst,
                                size_t cap) {
    return tp_encrypt_into(s->kms, s->caller, key_id, strlen(key_id), plaintext, plaintext_len, ctx, ctx_len,
                           ctx_n, dst, cap);
}

static uint32_t tp_decrypt_ctx0(const tp_session *s, const char *ciphertext, size_t ciphertext_len,
                                const char *ctx, size_t ctx_len, size_t ctx_n, char *dst, size_t cap) {
    return tp_decrypt_into(s->kms, s->caller, ciphertext, ciphertext_len, ctx, ctx_len, ctx_n, NULL, 0, dst, cap);
}

/* GenerateDataKey into two Python-made buffers: the plaintext (`plaintext_cap` bytes) and the
 * blob (`blob_cap` bytes); sizes that differ leave the secret and the blob for tp_take_secret
 * and tp_take_buffer and return TP_ELSEWHERE. `key_id` is NUL-terminated. */
static uint32_t tp_generate_data_key0(const tp_session *s, const char *key_id, uint32_t number_of_bytes,
                                      const char *ctx, size_t ctx_len, size_t context_len, char *plaintext_dst,
                                      size_t plaintext_cap, char *blob_dst, size_t blob_cap) {
    struct { uint32_t rc; } r = {0};
    trent_secret *p = NULL;
    trent_buffer *b = NULL;
    TP_CTX_OR(ctx, ctx_len, context_len, context, r.rc)
    r.rc = trent_kms_generate_data_key(s->kms, s->caller, key_id, strlen(key_id), number_of_bytes, context,
                                       context_len, &p, &b, tp_err());
    if (r.rc != 0) return r.rc;
    if (trent_secret_len(p) != plaintext_cap || trent_buffer_len(b) != blob_cap) {
        trent_secret_free(tp_secret_slot);
        trent_buffer_free(tp_buffer_slot);
        tp_secret_slot = p;
        tp_buffer_slot = b;
        return TP_ELSEWHERE;
    }
    memcpy(plaintext_dst, trent_secret_data(p), plaintext_cap);
    memcpy(blob_dst, trent_buffer_data(b), blob_cap);
    trent_secret_free(p);
    trent_buffer_free(b);
    return 0;
}

/* Batch items without contexts: item i is the next lens[i] bytes of `joined`. */
static void tp_batch_fill(trent_batch_item *items, const char *joined, size_t *lens, size_t n) {
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        items[i].data = (const uint8_t *)joined + at;
        items[i].data_len = lens[i];
        at += lens[i];
        items[i].context = NULL;
        items[i].context_len = 0;
    }
}

/* The total size of a batch's successful results. */
static uint32_t tp_batch_results_total(const trent_batch_results *results, size_t n, size_t *total) {
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *d = NULL;
        size_t len = 0;
        if (trent_batch_results_get(results, i, &d, &len, NULL) == 0) sum += len;
    }
    *total = sum;
    return 0;
}

/* Every successful result back to back into `out` (sized by tp_batch_results_total), the
 * end offset of each item in ends[i] (a failed item is empty) and its code in codes[i]. */
static void tp_batch_results_copy(const trent_batch_results *results, size_t n, char *out, size_t *ends,
                                  uint32_t *codes) {
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *d = NULL;
        size_t len = 0;
        codes[i] = trent_batch_results_get(results, i, &d, &len, NULL);
        if (codes[i] == 0) {
            memcpy(out + at, d, len);
            at += len;
        }
        ends[i] = at;
    }
}

/* GenerateDataKeys and the export of the whole batch in one call, so a Python thread runs a
 * batch without taking the GIL in between: the plaintexts go to `plaintexts` and the blobs to
 * `blobs` (back to back, each blob's end offset in `ends`), their total sizes to totals[0] and
 * totals[1]. TRENT_RESULT_INVALID_ARGUMENT if they do not fit the capacities. */
static uint32_t tp_data_keys_into(const trent_kms *kms, const trent_caller *caller, const char *key_id,
                                  size_t key_id_len, uint32_t number_of_bytes,
                                  const trent_context_entry *context, size_t context_len, size_t count,
                                  uint8_t *plaintexts, size_t plaintexts_cap, uint8_t *blobs,
                                  size_t blobs_cap, size_t *ends, size_t *totals) {
    trent_data_keys *dk = NULL;
    size_t pt = 0, ct = 0;
    uint32_t rc = trent_kms_generate_data_keys(kms, caller, key_id, key_id_len, number_of_bytes, context,
                                               context_len, count, &dk, tp_err());
    if (rc != 0) return rc;
    if (trent_data_keys_len(dk) != count) {
        rc = TRENT_RESULT_KMS_INTERNAL_EXCEPTION;
    } else {
        rc = trent_data_keys_total_len(dk, &pt, &ct, tp_err());
    }
    if (rc == 0) {
        if (pt > plaintexts_cap || ct > blobs_cap) {
            rc = TRENT_RESULT_INVALID_ARGUMENT;
        } else {
            rc = trent_data_keys_export(dk, plaintexts, pt, blobs, ct, ends, count, tp_err());
        }
    }
    trent_data_keys_free(dk);
    totals[0] = pt;
    totals[1] = ct;
    return rc;
}

/* trent_kms_call_json with the response's pointer, length and handle in one struct. */
static tp_out tp_call_json(const trent_kms *kms, const trent_caller *caller, const char *operation,
                           size_t operation_len, const char *request, size_t request_len) {
    tp_out r = {0, NULL, 0, NULL};
    trent_buffer *b = NULL;
    r.rc = trent_kms_call_json(kms, caller, operation, operation_len, (const uint8_t *)request, request_len, &b,
                               tp_err());
    if (r.rc == 0) {
        r.data = (const char *)trent_buffer_data(b);
        r.len = trent_buffer_len(b);
        r.handle = b;
    }
    return r;
}

static void tp_wipe(char *p, size_t n) { explicit_bzero(p, n); }
"""


def header_declarations(header: Path, cc: str | None = None) -> str:
    """The declarations of `header` as cffi reads them: preprocessed as C99, includes removed."""
    text = Path(header).read_text()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#include"))
    cc_cmd = shlex.split(cc or os.environ.get("CC", "cc"))
    out = subprocess.run(
        cc_cmd + ["-E", "-P", "-std=c99", "-x", "c", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out


def function_names(declarations: str) -> list[str]:
    """The `trent_*` function names declared in preprocessed header text."""
    return sorted(set(re.findall(r"\b(trent_[a-z0-9_]+)\s*\(", declarations)))


def make_ffi(header: Path):
    import cffi

    ffibuilder = cffi.FFI()
    ffibuilder.cdef(header_declarations(header))
    ffibuilder.cdef(GLUE_CDEF)
    ffibuilder.set_source("trent._native", "#include <string.h>\n" + GLUE_SOURCE)
    return ffibuilder
