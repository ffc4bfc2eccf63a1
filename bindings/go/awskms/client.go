// Package awskms is a drop-in for aws-sdk-go-v2's KMS client (service/kms) over an embedded
// Trent engine: Client has the method set of *kms.Client for every operation Trent
// supports, takes and returns the SDK's own input and output structs, and fails with the
// SDK's own error types (*types.NotFoundException, …, wrapped in *smithy.OperationError as
// the SDK does), so code written against an interface of *kms.Client methods can swap it in.
//
//	k, _ := trent.Open(trent.DataDir("./trent-data"))
//	var api awskms.API = awskms.New(k)    // or: kms.NewFromConfig(cfg)
//	out, err := api.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/app"), Plaintext: data})
//
// It is a separate module so the core package trent has no SDK dependency.
package awskms

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	trent "github.com/trent-kms/trent/bindings/go"
)

// Client runs the KMS operations on an embedded engine. Safe for concurrent use.
type Client struct {
	kms *trent.KMS
	// jsonOnly sends every operation through the engine's JSON dispatcher, the typed fast
	// paths' reference (the differential tests compare the two).
	jsonOnly bool
	// ids caches the key ARN and key material id a blob's header names (see idsOf).
	ids blobIDCache
}

// New returns a client over the engine k (operations run as k's caller).
func New(k *trent.KMS) *Client { return &Client{kms: k} }

// KMS is the engine the client runs on.
func (c *Client) KMS() *trent.KMS { return c.kms }

// serviceID is the SDK's service id, as *smithy.OperationError carries it.
const serviceID = "KMS"

// opError wraps an error as the SDK does: *smithy.OperationError around the API error.
func opError(op string, err error) error {
	return &smithy.OperationError{ServiceID: serviceID, OperationName: op, Err: apiError(err)}
}

// apiError turns a *trent.Error into the SDK's error type for that exception:
// *types.NotFoundException, …; exceptions the SDK has no type for (AccessDeniedException,
// ValidationException) become *smithy.GenericAPIError with the AWS code, as the SDK's
// deserializer makes them.
func apiError(err error) error {
	var te *trent.Error
	if !errors.As(err, &te) {
		return err
	}
	msg := te.Message
	m := &msg
	switch te.Code {
	case trent.CodeNotFoundException:
		return &types.NotFoundException{Message: m}
	case trent.CodeDisabledException:
		return &types.DisabledException{Message: m}
	case trent.CodeKMSInvalidStateException:
		return &types.KMSInvalidStateException{Message: m}
	case trent.CodeAlreadyExistsException:
		return &types.AlreadyExistsException{Message: m}
	case trent.CodeConflictException:
		return &types.ConflictException{Message: m}
	case trent.CodeInvalidCiphertextException:
		return &types.InvalidCiphertextException{Message: m}
	case trent.CodeIncorrectKeyException:
		return &types.IncorrectKeyException{Message: m}
	case trent.CodeInvalidKeyUsageException:
		return &types.InvalidKeyUsageException{Message: m}
	case trent.CodeInvalidArnException:
		return &types.InvalidArnException{Message: m}
	case trent.CodeInvalidAliasNameException:
		return &types.InvalidAliasNameException{Message: m}
	case trent.CodeInvalidMarkerException:
		return &types.InvalidMarkerException{Message: m}
	case trent.CodeInvalidGrantTokenException:
		return &types.InvalidGrantTokenException{Message: m}
	case trent.CodeMalformedPolicyDocumentException:
		return &types.MalformedPolicyDocumentException{Message: m}
	case trent.CodeTagException:
		return &types.TagException{Message: m}
	case trent.CodeUnsupportedOperationException:
		return &types.UnsupportedOperationException{Message: m}
	case trent.CodeLimitExceededException:
		return &types.LimitExceededException{Message: m}
	case trent.CodeDryRunOperationException:
		return &types.DryRunOperationException{Message: m}
	case trent.CodeKMSInternalException, trent.CodePanic, trent.CodeUnknownException:
		return &types.KMSInternalException{Message: m}
	case trent.CodeAccessDeniedException:
		return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: msg, Fault: smithy.FaultClient}
	case trent.CodeValidationException, trent.CodeNullParameter, trent.CodeInvalidUTF8, trent.CodeInvalidArgument:
		// Arguments the C boundary refuses (an embedded NUL, bad UTF-8) are what AWS's
		// front end refuses as ValidationException.
		return &smithy.GenericAPIError{Code: "ValidationException", Message: msg, Fault: smithy.FaultClient}
	}
	return err // ErrClosed and open failures: Trent's own error
}

// prepare checks the context and returns the operation's error wrapper.
func prepare(ctx context.Context, op string) error {
	if ctx == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return &smithy.OperationError{ServiceID: serviceID, OperationName: op, Err: err}
	}
	return nil
}

// timestampMembers are the output members AWS sends as epoch seconds (from the table of
// shapes).
var timestampMembers = setOf(outputTimestampMembers)

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// rewrite applies f to every member of every object in a decoded JSON value, depth first:
// f returns the member's new value (walked in turn), or nil to drop the member.
func rewrite(v any, f func(name string, value any) any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if x = f(k, x); x == nil {
				delete(t, k)
				continue
			}
			t[k] = rewrite(x, f)
		}
	case []any:
		for i := range t {
			t[i] = rewrite(t[i], f)
		}
	}
	return v
}

// prune drops the members an SDK input struct marshals as null or "" (unset pointers and
// enums), so the engine sees the request the SDK would have sent.
func prune(v any) any {
	return rewrite(v, func(_ string, x any) any {
		if x == "" {
			return nil
		}
		return x
	})
}

// epochToRFC3339 rewrites timestamp members (epoch seconds) as RFC 3339 strings, which is
// how encoding/json reads the SDK's *time.Time members (and drops null members, which
// encoding/json reads as absent ones).
func epochToRFC3339(v any) any {
	return rewrite(v, func(name string, x any) any {
		n, ok := x.(json.Number)
		if !ok || !timestampMembers[name] {
			return x
		}
		f, err := n.Float64()
		if err != nil {
			return x
		}
		sec := int64(f)
		nsec := int64((f - float64(sec)) * 1e9)
		return time.Unix(sec, nsec).UTC().Format(time.RFC3339Nano)
	})
}

func decodeAny(b []byte) (any, error) {
	d := json.NewDecoder(bytesReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// call runs a non-secret operation through the engine's JSON dispatcher: the SDK input
// marshalled (unset members dropped), the response's timestamps rewritten and unmarshalled
// into the SDK output. Operations whose requests or responses hold plaintext do not come
// here (see secret.go): this path makes copies it cannot wipe.
func call[O any](c *Client, ctx context.Context, op string, in any) (*O, error) {
	if err := prepare(ctx, op); err != nil {
		return nil, err
	}
	out, err := callJSON[O](c, op, in)
	if err != nil {
		return nil, opError(op, err)
	}
	return out, nil
}

func callJSON[O any](c *Client, op string, in any) (*O, error) {
	body, err := requestBody(in)
	if err != nil {
		return nil, err
	}
	resp, err := c.kms.CallJSON(op, body)
	if err != nil {
		return nil, err
	}
	v, err := decodeAny(resp)
	if err != nil {
		return nil, err
	}
	fixed, err := json.Marshal(epochToRFC3339(v))
	if err != nil {
		return nil, err
	}
	out := new(O)
	if err := json.Unmarshal(fixed, out); err != nil {
		return nil, err
	}
	return out, nil
}

// b64 is the standard base64 AWS JSON uses for blobs.
var b64 = base64.StdEncoding

// The operations that hold no plaintext run through call: their methods, and the API
// interface, are generated from the table of shapes (api_gen.go).

// orEmpty is params, or a new zero input when nil (the SDK accepts nil params).
func orEmpty[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}
