// Package cbench runs the benchmarks' C side: the same engine operations called from C, in a
// loop inside one cgo call, so the Go benchmarks can put the binding beside C in one run.
package cbench

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../ffi/include -O2
#cgo LDFLAGS: -L${SRCDIR}/../../../../target/release -l:libtrent_ffi.a -lpthread -ldl -lm -lrt -lutil
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "trent.h"

typedef struct cbench {
	trent_kms *kms;
	trent_caller *me;
	trent_buffer *key;
} cbench;

static int cbench_open(cbench *b) {
	trent_kms_builder *bld = NULL;
	if (trent_kms_builder_new(&bld) != TRENT_RESULT_OK) return 1;
	trent_kms_builder_allow_unlocked_memory(bld, true, NULL);
	trent_result rc = trent_kms_builder_open(bld, &b->kms, NULL);
	trent_kms_builder_free(bld);
	if (rc != TRENT_RESULT_OK) return 2;
	if (trent_caller_root(b->kms, &b->me) != TRENT_RESULT_OK) return 3;
	if (trent_kms_create_key(b->kms, b->me, NULL, 0, &b->key, NULL) != TRENT_RESULT_OK) return 4;
	return 0;
}

static void cbench_close(cbench *b) {
	trent_buffer_free(b->key);
	trent_caller_free(b->me);
	trent_kms_free(b->kms);
}

// n Encrypts of size bytes, each blob freed; returns the number that failed.
static long cbench_encrypt(cbench *b, long n, size_t size) {
	static uint8_t pt[4096];
	memset(pt, 0x5a, sizeof pt);
	long failed = 0;
	for (long i = 0; i < n; i++) {
		trent_buffer *blob = NULL;
		if (trent_kms_encrypt(b->kms, b->me, (const char *)trent_buffer_data(b->key), trent_buffer_len(b->key),
				pt, size, NULL, 0, &blob, NULL) != TRENT_RESULT_OK) failed++;
		trent_buffer_free(blob);
	}
	return failed;
}

// n batches of count AES-256 data keys: generate, read every item, free. Returns a checksum.
static long cbench_data_keys(cbench *b, long n, size_t count) {
	long sum = 0;
	for (long i = 0; i < n; i++) {
		trent_data_keys *dk = NULL;
		if (trent_kms_generate_data_keys(b->kms, b->me, (const char *)trent_buffer_data(b->key), trent_buffer_len(b->key),
				0, NULL, 0, count, &dk, NULL) != TRENT_RESULT_OK) return -1;
		size_t len = trent_data_keys_len(dk);
		for (size_t j = 0; j < len; j++) {
			const uint8_t *p = NULL, *c = NULL;
			size_t pl = 0, cl = 0;
			if (trent_data_keys_get(dk, j, &p, &pl, &c, &cl, NULL) == TRENT_RESULT_OK) sum += p[0] + c[cl - 1];
		}
		trent_data_keys_free(dk);
	}
	return sum;
}
// n batches of count AES-256 data keys: generate, copy the whole batch out with the
// library's bulk export into buffers reused across batches, free. The fastest C path.
static long cbench_data_keys_export(cbench *b, long n, size_t count) {
	size_t pt_cap = count * 32, ct_cap = count * 256;
	uint8_t *pt = malloc(pt_cap ? pt_cap : 1), *ct = malloc(ct_cap ? ct_cap : 1);
	size_t *ends = malloc((count ? count : 1) * sizeof *ends);
	long sum = 0;
	for (long i = 0; i < n && sum >= 0; i++) {
		trent_data_keys *dk = NULL;
		if (trent_kms_generate_data_keys(b->kms, b->me, (const char *)trent_buffer_data(b->key), trent_buffer_len(b->key),
				0, NULL, 0, count, &dk, NULL) != TRENT_RESULT_OK) { sum = -1; break; }
		size_t ptl = 0, ctl = 0;
		if (trent_data_keys_total_len(dk, &ptl, &ctl, NULL) != TRENT_RESULT_OK || ptl > pt_cap || ctl > ct_cap
				|| trent_data_keys_export(dk, pt, ptl, ct, ctl, ends, trent_data_keys_len(dk), NULL) != TRENT_RESULT_OK) {
			sum = -1;
		} else {
			sum += pt[0] + ct[ctl - 1];
		}
		trent_data_keys_free(dk);
	}
	memset(pt, 0, pt_cap);
	free(pt);
	free(ct);
	free(ends);
	return sum;
}
*/
import "C"

import "errors"

// Engine is an engine opened from C (in memory, unlocked memory allowed) with one key.
type Engine struct{ b C.cbench }

// Open opens it.
func Open() (*Engine, error) {
	e := &Engine{}
	if rc := C.cbench_open(&e.b); rc != 0 {
		return nil, errors.New("cbench: open failed")
	}
	return e, nil
}

// Close frees it.
func (e *Engine) Close() { C.cbench_close(&e.b) }

// Encrypt runs n Encrypts of size bytes from C.
func (e *Engine) Encrypt(n int, size int) error {
	if C.cbench_encrypt(&e.b, C.long(n), C.size_t(size)) != 0 {
		return errors.New("cbench: Encrypt failed")
	}
	return nil
}

// DataKeys runs n batches of count GenerateDataKeys from C, reading every item.
func (e *Engine) DataKeys(n int, count int) error {
	if C.cbench_data_keys(&e.b, C.long(n), C.size_t(count)) < 0 {
		return errors.New("cbench: GenerateDataKeys failed")
	}
	return nil
}

// DataKeysExport runs n batches of count GenerateDataKeys from C, copying each batch out
// with trent_data_keys_export.
func (e *Engine) DataKeysExport(n int, count int) error {
	if C.cbench_data_keys_export(&e.b, C.long(n), C.size_t(count)) < 0 {
		return errors.New("cbench: GenerateDataKeys export failed")
	}
	return nil
}
