package awskms_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	trent "github.com/trent-kms/trent/bindings/go"
	"github.com/trent-kms/trent/bindings/go/awskms"
)

// The adapter's cost over the core binding: the same Encrypt and Decrypt of 4 KiB through
// the SDK-shaped client (AWS JSON inside) and through package trent.
func BenchmarkAdapter4KiB(b *testing.B) {
	k, err := trent.Open(trent.AllowUnlockedMemory(true))
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	id, _ := k.CreateKey("")
	c := awskms.New(k)
	ctx := context.Background()
	pt := make([]byte, 4096)
	b.Run("encrypt/awskms", func(b *testing.B) {
		b.SetBytes(4096)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: pt}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encrypt/trent", func(b *testing.B) {
		b.SetBytes(4096)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := k.Encrypt(id, pt, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	blob, _ := k.Encrypt(id, pt, nil)
	b.Run("decrypt/awskms", func(b *testing.B) {
		b.SetBytes(4096)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
