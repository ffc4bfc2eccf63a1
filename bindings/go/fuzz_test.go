package trent_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	trent "github.com/trent-kms/trent/bindings/go"
)

var fuzzKMS struct {
	once sync.Once
	k    *trent.KMS
	id   string
	blob []byte
	err  error
}

// FuzzDecrypt feeds arbitrary blobs, contexts and key ids to Decrypt (and DecryptBatch and
// EnvelopeDecrypt): the only outcomes allowed are the right plaintext or an *trent.Error,
// never a crash or another error.
func FuzzDecrypt(f *testing.F) {
	fuzzKMS.once.Do(func() {
		fuzzKMS.k, fuzzKMS.err = trent.Open(trent.AllowUnlockedMemory(true))
		if fuzzKMS.err != nil {
			return
		}
		fuzzKMS.id, fuzzKMS.err = fuzzKMS.k.CreateKey("fuzz")
		if fuzzKMS.err != nil {
			return
		}
		fuzzKMS.blob, fuzzKMS.err = fuzzKMS.k.Encrypt(fuzzKMS.id, []byte("fuzz me"), map[string]string{"a": "b"})
	})
	if fuzzKMS.err != nil {
		f.Fatal(fuzzKMS.err)
	}
	k, blob := fuzzKMS.k, fuzzKMS.blob
	f.Add(blob, "a", "b", "")
	f.Add(blob, "a", "c", "")
	f.Add(blob, "", "", fuzzKMS.id)
	f.Add(blob[:len(blob)/2], "a", "b", "")
	f.Add(append(bytes.Clone(blob), 0), "a", "b", "alias/x")
	f.Add([]byte{}, "", "", "")
	f.Add([]byte{1, 0, 0, 0}, "a\x00b", "\xff", "\xff")
	f.Add([]byte("TRENTENC\x01\x01\x00\x00\x04\x00"), "", "", "")
	f.Fuzz(func(t *testing.T, data []byte, key, value, keyID string) {
		ctx := map[string]string{key: value}
		if key == "" && value == "" {
			ctx = nil
		}
		pt, err := k.DecryptWithKey(keyID, data, ctx)
		check := func(pt []byte, err error) {
			if err == nil {
				if !bytes.Equal(pt, []byte("fuzz me")) {
					t.Fatalf("decrypted to %q", pt)
				}
				return
			}
			var te *trent.Error
			if !errors.As(err, &te) || te.Code == trent.CodePanic || te.Name == "" {
				t.Fatalf("untyped or panic error: %#v", err)
			}
		}
		check(pt, err)
		res, err := k.DecryptBatch([]trent.BatchItem{{Data: data, Context: ctx}})
		if err != nil {
			check(nil, err)
			return
		}
		check(res[0].Data, res[0].Err)
		// The same bytes as an envelope file: never opens (no envelope is in the corpus
		// unless the fuzzer builds one), always a typed error.
		if pt, err := k.EnvelopeDecrypt(data); err == nil {
			t.Fatalf("envelope opened to %d bytes", len(pt))
		} else if !errors.As(err, new(*trent.Error)) {
			t.Fatalf("untyped envelope error: %#v", err)
		}
	})
}
