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

// The typed paths allocate each output together with the strings its KeyId and
// KeyMaterialId members point to (one allocation where the output and each string would take
// one apiece): the caller owns the output, so they are never shared with another call's.
type (
	encryptResult struct {
		out kms.EncryptOutput
		ids blobIDs
	}
	decryptResult struct {
		out kms.DecryptOutput
		ids blobIDs
	}
	reEncryptResult struct {
		out       kms.ReEncryptOutput
		src, dest blobIDs
	}
	dataKeyResult struct {
		out kms.GenerateDataKeyOutput
		ids blobIDs
	}
	dataKeyWithoutPlaintextResult struct {
		out kms.GenerateDataKeyWithoutPlaintextOutput
		ids blobIDs
	}
)

// encryptTyped is Encrypt through trent.KMS.Encrypt: the plaintext is read in place.
func (c *Client) encryptTyped(p *kms.EncryptInput) (*kms.EncryptOutput, error) {
	typedCalls.Add(1)
	blob, err := c.kms.Encrypt(*p.KeyId, p.Plaintext, p.EncryptionContext)
	r := new(encryptResult)
	if r.ids, err = c.idsOf("Encrypt", blob, err); err != nil {
		return nil, err
	}
	r.out = kms.EncryptOutput{
		CiphertextBlob:      blob,
		KeyId:               &r.ids.arn,
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	}
	return &r.out, nil
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
	m sync.Map // [blobNamesLen]byte → blobIDs
	n atomic.Int64
}

// blobNames is where a blob's header names its key (16 bytes) and version (4 bytes).
const blobNamesOff, blobNamesLen = 2, 20

// blobIDs are the key ARN and key material id a blob names (the KeyId and KeyMaterialId of
// the responses that read or write it).
type blobIDs struct{ arn, materialID string }

// idsOf is the blobIDs of a blob an engine call (whose error is err) just opened or made,
// from the blob's header and the key's record, cached; or the call's error, or the
// lookup's, as the SDK returns it.
func (c *Client) idsOf(op string, blob []byte, err error) (blobIDs, error) {
	if err != nil {
		return blobIDs{}, opError(op, err)
	}
	var names [blobNamesLen]byte
	cacheable := len(blob) >= blobNamesOff+blobNamesLen
	if cacheable {
		copy(names[:], blob[blobNamesOff:])
		if e, ok := c.ids.m.Load(names); ok {
			return e.(blobIDs), nil
		}
	}
	var ids blobIDs
	if ids.arn, err = c.kms.CiphertextKeyArn(blob); err != nil {
		return blobIDs{}, opError(op, err)
	}
	if ids.materialID, err = c.kms.CiphertextKeyMaterialID(blob); err != nil {
		return blobIDs{}, opError(op, err)
	}
	if cacheable {
		if c.ids.n.Add(1) > 4096 { // bounded: start over
			c.ids.m.Clear()
			c.ids.n.Store(1)
		}
		c.ids.m.Store(names, ids)
	}
	return ids, nil
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
	typedCalls.Add(1)
	keyID := ""
	if p.KeyId != nil {
		keyID = *p.KeyId
	}
	pt, err := c.kms.DecryptWithKey(keyID, p.CiphertextBlob, p.EncryptionContext)
	r := new(decryptResult)
	if r.ids, err = c.idsOf("Decrypt", p.CiphertextBlob, err); err != nil {
		clear(pt)
		return nil, err
	}
	r.out = kms.DecryptOutput{
		Plaintext:           pt,
		KeyId:               &r.ids.arn,
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
		KeyMaterialId:       &r.ids.materialID,
	}
	return &r.out, nil
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
	r := new(reEncryptResult)
	if r.dest, err = c.idsOf(op, blob, err); err != nil {
		return nil, err
	}
	if r.src, err = c.idsOf(op, p.CiphertextBlob, nil); err != nil {
		return nil, err
	}
	r.out = kms.ReEncryptOutput{
		CiphertextBlob:                 blob,
		SourceKeyId:                    &r.src.arn,
		KeyId:                          &r.dest.arn,
		SourceEncryptionAlgorithm:      types.EncryptionAlgorithmSpecSymmetricDefault,
		DestinationEncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
		SourceKeyMaterialId:            &r.src.materialID,
		DestinationKeyMaterialId:       &r.dest.materialID,
	}
	return &r.out, nil
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

// typedGenerateDataKey reports whether a GenerateDataKey input takes the typed path.
func typedGenerateDataKey(p *kms.GenerateDataKeyInput) bool {
	return typedDataKey(p.KeyId, p.NumberOfBytes, p.KeySpec, p.GrantTokens, p.DryRun, p.EncryptionContext) && p.Recipient == nil
}

// typedGenerateDataKeyWithoutPlaintext reports whether a GenerateDataKeyWithoutPlaintext
// input takes the typed path.
func typedGenerateDataKeyWithoutPlaintext(p *kms.GenerateDataKeyWithoutPlaintextInput) bool {
	return typedDataKey(p.KeyId, p.NumberOfBytes, p.KeySpec, p.GrantTokens, p.DryRun, p.EncryptionContext)
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
	typedCalls.Add(1)
	dk, err := c.kms.GenerateDataKey(*p.KeyId, dataKeyBytes(p.NumberOfBytes, p.KeySpec), p.EncryptionContext)
	r := new(dataKeyResult)
	if r.ids, err = c.idsOf("GenerateDataKey", dk.CiphertextBlob, err); err != nil {
		clear(dk.Plaintext)
		return nil, err
	}
	r.out = kms.GenerateDataKeyOutput{
		CiphertextBlob: dk.CiphertextBlob,
		Plaintext:      dk.Plaintext,
		KeyId:          &r.ids.arn,
		KeyMaterialId:  &r.ids.materialID,
	}
	return &r.out, nil
}

// generateDataKeyWithoutPlaintextTyped is GenerateDataKeyWithoutPlaintext through
// trent.KMS.GenerateDataKeyWithoutPlaintext.
func (c *Client) generateDataKeyWithoutPlaintextTyped(p *kms.GenerateDataKeyWithoutPlaintextInput) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	typedCalls.Add(1)
	blob, err := c.kms.GenerateDataKeyWithoutPlaintext(*p.KeyId, dataKeyBytes(p.NumberOfBytes, p.KeySpec), p.EncryptionContext)
	r := new(dataKeyWithoutPlaintextResult)
	if r.ids, err = c.idsOf("GenerateDataKeyWithoutPlaintext", blob, err); err != nil {
		return nil, err
	}
	r.out = kms.GenerateDataKeyWithoutPlaintextOutput{CiphertextBlob: blob, KeyId: &r.ids.arn, KeyMaterialId: &r.ids.materialID}
	return &r.out, nil
}
