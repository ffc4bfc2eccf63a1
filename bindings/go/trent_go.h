/* trent_go.h: the C side of the Go binding's cgo boundary (see cgo.go). Static inline
 * wrappers over trent.h that do in one crossing what would otherwise take several. */
#ifndef TRENT_GO_H
#define TRENT_GO_H
#include <stdlib.h>
#include <string.h>
#include "trent.h"

// Outputs of one wrapped call: the result's length(s), a handle that did not fit, the error.
typedef struct go_trent_out {
	size_t len;
	size_t len2;
	trent_buffer *spill_buf;
	trent_secret *spill_secret;
	trent_error *err;
} go_trent_out;

#define GO_TRENT_CTX_STACK 32

// Builds the entries of a packed context: lens holds 2*n lengths (key, value, …) of the
// strings laid end to end in buf. Uses stack (n <= GO_TRENT_CTX_STACK) or malloc.
static inline trent_context_entry *go_trent_ctx(trent_context_entry *stack, const char *buf, const size_t *lens, size_t n) {
	if (n == 0) {
		return NULL;
	}
	trent_context_entry *e = n <= GO_TRENT_CTX_STACK ? stack : (trent_context_entry *)malloc(n * sizeof *e);
	if (e == NULL) {
		return NULL;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		e[i].key = buf == NULL ? NULL : buf + off;
		e[i].key_len = lens[2 * i];
		off += lens[2 * i];
		e[i].value = buf == NULL ? NULL : buf + off;
		e[i].value_len = lens[2 * i + 1];
		off += lens[2 * i + 1];
	}
	return e;
}

static inline void go_trent_ctx_free(trent_context_entry *stack, trent_context_entry *e) {
	if (e != NULL && e != stack) {
		free(e);
	}
}

#define GO_TRENT_CTX(name, buf, lens, n)                                                      \
	trent_context_entry name##_stack[GO_TRENT_CTX_STACK];                                     \
	trent_context_entry *name = go_trent_ctx(name##_stack, (buf), (lens), (n));               \
	if ((n) > 0 && name == NULL) {                                                            \
		return TRENT_RESULT_PANIC;                                                            \
	}

static inline size_t go_trent_take_buffer(trent_buffer *b, uint8_t *out, size_t cap, trent_buffer **spill) {
	size_t n = trent_buffer_len(b);
	if (n <= cap) {
		if (n > 0) {
			memcpy(out, trent_buffer_data(b), n);
		}
		trent_buffer_free(b);
	} else {
		*spill = b;
	}
	return n;
}

static inline size_t go_trent_take_secret(trent_secret *s, uint8_t *out, size_t cap, trent_secret **spill) {
	size_t n = trent_secret_len(s);
	if (n <= cap) {
		if (n > 0) {
			memcpy(out, trent_secret_data(s), n);
		}
		trent_secret_free(s);
	} else {
		*spill = s;
	}
	return n;
}

static inline trent_result go_trent_encrypt(const trent_kms *kms, const trent_caller *caller,
		const char *key, size_t key_len, const uint8_t *pt, size_t pt_len,
		const char *ctx_buf, const size_t *ctx_lens, size_t ctx_n,
		uint8_t *out, size_t cap, go_trent_out *o) {
	GO_TRENT_CTX(ctx, ctx_buf, ctx_lens, ctx_n);
	trent_result rc;
	if (cap >= trent_ciphertext_len(pt_len)) {
		/* Room for the blob: sealed straight into `out`, no buffer to copy or free. */
		rc = trent_kms_encrypt_into(kms, caller, key, key_len, pt, pt_len, ctx, ctx_n, out, cap, &o->len, &o->err);
	} else {
		trent_buffer *b = NULL;
		rc = trent_kms_encrypt(kms, caller, key, key_len, pt, pt_len, ctx, ctx_n, &b, &o->err);
		if (rc == TRENT_RESULT_OK) {
			o->len = go_trent_take_buffer(b, out, cap, &o->spill_buf);
		}
	}
	go_trent_ctx_free(ctx_stack, ctx);
	return rc;
}

static inline trent_result go_trent_decrypt(const trent_kms *kms, const trent_caller *caller,
		const uint8_t *blob, size_t blob_len,
		const char *ctx_buf, const size_t *ctx_lens, size_t ctx_n,
		const char *key, size_t key_len,
		uint8_t *out, size_t cap, go_trent_out *o) {
	GO_TRENT_CTX(ctx, ctx_buf, ctx_lens, ctx_n);
	trent_secret *s = NULL;
	trent_result rc = trent_kms_decrypt(kms, caller, blob, blob_len, ctx, ctx_n, key, key_len, &s, &o->err);
	go_trent_ctx_free(ctx_stack, ctx);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_take_secret(s, out, cap, &o->spill_secret);
	}
	return rc;
}

static inline trent_result go_trent_re_encrypt(const trent_kms *kms, const trent_caller *caller,
		const uint8_t *blob, size_t blob_len,
		const char *sctx_buf, const size_t *sctx_lens, size_t sctx_n,
		const char *key, size_t key_len,
		const char *dctx_buf, const size_t *dctx_lens, size_t dctx_n,
		uint8_t *out, size_t cap, go_trent_out *o) {
	GO_TRENT_CTX(sctx, sctx_buf, sctx_lens, sctx_n);
	trent_context_entry dctx_stack[GO_TRENT_CTX_STACK];
	trent_context_entry *dctx = go_trent_ctx(dctx_stack, dctx_buf, dctx_lens, dctx_n);
	if (dctx_n > 0 && dctx == NULL) {
		go_trent_ctx_free(sctx_stack, sctx);
		return TRENT_RESULT_PANIC;
	}
	trent_buffer *b = NULL;
	trent_result rc = trent_kms_re_encrypt(kms, caller, blob, blob_len, sctx, sctx_n, key, key_len,
		dctx, dctx_n, &b, &o->err);
	go_trent_ctx_free(sctx_stack, sctx);
	go_trent_ctx_free(dctx_stack, dctx);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_take_buffer(b, out, cap, &o->spill_buf);
	}
	return rc;
}

static inline trent_result go_trent_generate_data_key(const trent_kms *kms, const trent_caller *caller,
		const char *key, size_t key_len, uint32_t nbytes,
		const char *ctx_buf, const size_t *ctx_lens, size_t ctx_n,
		uint8_t *pt_out, size_t pt_cap, uint8_t *ct_out, size_t ct_cap, go_trent_out *o) {
	GO_TRENT_CTX(ctx, ctx_buf, ctx_lens, ctx_n);
	trent_secret *s = NULL;
	trent_buffer *b = NULL;
	trent_result rc = trent_kms_generate_data_key(kms, caller, key, key_len, nbytes, ctx, ctx_n, &s, &b, &o->err);
	go_trent_ctx_free(ctx_stack, ctx);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_take_secret(s, pt_out, pt_cap, &o->spill_secret);
		o->len2 = go_trent_take_buffer(b, ct_out, ct_cap, &o->spill_buf);
	}
	return rc;
}

static inline trent_result go_trent_generate_data_key_without_plaintext(const trent_kms *kms, const trent_caller *caller,
		const char *key, size_t key_len, uint32_t nbytes,
		const char *ctx_buf, const size_t *ctx_lens, size_t ctx_n,
		uint8_t *ct_out, size_t ct_cap, go_trent_out *o) {
	GO_TRENT_CTX(ctx, ctx_buf, ctx_lens, ctx_n);
	trent_buffer *b = NULL;
	trent_result rc = trent_kms_generate_data_key_without_plaintext(kms, caller, key, key_len, nbytes, ctx, ctx_n, &b, &o->err);
	go_trent_ctx_free(ctx_stack, ctx);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_take_buffer(b, ct_out, ct_cap, &o->spill_buf);
	}
	return rc;
}

static inline trent_result go_trent_generate_random(const trent_kms *kms, const trent_caller *caller,
		uint32_t nbytes, uint8_t *out, size_t cap, go_trent_out *o) {
	trent_secret *s = NULL;
	trent_result rc = trent_kms_generate_random(kms, caller, nbytes, &s, &o->err);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_take_secret(s, out, cap, &o->spill_secret);
	}
	return rc;
}

// GenerateDataKeys and the copy-out in one crossing. When every item succeeded the library's
// trent_data_keys_export writes the plaintexts back to back into pt_out (pt_stride bytes
// each), the wrapped keys back to back into ct_out and their end offsets into ct_lens, and
// o->len2 is 1. Otherwise item by item: plaintext i at pt_out + i*pt_stride, wrapped key i at
// ct_out + i*ct_stride ending at ct_lens[i]; an item that failed or did not fit gets
// codes[i] != 0 (its code, or TRENT_RESULT_INDEX_OUT_OF_RANGE for "did not fit"), and the
// batch is handed back in *keep instead of freed.
static inline trent_result go_trent_generate_data_keys(const trent_kms *kms, const trent_caller *caller,
		const char *key, size_t key_len, uint32_t nbytes,
		const char *ctx_buf, const size_t *ctx_lens, size_t ctx_n, size_t count,
		uint8_t *pt_out, size_t pt_stride, uint8_t *ct_out, size_t ct_stride,
		size_t *pt_lens, size_t *ct_lens, uint32_t *codes, trent_data_keys **keep, go_trent_out *o) {
	GO_TRENT_CTX(ctx, ctx_buf, ctx_lens, ctx_n);
	trent_data_keys *dk = NULL;
	trent_result rc = trent_kms_generate_data_keys(kms, caller, key, key_len, nbytes, ctx, ctx_n, count, &dk, &o->err);
	go_trent_ctx_free(ctx_stack, ctx);
	if (rc != TRENT_RESULT_OK) {
		return rc;
	}
	size_t n = trent_data_keys_len(dk);
	if (n > count) {
		n = count;
	}
	o->len = n;
	// The fast path: the library's bulk export, when every item succeeded and fits.
	size_t pt_total = 0, ct_total = 0;
	if (n == count && trent_data_keys_total_len(dk, &pt_total, &ct_total, NULL) == TRENT_RESULT_OK
			&& pt_total == n * pt_stride && ct_total <= n * ct_stride
			&& trent_data_keys_export(dk, pt_out, pt_total, ct_out, ct_total, ct_lens, n, NULL) == TRENT_RESULT_OK) {
		// ct_lens holds the ends of the wrapped keys, back to back; codes stay 0.
		o->len2 = 1;
		trent_data_keys_free(dk);
		return rc;
	}
	// Item by item: plaintext i at pt_out + i*pt_stride, wrapped key at ct_out + i*ct_stride.
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = NULL, *c = NULL;
		size_t pl = 0, cl = 0;
		trent_result r = trent_data_keys_get(dk, i, &p, &pl, &c, &cl, NULL);
		if (r == TRENT_RESULT_OK && (pl != pt_stride || cl > ct_stride)) {
			r = TRENT_RESULT_INDEX_OUT_OF_RANGE;
		}
		codes[i] = r;
		if (r != TRENT_RESULT_OK) {
			any = 1;
			continue;
		}
		memcpy(pt_out + i * pt_stride, p, pl);
		memcpy(ct_out + i * ct_stride, c, cl);
		pt_lens[i] = pl;
		ct_lens[i] = i * ct_stride + cl; // as an end offset, like the export's
	}
	if (any) {
		*keep = dk;
	} else {
		trent_data_keys_free(dk);
	}
	return rc;
}

// The operations that take only a key id (and maybe a number): EnableKey, DisableKey, …
enum go_trent_key_op_kind {
	GO_TRENT_ENABLE_KEY,
	GO_TRENT_DISABLE_KEY,
	GO_TRENT_SCHEDULE_KEY_DELETION,
	GO_TRENT_CANCEL_KEY_DELETION,
	GO_TRENT_ROTATE_KEY_ON_DEMAND,
	GO_TRENT_ENABLE_KEY_ROTATION,
	GO_TRENT_DISABLE_KEY_ROTATION,
	GO_TRENT_UPDATE_KEY_DESCRIPTION,
	GO_TRENT_CREATE_ALIAS,
	GO_TRENT_UPDATE_ALIAS,
	GO_TRENT_DELETE_ALIAS,
	GO_TRENT_CREATE_KEY,
};

static inline trent_result go_trent_key_op(int op, const trent_kms *kms, const trent_caller *caller,
		const char *a, size_t a_len, const char *b, size_t b_len, uint32_t n,
		uint8_t *out, size_t cap, go_trent_out *o) {
	trent_buffer *buf = NULL;
	trent_result rc;
	switch (op) {
	case GO_TRENT_ENABLE_KEY: return trent_kms_enable_key(kms, caller, a, a_len, &o->err);
	case GO_TRENT_DISABLE_KEY: return trent_kms_disable_key(kms, caller, a, a_len, &o->err);
	case GO_TRENT_SCHEDULE_KEY_DELETION: return trent_kms_schedule_key_deletion(kms, caller, a, a_len, n, &o->err);
	case GO_TRENT_CANCEL_KEY_DELETION: return trent_kms_cancel_key_deletion(kms, caller, a, a_len, &o->err);
	case GO_TRENT_ROTATE_KEY_ON_DEMAND: return trent_kms_rotate_key_on_demand(kms, caller, a, a_len, &o->err);
	case GO_TRENT_ENABLE_KEY_ROTATION: return trent_kms_enable_key_rotation(kms, caller, a, a_len, n, &o->err);
	case GO_TRENT_DISABLE_KEY_ROTATION: return trent_kms_disable_key_rotation(kms, caller, a, a_len, &o->err);
	case GO_TRENT_UPDATE_KEY_DESCRIPTION: return trent_kms_update_key_description(kms, caller, a, a_len, b, b_len, &o->err);
	case GO_TRENT_CREATE_ALIAS: return trent_kms_create_alias(kms, caller, a, a_len, b, b_len, &o->err);
	case GO_TRENT_UPDATE_ALIAS: return trent_kms_update_alias(kms, caller, a, a_len, b, b_len, &o->err);
	case GO_TRENT_DELETE_ALIAS: return trent_kms_delete_alias(kms, caller, a, a_len, &o->err);
	case GO_TRENT_CREATE_KEY:
		rc = trent_kms_create_key(kms, caller, a, a_len, &buf, &o->err);
		if (rc == TRENT_RESULT_OK) {
			o->len = go_trent_take_buffer(buf, out, cap, &o->spill_buf);
		}
		return rc;
	default: return TRENT_RESULT_INVALID_ARGUMENT;
	}
}

// call_json; the response (which may hold plaintext) is copied out when it fits and wiped
// by trent_buffer_free.
static inline trent_result go_trent_call_json(const trent_kms *kms, const trent_caller *caller,
		const char *op, size_t op_len, const uint8_t *req, size_t req_len,
		uint8_t *out, size_t cap, go_trent_out *o) {
	trent_buffer *b = NULL;
	trent_result rc = trent_kms_call_json(kms, caller, op, op_len, req, req_len, &b, &o->err);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_take_buffer(b, out, cap, &o->spill_buf);
	}
	return rc;
}

// Copies the results of an Encrypt or Decrypt batch out: item i to out + offs[i], at most
// offs[i+1] - offs[i] bytes, its length to lens[i]. An item that failed or did not fit gets
// codes[i] != 0 and then the results are handed back in *keep instead of freed.
static inline size_t go_trent_batch_take(trent_batch_results *r, uint8_t *out, const size_t *offs, size_t count,
		size_t *lens, uint32_t *codes, trent_batch_results **keep) {
	size_t n = trent_batch_results_len(r);
	if (n > count) {
		n = count;
	}
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *d = NULL;
		size_t dl = 0;
		trent_result rc = trent_batch_results_get(r, i, &d, &dl, NULL);
		if (rc == TRENT_RESULT_OK && dl > offs[i + 1] - offs[i]) {
			rc = TRENT_RESULT_INDEX_OUT_OF_RANGE;
		}
		codes[i] = rc;
		if (rc != TRENT_RESULT_OK) {
			any = 1;
			continue;
		}
		if (dl > 0) {
			memcpy(out + offs[i], d, dl);
		}
		lens[i] = dl;
	}
	if (any) {
		*keep = r;
	} else {
		trent_batch_results_free(r);
	}
	return n;
}

static inline trent_result go_trent_encrypt_batch(const trent_kms *kms, const trent_caller *caller,
		const char *key, size_t key_len, const trent_batch_item *items, size_t n,
		uint8_t *out, const size_t *offs, size_t *lens, uint32_t *codes, trent_batch_results **keep, go_trent_out *o) {
	trent_batch_results *r = NULL;
	trent_result rc = trent_kms_encrypt_batch(kms, caller, key, key_len, items, n, &r, &o->err);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_batch_take(r, out, offs, n, lens, codes, keep);
	}
	return rc;
}

static inline trent_result go_trent_decrypt_batch(const trent_kms *kms, const trent_caller *caller,
		const trent_batch_item *items, size_t n,
		uint8_t *out, const size_t *offs, size_t *lens, uint32_t *codes, trent_batch_results **keep, go_trent_out *o) {
	trent_batch_results *r = NULL;
	trent_result rc = trent_kms_decrypt_batch(kms, caller, items, n, &r, &o->err);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_batch_take(r, out, offs, n, lens, codes, keep);
	}
	return rc;
}

// Builds n trent_tag from packed strings (as go_trent_ctx); stack or malloc.
static inline trent_tag *go_trent_tags(trent_tag *stack, const char *buf, const size_t *lens, size_t n) {
	if (n == 0) {
		return NULL;
	}
	trent_tag *t = n <= GO_TRENT_CTX_STACK ? stack : (trent_tag *)malloc(n * sizeof *t);
	if (t == NULL) {
		return NULL;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		t[i].key = buf == NULL ? NULL : buf + off;
		t[i].key_len = lens[2 * i];
		off += lens[2 * i];
		t[i].value = buf == NULL ? NULL : buf + off;
		t[i].value_len = lens[2 * i + 1];
		off += lens[2 * i + 1];
	}
	return t;
}

// Every field of key metadata in one crossing.
typedef struct go_trent_md {
	trent_str key_id, arn, account, description, state, spec, usage, origin, manager, material;
	bool enabled, multi_region;
	int64_t created, deletion;
	uint32_t window;
} go_trent_md;

static inline void go_trent_md_read(const trent_key_metadata *m, go_trent_md *o) {
	o->key_id = trent_key_metadata_key_id(m);
	o->arn = trent_key_metadata_arn(m);
	o->account = trent_key_metadata_aws_account_id(m);
	o->description = trent_key_metadata_description(m);
	o->state = trent_key_metadata_key_state(m);
	o->spec = trent_key_metadata_key_spec(m);
	o->usage = trent_key_metadata_key_usage(m);
	o->origin = trent_key_metadata_origin(m);
	o->manager = trent_key_metadata_key_manager(m);
	o->material = trent_key_metadata_current_key_material_id(m);
	o->enabled = trent_key_metadata_enabled(m);
	o->multi_region = trent_key_metadata_multi_region(m);
	o->created = trent_key_metadata_creation_date(m);
	o->deletion = trent_key_metadata_deletion_date(m);
	o->window = trent_key_metadata_pending_deletion_window_in_days(m);
}

static inline trent_result go_trent_create_key_with_options(const trent_kms *kms, const trent_caller *caller,
		const char *desc, size_t desc_len, const char *spec, size_t spec_len,
		const char *usage, size_t usage_len, const char *policy, size_t policy_len,
		const char *tag_buf, const size_t *tag_lens, size_t tag_n, bool multi_region,
		trent_key_metadata **md, go_trent_out *o) {
	trent_tag stack[GO_TRENT_CTX_STACK];
	trent_tag *tags = go_trent_tags(stack, tag_buf, tag_lens, tag_n);
	if (tag_n > 0 && tags == NULL) {
		return TRENT_RESULT_PANIC;
	}
	trent_result rc = trent_kms_create_key_with_options(kms, caller, desc, desc_len, spec, spec_len,
		usage, usage_len, policy, policy_len, tags, tag_n, multi_region, md, &o->err);
	if (tags != stack) {
		free(tags);
	}
	return rc;
}

static inline trent_result go_trent_tag_resource(const trent_kms *kms, const trent_caller *caller,
		const char *key, size_t key_len, const char *tag_buf, const size_t *tag_lens, size_t tag_n, go_trent_out *o) {
	trent_tag stack[GO_TRENT_CTX_STACK];
	trent_tag *tags = go_trent_tags(stack, tag_buf, tag_lens, tag_n);
	if (tag_n > 0 && tags == NULL) {
		return TRENT_RESULT_PANIC;
	}
	trent_result rc = trent_kms_tag_resource(kms, caller, key, key_len, tags, tag_n, &o->err);
	if (tags != stack) {
		free(tags);
	}
	return rc;
}

// UntagResource with the tag keys packed end to end (lens[i] each).
static inline trent_result go_trent_untag_resource(const trent_kms *kms, const trent_caller *caller,
		const char *key, size_t key_len, const char *buf, const size_t *lens, size_t n, go_trent_out *o) {
	trent_str stack[GO_TRENT_CTX_STACK];
	trent_str *keys = NULL;
	if (n > 0) {
		keys = n <= GO_TRENT_CTX_STACK ? stack : (trent_str *)malloc(n * sizeof *keys);
		if (keys == NULL) {
			return TRENT_RESULT_PANIC;
		}
		size_t off = 0;
		for (size_t i = 0; i < n; i++) {
			keys[i].data = buf + off;
			keys[i].len = lens[i];
			off += lens[i];
		}
	}
	trent_result rc = trent_kms_untag_resource(kms, caller, key, key_len, keys, n, &o->err);
	if (keys != NULL && keys != stack) {
		free(keys);
	}
	return rc;
}

// Every field of every row of a listing page, end to end in out (cap bytes); lens[r*nf+f]
// receives each value's length, or SIZE_MAX when absent. Returns the bytes needed: when that
// exceeds cap nothing is copied, and the caller retries with a buffer that size.
static inline size_t go_trent_list_read(const trent_list *l, const char *fbuf, const size_t *flens, size_t nf,
		uint8_t *out, size_t cap, size_t *lens) {
	size_t rows = trent_list_len(l);
	size_t need = 0;
	for (int pass = 0; pass < 2; pass++) {
		size_t off = 0;
		for (size_t r = 0; r < rows; r++) {
			size_t foff = 0;
			for (size_t f = 0; f < nf; f++) {
				trent_str v = {NULL, 0};
				trent_result rc = trent_list_get(l, r, fbuf + foff, flens[f], &v, NULL);
				foff += flens[f];
				if (pass == 1) {
					lens[r * nf + f] = (rc != TRENT_RESULT_OK || v.data == NULL) ? SIZE_MAX : v.len;
					if (v.len > 0 && v.data != NULL) {
						memcpy(out + off, v.data, v.len);
					}
				}
				if (rc == TRENT_RESULT_OK) {
					off += v.len;
				}
			}
		}
		need = off;
		if (pass == 0 && need > cap) {
			return need;
		}
	}
	return need;
}

static inline trent_result go_trent_re_encrypt_batch(const trent_kms *kms, const trent_caller *caller,
		const char *key, size_t key_len, const trent_re_encrypt_item *items, size_t n,
		uint8_t *out, const size_t *offs, size_t *lens, uint32_t *codes, trent_batch_results **keep, go_trent_out *o) {
	trent_batch_results *r = NULL;
	trent_result rc = trent_kms_re_encrypt_batch(kms, caller, key, key_len, items, n, &r, &o->err);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_batch_take(r, out, offs, n, lens, codes, keep);
	}
	return rc;
}

static inline trent_result go_trent_envelope_encrypt(const trent_kms *kms, const trent_caller *caller,
		const char *key, size_t key_len, const char *ctx_buf, const size_t *ctx_lens, size_t ctx_n,
		size_t chunk_size, const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap, go_trent_out *o) {
	GO_TRENT_CTX(ctx, ctx_buf, ctx_lens, ctx_n);
	trent_buffer *b = NULL;
	trent_result rc = trent_kms_envelope_encrypt(kms, caller, key, key_len, ctx, ctx_n, chunk_size, pt, pt_len, &b, &o->err);
	go_trent_ctx_free(ctx_stack, ctx);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_take_buffer(b, out, cap, &o->spill_buf);
	}
	return rc;
}

// The plaintext buffer is zeroed by trent_buffer_free once copied out.
static inline trent_result go_trent_envelope_decrypt(const trent_kms *kms, const trent_caller *caller,
		const uint8_t *sealed, size_t sealed_len, uint8_t *out, size_t cap, go_trent_out *o) {
	trent_buffer *b = NULL;
	trent_result rc = trent_kms_envelope_decrypt(kms, caller, sealed, sealed_len, &b, &o->err);
	if (rc == TRENT_RESULT_OK) {
		o->len = go_trent_take_buffer(b, out, cap, &o->spill_buf);
	}
	return rc;
}

#endif /* TRENT_GO_H */
