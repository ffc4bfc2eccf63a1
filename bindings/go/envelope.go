package trent

/*
#cgo nocallback go_trent_envelope_encrypt
#cgo nocallback go_trent_envelope_decrypt
#include "trent_go.h"
*/
import "C"

import "runtime"

// envelopeHeaderRoom bounds an envelope file's header beyond its encryption context (magic,
// parameters, salt, the key ARN, the wrapped data key of at most 6144 bytes, the tag).
const envelopeHeaderRoom = 8192

// defaultChunkSize is the engine's default envelope chunk (256 KiB).
const defaultChunkSize = 256 << 10

// EnvelopeEncrypt seals data of any size with the envelope flow, inside the engine: a fresh
// AES-256 data key from GenerateDataKey on keyID (bound to the encryption context), the data
// sealed under it in chunks of chunkSize bytes (0 for the default, 256 KiB; else 1 KiB to
// 64 MiB) on the engine's thread pool, and the result returned as one envelope file (the
// format of `trent envelope`: header with the wrapped data key, then the chunks). The data
// key never reaches Go.
func (k *KMS) EnvelopeEncrypt(keyID string, plaintext []byte, context map[string]string, chunkSize int) ([]byte, error) {
	if chunkSize < 0 {
		return nil, newError(uint32(CodeInvalidArgument), "chunk size must not be negative")
	}
	var pc packedContext
	pc.pack(context)
	kp, cp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.release()
	chunk := chunkSize
	if chunk == 0 {
		chunk = defaultChunkSize
	}
	ctxBytes := 0
	for key, v := range context {
		ctxBytes += 8 + len(key) + len(v)
	}
	out := make([]byte, len(plaintext)+envelopeHeaderRoom+ctxBytes+16*(len(plaintext)/chunk+2))
	var o C.go_trent_out
	rc := C.go_trent_envelope_encrypt(kp, cp, strPtr(keyID), C.size_t(len(keyID)),
		pc.bufPtr(), pc.lensPtr(), pc.count(), C.size_t(chunkSize),
		bytesPtr(plaintext), C.size_t(len(plaintext)), bytesPtr(out), C.size_t(len(out)), &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(keyID)
	runtime.KeepAlive(plaintext)
	return result(rc, &o, out)
}

// EnvelopeDecrypt opens an envelope file from EnvelopeEncrypt (or `trent envelope`): the
// data key is unwrapped with Decrypt (key and context come from the file's header) and every
// chunk is authenticated before any plaintext is returned. A damaged, truncated, extended or
// reordered file is ErrInvalidCiphertext; the engine's refusals (a disabled key) keep their
// errors. The plaintext is ordinary Go memory (see the README on secrets).
func (k *KMS) EnvelopeDecrypt(sealed []byte) ([]byte, error) {
	kp, cp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.release()
	out := make([]byte, len(sealed))
	var o C.go_trent_out
	rc := C.go_trent_envelope_decrypt(kp, cp, bytesPtr(sealed), C.size_t(len(sealed)), bytesPtr(out), C.size_t(len(out)), &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(sealed)
	return result(rc, &o, out)
}
