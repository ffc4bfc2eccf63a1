package awskms

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// The typed fast paths: a hot operation whose input the binding's typed call takes as it is
// goes straight to package trent (the library's _into functions), with no JSON either way,
// and answers what the JSON path answers: the same output members (the key ARN read from the
// blob with CiphertextKeyArn) and, for the engine's refusals (no such key, a disabled key, a
// caller without permission), the same errors, as both run the same engine code. Any input
// the typed call cannot express or that the JSON path refuses before the engine's operation
// (a missing or out-of-range member, grant tokens, an algorithm, DryRun, text that is not
// valid UTF-8 or holds a NUL, which the C boundary refuses with its own words) takes the
// JSON path, so its errors are the JSON path's by construction. differential_test.go runs
// both paths on the same inputs and compares every member and error.

// typedCalls counts the calls served by a typed path (the tests check the fast path runs).
var typedCalls atomic.Int64

// text reports whether s crosses the C boundary as the JSON path would carry it: valid
// UTF-8 (encoding/json would replace invalid bytes) and no NUL (the C boundary refuses it).
func text(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// contextText reports whether every key and value of an encryption context is text.
func contextText(m map[string]string) bool {
	for k, v := range m {
		if !text(k) || !text(v) {
			return false
		}
	}
	return true
}

// keyIDOK: present, within the model's 1–2048 characters (counted in bytes, which is
// stricter), and text.
func keyIDOK(p *string) bool {
	return p != nil && len(*p) >= 1 && len(*p) <= 2048 && text(*p)
}

// typedEncrypt reports whether an Encrypt input takes the typed path.
func typedEncrypt(p *kms.EncryptInput) bool {
	return keyIDOK(p.KeyId) && p.Plaintext != nil && len(p.Plaintext) >= 1 && len(p.Plaintext) <= 4096 &&
		len(p.GrantTokens) == 0 && p.EncryptionAlgorithm == "" && (p.DryRun == nil || !*p.DryRun) &&
		contextText(p.EncryptionContext)
}

// encryptTyped is Encrypt through trent.KMS.Encrypt: the plaintext is read in place.
func (c *Client) encryptTyped(p *kms.EncryptInput) (*kms.EncryptOutput, error) {
	const op = "Encrypt"
	typedCalls.Add(1)
	blob, err := c.kms.Encrypt(*p.KeyId, p.Plaintext, p.EncryptionContext)
	if err != nil {
		return nil, opError(op, err)
	}
	arn, _, err := c.blobIDs(blob)
	if err != nil {
		return nil, opError(op, err)
	}
	return &kms.EncryptOutput{
		CiphertextBlob:      blob,
		KeyId:               &arn,
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	}, nil
}

// typedGenerateRandom reports whether a GenerateRandom input takes the typed path.
func typedGenerateRandom(p *kms.GenerateRandomInput) bool {
	return p.NumberOfBytes != nil && *p.NumberOfBytes >= 1 && *p.NumberOfBytes <= 1024 &&
		p.CustomKeyStoreId == nil && p.Recipient == nil
}

// generateRandomTyped is GenerateRandom through trent.KMS.GenerateRandom: the engine writes
// the bytes straight into the output's slice.
func (c *Client) generateRandomTyped(p *kms.GenerateRandomInput) (*kms.GenerateRandomOutput, error) {
	typedCalls.Add(1)
	b, err := c.kms.GenerateRandom(int(*p.NumberOfBytes))
	if err != nil {
		return nil, opError("GenerateRandom", err)
	}
	return &kms.GenerateRandomOutput{Plaintext: b}, nil
}

// blobIDCache maps the bytes of a blob's header that name its key and version to the key's
// ARN and the version's material id: a key id and a version number name the same key and
// material for good (ids are never reused), so the typed paths look them up once.
type blobIDCache struct {
	m sync.Map // [blobNamesLen]byte → blobIDsEntry
	n atomic.Int64
}

// blobNames is where a blob's header names its key (16 bytes) and version (4 bytes).
const blobNamesOff, blobNamesLen = 2, 20

type blobIDsEntry struct{ arn, materialID string }

// blobIDs is the key ARN and key material id a blob names (the KeyId and KeyMaterialId of
// the responses that read or write it), from its header and the key's record, cached.
// Called only with a blob the engine just opened or made.
func (c *Client) blobIDs(blob []byte) (arn, materialID string, err error) {
	var names [blobNamesLen]byte
	cacheable := len(blob) >= blobNamesOff+blobNamesLen
	if cacheable {
		copy(names[:], blob[blobNamesOff:])
		if e, ok := c.ids.m.Load(names); ok {
			e := e.(blobIDsEntry)
			return e.arn, e.materialID, nil
		}
	}
	if arn, err = c.kms.CiphertextKeyArn(blob); err != nil {
		return "", "", err
	}
	if materialID, err = c.kms.CiphertextKeyMaterialID(blob); err != nil {
		return "", "", err
	}
	if cacheable {
		if c.ids.n.Add(1) > 4096 { // bounded: start over
			c.ids.m.Clear()
			c.ids.n.Store(1)
		}
		c.ids.m.Store(names, blobIDsEntry{arn, materialID})
	}
	return arn, materialID, nil
}

// blobOK: present and within the model's 1–6144 bytes.
func blobOK(b []byte) bool {
	return len(b) >= 1 && len(b) <= 6144
}

// notDryRun: DryRun absent or false.
func notDryRun(p *bool) bool {
	return p == nil || !*p
}

// typedDecrypt reports whether a Decrypt input takes the typed path: a KeyId, if given, must
// be one the typed call takes (an empty one is the JSON path's validation error).
func typedDecrypt(p *kms.DecryptInput) bool {
	return blobOK(p.CiphertextBlob) && (p.KeyId == nil || keyIDOK(p.KeyId)) && len(p.GrantTokens) == 0 &&
		p.EncryptionAlgorithm == "" && notDryRun(p.DryRun) && p.Recipient == nil &&
		contextText(p.EncryptionContext)
}

// decryptTyped is Decrypt through trent.KMS.DecryptWithKey.
func (c *Client) decryptTyped(p *kms.DecryptInput) (*kms.DecryptOutput, error) {
	const op = "Decrypt"
	typedCalls.Add(1)
	keyID := ""
	if p.KeyId != nil {
		keyID = *p.KeyId
	}
	pt, err := c.kms.DecryptWithKey(keyID, p.CiphertextBlob, p.EncryptionContext)
	if err != nil {
		return nil, opError(op, err)
	}
	arn, mid, err := c.blobIDs(p.CiphertextBlob)
	if err != nil {
		clear(pt)
		return nil, opError(op, err)
	}
	return &kms.DecryptOutput{
		Plaintext:           pt,
		KeyId:               &arn,
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
		KeyMaterialId:       &mid,
	}, nil
}

// typedReEncrypt reports whether a ReEncrypt input takes the typed path (no SourceKeyId,
// algorithms, grant tokens or DryRun: the typed call has none).
func typedReEncrypt(p *kms.ReEncryptInput) bool {
	return blobOK(p.CiphertextBlob) && keyIDOK(p.DestinationKeyId) && p.SourceKeyId == nil &&
		p.SourceEncryptionAlgorithm == "" && p.DestinationEncryptionAlgorithm == "" && len(p.GrantTokens) == 0 &&
		notDryRun(p.DryRun) && contextText(p.SourceEncryptionContext) && contextText(p.DestinationEncryptionContext)
}

// reEncryptTyped is ReEncrypt through trent.KMS.ReEncrypt.
func (c *Client) reEncryptTyped(p *kms.ReEncryptInput) (*kms.ReEncryptOutput, error) {
	const op = "ReEncrypt"
	typedCalls.Add(1)
	blob, err := c.kms.ReEncrypt(p.CiphertextBlob, p.SourceEncryptionContext, *p.DestinationKeyId, p.DestinationEncryptionContext)
	if err != nil {
		return nil, opError(op, err)
	}
	srcArn, srcMid, err := c.blobIDs(p.CiphertextBlob)
	if err != nil {
		return nil, opError(op, err)
	}
	arn, mid, err := c.blobIDs(blob)
	if err != nil {
		return nil, opError(op, err)
	}
	return &kms.ReEncryptOutput{
		CiphertextBlob:                 blob,
		SourceKeyId:                    &srcArn,
		KeyId:                          &arn,
		SourceEncryptionAlgorithm:      types.EncryptionAlgorithmSpecSymmetricDefault,
		DestinationEncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
		SourceKeyMaterialId:            &srcMid,
		DestinationKeyMaterialId:       &mid,
	}, nil
}

// typedDataKey reports whether a GenerateDataKey or GenerateDataKeyWithoutPlaintext input
// takes the typed path: a KeyId, exactly one of NumberOfBytes (1–1024) and KeySpec (AES_256
// or AES_128), no grant tokens or DryRun.
func typedDataKey(keyID *string, number *int32, spec types.DataKeySpec, grants []string, dryRun *bool, ctx map[string]string) bool {
	if (number == nil) == (spec == "") {
		return false
	}
	if number != nil && (*number < 1 || *number > 1024) {
		return false
	}
	if number == nil && spec != types.DataKeySpecAes256 && spec != types.DataKeySpecAes128 {
		return false
	}
	return keyIDOK(keyID) && len(grants) == 0 && notDryRun(dryRun) && contextText(ctx)
}

// dataKeyBytes is the typed call's numberOfBytes for a typedDataKey input (0: AES_256).
func dataKeyBytes(number *int32, spec types.DataKeySpec) int {
	switch {
	case number != nil:
		return int(*number)
	case spec == types.DataKeySpecAes128:
		return 16
	}
	return 0
}

// generateDataKeyTyped is GenerateDataKey through trent.KMS.GenerateDataKey.
func (c *Client) generateDataKeyTyped(p *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
	const op = "GenerateDataKey"
	typedCalls.Add(1)
	dk, err := c.kms.GenerateDataKey(*p.KeyId, dataKeyBytes(p.NumberOfBytes, p.KeySpec), p.EncryptionContext)
	if err != nil {
		return nil, opError(op, err)
	}
	arn, mid, err := c.blobIDs(dk.CiphertextBlob)
	if err != nil {
		clear(dk.Plaintext)
		return nil, opError(op, err)
	}
	return &kms.GenerateDataKeyOutput{
		CiphertextBlob: dk.CiphertextBlob,
		Plaintext:      dk.Plaintext,
		KeyId:          &arn,
		KeyMaterialId:  &mid,
	}, nil
}

// generateDataKeyWithoutPlaintextTyped is GenerateDataKeyWithoutPlaintext through
// trent.KMS.GenerateDataKeyWithoutPlaintext.
func (c *Client) generateDataKeyWithoutPlaintextTyped(p *kms.GenerateDataKeyWithoutPlaintextInput) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	const op = "GenerateDataKeyWithoutPlaintext"
	typedCalls.Add(1)
	blob, err := c.kms.GenerateDataKeyWithoutPlaintext(*p.KeyId, dataKeyBytes(p.NumberOfBytes, p.KeySpec), p.EncryptionContext)
	if err != nil {
		return nil, opError(op, err)
	}
	arn, mid, err := c.blobIDs(blob)
	if err != nil {
		return nil, opError(op, err)
	}
	return &kms.GenerateDataKeyWithoutPlaintextOutput{CiphertextBlob: blob, KeyId: &arn, KeyMaterialId: &mid}, nil
}
