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
	k, err := trent.Open(trent.AllowUnlockedMemory(true))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
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
	caller, err := trent.NewCaller("arn:aws:iam::111122223333:role/app")
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
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
	k, err := trent.Open(trent.AllowUnlockedMemory(true))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ctx := context.Background()
	caller, err := trent.NewCaller("arn:aws:iam::111122223333:role/app")
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
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
