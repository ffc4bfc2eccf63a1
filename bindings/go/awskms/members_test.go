package awskms_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trent-kms/trent/bindings/go/awskms"
)

// checkMembers checks that every member of the engine's JSON response for op (nested objects
// too) arrived in the SDK output: a field of that name holding a non-zero value when the JSON
// value is not a zero ("", false, 0, empty list).
func checkMembers(t *testing.T, op string, raw map[string]any, out any) {
	t.Helper()
	var walk func(path string, j map[string]any, v reflect.Value)
	walk = func(path string, j map[string]any, v reflect.Value) {
		for v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		for name, jv := range j {
			f := v.FieldByName(name)
			if !f.IsValid() {
				// The SDK version may not model every member (e.g. newer ones): report, not fail.
				t.Logf("%s: %s%s has no SDK field", op, path, name)
				continue
			}
			switch x := jv.(type) {
			case map[string]any:
				if f.Kind() == reflect.Map {
					if f.Len() != len(x) {
						t.Errorf("%s: %s%s: %d entries, want %d", op, path, name, f.Len(), len(x))
					}
					continue
				}
				walk(path+name+".", x, f)
			case []any:
				if f.Len() != len(x) {
					t.Errorf("%s: %s%s: %d items, want %d", op, path, name, f.Len(), len(x))
					continue
				}
				for i := range x {
					if m, ok := x[i].(map[string]any); ok {
						walk(path+name+"[].", m, f.Index(i))
					}
				}
			case string, float64, bool:
				if !reflect.ValueOf(x).IsZero() && f.IsZero() {
					t.Errorf("%s: %s%s = %v lost", op, path, name, x)
				}
			}
		}
	}
	walk("", raw, reflect.ValueOf(out))
}

func TestOutputsCarryEveryMember(t *testing.T) {
	k := openKMS(t)
	c := awskms.New(k)
	ctx := context.Background()
	ck, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("m"), MultiRegion: aws.Bool(true),
		Tags: []types.Tag{{TagKey: aws.String("a"), TagValue: aws.String("b")}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(ck.KeyMetadata.KeyId)
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/m"), TargetKeyId: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: &id}); err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: &id, Plaintext: []byte("members")})
	if err != nil {
		t.Fatal(err)
	}
	keyReq, _ := json.Marshal(map[string]string{"KeyId": id})
	for _, tc := range []struct {
		op  string
		req []byte
		run func() (any, error)
	}{
		{"DescribeKey", keyReq, func() (any, error) { return c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &id}) }},
		{"ListKeys", nil, func() (any, error) { return c.ListKeys(ctx, nil) }},
		{"ListAliases", nil, func() (any, error) { return c.ListAliases(ctx, nil) }},
		{"ListResourceTags", keyReq, func() (any, error) { return c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: &id}) }},
		{"ListKeyRotations", keyReq, func() (any, error) { return c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: &id}) }},
		{"GetKeyRotationStatus", keyReq, func() (any, error) {
			return c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: &id})
		}},
		{"Decrypt", mustJSON(map[string]any{"CiphertextBlob": enc.CiphertextBlob}), func() (any, error) {
			return c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
		}},
		{"GenerateDataKey", mustJSON(map[string]any{"KeyId": id, "KeySpec": "AES_256"}), func() (any, error) {
			return c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: &id, KeySpec: types.DataKeySpecAes256})
		}},
		{"GenerateDataKeyWithoutPlaintext", mustJSON(map[string]any{"KeyId": id, "KeySpec": "AES_256"}), func() (any, error) {
			return c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: &id, KeySpec: types.DataKeySpecAes256})
		}},
		{"ReEncrypt", mustJSON(map[string]any{"CiphertextBlob": enc.CiphertextBlob, "DestinationKeyId": id}), func() (any, error) {
			return c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: &id})
		}},
		{"Encrypt", mustJSON(map[string]any{"KeyId": id, "Plaintext": []byte("x")}), func() (any, error) {
			return c.Encrypt(ctx, &kms.EncryptInput{KeyId: &id, Plaintext: []byte("x")})
		}},
		{"ScheduleKeyDeletion", keyReq, func() (any, error) {
			return c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &id})
		}},
	} {
		// The adapter first (the engine's answer to a later identical request has the same
		// members; ScheduleKeyDeletion is last and asked of the engine once, below).
		out, err := tc.run()
		if err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		req := tc.req
		if tc.op == "ScheduleKeyDeletion" {
			req, _ = json.Marshal(map[string]string{"KeyId": id})
			if err := k.CancelKeyDeletion(id); err != nil {
				t.Fatal(err)
			}
			if err := k.EnableKey(id); err != nil {
				t.Fatal(err)
			}
		}
		raw, err := k.CallJSON(tc.op, req)
		if err != nil {
			t.Fatalf("%s via JSON: %v", tc.op, err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		checkMembers(t, tc.op, m, out)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
