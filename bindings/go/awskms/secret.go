package awskms

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
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
// plaintext; reqErr is the error of building it) and decodes its flat response into the
// output's fields of the same names (decodeFlat); the response is cleared before returning.
func call2[O any](c *Client, op string, req []byte, reqErr error, secretReq bool, clearSecrets func(*O)) (*O, error) {
	if secretReq {
		defer clear(req)
	}
	if reqErr != nil {
		return nil, opError(op, reqErr)
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

// begin starts one of these operations: the context checked, a nil input read as the empty
// one. Each operation then takes its typed or its JSON path with direct calls: routing them
// through one function taking the paths as function values would make every caller's input
// escape to the heap (an allocation per call).
func begin[I any](ctx context.Context, op string, params *I) (*I, error) {
	if err := prepare(ctx, op); err != nil {
		return nil, err
	}
	return orEmpty(params), nil
}

// encoded is the generic encoder's request body of *p, made from a copy so that only the
// copy escapes to the heap (and only on this path), not the caller's input.
func encoded[I any](p *I) ([]byte, error) {
	in := *p
	return requestBody(&in)
}

// nestedOr is the request body of *p: the generic encoder's when p has a nested member (a
// Recipient), else the one flat builds.
func nestedOr[I any](p *I, nested bool, flat func() []byte) ([]byte, error) {
	if nested {
		return encoded(p)
	}
	return flat(), nil
}

// Encrypt encrypts up to 4096 bytes under a key.
func (c *Client) Encrypt(ctx context.Context, params *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	const op = "Encrypt"
	p, err := begin(ctx, op, params)
	if err != nil {
		return nil, err
	}
	if !c.jsonOnly && typedEncrypt(p) {
		return c.encryptTyped(p)
	}
	return c.encryptJSON(op, p)
}

// encryptJSON is Encrypt through the engine's JSON dispatcher.
func (c *Client) encryptJSON(op string, p *kms.EncryptInput) (*kms.EncryptOutput, error) {
	w := newBody(128 + strSize(p.KeyId) + contextSize(p.EncryptionContext) + b64.EncodedLen(len(p.Plaintext)))
	w.str("KeyId", p.KeyId)
	w.context("EncryptionContext", p.EncryptionContext)
	w.strs("GrantTokens", p.GrantTokens)
	w.enum("EncryptionAlgorithm", string(p.EncryptionAlgorithm))
	w.boolean("DryRun", p.DryRun)
	w.secretBlob("Plaintext", p.Plaintext) // last: see secretBlob
	return call2[kms.EncryptOutput](c, op, w.done(), nil, true, nil)
}

// Decrypt decrypts a blob; the plaintext is decoded straight into the output.
func (c *Client) Decrypt(ctx context.Context, params *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	const op = "Decrypt"
	p, err := begin(ctx, op, params)
	if err != nil {
		return nil, err
	}
	if !c.jsonOnly && typedDecrypt(p) {
		return c.decryptTyped(p)
	}
	return c.decryptJSON(op, p)
}

// decryptJSON is Decrypt through the engine's JSON dispatcher.
func (c *Client) decryptJSON(op string, p *kms.DecryptInput) (*kms.DecryptOutput, error) {
	req, err := nestedOr(p, p.Recipient != nil, func() []byte {
		w := newBody(128 + strSize(p.KeyId) + contextSize(p.EncryptionContext) + b64.EncodedLen(len(p.CiphertextBlob)))
		w.blob("CiphertextBlob", p.CiphertextBlob)
		w.context("EncryptionContext", p.EncryptionContext)
		w.strs("GrantTokens", p.GrantTokens)
		w.str("KeyId", p.KeyId)
		w.enum("EncryptionAlgorithm", string(p.EncryptionAlgorithm))
		w.boolean("DryRun", p.DryRun)
		return w.done()
	})
	return call2(c, op, req, err, false, func(o *kms.DecryptOutput) { clear(o.Plaintext) })
}

// GenerateDataKey returns a data key in plaintext and wrapped.
func (c *Client) GenerateDataKey(ctx context.Context, params *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	const op = "GenerateDataKey"
	p, err := begin(ctx, op, params)
	if err != nil {
		return nil, err
	}
	if !c.jsonOnly && typedGenerateDataKey(p) {
		return c.generateDataKeyTyped(p)
	}
	return c.generateDataKeyJSON(op, p)
}

// generateDataKeyJSON is GenerateDataKey through the engine's JSON dispatcher.
func (c *Client) generateDataKeyJSON(op string, p *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
	req, err := nestedOr(p, p.Recipient != nil, func() []byte {
		return dataKeyBody(p.KeyId, p.EncryptionContext, p.NumberOfBytes, p.KeySpec, p.GrantTokens, p.DryRun)
	})
	return call2(c, op, req, err, false, func(o *kms.GenerateDataKeyOutput) { clear(o.Plaintext) })
}

// GenerateDataKeyWithoutPlaintext returns a wrapped data key only.
func (c *Client) GenerateDataKeyWithoutPlaintext(ctx context.Context, params *kms.GenerateDataKeyWithoutPlaintextInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	const op = "GenerateDataKeyWithoutPlaintext"
	p, err := begin(ctx, op, params)
	if err != nil {
		return nil, err
	}
	if !c.jsonOnly && typedGenerateDataKeyWithoutPlaintext(p) {
		return c.generateDataKeyWithoutPlaintextTyped(p)
	}
	return c.generateDataKeyWithoutPlaintextJSON(op, p)
}

// generateDataKeyWithoutPlaintextJSON is GenerateDataKeyWithoutPlaintext through the engine's JSON dispatcher.
func (c *Client) generateDataKeyWithoutPlaintextJSON(op string, p *kms.GenerateDataKeyWithoutPlaintextInput) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	req := dataKeyBody(p.KeyId, p.EncryptionContext, p.NumberOfBytes, p.KeySpec, p.GrantTokens, p.DryRun)
	return call2[kms.GenerateDataKeyWithoutPlaintextOutput](c, op, req, nil, false, nil)
}

// dataKeyBody is the flat body of GenerateDataKey and GenerateDataKeyWithoutPlaintext, whose
// members (but GenerateDataKey's Recipient) are the same.
func dataKeyBody(keyID *string, encryptionContext map[string]string, number *int32, spec types.DataKeySpec, grants []string, dryRun *bool) []byte {
	w := newBody(128 + strSize(keyID) + contextSize(encryptionContext))
	w.str("KeyId", keyID)
	w.context("EncryptionContext", encryptionContext)
	w.int32("NumberOfBytes", number)
	w.enum("KeySpec", string(spec))
	w.strs("GrantTokens", grants)
	w.boolean("DryRun", dryRun)
	return w.done()
}

// ReEncrypt decrypts and re-encrypts a blob inside the engine (no plaintext reaches Go).
func (c *Client) ReEncrypt(ctx context.Context, params *kms.ReEncryptInput, optFns ...func(*kms.Options)) (*kms.ReEncryptOutput, error) {
	const op = "ReEncrypt"
	p, err := begin(ctx, op, params)
	if err != nil {
		return nil, err
	}
	if !c.jsonOnly && typedReEncrypt(p) {
		return c.reEncryptTyped(p)
	}
	return c.reEncryptJSON(op, p)
}

// reEncryptJSON is ReEncrypt through the engine's JSON dispatcher.
func (c *Client) reEncryptJSON(op string, p *kms.ReEncryptInput) (*kms.ReEncryptOutput, error) {
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
	return call2[kms.ReEncryptOutput](c, op, w.done(), nil, false, nil)
}

// GenerateRandom returns random bytes.
func (c *Client) GenerateRandom(ctx context.Context, params *kms.GenerateRandomInput, optFns ...func(*kms.Options)) (*kms.GenerateRandomOutput, error) {
	const op = "GenerateRandom"
	p, err := begin(ctx, op, params)
	if err != nil {
		return nil, err
	}
	if !c.jsonOnly && typedGenerateRandom(p) {
		return c.generateRandomTyped(p)
	}
	return c.generateRandomJSON(op, p)
}

// generateRandomJSON is GenerateRandom through the engine's JSON dispatcher.
func (c *Client) generateRandomJSON(op string, p *kms.GenerateRandomInput) (*kms.GenerateRandomOutput, error) {
	body, err := encoded(p)
	return call2(c, op, body, err, false, func(o *kms.GenerateRandomOutput) { clear(o.Plaintext) })
}
