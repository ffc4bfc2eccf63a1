package awskms

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// The flat scanner and its fallback agree with encoding/json.
func TestDecodeFlat(t *testing.T) {
	for _, in := range []string{
		`{"KeyId":"arn:k","Plaintext":"aGVsbG8=","EncryptionAlgorithm":"SYMMETRIC_DEFAULT","KeyMaterialId":"x"}`,
		` { "KeyId" : "a\"b\u00e9" , "Plaintext" : "aGk=" } `,
		`{"KeyId":null,"Plaintext":"aGk=","Extra":12.5,"Flag":true}`,
		`{"Plaintext":"aGk\/"}`,                         // escaped blob: fallback
		`{"KeyId":"k","Nested":{"A":1},"Plaintext":""}`, // nested: fallback
		`{}`,
	} {
		got, err := decodeFlat[kms.DecryptOutput]([]byte(in), nil)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var want kms.DecryptOutput
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("%s: json: %v", in, err)
		}
		if !bytes.Equal(got.Plaintext, want.Plaintext) || (got.KeyId == nil) != (want.KeyId == nil) ||
			(got.KeyId != nil && *got.KeyId != *want.KeyId) || got.EncryptionAlgorithm != want.EncryptionAlgorithm {
			t.Fatalf("%s: got %+v, want %+v", in, got, want)
		}
	}
	for _, bad := range []string{`{"Plaintext":"@@"}`, `{"ResultMetadata":"x"}`, `{"KeyId":"x"`, `[1]`, ``} {
		if _, err := decodeFlat[kms.DecryptOutput]([]byte(bad), nil); err == nil {
			t.Fatalf("%q: no error", bad)
		}
	}
}

func TestBodyBuilder(t *testing.T) {
	k := "key \"quoted\" é"
	yes := true
	n := int32(32)
	w := newBody(8)
	w.str("KeyId", &k)
	w.context("EncryptionContext", map[string]string{"a": "b\n"})
	w.strs("GrantTokens", []string{"t1"})
	w.enum("KeySpec", "AES_256")
	w.enum("Empty", "")
	w.boolean("DryRun", &yes)
	w.int32("NumberOfBytes", &n)
	w.secretBlob("Plaintext", []byte("hi"))
	var got map[string]any
	if err := json.Unmarshal(w.done(), &got); err != nil {
		t.Fatal(err)
	}
	if got["KeyId"] != k || got["EncryptionContext"].(map[string]any)["a"] != "b\n" || got["KeySpec"] != "AES_256" ||
		got["DryRun"] != true || got["NumberOfBytes"] != float64(32) || got["Plaintext"] != "aGk=" || got["Empty"] != nil {
		t.Fatalf("body: %v", got)
	}
}
