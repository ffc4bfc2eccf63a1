package trent

// The cgo boundary: the link line, and small C wrappers that do in one crossing what would
// otherwise take several (call, read the result's pointer and length, copy it out, free it).
// Each wrapper copies a result into memory Go allocated and frees the library's handle, so a
// typical operation is one cgo call. When a result does not fit the Go buffer (it never
// should), the handle is handed back ("spill") and Go copies it out and frees it.
//
// Encryption contexts cross as one packed byte buffer plus a length array (key, value, key,
// value, …), both Go memory without pointers; the wrapper builds the trent_context_entry
// array on its own stack. So no Go pointer is ever stored in memory C reads (except in the
// batch calls, whose item arrays point to buffers pinned with runtime.Pinner), and nothing is
// malloc'ed on the common path.

/*
#cgo CFLAGS: -I${SRCDIR}/../../ffi/include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -l:libtrent_ffi.a -lpthread -ldl -lm -lrt -lutil
#include "trent_go.h"
*/
import "C"

import (
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

// packedContext is an encryption context laid out for the wrappers: the strings end to end
// and their lengths (key, value, key, value, …). Small contexts live in the inline arrays, so
// packing allocates nothing; larger ones in two separate heap slices. The struct never holds
// a Go pointer while an inline array is in use (cgocheck looks at the whole object a pointer
// points into), and the heap slices hold no pointers.
type packedContext struct {
	n       int
	size    int
	bufArr  [256]byte
	lensArr [16]C.size_t
	bigBuf  []byte
	bigLens []C.size_t
}

func (p *packedContext) pack(ctx map[string]string) {
	p.n = len(ctx)
	if p.n == 0 {
		return
	}
	total := 0
	for k, v := range ctx {
		total += len(k) + len(v)
	}
	p.size = total
	var buf []byte
	var lens []C.size_t
	if total <= len(p.bufArr) && 2*p.n <= len(p.lensArr) {
		buf, lens = p.bufArr[:0], p.lensArr[:0]
	} else {
		p.bigBuf = make([]byte, 0, total)
		p.bigLens = make([]C.size_t, 0, 2*p.n)
		buf, lens = p.bigBuf, p.bigLens
	}
	for k, v := range ctx {
		buf = append(buf, k...)
		buf = append(buf, v...)
		lens = append(lens, C.size_t(len(k)), C.size_t(len(v)))
	}
}

func (p *packedContext) bufPtr() *C.char {
	switch {
	case p.n == 0:
		return nil
	case p.bigBuf != nil:
		if p.size == 0 {
			return nil
		}
		return (*C.char)(unsafe.Pointer(unsafe.SliceData(p.bigBuf[:1])))
	default:
		return (*C.char)(unsafe.Pointer(&p.bufArr[0]))
	}
}

func (p *packedContext) lensPtr() *C.size_t {
	switch {
	case p.n == 0:
		return nil
	case p.bigLens != nil:
		return unsafe.SliceData(p.bigLens[:1])
	default:
		return &p.lensArr[0]
	}
}

func (p *packedContext) count() C.size_t { return C.size_t(p.n) }

// takeSpill copies out and frees a result handle that did not fit the Go buffer.
func takeSpill(o *C.go_trent_out) []byte {
	if o.spill_buf != nil {
		n := C.trent_buffer_len(o.spill_buf)
		out := C.GoBytes(unsafe.Pointer(C.trent_buffer_data(o.spill_buf)), C.int(n))
		C.trent_buffer_free(o.spill_buf)
		o.spill_buf = nil
		return out
	}
	if o.spill_secret != nil {
		n := C.trent_secret_len(o.spill_secret)
		out := C.GoBytes(unsafe.Pointer(C.trent_secret_data(o.spill_secret)), C.int(n))
		C.trent_secret_free(o.spill_secret)
		o.spill_secret = nil
		return out
	}
	return nil
}

// result turns a wrapper's return code and out-struct into the bytes written to out, or an
// *Error (freeing the library's detail).
func result(rc C.trent_result, o *C.go_trent_out, out []byte) ([]byte, error) {
	if rc != C.TRENT_RESULT_OK {
		return nil, takeError(rc, o.err)
	}
	if o.spill_buf != nil || o.spill_secret != nil {
		wipe(out)
		return takeSpill(o), nil
	}
	return out[:o.len:o.len], nil
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
