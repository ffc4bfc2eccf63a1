package trent

/*
#cgo noescape trent_kms_encrypt_into
#cgo nocallback trent_kms_encrypt_into
#cgo noescape trent_kms_decrypt_into
#cgo nocallback trent_kms_decrypt_into
#cgo noescape trent_kms_re_encrypt_into
#cgo nocallback trent_kms_re_encrypt_into
#cgo noescape trent_kms_generate_data_key_into
#cgo nocallback trent_kms_generate_data_key_into
#cgo noescape trent_kms_generate_data_key_without_plaintext_into
#cgo nocallback trent_kms_generate_data_key_without_plaintext_into
#cgo noescape trent_kms_generate_random_into
#cgo nocallback trent_kms_generate_random_into
#cgo noescape trent_kms_ciphertext_key_arn
#cgo nocallback trent_kms_ciphertext_key_arn
#cgo noescape trent_kms_ciphertext_key_material_id
#cgo nocallback trent_kms_ciphertext_key_material_id
#include "trent.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// keyOp names one of trent.h's operations on a key that take only its id (and, for two, a
// number of days) and report only an error.
type keyOp int

const (
	opEnableKey keyOp = iota
	opDisableKey
	opCancelKeyDeletion
	opRotateKeyOnDemand
	opDisableKeyRotation
	opScheduleKeyDeletion // days: the pending window
	opEnableKeyRotation   // days: the rotation period
)

// keyCall runs op on the key keyID names: one call site for the trent.h functions of the
// (kms, caller, key_id, key_id_len[, days], err) signatures. days is ignored by the operations
// that take none.
func (k *KMS) keyCall(op keyOp, keyID string, days int) error {
	return k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		id, n := strPtr(keyID), C.size_t(len(keyID))
		switch op {
		case opScheduleKeyDeletion:
			rc = C.trent_kms_schedule_key_deletion(kp, cp, id, n, C.uint32_t(clampU32(days)), &d)
		case opEnableKeyRotation:
			rc = C.trent_kms_enable_key_rotation(kp, cp, id, n, C.uint32_t(clampU32(days)), &d)
		case opEnableKey:
			rc = C.trent_kms_enable_key(kp, cp, id, n, &d)
		case opDisableKey:
			rc = C.trent_kms_disable_key(kp, cp, id, n, &d)
		case opCancelKeyDeletion:
			rc = C.trent_kms_cancel_key_deletion(kp, cp, id, n, &d)
		case opRotateKeyOnDemand:
			rc = C.trent_kms_rotate_key_on_demand(kp, cp, id, n, &d)
		case opDisableKeyRotation:
			rc = C.trent_kms_disable_key_rotation(kp, cp, id, n, &d)
		default:
			panic("trent: unknown key operation")
		}
		return rc, d
	})
}

// CreateKey creates a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) with the
// description ("" for none) and returns its key id. CreateKeyWithOptions takes every option.
func (k *KMS) CreateKey(description string) (string, error) {
	id, err := callResult(k, takeBuffer, func(kp *C.trent_kms, cp *C.trent_caller, out **C.trent_buffer, d **C.trent_error) C.trent_result {
		return C.trent_kms_create_key(kp, cp, optStr(description), C.size_t(len(description)), out, d)
	})
	return string(id), err
}

// EnableKey makes the key Enabled.
func (k *KMS) EnableKey(keyID string) error { return k.keyCall(opEnableKey, keyID, 0) }

// DisableKey makes the key Disabled: cryptographic operations with it fail with ErrDisabled
// until it is enabled again.
func (k *KMS) DisableKey(keyID string) error { return k.keyCall(opDisableKey, keyID, 0) }

// ScheduleKeyDeletion makes the key PendingDeletion; it is deleted after
// pendingWindowInDays days (7–30; 0 for the default, 30).
func (k *KMS) ScheduleKeyDeletion(keyID string, pendingWindowInDays int) error {
	return k.keyCall(opScheduleKeyDeletion, keyID, pendingWindowInDays)
}

// CancelKeyDeletion makes a key PendingDeletion Disabled again.
func (k *KMS) CancelKeyDeletion(keyID string) error { return k.keyCall(opCancelKeyDeletion, keyID, 0) }

// RotateKeyOnDemand gives the key new material now; older ciphertexts still decrypt.
func (k *KMS) RotateKeyOnDemand(keyID string) error { return k.keyCall(opRotateKeyOnDemand, keyID, 0) }

// EnableKeyRotation rotates the key automatically every rotationPeriodInDays days (90–2560;
// 0 for the default, 365).
func (k *KMS) EnableKeyRotation(keyID string, rotationPeriodInDays int) error {
	return k.keyCall(opEnableKeyRotation, keyID, rotationPeriodInDays)
}

// DisableKeyRotation turns automatic rotation off.
func (k *KMS) DisableKeyRotation(keyID string) error {
	return k.keyCall(opDisableKeyRotation, keyID, 0)
}

// UpdateKeyDescription sets the key's description.
func (k *KMS) UpdateKeyDescription(keyID, description string) error {
	return k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_update_key_description(kp, cp, strPtr(keyID), C.size_t(len(keyID)),
			strPtr(description), C.size_t(len(description)), &d)
		return rc, d
	})
}

// CreateAlias makes aliasName ("alias/…") name the key; ErrAlreadyExists if it exists.
func (k *KMS) CreateAlias(aliasName, targetKeyID string) error {
	return k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_create_alias(kp, cp, strPtr(aliasName), C.size_t(len(aliasName)),
			strPtr(targetKeyID), C.size_t(len(targetKeyID)), &d)
		return rc, d
	})
}

// UpdateAlias points an existing alias at another key.
func (k *KMS) UpdateAlias(aliasName, targetKeyID string) error {
	return k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_update_alias(kp, cp, strPtr(aliasName), C.size_t(len(aliasName)),
			strPtr(targetKeyID), C.size_t(len(targetKeyID)), &d)
		return rc, d
	})
}

// DeleteAlias removes an alias (the key stays).
func (k *KMS) DeleteAlias(aliasName string) error {
	return k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_delete_alias(kp, cp, strPtr(aliasName), C.size_t(len(aliasName)), &d)
		return rc, d
	})
}

// Encrypt seals 1–4096 bytes of plaintext under the key (id, ARN, alias name or alias ARN)
// with the encryption context (nil for none) and returns the ciphertext blob. The plaintext
// is read in place, not copied.
func (k *KMS) Encrypt(keyID string, plaintext []byte, context map[string]string) ([]byte, error) {
	return k.EncryptAppend(nil, keyID, plaintext, context)
}

// EncryptAppend is Encrypt appending the blob to dst, like cipher.AEAD's Seal: with a dst of
// enough spare capacity (CiphertextLen(len(plaintext)) bytes) it allocates nothing. On error
// dst is returned unchanged.
func (k *KMS) EncryptAppend(dst []byte, keyID string, plaintext []byte, context map[string]string) ([]byte, error) {
	return k.cryptAppend(false, dst, keyID, plaintext, context)
}

// CiphertextLen is the length of the blob Encrypt makes of plaintextLen bytes (the library's
// trent_ciphertext_len): the spare capacity EncryptAppend needs to allocate nothing.
func CiphertextLen(plaintextLen int) int { return ciphertextLen(plaintextLen) }

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
// with a dst of enough spare capacity (len(blob) bytes always suffice) it allocates nothing,
// so a caller can decrypt into one buffer it reuses and clears. On error dst is returned
// unchanged (the spare capacity is not written).
func (k *KMS) DecryptAppend(dst []byte, keyID string, blob []byte, context map[string]string) ([]byte, error) {
	return k.cryptAppend(true, dst, keyID, blob, context)
}

// cryptAppend is EncryptAppend, or DecryptAppend when decrypt is set (in is then the blob):
// the two differ only in their C function and the room their output needs. The context is
// packed on the stack and the output written in place after len(dst).
func (k *KMS) cryptAppend(decrypt bool, dst []byte, keyID string, in []byte, context map[string]string) ([]byte, error) {
	var arr [ctxInline]byte
	pc := packContext(arr[:0], context)
	room := ciphertextLen(len(in))
	if decrypt {
		room = plaintextLenMax(len(in))
	}
	head, out := grow(dst, room)
	var n C.size_t
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		kip, kil := strPtr(keyID), C.size_t(len(keyID))
		if decrypt {
			rc = C.trent_kms_decrypt_into(kp, cp, bytesPtr(in), C.size_t(len(in)), bytesPtr(pc), C.size_t(len(pc)),
				kip, kil, bytesPtr(out), C.size_t(len(out)), &n, &d)
		} else {
			rc = C.trent_kms_encrypt_into(kp, cp, kip, kil, bytesPtr(in), C.size_t(len(in)), bytesPtr(pc), C.size_t(len(pc)),
				bytesPtr(out), C.size_t(len(out)), &n, &d)
		}
		return rc, d
	})
	if err != nil {
		return dst, err
	}
	return head[:len(dst)+int(n)], nil
}

// ReEncrypt decrypts a blob (with its source context) and encrypts the plaintext under
// destinationKeyID with destinationContext, inside the engine: the plaintext never reaches Go.
func (k *KMS) ReEncrypt(blob []byte, sourceContext map[string]string, destinationKeyID string, destinationContext map[string]string) ([]byte, error) {
	var sarr, darr [ctxInline]byte
	sc := packContext(sarr[:0], sourceContext)
	dc := packContext(darr[:0], destinationContext)
	// The same plaintext under the same format: a blob of the same length.
	out := make([]byte, ciphertextLen(plaintextLenMax(len(blob))))
	var n C.size_t
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_re_encrypt_into(kp, cp, bytesPtr(blob), C.size_t(len(blob)),
			bytesPtr(sc), C.size_t(len(sc)), strPtr(destinationKeyID), C.size_t(len(destinationKeyID)),
			bytesPtr(dc), C.size_t(len(dc)), bytesPtr(out), C.size_t(len(out)), &n, &d)
		return rc, d
	})
	if err != nil {
		return nil, err
	}
	return out[:n:n], nil
}

// DataKey is a data key: its plaintext, to use and then drop (and clear), and the same key
// wrapped under the KMS key, to store beside the data (Decrypt unwraps it).
type DataKey struct {
	Plaintext      []byte
	CiphertextBlob []byte
}

// dataKeySize is the plaintext size GenerateDataKey makes for numberOfBytes (0 → AES-256);
// out of range, a size the engine refuses anyway.
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
	var arr [ctxInline]byte
	pc := packContext(arr[:0], context)
	size := dataKeySize(numberOfBytes)
	// One allocation for both: plaintext first, blob after it.
	buf := make([]byte, size+ciphertextLen(size))
	pt, ct := buf[:size:size], buf[size:]
	var n C.size_t
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_generate_data_key_into(kp, cp, strPtr(keyID), C.size_t(len(keyID)), C.uint32_t(clampU32(numberOfBytes)),
			bytesPtr(pc), C.size_t(len(pc)), bytesPtr(pt), C.size_t(len(pt)), bytesPtr(ct), C.size_t(len(ct)), &n, &d)
		return rc, d
	})
	if err != nil {
		return DataKey{}, err
	}
	return DataKey{Plaintext: pt, CiphertextBlob: ct[:n:n]}, nil
}

// GenerateDataKeyWithoutPlaintext is GenerateDataKey returning only the wrapped key.
func (k *KMS) GenerateDataKeyWithoutPlaintext(keyID string, numberOfBytes int, context map[string]string) ([]byte, error) {
	var arr [ctxInline]byte
	pc := packContext(arr[:0], context)
	out := make([]byte, ciphertextLen(dataKeySize(numberOfBytes)))
	var n C.size_t
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_generate_data_key_without_plaintext_into(kp, cp, strPtr(keyID), C.size_t(len(keyID)),
			C.uint32_t(clampU32(numberOfBytes)), bytesPtr(pc), C.size_t(len(pc)),
			bytesPtr(out), C.size_t(len(out)), &n, &d)
		return rc, d
	})
	if err != nil {
		return nil, err
	}
	return out[:n:n], nil
}

// GenerateRandom returns numberOfBytes (1–1024) random bytes from the engine's generator.
func (k *KMS) GenerateRandom(numberOfBytes int) ([]byte, error) {
	out := make([]byte, dataKeySize(numberOfBytes))
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_generate_random_into(kp, cp, C.uint32_t(clampU32(numberOfBytes)), bytesPtr(out), C.size_t(len(out)), &d)
		return rc, d
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CiphertextKeyArn is the ARN of the KMS key that encrypted a blob, read from the blob's
// header (not authenticated, no permission checked, not audited: Decrypt is what proves a
// blob genuine). ErrInvalidCiphertext if the blob is not one of Trent's.
func (k *KMS) CiphertextKeyArn(blob []byte) (string, error) {
	return k.blobHeaderText(blob, false)
}

// CiphertextKeyMaterialID is the key material id (KeyMaterialId in the Decrypt,
// GenerateDataKey and ReEncrypt responses) of the key version that encrypted a blob, from the
// blob's header and the key's record (not authenticated, no permission checked, not audited,
// nothing decrypted). ErrInvalidCiphertext if the blob is not one of Trent's or names a
// version its key does not have; ErrNotFound if its key no longer exists.
func (k *KMS) CiphertextKeyMaterialID(blob []byte) (string, error) {
	return k.blobHeaderText(blob, true)
}

// blobHeaderText reads the key's ARN, or its material id, for a blob. The text goes into an
// array on the stack (an ARN of the usual partitions and Regions fits; a material id is 64
// hex digits); a longer one is ErrValidation with its length, and read once more into a
// buffer of that size.
func (k *KMS) blobHeaderText(blob []byte, materialID bool) (string, error) {
	var arr [160]byte
	out := arr[:]
	for {
		var n C.size_t
		err := k.call(func(kp *C.trent_kms, _ *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
			op, ol := (*C.char)(unsafe.Pointer(unsafe.SliceData(out))), C.size_t(len(out))
			if materialID {
				rc = C.trent_kms_ciphertext_key_material_id(kp, bytesPtr(blob), C.size_t(len(blob)), op, ol, &n, &d)
			} else {
				rc = C.trent_kms_ciphertext_key_arn(kp, bytesPtr(blob), C.size_t(len(blob)), op, ol, &n, &d)
			}
			return rc, d
		})
		if err != nil && errors.Is(err, ErrValidation) && int(n) > len(out) {
			out = make([]byte, int(n))
			continue
		}
		if err != nil {
			return "", err
		}
		return string(out[:n]), nil
	}
}

// CallJSON runs any operation by its AWS wire name ("Encrypt", "ListAliases", …, and Trent's
// batches "GenerateDataKeys", "EncryptBatch", "DecryptBatch", "ReEncryptBatch") with its AWS
// JSON 1.1 request body (nil reads as {}), and returns the JSON response body. Responses of
// Decrypt, GenerateDataKey, GenerateRandom and the batches hold plaintext: clear them when
// done.
func (k *KMS) CallJSON(operation string, request []byte) ([]byte, error) {
	return callResult(k, takeBuffer, func(kp *C.trent_kms, cp *C.trent_caller, out **C.trent_buffer, d **C.trent_error) C.trent_result {
		return C.trent_kms_call_json(kp, cp, strPtr(operation), C.size_t(len(operation)),
			bytesPtr(request), C.size_t(len(request)), out, d)
	})
}
