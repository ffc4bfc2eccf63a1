package trent

// The cgo boundary: the link line and the Go side of trent.h, called directly (no C of the
// binding's own). Results land in memory Go allocated: the _into functions write a blob or a
// plaintext straight into a Go slice sized with trent_ciphertext_len and
// trent_plaintext_len_max; results the library hands back as a trent_buffer are copied out
// and freed (which wipes them).
//
// Encryption contexts cross as trent.h's packed form, one flat byte slice (for each pair, key
// then value, each a 4-byte little-endian length and its bytes), so no Go pointer is ever
// stored in memory C reads; a small context is packed into an array on the caller's stack
// and nothing is allocated. The functions that still take arrays of entries (tags, batches)
// get them in C memory (cPairs) or pinned Go memory (batch.go).

/*
#cgo nocallback trent_ciphertext_len
#cgo nocallback trent_plaintext_len_max
#cgo CFLAGS: -I${SRCDIR}/../../ffi/include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -l:libtrent_ffi.a -lpthread -ldl -lm -lrt -lutil
#include <stdlib.h>
#include "trent.h"
*/
import "C"

import (
	"encoding/binary"
	"unsafe"
)

// bytesPtr is the C view of a byte slice: NULL for an empty one.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}

// strPtr is the C view of a string's bytes (no NUL needed: lengths travel alongside).
func strPtr(s string) *C.char {
	if len(s) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

// optStr is the C view of an optional text: NULL when "".
func optStr(s string) *C.char { return strPtr(s) }

// ctxInline is the size of the stack array a context is packed into; a bigger one goes to
// the heap.
const ctxInline = 256

// packContext appends ctx in trent.h's packed form to buf (pass an array's [:0] to keep a
// small context off the heap) and returns it; nil for an empty context.
func packContext(buf []byte, ctx map[string]string) []byte {
	if len(ctx) == 0 {
		return nil
	}
	for k, v := range ctx {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(k)))
		buf = append(buf, k...)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(v)))
		buf = append(buf, v...)
	}
	return buf
}

// cPairs lays a map's (key, value) pairs out in one C allocation, len(m) entries of
// trent.h's {key, key_len, value, value_len} followed by the strings, for the functions that
// take an array of trent_context_entry or trent_tag (the same layout, checked in manage.go);
// free it with C.free. Nil for an empty map.
func cPairs(m map[string]string) unsafe.Pointer {
	n := len(m)
	if n == 0 {
		return nil
	}
	size := 0
	for k, v := range m {
		size += len(k) + len(v)
	}
	es := unsafe.Sizeof(C.trent_context_entry{})
	mem := C.malloc(C.size_t(uintptr(n)*es + uintptr(size) + 1))
	if mem == nil {
		panic("trent: out of memory")
	}
	entries := unsafe.Slice((*C.trent_context_entry)(mem), n)
	strs := unsafe.Slice((*byte)(unsafe.Add(mem, uintptr(n)*es)), size+1)
	off, i := 0, 0
	for k, v := range m {
		e := &entries[i]
		e.key, e.key_len = (*C.char)(unsafe.Pointer(&strs[off])), C.size_t(len(k))
		off += copy(strs[off:], k)
		e.value, e.value_len = (*C.char)(unsafe.Pointer(&strs[off])), C.size_t(len(v))
		off += copy(strs[off:], v)
		i++
	}
	return mem
}

// ciphertextLen is trent_ciphertext_len: the blob Encrypt makes of n bytes of plaintext.
func ciphertextLen(n int) int { return int(C.trent_ciphertext_len(C.size_t(n))) }

// plaintextLenMax is trent_plaintext_len_max: the most plaintext a blob of n bytes holds.
func plaintextLenMax(n int) int { return int(C.trent_plaintext_len_max(C.size_t(n))) }

// takeBuffer copies a library buffer into Go memory and frees it (freeing wipes it).
func takeBuffer(b *C.trent_buffer) []byte {
	n := int(C.trent_buffer_len(b))
	out := make([]byte, n)
	if n > 0 {
		copy(out, unsafe.Slice((*byte)(unsafe.Pointer(C.trent_buffer_data(b))), n))
	}
	C.trent_buffer_free(b)
	return out
}

// check is nil when a call succeeded, else its error (takeError).
func check(rc C.trent_result, detail *C.trent_error) error {
	if rc == C.TRENT_RESULT_OK {
		return nil
	}
	return takeError(rc, detail)
}

// takeError builds the Go error of a failed call and frees the C detail.
func takeError(rc C.trent_result, detail *C.trent_error) error {
	msg := ""
	if detail != nil {
		msg = C.GoString(C.trent_error_message(detail))
		C.trent_error_free(detail)
	}
	return newError(uint32(rc), msg)
}

func resultName(code uint32) string {
	return C.GoString(C.trent_result_name(C.uint32_t(code)))
}

// Version is the linked library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.trent_version()) }

// wipe zeroes b.
func wipe(b []byte) {
	clear(b)
}
