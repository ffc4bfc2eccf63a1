package trent

/*
#cgo noescape trent_kms_generate_data_keys
#cgo nocallback trent_kms_generate_data_keys
#cgo noescape trent_data_keys_total_len
#cgo nocallback trent_data_keys_total_len
#cgo noescape trent_data_keys_export
#cgo nocallback trent_data_keys_export
#cgo noescape trent_data_keys_get
#cgo nocallback trent_data_keys_get
#include <stdlib.h>
#include "trent.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// maxBatch is the most items one batch call takes (the C ABI's limit).
const maxBatch = 1 << 20

// DataKeyBatch is the result of GenerateDataKeys: Len data keys, each read with At. The keys'
// bytes live in two arrays shared by the whole batch (plaintexts and wrapped keys), so a
// batch costs a handful of allocations whatever its size; a slice returned by At keeps its
// whole array alive. Clear wipes every plaintext of the batch.
type DataKeyBatch struct {
	n      int
	size   int
	stride int
	pt     []byte
	ct     []byte
	ends   []C.size_t // where each wrapped key ends in ct
	packed bool       // wrapped keys back to back (else at i*stride)
	errs   map[int]error
}

// Len is the number of data keys in the batch.
func (b *DataKeyBatch) Len() int { return b.n }

// At returns data key i, or that item's error.
func (b *DataKeyBatch) At(i int) (DataKey, error) {
	if i < 0 || i >= b.n {
		return DataKey{}, newError(uint32(CodeIndexOutOfRange), "batch index out of range")
	}
	if err, ok := b.errs[i]; ok {
		return DataKey{}, err
	}
	start := i * b.stride
	if b.packed {
		start = 0
		if i > 0 {
			start = int(b.ends[i-1])
		}
	}
	end := int(b.ends[i])
	return DataKey{Plaintext: b.pt[i*b.size : (i+1)*b.size : (i+1)*b.size], CiphertextBlob: b.ct[start:end:end]}, nil
}

// Clear zeroes every plaintext data key of the batch (the Go copies: the engine's were
// zeroed when the call returned).
func (b *DataKeyBatch) Clear() { wipe(b.pt[:cap(b.pt)]) }

// GenerateDataKeys makes count data keys under one KMS key in one call, spread over the
// engine's thread pool: the fast path for many data keys (one cgo crossing for the batch).
// Sizes as in GenerateDataKey. It fails as a whole when the key cannot be used; otherwise
// each item succeeds or fails on its own.
func (k *KMS) GenerateDataKeys(keyID string, numberOfBytes int, context map[string]string, count int) (*DataKeyBatch, error) {
	b := new(DataKeyBatch)
	if err := k.GenerateDataKeysInto(b, keyID, numberOfBytes, context, count); err != nil {
		return nil, err
	}
	return b, nil
}

// GenerateDataKeysInto is GenerateDataKeys refilling b, reusing its arrays when they are big
// enough (the previous keys are overwritten, and slices from b.At see the new ones): a loop
// of batches then allocates nothing. On error b is left empty (its plaintexts cleared).
func (k *KMS) GenerateDataKeysInto(b *DataKeyBatch, keyID string, numberOfBytes int, context map[string]string, count int) error {
	if count < 0 || count > maxBatch {
		return newError(uint32(CodeInvalidArgument), "count must be 0 to 2^20")
	}
	b.Clear()
	b.n, b.errs = 0, nil
	ctx := cPairs(context)
	defer C.free(ctx)
	size := dataKeySize(numberOfBytes)
	stride := ciphertextLen(size)
	b.size, b.stride = size, stride
	if cap(b.pt) < count*size+1 {
		b.pt = make([]byte, count*size+1)
	}
	b.pt = b.pt[:count*size+1]
	if cap(b.ct) < count*stride+1 {
		b.ct = make([]byte, count*stride+1)
	}
	b.ct = b.ct[:count*stride+1]
	if cap(b.ends) < count+1 {
		b.ends = make([]C.size_t, count+1)
	}
	b.ends = b.ends[:count+1]
	var dk *C.trent_data_keys
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_generate_data_keys(kp, cp, strPtr(keyID), C.size_t(len(keyID)), C.uint32_t(clampU32(numberOfBytes)),
			(*C.trent_context_entry)(ctx), C.size_t(len(context)), C.size_t(count), &dk, &d)
		return rc, d
	})
	if err != nil {
		return err
	}
	defer C.trent_data_keys_free(dk)
	n := min(int(C.trent_data_keys_len(dk)), count)
	b.n = n
	// The fast path: the library's bulk export, when every item succeeded (its sizes must be
	// exactly the totals, so a plaintext of another size cannot slip in).
	var ptTotal, ctTotal C.size_t
	if n > 0 && n == count && C.trent_data_keys_total_len(dk, &ptTotal, &ctTotal, nil) == C.TRENT_RESULT_OK &&
		int(ptTotal) == n*size && int(ctTotal) <= n*stride &&
		C.trent_data_keys_export(dk, bytesPtr(b.pt), ptTotal, bytesPtr(b.ct), ctTotal, &b.ends[0], C.size_t(n), nil) == C.TRENT_RESULT_OK {
		b.packed = true
		return nil
	}
	// Item by item: plaintext i at i*size, wrapped key i at i*stride.
	b.packed = false
	for i := 0; i < n; i++ {
		var p, c *C.uint8_t
		var pl, cl C.size_t
		var detail *C.trent_error
		r := C.trent_data_keys_get(dk, C.size_t(i), &p, &pl, &c, &cl, &detail)
		switch {
		case r != C.TRENT_RESULT_OK:
			b.setErr(i, takeError(r, detail))
		case int(pl) != size || int(cl) > stride:
			// A data key of an unexpected size: an error rather than a guess.
			b.setErr(i, newError(uint32(CodeKMSInternalException), "data key of unexpected size"))
		default:
			copy(b.pt[i*size:(i+1)*size], unsafe.Slice((*byte)(unsafe.Pointer(p)), int(pl)))
			copy(b.ct[i*stride:], unsafe.Slice((*byte)(unsafe.Pointer(c)), int(cl)))
			b.ends[i] = C.size_t(i*stride) + cl
		}
	}
	return nil
}

func (b *DataKeyBatch) setErr(i int, err error) {
	if b.errs == nil {
		b.errs = map[int]error{}
	}
	b.errs[i] = err
}

// BatchItem is one item of an Encrypt or Decrypt batch: its bytes (a plaintext of 1–4096
// bytes, or a ciphertext blob) and its encryption context (nil for none).
type BatchItem struct {
	Data    []byte
	Context map[string]string
}

// BatchResult is one item's result: a ciphertext blob (EncryptBatch) or plaintext
// (DecryptBatch), or its error.
type BatchResult struct {
	Data []byte
	Err  error
}

// pinnedItems is a batch laid out for C: every pointer in it points to pinned Go memory.
type pinnedItems struct {
	pinner  runtime.Pinner
	items   []C.trent_batch_item
	entries []C.trent_context_entry
	strs    []byte
}

func (p *pinnedItems) build(in []BatchItem) {
	nEntries, nBytes := 0, 0
	for i := range in {
		nEntries += len(in[i].Context)
		for key, v := range in[i].Context {
			nBytes += len(key) + len(v)
		}
	}
	p.items = make([]C.trent_batch_item, len(in))
	p.entries = make([]C.trent_context_entry, nEntries)
	p.strs = make([]byte, 0, nBytes)
	if nBytes > 0 {
		p.pinner.Pin(unsafe.SliceData(p.strs[:1]))
	}
	if nEntries > 0 {
		p.pinner.Pin(&p.entries[0])
	}
	e := 0
	for i := range in {
		it := &p.items[i]
		if d := in[i].Data; len(d) > 0 {
			ptr := unsafe.SliceData(d)
			p.pinner.Pin(ptr)
			it.data = (*C.uint8_t)(unsafe.Pointer(ptr))
			it.data_len = C.size_t(len(d))
		}
		if len(in[i].Context) > 0 {
			it.context = &p.entries[e]
			it.context_len = C.size_t(len(in[i].Context))
			for key, v := range in[i].Context {
				ent := &p.entries[e]
				ent.key, ent.key_len = p.str(key), C.size_t(len(key))
				ent.value, ent.value_len = p.str(v), C.size_t(len(v))
				e++
			}
		}
	}
}

// str appends s to the pinned string array (never reallocated: its capacity is exact).
func (p *pinnedItems) str(s string) *C.char {
	if len(s) == 0 {
		return nil
	}
	at := len(p.strs)
	p.strs = append(p.strs, s...)
	return (*C.char)(unsafe.Pointer(&p.strs[at]))
}

func (p *pinnedItems) itemsPtr() *C.trent_batch_item {
	if len(p.items) == 0 {
		return nil
	}
	return &p.items[0]
}

// batchResults copies a batch's results out with the library's bulk export (every result
// back to back into one Go array, each item's end and code beside it: three calls whatever
// the batch's size), then frees them (which wipes the library's plaintexts). A failed item's
// error detail is read with trent_batch_results_get.
func batchResults(r *C.trent_batch_results, count int) ([]BatchResult, error) {
	defer C.trent_batch_results_free(r)
	n := min(int(C.trent_batch_results_len(r)), count)
	var total C.size_t
	var detail *C.trent_error
	if rc := C.trent_batch_results_total_len(r, &total, &detail); rc != C.TRENT_RESULT_OK {
		return nil, takeError(rc, detail)
	}
	out := make([]byte, int(total)+1) // +1: never empty, a valid pointer for C
	ends := make([]C.size_t, n+1)
	codes := make([]C.uint32_t, n+1)
	if rc := C.trent_batch_results_export(r, bytesPtr(out), total, &ends[0], C.size_t(n), &codes[0], C.size_t(n), &detail); rc != C.TRENT_RESULT_OK {
		return nil, takeError(rc, detail)
	}
	res := make([]BatchResult, n)
	start := 0
	for i := range res {
		end := int(ends[i])
		if codes[i] != C.TRENT_RESULT_OK {
			var d *C.uint8_t
			var dl C.size_t
			var detail *C.trent_error
			rc := C.trent_batch_results_get(r, C.size_t(i), &d, &dl, &detail)
			if rc == C.TRENT_RESULT_OK { // cannot be: the export said it failed
				rc, detail = C.trent_result(codes[i]), nil
			}
			res[i].Err = takeError(rc, detail)
		} else {
			res[i].Data = out[start:end:end]
		}
		start = end
	}
	return res, nil
}

// EncryptBatch encrypts every item under one KMS key in one call, spread over the engine's
// thread pool. It fails as a whole when the key cannot be used; otherwise each item has its
// ciphertext blob or its error.
func (k *KMS) EncryptBatch(keyID string, items []BatchItem) ([]BatchResult, error) {
	return k.callBatch(items, len(items), func(kp *C.trent_kms, cp *C.trent_caller, p *pinnedItems, r **C.trent_batch_results, d **C.trent_error) C.trent_result {
		return C.trent_kms_encrypt_batch(kp, cp, strPtr(keyID), C.size_t(len(keyID)), p.itemsPtr(), C.size_t(len(p.items)), r, d)
	})
}

// DecryptBatch decrypts every item (blobs of any keys) in one call, spread over the engine's
// thread pool; each item has its plaintext or its error (ErrInvalidCiphertext, …).
func (k *KMS) DecryptBatch(items []BatchItem) ([]BatchResult, error) {
	return k.callBatch(items, len(items), func(kp *C.trent_kms, cp *C.trent_caller, p *pinnedItems, r **C.trent_batch_results, d **C.trent_error) C.trent_result {
		return C.trent_kms_decrypt_batch(kp, cp, p.itemsPtr(), C.size_t(len(p.items)), r, d)
	})
}

// callBatch is call for a batch function: it lays items out for C, pinned for the call
// (the function reads them from p), and reads the results of the batch's count items.
func (k *KMS) callBatch(items []BatchItem, count int, c func(kp *C.trent_kms, cp *C.trent_caller, p *pinnedItems, r **C.trent_batch_results, d **C.trent_error) C.trent_result) ([]BatchResult, error) {
	if count > maxBatch {
		return nil, newError(uint32(CodeInvalidArgument), "at most 2^20 items")
	}
	var p pinnedItems
	defer p.pinner.Unpin()
	p.build(items)
	var r *C.trent_batch_results
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = c(kp, cp, &p, &r, &d)
		return rc, d
	})
	if err != nil {
		return nil, err
	}
	return batchResults(r, count)
}
