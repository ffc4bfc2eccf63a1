package trent_test

import (
	"errors"
	"fmt"

	trent "github.com/trent-kms/trent/bindings/go"
)

func Example() {
	k, err := trent.Open(trent.InMemory(), trent.AllowUnlockedMemory(true))
	if err != nil {
		panic(err)
	}
	defer k.Close()

	keyID, _ := k.CreateKey("orders")
	_ = k.CreateAlias("alias/orders", keyID)
	ctx := map[string]string{"tenant": "acme"}

	blob, _ := k.Encrypt("alias/orders", []byte("hello"), ctx)
	plain, _ := k.Decrypt(blob, ctx)
	fmt.Println(string(plain))
	clear(plain)

	_, err = k.Decrypt(blob, map[string]string{"tenant": "other"})
	var te *trent.Error
	fmt.Println(errors.Is(err, trent.ErrInvalidCiphertext), errors.As(err, &te) && te.Name == "InvalidCiphertextException")

	_ = k.DisableKey(keyID)
	_, err = k.Encrypt(keyID, []byte("x"), nil)
	fmt.Println(errors.Is(err, trent.ErrDisabled))
	// Output:
	// hello
	// true true
	// true
}

func ExampleKMS_GenerateDataKeys() {
	k, _ := trent.Open(trent.AllowUnlockedMemory(true))
	defer k.Close()
	keyID, _ := k.CreateKey("")

	batch, err := k.GenerateDataKeys(keyID, 0, nil, 100) // one call for 100 AES-256 data keys
	if err != nil {
		panic(err)
	}
	defer batch.Clear()
	dk, _ := batch.At(0)
	fmt.Println(batch.Len(), len(dk.Plaintext))
	// Output: 100 32
}
