// Command envelope is Trent's envelope flow from Go:
//
//	go run ./examples/envelope [FILE]
//
// It opens an engine (in memory) and creates a KMS key. GenerateDataKey gives a fresh
// AES-256 data key, in plaintext and wrapped under the KMS key; the file (or a generated
// 1 MiB buffer) is sealed locally with AES-256-GCM under the plaintext data key, which is
// then cleared: only the wrapped key is kept beside the data. Later, Decrypt unwraps the
// data key (no key id needed) and the data is opened with it.
package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"os"

	trent "github.com/trent-kms/trent/bindings/go"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "envelope:", err)
		os.Exit(1)
	}
}

// newGCM is AES-256-GCM under the data key.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(key, data []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize()) // a fresh data key per message: a zero nonce is safe once
	return gcm.Seal(nil, nonce, data, nil), nil
}

func open(key, sealed []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return gcm.Open(nil, make([]byte, gcm.NonceSize()), sealed, nil)
}

func run() error {
	data := make([]byte, 1<<20)
	if len(os.Args) > 1 {
		var err error
		if data, err = os.ReadFile(os.Args[1]); err != nil {
			return err
		}
	} else {
		rand.Read(data)
	}

	k, err := trent.Open(trent.AllowUnlockedMemory(true))
	if err != nil {
		return err
	}
	defer k.Close()
	keyID, err := k.CreateKey("envelope example")
	if err != nil {
		return err
	}
	ctx := map[string]string{"purpose": "envelope example"}

	// Encrypt: a data key, the data sealed under it, the plaintext key cleared.
	dk, err := k.GenerateDataKey(keyID, 0, ctx)
	if err != nil {
		return err
	}
	sealed, err := seal(dk.Plaintext, data)
	clear(dk.Plaintext)
	if err != nil {
		return err
	}
	wrapped := dk.CiphertextBlob
	fmt.Printf("sealed %d bytes under a data key wrapped in %d bytes by %s\n", len(data), len(wrapped), keyID)

	// Decrypt: unwrap the data key (into a buffer we clear), open the data.
	key, err := k.DecryptAppend(make([]byte, 0, len(wrapped)), "", wrapped, ctx)
	if err != nil {
		return err
	}
	opened, err := open(key, sealed)
	clear(key)
	if err != nil {
		return err
	}
	if !bytes.Equal(opened, data) {
		return fmt.Errorf("round trip changed the data")
	}
	fmt.Println("decrypted and checked")

	// The wrong context cannot unwrap the key: the same InvalidCiphertextException as AWS.
	if _, err := k.Decrypt(wrapped, map[string]string{"purpose": "other"}); err != nil {
		fmt.Println("with another context:", err)
	}
	return nil
}
