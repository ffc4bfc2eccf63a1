package awskms

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// The hot operations (Encrypt, Decrypt, ReEncrypt, the data keys, GenerateRandom), whose
// requests or responses may hold plaintext. Their bodies are built and read without
// intermediate strings or pooled encoder buffers (wire.go): Encrypt's request is assembled in
// one buffer that is never reallocated once the plaintext is in it, and responses are decoded
// straight into the output's []byte members; both buffers are zeroed before the call
// returns. The plaintext returned to the caller is ordinary Go memory (see README).

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// requestBody is the JSON body of an SDK input that holds no plaintext: unset members
// dropped.
func requestBody(in any) ([]byte, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	v, err := decodeAny(raw)
	if err != nil {
		return nil, err
	}
	return json.Marshal(prune(v))
}

// call2 runs an operation with a hand-built body (cleared afterwards when it holds
// plaintext) and decodes its flat response into the output's fields of the same names
// (decodeFlat); the response is cleared before returning.
func call2[O any](c *Client, op string, req []byte, secretReq bool, clearSecrets func(*O)) (*O, error) {
	if secretReq {
		defer clear(req)
	}
	resp, err := c.kms.CallJSON(op, req)
	if err != nil {
		return nil, opError(op, err)
	}
	defer clear(resp)
	out, err := decodeFlat(resp, clearSecrets)
	if err != nil {
		return nil, opError(op, err)
	}
	return out, nil
}

func contextSize(m map[string]string) int {
	n := 2
	for k, v := range m {
		n += len(k) + len(v) + 6
	}
	return n
}

func strSize(p *string) int {
	if p == nil {
		return 0
	}
	return len(*p) + 16
}

// Encrypt encrypts up to 4096 bytes under a key.
func (c *Client) Encrypt(ctx context.Context, params *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	const op = "Encrypt"
	if err := prepare(ctx, op); err != nil {
		return nil, err
	}
	p := orEmpty(params)
	if !c.jsonOnly && typedEncrypt(p) {
		return c.encryptTyped(p)
	}
	w := newBody(128 + strSize(p.KeyId) + contextSize(p.EncryptionContext) + b64.EncodedLen(len(p.Plaintext)))
	w.str("KeyId", p.KeyId)
	w.context("EncryptionContext", p.EncryptionContext)
	w.strs("GrantTokens", p.GrantTokens)
	w.enum("EncryptionAlgorithm", string(p.EncryptionAlgorithm))
	w.boolean("DryRun", p.DryRun)
	w.secretBlob("Plaintext", p.Plaintext) // last: see secretBlob
	return call2[kms.EncryptOutput](c, op, w.done(), true, nil)
}

// Decrypt decrypts a blob; the plaintext is decoded straight into the output.
func (c *Client) Decrypt(ctx context.Context, params *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	const op = "Decrypt"
	if err := prepare(ctx, op); err != nil {
		return nil, err
	}
	p := orEmpty(params)
	if !c.jsonOnly && typedDecrypt(p) {
		return c.decryptTyped(p)
	}
	var req []byte
	if p.Recipient != nil { // a nested member: the generic encoder
		var err error
		if req, err = requestBody(p); err != nil {
			return nil, opError(op, err)
		}
	} else {
		w := newBody(128 + strSize(p.KeyId) + contextSize(p.EncryptionContext) + b64.EncodedLen(len(p.CiphertextBlob)))
		w.blob("CiphertextBlob", p.CiphertextBlob)
		w.context("EncryptionContext", p.EncryptionContext)
		w.strs("GrantTokens", p.GrantTokens)
		w.str("KeyId", p.KeyId)
		w.enum("EncryptionAlgorithm", string(p.EncryptionAlgorithm))
		w.boolean("DryRun", p.DryRun)
		req = w.done()
	}
	return call2(c, op, req, false, func(o *kms.DecryptOutput) { clear(o.Plaintext) })
}

// GenerateDataKey returns a data key in plaintext and wrapped.
func (c *Client) GenerateDataKey(ctx context.Context, params *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	const op = "GenerateDataKey"
	if err := prepare(ctx, op); err != nil {
		return nil, err
	}
	p := orEmpty(params)
	if !c.jsonOnly && typedDataKey(p.KeyId, p.NumberOfBytes, p.KeySpec, p.GrantTokens, p.DryRun, p.EncryptionContext) && p.Recipient == nil {
		return c.generateDataKeyTyped(p)
	}
	var req []byte
	if p.Recipient != nil {
		var err error
		if req, err = requestBody(p); err != nil {
			return nil, opError(op, err)
		}
	} else {
		w := newBody(128 + strSize(p.KeyId) + contextSize(p.EncryptionContext))
		w.str("KeyId", p.KeyId)
		w.context("EncryptionContext", p.EncryptionContext)
		w.int32("NumberOfBytes", p.NumberOfBytes)
		w.enum("KeySpec", string(p.KeySpec))
		w.strs("GrantTokens", p.GrantTokens)
		w.boolean("DryRun", p.DryRun)
		req = w.done()
	}
	return call2(c, op, req, false, func(o *kms.GenerateDataKeyOutput) { clear(o.Plaintext) })
}

// GenerateDataKeyWithoutPlaintext returns a wrapped data key only.
func (c *Client) GenerateDataKeyWithoutPlaintext(ctx context.Context, params *kms.GenerateDataKeyWithoutPlaintextInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	const op = "GenerateDataKeyWithoutPlaintext"
	if err := prepare(ctx, op); err != nil {
		return nil, err
	}
	p := orEmpty(params)
	if !c.jsonOnly && typedDataKey(p.KeyId, p.NumberOfBytes, p.KeySpec, p.GrantTokens, p.DryRun, p.EncryptionContext) {
		return c.generateDataKeyWithoutPlaintextTyped(p)
	}
	w := newBody(128 + strSize(p.KeyId) + contextSize(p.EncryptionContext))
	w.str("KeyId", p.KeyId)
	w.context("EncryptionContext", p.EncryptionContext)
	w.enum("KeySpec", string(p.KeySpec))
	w.int32("NumberOfBytes", p.NumberOfBytes)
	w.strs("GrantTokens", p.GrantTokens)
	w.boolean("DryRun", p.DryRun)
	return call2[kms.GenerateDataKeyWithoutPlaintextOutput](c, op, w.done(), false, nil)
}

// ReEncrypt decrypts and re-encrypts a blob inside the engine (no plaintext reaches Go).
func (c *Client) ReEncrypt(ctx context.Context, params *kms.ReEncryptInput, optFns ...func(*kms.Options)) (*kms.ReEncryptOutput, error) {
	const op = "ReEncrypt"
	if err := prepare(ctx, op); err != nil {
		return nil, err
	}
	p := orEmpty(params)
	if !c.jsonOnly && typedReEncrypt(p) {
		return c.reEncryptTyped(p)
	}
	w := newBody(192 + strSize(p.SourceKeyId) + strSize(p.DestinationKeyId) + contextSize(p.SourceEncryptionContext) +
		contextSize(p.DestinationEncryptionContext) + b64.EncodedLen(len(p.CiphertextBlob)))
	w.blob("CiphertextBlob", p.CiphertextBlob)
	w.context("SourceEncryptionContext", p.SourceEncryptionContext)
	w.str("SourceKeyId", p.SourceKeyId)
	w.str("DestinationKeyId", p.DestinationKeyId)
	w.context("DestinationEncryptionContext", p.DestinationEncryptionContext)
	w.enum("SourceEncryptionAlgorithm", string(p.SourceEncryptionAlgorithm))
	w.enum("DestinationEncryptionAlgorithm", string(p.DestinationEncryptionAlgorithm))
	w.strs("GrantTokens", p.GrantTokens)
	w.boolean("DryRun", p.DryRun)
	return call2[kms.ReEncryptOutput](c, op, w.done(), false, nil)
}

// GenerateRandom returns random bytes.
func (c *Client) GenerateRandom(ctx context.Context, params *kms.GenerateRandomInput, optFns ...func(*kms.Options)) (*kms.GenerateRandomOutput, error) {
	const op = "GenerateRandom"
	if err := prepare(ctx, op); err != nil {
		return nil, err
	}
	if p := orEmpty(params); !c.jsonOnly && typedGenerateRandom(p) {
		return c.generateRandomTyped(p)
	}
	body, err := requestBody(orEmpty(params))
	if err != nil {
		return nil, opError(op, err)
	}
	return call2(c, op, body, false, func(o *kms.GenerateRandomOutput) { clear(o.Plaintext) })
}
