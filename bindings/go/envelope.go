package trent

/*
#include <stdlib.h>
#include "trent.h"
*/
import "C"

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
	ctx := cPairs(context)
	defer C.free(ctx)
	return callResult(k, takeBuffer, func(kp *C.trent_kms, cp *C.trent_caller, out **C.trent_buffer, d **C.trent_error) C.trent_result {
		return C.trent_kms_envelope_encrypt(kp, cp, strPtr(keyID), C.size_t(len(keyID)),
			(*C.trent_context_entry)(ctx), C.size_t(len(context)), C.size_t(chunkSize),
			bytesPtr(plaintext), C.size_t(len(plaintext)), out, d)
	})
}

// EnvelopeDecrypt opens an envelope file from EnvelopeEncrypt (or `trent envelope`): the
// data key is unwrapped with Decrypt (key and context come from the file's header) and every
// chunk is authenticated before any plaintext is returned. A damaged, truncated, extended or
// reordered file is ErrInvalidCiphertext; the engine's refusals (a disabled key) keep their
// errors. The plaintext is ordinary Go memory (see the README on secrets).
func (k *KMS) EnvelopeDecrypt(sealed []byte) ([]byte, error) {
	return callResult(k, takeBuffer, func(kp *C.trent_kms, cp *C.trent_caller, out **C.trent_buffer, d **C.trent_error) C.trent_result {
		return C.trent_kms_envelope_decrypt(kp, cp, bytesPtr(sealed), C.size_t(len(sealed)), out, d)
	})
}
