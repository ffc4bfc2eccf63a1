package awskms_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	trent "github.com/trent-kms/trent/bindings/go"
	"github.com/trent-kms/trent/bindings/go/awskms"
)

// sameAnswer fails unless the typed and the JSON answers agree: the same error (type and
// text), or outputs equal member for member once their random members (blobs, random bytes)
// are checked to be of the same length (and, with open, to open to the same plaintext) and
// set aside.
func sameAnswer[O any](t *testing.T, name string, typed, js *O, errT, errJ error, blob func(*O) *[]byte, open func([]byte) ([]byte, error)) {
	t.Helper()
	if (errT == nil) != (errJ == nil) {
		t.Errorf("%s: typed error %v, JSON error %v", name, errT, errJ)
		return
	}
	if errT != nil {
		if errT.Error() != errJ.Error() || reflect.TypeOf(errors.Unwrap(errT)) != reflect.TypeOf(errors.Unwrap(errJ)) {
			t.Errorf("%s: typed error %T %q, JSON error %T %q", name, errors.Unwrap(errT), errT, errors.Unwrap(errJ), errJ)
		}
		return
	}
	bt, bj := *blob(typed), *blob(js)
	if len(bt) != len(bj) {
		t.Errorf("%s: blob of %d bytes (typed), %d (JSON)", name, len(bt), len(bj))
	}
	if open != nil {
		pt, err1 := open(bt)
		pj, err2 := open(bj)
		if err1 != nil || err2 != nil || string(pt) != string(pj) {
			t.Errorf("%s: blobs open to different plaintexts (%v, %v)", name, err1, err2)
		}
	}
	*blob(typed), *blob(js) = nil, nil
	if !reflect.DeepEqual(typed, js) {
		t.Errorf("%s: typed output %+v, JSON output %+v", name, typed, js)
	}
}

// TestTypedEncryptMatchesJSON runs Encrypt through the typed path and the JSON path on the
// same engine and inputs (valid ones, each key state, each identifier form, and inputs the
// typed path must hand to the JSON path) and compares the answers.
func TestTypedEncryptMatchesJSON(t *testing.T) {
	k := openKMS(t)
	ctx := context.Background()
	typed, js := awskms.New(k), awskms.NewJSONOnly(k)
	id, _ := k.CreateKey("typed")
	md, err := k.DescribeKey(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.CreateAlias("alias/typed", id); err != nil {
		t.Fatal(err)
	}
	mrk, err := k.CreateKeyWithOptions(trent.CreateKeyOptions{MultiRegion: true})
	if err != nil {
		t.Fatal(err)
	}
	disabled, _ := k.CreateKey("")
	if err := k.DisableKey(disabled); err != nil {
		t.Fatal(err)
	}
	pending, _ := k.CreateKey("")
	if err := k.ScheduleKeyDeletion(pending, 7); err != nil {
		t.Fatal(err)
	}
	caller := appCaller(t)
	denied, deniedJS := awskms.New(k.WithCaller(caller)), awskms.NewJSONOnly(k.WithCaller(caller))

	big := map[string]string{}
	for i := 0; i < 100; i++ {
		big[fmt.Sprintf("k%03d", i)] = strings.Repeat("v", i)
	}
	s := aws.String
	cases := []struct {
		name  string
		in    *kms.EncryptInput
		typed bool // must take the typed path
	}{
		{"key id", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x")}, true},
		{"key ARN", &kms.EncryptInput{KeyId: s(md.Arn), Plaintext: []byte("x")}, true},
		{"alias", &kms.EncryptInput{KeyId: s("alias/typed"), Plaintext: []byte("x")}, true},
		{"alias ARN", &kms.EncryptInput{KeyId: s(strings.Replace(md.Arn, "key/"+id, "alias/typed", 1)), Plaintext: []byte("x")}, true},
		{"multi-Region key", &kms.EncryptInput{KeyId: s(mrk.KeyID), Plaintext: []byte("x")}, true},
		{"4096 bytes", &kms.EncryptInput{KeyId: s(id), Plaintext: make([]byte, 4096)}, true},
		{"context", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), EncryptionContext: map[string]string{"tenant": "acme", "é": "ü\u2028<&>"}}, true},
		{"empty context", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), EncryptionContext: map[string]string{}}, true},
		{"context with an empty key", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), EncryptionContext: map[string]string{"": "v"}}, true},
		{"context of 100 pairs", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), EncryptionContext: big}, true},
		{"control characters", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), EncryptionContext: map[string]string{"a\nb": "\t\"\\"}}, true},
		{"DryRun false", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), DryRun: aws.Bool(false)}, true},
		{"disabled key", &kms.EncryptInput{KeyId: s(disabled), Plaintext: []byte("x")}, true},
		{"pending deletion", &kms.EncryptInput{KeyId: s(pending), Plaintext: []byte("x")}, true},
		{"no such key", &kms.EncryptInput{KeyId: s("11111111-2222-3333-4444-555555555555"), Plaintext: []byte("x")}, true},
		{"no such alias", &kms.EncryptInput{KeyId: s("alias/missing"), Plaintext: []byte("x")}, true},
		{"malformed key id", &kms.EncryptInput{KeyId: s("not a key"), Plaintext: []byte("x")}, true},
		{"ARN of another account", &kms.EncryptInput{KeyId: s(strings.Replace(md.Arn, "111122223333", "999999999999", 1)), Plaintext: []byte("x")}, true},
		{"no key id", &kms.EncryptInput{Plaintext: []byte("x")}, false},
		{"empty key id", &kms.EncryptInput{KeyId: s(""), Plaintext: []byte("x")}, false},
		{"key id too long", &kms.EncryptInput{KeyId: s(strings.Repeat("a", 2049)), Plaintext: []byte("x")}, false},
		{"no plaintext", &kms.EncryptInput{KeyId: s(id)}, false},
		{"empty plaintext", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte{}}, false},
		{"4097 bytes", &kms.EncryptInput{KeyId: s(id), Plaintext: make([]byte, 4097)}, false},
		{"grant tokens", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), GrantTokens: []string{"token"}}, false},
		{"algorithm", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault}, false},
		{"other algorithm", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256}, false},
		{"DryRun", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), DryRun: aws.Bool(true)}, false},
		{"key id with a NUL", &kms.EncryptInput{KeyId: s(id + "\x00"), Plaintext: []byte("x")}, false},
		{"key id not UTF-8", &kms.EncryptInput{KeyId: s("alias/\xff"), Plaintext: []byte("x")}, false},
		{"context with a NUL", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), EncryptionContext: map[string]string{"a": "\x00"}}, false},
		{"context not UTF-8", &kms.EncryptInput{KeyId: s(id), Plaintext: []byte("x"), EncryptionContext: map[string]string{"\xfe": "v"}}, false},
	}
	blob := func(o *kms.EncryptOutput) *[]byte { return &o.CiphertextBlob }
	for _, tc := range cases {
		for _, pair := range []struct {
			who         string
			typed, json *awskms.Client
		}{{"root", typed, js}, {"denied caller", denied, deniedJS}} {
			name := tc.name + " (" + pair.who + ")"
			before := awskms.TypedCalls()
			ot, errT := pair.typed.Encrypt(ctx, tc.in)
			took := awskms.TypedCalls() - before
			if tc.typed && took != 1 || !tc.typed && took != 0 {
				t.Errorf("%s: %d typed calls, want typed=%v", name, took, tc.typed)
			}
			oj, errJ := pair.json.Encrypt(ctx, tc.in)
			if awskms.TypedCalls() != before+took {
				t.Errorf("%s: the JSON-only client took the typed path", name)
			}
			open := func(b []byte) ([]byte, error) { return k.Decrypt(b, tc.in.EncryptionContext) }
			if !tc.typed {
				open = nil // both answers are the JSON path's (whose context may differ: U+FFFD)
			}
			sameAnswer(t, name, ot, oj, errT, errJ, blob, open)
		}
	}
	// A nil input is the SDK's empty input, on both paths.
	_, errT := typed.Encrypt(ctx, nil)
	_, errJ := js.Encrypt(ctx, nil)
	sameAnswer[kms.EncryptOutput](t, "nil input", nil, nil, errT, errJ, nil, nil)
	if errT == nil {
		t.Error("nil input: no error")
	}
}

// TestTypedGenerateRandomMatchesJSON: GenerateRandom's typed path against the JSON path.
func TestTypedGenerateRandomMatchesJSON(t *testing.T) {
	k := openKMS(t)
	ctx := context.Background()
	caller := appCaller(t)
	n := aws.Int32
	cases := []struct {
		name  string
		in    *kms.GenerateRandomInput
		typed bool
	}{
		{"1 byte", &kms.GenerateRandomInput{NumberOfBytes: n(1)}, true},
		{"32 bytes", &kms.GenerateRandomInput{NumberOfBytes: n(32)}, true},
		{"1024 bytes", &kms.GenerateRandomInput{NumberOfBytes: n(1024)}, true},
		{"no size", &kms.GenerateRandomInput{}, false},
		{"0 bytes", &kms.GenerateRandomInput{NumberOfBytes: n(0)}, false},
		{"-1 bytes", &kms.GenerateRandomInput{NumberOfBytes: n(-1)}, false},
		{"1025 bytes", &kms.GenerateRandomInput{NumberOfBytes: n(1025)}, false},
		{"custom key store", &kms.GenerateRandomInput{NumberOfBytes: n(32), CustomKeyStoreId: aws.String("cks-1234567890abcdef0")}, false},
		{"recipient", &kms.GenerateRandomInput{NumberOfBytes: n(32), Recipient: &types.RecipientInfo{AttestationDocument: []byte("doc")}}, false},
	}
	random := func(o *kms.GenerateRandomOutput) *[]byte { return &o.Plaintext }
	for _, tc := range cases {
		for _, who := range []struct {
			name string
			k    *trent.KMS
		}{{"root", k}, {"denied caller", k.WithCaller(caller)}} {
			name := tc.name + " (" + who.name + ")"
			before := awskms.TypedCalls()
			ot, errT := awskms.New(who.k).GenerateRandom(ctx, tc.in)
			if took := awskms.TypedCalls() - before; tc.typed && took != 1 || !tc.typed && took != 0 {
				t.Errorf("%s: %d typed calls, want typed=%v", name, took, tc.typed)
			}
			oj, errJ := awskms.NewJSONOnly(who.k).GenerateRandom(ctx, tc.in)
			sameAnswer(t, name, ot, oj, errT, errJ, random, nil)
		}
	}
}

// typedFixture: an engine with a rotated key (so old blobs name a material that is not the
// current one), an alias, a disabled key, and typed and JSON-only clients as root and as a
// caller without permission.
type typedFixture struct {
	k                  *trent.KMS
	id, arn, disabled  string
	typed, js          *awskms.Client
	denied, deniedJS   *awskms.Client
	old, oldCtx, dblob []byte
}

func newTypedFixture(t *testing.T) *typedFixture {
	t.Helper()
	k := openKMS(t)
	f := &typedFixture{k: k, typed: awskms.New(k), js: awskms.NewJSONOnly(k)}
	f.id, _ = k.CreateKey("typed")
	md, err := k.DescribeKey(f.id)
	if err != nil {
		t.Fatal(err)
	}
	f.arn = md.Arn
	if err := k.CreateAlias("alias/typed", f.id); err != nil {
		t.Fatal(err)
	}
	if f.old, err = k.Encrypt(f.id, []byte("old"), nil); err != nil {
		t.Fatal(err)
	}
	if f.oldCtx, err = k.Encrypt(f.id, []byte("old with context"), map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if err := k.RotateKeyOnDemand(f.id); err != nil {
		t.Fatal(err)
	}
	f.disabled, _ = k.CreateKey("")
	if f.dblob, err = k.Encrypt(f.disabled, []byte("d"), nil); err != nil {
		t.Fatal(err)
	}
	if err := k.DisableKey(f.disabled); err != nil {
		t.Fatal(err)
	}
	caller := appCaller(t)
	f.denied, f.deniedJS = awskms.New(k.WithCaller(caller)), awskms.NewJSONOnly(k.WithCaller(caller))
	return f
}

// runTyped calls one operation on the typed and JSON-only clients (root, then the denied
// caller), checks the typed path was taken or not as wanted, and compares the answers.
func runTyped[I, O any](t *testing.T, f *typedFixture, name string, in *I, typed bool,
	call func(*awskms.Client, *I) (*O, error), blob func(*O) *[]byte, open func([]byte) ([]byte, error)) {
	t.Helper()
	for _, pair := range []struct {
		who         string
		typed, json *awskms.Client
	}{{"root", f.typed, f.js}, {"denied caller", f.denied, f.deniedJS}} {
		n := name + " (" + pair.who + ")"
		before := awskms.TypedCalls()
		ot, errT := call(pair.typed, in)
		if took := awskms.TypedCalls() - before; typed && took != 1 || !typed && took != 0 {
			t.Errorf("%s: %d typed calls, want typed=%v", n, took, typed)
		}
		oj, errJ := call(pair.json, in)
		o := open
		if !typed || pair.who != "root" {
			o = nil
		}
		sameAnswer(t, n, ot, oj, errT, errJ, blob, o)
	}
}

// TestTypedDecryptMatchesJSON: Decrypt's typed path against the JSON path, KeyMaterialId
// included (of a version that is no longer the current one).
func TestTypedDecryptMatchesJSON(t *testing.T) {
	f := newTypedFixture(t)
	ctx := context.Background()
	s := aws.String
	ab := map[string]string{"a": "b"}
	tampered := append([]byte(nil), f.oldCtx...)
	tampered[len(tampered)-1] ^= 1
	cases := []struct {
		name  string
		in    *kms.DecryptInput
		typed bool
	}{
		{"blob", &kms.DecryptInput{CiphertextBlob: f.old}, true},
		{"with context", &kms.DecryptInput{CiphertextBlob: f.oldCtx, EncryptionContext: ab}, true},
		{"key id", &kms.DecryptInput{CiphertextBlob: f.old, KeyId: s(f.id)}, true},
		{"key ARN", &kms.DecryptInput{CiphertextBlob: f.old, KeyId: s(f.arn)}, true},
		{"alias", &kms.DecryptInput{CiphertextBlob: f.old, KeyId: s("alias/typed")}, true},
		{"other key", &kms.DecryptInput{CiphertextBlob: f.old, KeyId: s(f.disabled)}, true},
		{"no such alias", &kms.DecryptInput{CiphertextBlob: f.old, KeyId: s("alias/missing")}, true},
		{"wrong context", &kms.DecryptInput{CiphertextBlob: f.oldCtx, EncryptionContext: map[string]string{"a": "c"}}, true},
		{"missing context", &kms.DecryptInput{CiphertextBlob: f.oldCtx}, true},
		{"tampered", &kms.DecryptInput{CiphertextBlob: tampered, EncryptionContext: ab}, true},
		{"truncated", &kms.DecryptInput{CiphertextBlob: f.old[:30]}, true},
		{"not a blob", &kms.DecryptInput{CiphertextBlob: []byte("x")}, true},
		{"disabled key", &kms.DecryptInput{CiphertextBlob: f.dblob}, true},
		{"no blob", &kms.DecryptInput{}, false},
		{"6145 bytes", &kms.DecryptInput{CiphertextBlob: make([]byte, 6145)}, false},
		{"empty key id", &kms.DecryptInput{CiphertextBlob: f.old, KeyId: s("")}, false},
		{"grant tokens", &kms.DecryptInput{CiphertextBlob: f.old, GrantTokens: []string{"t"}}, false},
		{"algorithm", &kms.DecryptInput{CiphertextBlob: f.old, EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault}, false},
		{"DryRun", &kms.DecryptInput{CiphertextBlob: f.old, DryRun: aws.Bool(true)}, false},
		{"context not UTF-8", &kms.DecryptInput{CiphertextBlob: f.old, EncryptionContext: map[string]string{"\xfe": "v"}}, false},
	}
	call := func(c *awskms.Client, in *kms.DecryptInput) (*kms.DecryptOutput, error) { return c.Decrypt(ctx, in) }
	none := func(o *kms.DecryptOutput) *[]byte { var b []byte; return &b }
	for _, tc := range cases {
		runTyped(t, f, tc.name, tc.in, tc.typed, call, none, nil)
	}
	o, err := f.typed.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: f.old})
	if err != nil || string(o.Plaintext) != "old" {
		t.Fatalf("Decrypt: %v", err)
	}
	md, _ := f.k.DescribeKey(f.id)
	if o.KeyMaterialId == nil || len(*o.KeyMaterialId) != 64 || *o.KeyMaterialId == md.CurrentKeyMaterialID {
		t.Errorf("KeyMaterialId %v: want the old version's, not the current %s", o.KeyMaterialId, md.CurrentKeyMaterialID)
	}
}

// TestTypedReEncryptMatchesJSON: ReEncrypt's typed path against the JSON path.
func TestTypedReEncryptMatchesJSON(t *testing.T) {
	f := newTypedFixture(t)
	ctx := context.Background()
	s := aws.String
	ab := map[string]string{"a": "b"}
	other, _ := f.k.CreateKey("")
	cases := []struct {
		name  string
		in    *kms.ReEncryptInput
		typed bool
		dctx  map[string]string
	}{
		{"same key", &kms.ReEncryptInput{CiphertextBlob: f.old, DestinationKeyId: s(f.id)}, true, nil},
		{"other key", &kms.ReEncryptInput{CiphertextBlob: f.old, DestinationKeyId: s(other)}, true, nil},
		{"alias", &kms.ReEncryptInput{CiphertextBlob: f.old, DestinationKeyId: s("alias/typed")}, true, nil},
		{"contexts", &kms.ReEncryptInput{CiphertextBlob: f.oldCtx, SourceEncryptionContext: ab, DestinationKeyId: s(other), DestinationEncryptionContext: map[string]string{"d": "e"}}, true, map[string]string{"d": "e"}},
		{"wrong source context", &kms.ReEncryptInput{CiphertextBlob: f.oldCtx, DestinationKeyId: s(other)}, true, nil},
		{"disabled destination", &kms.ReEncryptInput{CiphertextBlob: f.old, DestinationKeyId: s(f.disabled)}, true, nil},
		{"disabled source", &kms.ReEncryptInput{CiphertextBlob: f.dblob, DestinationKeyId: s(f.id)}, true, nil},
		{"no such destination", &kms.ReEncryptInput{CiphertextBlob: f.old, DestinationKeyId: s("alias/missing")}, true, nil},
		{"not a blob", &kms.ReEncryptInput{CiphertextBlob: []byte("x"), DestinationKeyId: s(f.id)}, true, nil},
		{"no destination", &kms.ReEncryptInput{CiphertextBlob: f.old}, false, nil},
		{"no blob", &kms.ReEncryptInput{DestinationKeyId: s(f.id)}, false, nil},
		{"source key id", &kms.ReEncryptInput{CiphertextBlob: f.old, DestinationKeyId: s(f.id), SourceKeyId: s(f.id)}, false, nil},
		{"grant tokens", &kms.ReEncryptInput{CiphertextBlob: f.old, DestinationKeyId: s(f.id), GrantTokens: []string{"t"}}, false, nil},
		{"DryRun", &kms.ReEncryptInput{CiphertextBlob: f.old, DestinationKeyId: s(f.id), DryRun: aws.Bool(true)}, false, nil},
	}
	call := func(c *awskms.Client, in *kms.ReEncryptInput) (*kms.ReEncryptOutput, error) {
		return c.ReEncrypt(ctx, in)
	}
	blob := func(o *kms.ReEncryptOutput) *[]byte { return &o.CiphertextBlob }
	for _, tc := range cases {
		dctx := tc.dctx
		runTyped(t, f, tc.name, tc.in, tc.typed, call, blob, func(b []byte) ([]byte, error) { return f.k.Decrypt(b, dctx) })
	}
}

// TestTypedGenerateDataKeyMatchesJSON: GenerateDataKey's and GenerateDataKeyWithoutPlaintext's
// typed paths against the JSON path.
func TestTypedGenerateDataKeyMatchesJSON(t *testing.T) {
	f := newTypedFixture(t)
	ctx := context.Background()
	s, n := aws.String, aws.Int32
	ab := map[string]string{"a": "b"}
	cases := []struct {
		name  string
		in    *kms.GenerateDataKeyInput
		typed bool
	}{
		{"AES_256", &kms.GenerateDataKeyInput{KeyId: s(f.id), KeySpec: types.DataKeySpecAes256}, true},
		{"AES_128 by alias", &kms.GenerateDataKeyInput{KeyId: s("alias/typed"), KeySpec: types.DataKeySpecAes128}, true},
		{"1 byte", &kms.GenerateDataKeyInput{KeyId: s(f.arn), NumberOfBytes: n(1)}, true},
		{"1024 bytes, context", &kms.GenerateDataKeyInput{KeyId: s(f.id), NumberOfBytes: n(1024), EncryptionContext: ab}, true},
		{"disabled", &kms.GenerateDataKeyInput{KeyId: s(f.disabled), NumberOfBytes: n(16)}, true},
		{"no such alias", &kms.GenerateDataKeyInput{KeyId: s("alias/missing"), NumberOfBytes: n(16)}, true},
		{"no size", &kms.GenerateDataKeyInput{KeyId: s(f.id)}, false},
		{"both sizes", &kms.GenerateDataKeyInput{KeyId: s(f.id), NumberOfBytes: n(16), KeySpec: types.DataKeySpecAes128}, false},
		{"0 bytes", &kms.GenerateDataKeyInput{KeyId: s(f.id), NumberOfBytes: n(0)}, false},
		{"1025 bytes", &kms.GenerateDataKeyInput{KeyId: s(f.id), NumberOfBytes: n(1025)}, false},
		{"other spec", &kms.GenerateDataKeyInput{KeyId: s(f.id), KeySpec: "AES_512"}, false},
		{"no key", &kms.GenerateDataKeyInput{NumberOfBytes: n(16)}, false},
		{"empty key", &kms.GenerateDataKeyInput{KeyId: s(""), NumberOfBytes: n(16)}, false},
		{"grant tokens", &kms.GenerateDataKeyInput{KeyId: s(f.id), NumberOfBytes: n(16), GrantTokens: []string{"t"}}, false},
		{"DryRun", &kms.GenerateDataKeyInput{KeyId: s(f.id), NumberOfBytes: n(16), DryRun: aws.Bool(true)}, false},
	}
	gdk := func(c *awskms.Client, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		o, err := c.GenerateDataKey(ctx, in)
		if err == nil {
			// The plaintext is fresh: check it against the blob, then compare its length only.
			pt, derr := f.k.Decrypt(o.CiphertextBlob, in.EncryptionContext)
			if derr != nil || string(pt) != string(o.Plaintext) {
				t.Errorf("GenerateDataKey: the blob does not open to the plaintext (%v)", derr)
			}
			o.Plaintext = make([]byte, len(o.Plaintext))
		}
		return o, err
	}
	gdkBlob := func(o *kms.GenerateDataKeyOutput) *[]byte { return &o.CiphertextBlob }
	wp := func(c *awskms.Client, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
		return c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
			KeyId: in.KeyId, NumberOfBytes: in.NumberOfBytes, KeySpec: in.KeySpec, EncryptionContext: in.EncryptionContext,
			GrantTokens: in.GrantTokens, DryRun: in.DryRun,
		})
	}
	wpBlob := func(o *kms.GenerateDataKeyWithoutPlaintextOutput) *[]byte { return &o.CiphertextBlob }
	for _, tc := range cases {
		runTyped(t, f, "GenerateDataKey "+tc.name, tc.in, tc.typed, gdk, gdkBlob, nil)
		runTyped(t, f, "GenerateDataKeyWithoutPlaintext "+tc.name, tc.in, tc.typed, wp, wpBlob, nil)
	}
}
