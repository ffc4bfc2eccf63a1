package trent

/*
#cgo noescape go_trent_generate_data_keys
#cgo nocallback go_trent_generate_data_keys
#include "trent_go.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// dataKeyBlobOverhead is a wrapped data key's size beyond its plaintext in the v1 format
// (62 bytes), rounded up; a larger blob still works, through a slower copy.
const dataKeyBlobOverhead = 64

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
	ctEnds []C.size_t // where each wrapped key ends in ct
	packed bool       // wrapped keys back to back (else at i*stride)
	lens   []C.size_t
	codes  []C.uint32_t
	errs   map[int]error
	spill  map[int][]byte // wrapped keys that did not fit their slot
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
	dk := DataKey{Plaintext: b.pt[i*b.size : (i+1)*b.size : (i+1)*b.size]}
	if s, ok := b.spill[i]; ok {
		dk.CiphertextBlob = s
	} else {
		start := i * b.stride
		if b.packed {
			start = 0
			if i > 0 {
				start = int(b.ctEnds[i-1])
			}
		}
		end := int(b.ctEnds[i])
		dk.CiphertextBlob = b.ct[start:end:end]
	}
	return dk, nil
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
	b.n, b.errs, b.spill = 0, nil, nil
	var pc packedContext
	pc.pack(context)
	kp, cp, err := k.acquire()
	if err != nil {
		return err
	}
	defer k.release()
	size := dataKeySize(numberOfBytes)
	stride := size + dataKeyBlobOverhead
	b.size, b.stride = size, stride
	if cap(b.pt) < count*size+1 {
		b.pt = make([]byte, count*size+1)
	}
	b.pt = b.pt[:count*size+1]
	if cap(b.ct) < count*stride+1 {
		b.ct = make([]byte, count*stride+1)
	}
	b.ct = b.ct[:count*stride+1]
	if cap(b.lens) < 2*count+1 {
		b.lens = make([]C.size_t, 2*count+1)
		b.codes = make([]C.uint32_t, count+1)
	}
	lens, codes := b.lens[:2*count+1], b.codes[:count+1]
	b.ctEnds = lens[count : 2*count]
	var keep *C.trent_data_keys
	var o C.go_trent_out
	rc := C.go_trent_generate_data_keys(kp, cp, strPtr(keyID), C.size_t(len(keyID)), C.uint32_t(clampU32(numberOfBytes)),
		pc.bufPtr(), pc.lensPtr(), pc.count(), C.size_t(count),
		bytesPtr(b.pt), C.size_t(size), bytesPtr(b.ct), C.size_t(stride),
		&lens[0], &lens[count], &codes[0], &keep, &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(keyID)
	if rc != C.TRENT_RESULT_OK {
		return takeError(rc, o.err)
	}
	b.n = int(o.len)
	b.packed = o.len2 == 1
	if keep != nil {
		for i := 0; i < b.n; i++ {
			if codes[i] == C.TRENT_RESULT_OK {
				continue
			}
			var p, c *C.uint8_t
			var pl, cl C.size_t
			var detail *C.trent_error
			r := C.trent_data_keys_get(keep, C.size_t(i), &p, &pl, &c, &cl, &detail)
			switch {
			case r != C.TRENT_RESULT_OK:
				b.setErr(i, takeError(r, detail))
			case int(pl) != size:
				// A plaintext of an unexpected size: an error rather than a guess.
				b.setErr(i, newError(uint32(CodeKMSInternalException), "data key of unexpected size"))
			default:
				copy(b.pt[i*size:(i+1)*size], unsafe.Slice((*byte)(unsafe.Pointer(p)), int(pl)))
				if b.spill == nil {
					b.spill = map[int][]byte{}
				}
				b.spill[i] = C.GoBytes(unsafe.Pointer(c), C.int(cl))
			}
		}
		C.trent_data_keys_free(keep)
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

// batchOut is the Go memory a batch's results are copied into.
type batchOut struct {
	out   []byte
	offs  []C.size_t
	lens  []C.size_t
	codes []C.uint32_t
}

func newBatchOut(in []BatchItem, extra int) *batchOut {
	b := &batchOut{offs: make([]C.size_t, len(in)+1), lens: make([]C.size_t, len(in)+1), codes: make([]C.uint32_t, len(in)+1)}
	total := 0
	for i := range in {
		b.offs[i] = C.size_t(total)
		total += len(in[i].Data) + extra
	}
	b.offs[len(in)] = C.size_t(total)
	b.out = make([]byte, total+1)
	return b
}

func (b *batchOut) results(n int, keep *C.trent_batch_results) []BatchResult {
	res := make([]BatchResult, n)
	for i := range res {
		if b.codes[i] == C.TRENT_RESULT_OK {
			off, l := int(b.offs[i]), int(b.lens[i])
			res[i].Data = b.out[off : off+l : off+l]
			continue
		}
		var d *C.uint8_t
		var dl C.size_t
		var detail *C.trent_error
		r := C.trent_batch_results_get(keep, C.size_t(i), &d, &dl, &detail)
		if r != C.TRENT_RESULT_OK {
			res[i].Err = takeError(r, detail)
		} else {
			res[i].Data = C.GoBytes(unsafe.Pointer(d), C.int(dl))
		}
	}
	if keep != nil {
		C.trent_batch_results_free(keep)
	}
	return res
}

// EncryptBatch encrypts every item under one KMS key in one call, spread over the engine's
// thread pool. It fails as a whole when the key cannot be used; otherwise each item has its
// ciphertext blob or its error.
func (k *KMS) EncryptBatch(keyID string, items []BatchItem) ([]BatchResult, error) {
	if len(items) > maxBatch {
		return nil, newError(uint32(CodeInvalidArgument), "at most 2^20 items")
	}
	var p pinnedItems
	defer p.pinner.Unpin()
	p.build(items)
	b := newBatchOut(items, blobOverhead)
	kp, cp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.release()
	var keep *C.trent_batch_results
	var o C.go_trent_out
	rc := C.go_trent_encrypt_batch(kp, cp, strPtr(keyID), C.size_t(len(keyID)), p.itemsPtr(), C.size_t(len(items)),
		bytesPtr(b.out), &b.offs[0], &b.lens[0], &b.codes[0], &keep, &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(keyID)
	runtime.KeepAlive(items)
	if rc != C.TRENT_RESULT_OK {
		return nil, takeError(rc, o.err)
	}
	return b.results(int(o.len), keep), nil
}

// DecryptBatch decrypts every item (blobs of any keys) in one call, spread over the engine's
// thread pool; each item has its plaintext or its error (ErrInvalidCiphertext, …).
func (k *KMS) DecryptBatch(items []BatchItem) ([]BatchResult, error) {
	if len(items) > maxBatch {
		return nil, newError(uint32(CodeInvalidArgument), "at most 2^20 items")
	}
	var p pinnedItems
	defer p.pinner.Unpin()
	p.build(items)
	b := newBatchOut(items, 0)
	kp, cp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.release()
	var keep *C.trent_batch_results
	var o C.go_trent_out
	rc := C.go_trent_decrypt_batch(kp, cp, p.itemsPtr(), C.size_t(len(items)),
		bytesPtr(b.out), &b.offs[0], &b.lens[0], &b.codes[0], &keep, &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(items)
	if rc != C.TRENT_RESULT_OK {
		return nil, takeError(rc, o.err)
	}
	return b.results(int(o.len), keep), nil
}
