package trent

/*
#cgo noescape go_trent_encrypt
#cgo nocallback go_trent_encrypt
#cgo noescape go_trent_decrypt
#cgo nocallback go_trent_decrypt
#cgo noescape go_trent_re_encrypt
#cgo nocallback go_trent_re_encrypt
#cgo noescape go_trent_generate_data_key
#cgo nocallback go_trent_generate_data_key
#cgo noescape go_trent_generate_data_key_without_plaintext
#cgo nocallback go_trent_generate_data_key_without_plaintext
#cgo noescape go_trent_generate_random
#cgo nocallback go_trent_generate_random
#cgo noescape go_trent_key_op
#cgo nocallback go_trent_key_op
#cgo noescape go_trent_call_json
#cgo nocallback go_trent_call_json
#include "trent_go.h"
*/
import "C"

import (
	"runtime"
)

// blobOverhead bounds a ciphertext blob's size beyond its plaintext (the v1 format adds a
// 46-byte header and a 16-byte tag); a larger blob still works, through a slower copy.
const blobOverhead = 128

// keyIDCap bounds a key id's length for CreateKey's output buffer.
const keyIDCap = 128

// CreateKey creates a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) with the
// description ("" for none) and returns its key id. CreateKeyWithOptions takes every option.
func (k *KMS) CreateKey(description string) (string, error) {
	var dp *C.char
	if description != "" {
		dp = strPtr(description)
	}
	out, err := k.keyOp(C.GO_TRENT_CREATE_KEY, "", dp, description, "", 0, keyIDCap)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// keyOp runs one of the key-id operations of go_trent_key_op. When aPtr is not nil it is
// used for the first text instead of a (CreateKey's optional description).
func (k *KMS) keyOp(op C.int, a string, aPtr *C.char, aText string, b string, n uint32, outCap int) ([]byte, error) {
	kp, cp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.release()
	var out []byte
	if outCap > 0 {
		out = make([]byte, outCap)
	}
	var o C.go_trent_out
	ap, al := strPtr(a), C.size_t(len(a))
	if aPtr != nil || aText != "" {
		ap, al = aPtr, C.size_t(len(aText))
	}
	rc := C.go_trent_key_op(op, kp, cp, ap, al, strPtr(b), C.size_t(len(b)), C.uint32_t(n),
		bytesPtr(out), C.size_t(len(out)), &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(a)
	runtime.KeepAlive(aText)
	runtime.KeepAlive(b)
	return result(rc, &o, out)
}

// EnableKey makes the key Enabled.
func (k *KMS) EnableKey(keyID string) error {
	_, err := k.keyOp(C.GO_TRENT_ENABLE_KEY, keyID, nil, "", "", 0, 0)
	return err
}

// DisableKey makes the key Disabled: cryptographic operations with it fail with ErrDisabled
// until it is enabled again.
func (k *KMS) DisableKey(keyID string) error {
	_, err := k.keyOp(C.GO_TRENT_DISABLE_KEY, keyID, nil, "", "", 0, 0)
	return err
}

// ScheduleKeyDeletion makes the key PendingDeletion; it is deleted after
// pendingWindowInDays days (7–30; 0 for the default, 30).
func (k *KMS) ScheduleKeyDeletion(keyID string, pendingWindowInDays int) error {
	_, err := k.keyOp(C.GO_TRENT_SCHEDULE_KEY_DELETION, keyID, nil, "", "", clampU32(pendingWindowInDays), 0)
	return err
}

// CancelKeyDeletion makes a key PendingDeletion Disabled again.
func (k *KMS) CancelKeyDeletion(keyID string) error {
	_, err := k.keyOp(C.GO_TRENT_CANCEL_KEY_DELETION, keyID, nil, "", "", 0, 0)
	return err
}

// RotateKeyOnDemand gives the key new material now; older ciphertexts still decrypt.
func (k *KMS) RotateKeyOnDemand(keyID string) error {
	_, err := k.keyOp(C.GO_TRENT_ROTATE_KEY_ON_DEMAND, keyID, nil, "", "", 0, 0)
	return err
}

// EnableKeyRotation rotates the key automatically every rotationPeriodInDays days (90–2560;
// 0 for the default, 365).
func (k *KMS) EnableKeyRotation(keyID string, rotationPeriodInDays int) error {
	_, err := k.keyOp(C.GO_TRENT_ENABLE_KEY_ROTATION, keyID, nil, "", "", clampU32(rotationPeriodInDays), 0)
	return err
}

// DisableKeyRotation turns automatic rotation off.
func (k *KMS) DisableKeyRotation(keyID string) error {
	_, err := k.keyOp(C.GO_TRENT_DISABLE_KEY_ROTATION, keyID, nil, "", "", 0, 0)
	return err
}

// UpdateKeyDescription sets the key's description.
func (k *KMS) UpdateKeyDescription(keyID, description string) error {
	_, err := k.keyOp(C.GO_TRENT_UPDATE_KEY_DESCRIPTION, keyID, nil, "", description, 0, 0)
	return err
}

// CreateAlias makes aliasName ("alias/…") name the key; ErrAlreadyExists if it exists.
func (k *KMS) CreateAlias(aliasName, targetKeyID string) error {
	_, err := k.keyOp(C.GO_TRENT_CREATE_ALIAS, aliasName, nil, "", targetKeyID, 0, 0)
	return err
}

// UpdateAlias points an existing alias at another key.
func (k *KMS) UpdateAlias(aliasName, targetKeyID string) error {
	_, err := k.keyOp(C.GO_TRENT_UPDATE_ALIAS, aliasName, nil, "", targetKeyID, 0, 0)
	return err
}

// DeleteAlias removes an alias (the key stays).
func (k *KMS) DeleteAlias(aliasName string) error {
	_, err := k.keyOp(C.GO_TRENT_DELETE_ALIAS, aliasName, nil, "", "", 0, 0)
	return err
}

// Encrypt seals 1–4096 bytes of plaintext under the key (id, ARN, alias name or alias ARN)
// with the encryption context (nil for none) and returns the ciphertext blob. The plaintext
// is read in place, not copied.
func (k *KMS) Encrypt(keyID string, plaintext []byte, context map[string]string) ([]byte, error) {
	return k.EncryptAppend(nil, keyID, plaintext, context)
}

// EncryptAppend is Encrypt appending the blob to dst, like cipher.AEAD's Seal: with a dst of
// enough capacity (len(plaintext)+128 spare bytes) it allocates nothing. On error dst is
// returned unchanged.
func (k *KMS) EncryptAppend(dst []byte, keyID string, plaintext []byte, context map[string]string) ([]byte, error) {
	var pc packedContext
	pc.pack(context)
	kp, cp, err := k.acquire()
	if err != nil {
		return dst, err
	}
	defer k.release()
	head, out := grow(dst, len(plaintext)+blobOverhead)
	var o C.go_trent_out
	rc := C.go_trent_encrypt(kp, cp, strPtr(keyID), C.size_t(len(keyID)),
		bytesPtr(plaintext), C.size_t(len(plaintext)),
		pc.bufPtr(), pc.lensPtr(), pc.count(),
		bytesPtr(out), C.size_t(len(out)), &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(keyID)
	runtime.KeepAlive(plaintext)
	return appendResult(dst, head, rc, &o, out)
}

// grow returns dst's full-capacity view and the n bytes after len(dst) to write into,
// reallocating when dst has less spare capacity.
func grow(dst []byte, n int) (head, tail []byte) {
	if cap(dst)-len(dst) < n {
		nd := make([]byte, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst, dst[len(dst) : len(dst)+n]
}

// appendResult is result for the Append variants: head[:len(dst)+written], or dst on error.
func appendResult(dst, head []byte, rc C.trent_result, o *C.go_trent_out, out []byte) ([]byte, error) {
	if rc != C.TRENT_RESULT_OK {
		return dst, takeError(rc, o.err)
	}
	if o.spill_buf != nil || o.spill_secret != nil {
		wipe(out)
		tmp := takeSpill(o)
		r := append(head[:len(dst)], tmp...)
		wipe(tmp)
		return r, nil
	}
	return head[:len(dst)+int(o.len)], nil
}

// Decrypt opens a ciphertext blob from Encrypt, GenerateDataKey or ReEncrypt given the same
// encryption context. Every decryption failure is the same ErrInvalidCiphertext. The
// plaintext is ordinary Go memory: see the README on secrets.
func (k *KMS) Decrypt(blob []byte, context map[string]string) ([]byte, error) {
	return k.DecryptWithKey("", blob, context)
}

// DecryptWithKey is Decrypt that also checks the blob was encrypted under keyID
// (ErrIncorrectKey otherwise); "" accepts any key.
func (k *KMS) DecryptWithKey(keyID string, blob []byte, context map[string]string) ([]byte, error) {
	return k.DecryptAppend(nil, keyID, blob, context)
}

// DecryptAppend is DecryptWithKey appending the plaintext to dst, like cipher.AEAD's Open:
// with a dst of enough capacity (len(blob) spare bytes) it allocates nothing, so a caller
// can decrypt into one buffer it reuses and clears. On error dst is returned unchanged
// (the spare capacity is not written).
func (k *KMS) DecryptAppend(dst []byte, keyID string, blob []byte, context map[string]string) ([]byte, error) {
	var pc packedContext
	pc.pack(context)
	kp, cp, err := k.acquire()
	if err != nil {
		return dst, err
	}
	defer k.release()
	head, out := grow(dst, len(blob))
	var o C.go_trent_out
	rc := C.go_trent_decrypt(kp, cp, bytesPtr(blob), C.size_t(len(blob)),
		pc.bufPtr(), pc.lensPtr(), pc.count(),
		strPtr(keyID), C.size_t(len(keyID)),
		bytesPtr(out), C.size_t(len(out)), &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(keyID)
	runtime.KeepAlive(blob)
	return appendResult(dst, head, rc, &o, out)
}

// ReEncrypt decrypts a blob (with its source context) and encrypts the plaintext under
// destinationKeyID with destinationContext, inside the engine: the plaintext never reaches Go.
func (k *KMS) ReEncrypt(blob []byte, sourceContext map[string]string, destinationKeyID string, destinationContext map[string]string) ([]byte, error) {
	var sc, dc packedContext
	sc.pack(sourceContext)
	dc.pack(destinationContext)
	kp, cp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.release()
	out := make([]byte, len(blob)+blobOverhead)
	var o C.go_trent_out
	rc := C.go_trent_re_encrypt(kp, cp, bytesPtr(blob), C.size_t(len(blob)),
		sc.bufPtr(), sc.lensPtr(), sc.count(),
		strPtr(destinationKeyID), C.size_t(len(destinationKeyID)),
		dc.bufPtr(), dc.lensPtr(), dc.count(),
		bytesPtr(out), C.size_t(len(out)), &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(blob)
	runtime.KeepAlive(destinationKeyID)
	return result(rc, &o, out)
}

// DataKey is a data key: its plaintext, to use and then drop (and clear), and the same key
// wrapped under the KMS key, to store beside the data (Decrypt unwraps it).
type DataKey struct {
	Plaintext      []byte
	CiphertextBlob []byte
}

// dataKeySize is the plaintext size GenerateDataKey makes for numberOfBytes (0 → AES-256).
func dataKeySize(numberOfBytes int) int {
	if numberOfBytes <= 0 {
		return 32
	}
	if numberOfBytes > 1024 {
		return 1024
	}
	return numberOfBytes
}

func clampU32(n int) uint32 {
	if n < 0 {
		return 0xFFFFFFFF // out of range: the engine refuses it
	}
	if uint64(n) > 0xFFFFFFFF {
		return 0xFFFFFFFF
	}
	return uint32(n)
}

// GenerateDataKey makes a data key under the KMS key: numberOfBytes random bytes (1–1024),
// or an AES-256 key (32 bytes) when numberOfBytes is 0.
func (k *KMS) GenerateDataKey(keyID string, numberOfBytes int, context map[string]string) (DataKey, error) {
	var pc packedContext
	pc.pack(context)
	kp, cp, err := k.acquire()
	if err != nil {
		return DataKey{}, err
	}
	defer k.release()
	size := dataKeySize(numberOfBytes)
	// One allocation for both: plaintext first, blob after it.
	buf := make([]byte, size+size+blobOverhead)
	pt, ct := buf[:size:size], buf[size:]
	var o C.go_trent_out
	rc := C.go_trent_generate_data_key(kp, cp, strPtr(keyID), C.size_t(len(keyID)), C.uint32_t(clampU32(numberOfBytes)),
		pc.bufPtr(), pc.lensPtr(), pc.count(),
		bytesPtr(pt), C.size_t(len(pt)), bytesPtr(ct), C.size_t(len(ct)), &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(keyID)
	if rc != C.TRENT_RESULT_OK {
		return DataKey{}, takeError(rc, o.err)
	}
	var dk DataKey
	if o.spill_secret != nil {
		wipe(pt)
		dk.Plaintext = takeSecret(&o)
	} else {
		dk.Plaintext = pt[:o.len:o.len]
	}
	if o.spill_buf != nil {
		dk.CiphertextBlob = takeSpill(&o)
	} else {
		dk.CiphertextBlob = ct[:o.len2:o.len2]
	}
	return dk, nil
}

func takeSecret(o *C.go_trent_out) []byte {
	buf := o.spill_buf
	o.spill_buf = nil
	out := takeSpill(o)
	o.spill_buf = buf
	return out
}

// GenerateDataKeyWithoutPlaintext is GenerateDataKey returning only the wrapped key.
func (k *KMS) GenerateDataKeyWithoutPlaintext(keyID string, numberOfBytes int, context map[string]string) ([]byte, error) {
	var pc packedContext
	pc.pack(context)
	kp, cp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.release()
	out := make([]byte, dataKeySize(numberOfBytes)+blobOverhead)
	var o C.go_trent_out
	rc := C.go_trent_generate_data_key_without_plaintext(kp, cp, strPtr(keyID), C.size_t(len(keyID)),
		C.uint32_t(clampU32(numberOfBytes)), pc.bufPtr(), pc.lensPtr(), pc.count(),
		bytesPtr(out), C.size_t(len(out)), &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(keyID)
	return result(rc, &o, out)
}

// GenerateRandom returns numberOfBytes (1–1024) random bytes from the engine's generator.
func (k *KMS) GenerateRandom(numberOfBytes int) ([]byte, error) {
	kp, cp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.release()
	out := make([]byte, dataKeySize(numberOfBytes))
	var o C.go_trent_out
	rc := C.go_trent_generate_random(kp, cp, C.uint32_t(clampU32(numberOfBytes)), bytesPtr(out), C.size_t(len(out)), &o)
	runtime.KeepAlive(k)
	return result(rc, &o, out)
}

// CallJSON runs any operation by its AWS wire name ("Encrypt", "ListAliases", …, and Trent's
// batches "GenerateDataKeys", "EncryptBatch", "DecryptBatch", "ReEncryptBatch") with its AWS
// JSON 1.1 request body (nil reads as {}), and returns the JSON response body. Responses of
// Decrypt, GenerateDataKey, GenerateRandom and the batches hold plaintext: clear them when
// done.
func (k *KMS) CallJSON(operation string, request []byte) ([]byte, error) {
	kp, cp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.release()
	// Room for the usual response: small, or about the request's size (a blob in, a blob
	// out); a bigger one comes back through the spill path.
	out := make([]byte, max(4096, 1024+len(request)+len(request)/8))
	var o C.go_trent_out
	rc := C.go_trent_call_json(kp, cp, strPtr(operation), C.size_t(len(operation)),
		bytesPtr(request), C.size_t(len(request)), bytesPtr(out), C.size_t(len(out)), &o)
	runtime.KeepAlive(k)
	runtime.KeepAlive(operation)
	runtime.KeepAlive(request)
	return result(rc, &o, out)
}
