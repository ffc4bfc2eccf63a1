package awskms

import (
	"strings"
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
	arn, err := c.kms.CiphertextKeyArn(blob)
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
