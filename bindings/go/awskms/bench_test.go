package awskms_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	trent "github.com/trent-kms/trent/bindings/go"
	"github.com/trent-kms/trent/bindings/go/awskms"
)

// benchClient opens an engine with one key, and the adapter over it.
func benchClient(b *testing.B) (*trent.KMS, *awskms.Client, string) {
	k := openKMS(b)
	id, err := k.CreateKey("")
	if err != nil {
		b.Fatal(err)
	}
	return k, awskms.New(k), id
}

// The adapter's cost over the core binding: the same Encrypt and Decrypt of 4 KiB through
// the SDK-shaped client (AWS JSON inside) and through package trent.
func BenchmarkAdapter4KiB(b *testing.B) {
	k, c, id := benchClient(b)
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

// side is one call of an interleaved benchmark, named for its metrics.
type side struct {
	name string
	call func() error
}

// interleave runs the adapter and its references in alternating blocks of 64 calls until
// each has run b.N times, so that a neighbour's load on a shared machine falls on all alike,
// and reports each one's ns/op and the ratio adapter time / reference time.
func interleave(b *testing.B, adapter func() error, refs ...side) {
	const block = 64
	sides := append([]side{{"adapter", adapter}}, refs...)
	spent := make([]time.Duration, len(sides))
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		for s, sd := range sides {
			t0 := time.Now()
			for i := 0; i < block; i++ {
				if err := sd.call(); err != nil {
					b.Fatal(err)
				}
			}
			spent[s] += time.Since(t0)
		}
	}
	n := float64((b.N + block - 1) / block * block)
	for s, sd := range sides {
		b.ReportMetric(float64(spent[s].Nanoseconds())/n, sd.name+"-ns/op")
		if s > 0 {
			b.ReportMetric(float64(spent[0])/float64(spent[s]), "adapter/"+sd.name)
		}
	}
}

// BenchmarkInterleavedAdapterEncrypt4KiB is the figure for the adapter: its Encrypt
// of 4 KiB beside the binding's EncryptAppend of 4 KiB (reused buffer), interleaved, with
// the ratio adapter time / EncryptAppend time (issue 13's target: at most 2). The SDK's
// contract gives the caller a new blob per call, so the binding's Encrypt, which returns a
// new slice too, runs beside them: adapter/fresh is the adapter's own cost, and
// fresh/append what a new 4.8 KB slice per call costs here (allocation and the garbage
// collector's cycles, which on a benchmark's small heap come every few hundred calls).
func BenchmarkInterleavedAdapterEncrypt4KiB(b *testing.B) {
	k, c, id := benchClient(b)
	ctx := context.Background()
	pt := make([]byte, 4096)
	in := &kms.EncryptInput{KeyId: aws.String(id), Plaintext: pt}
	dst := make([]byte, 0, 8192)
	interleave(b, func() error {
		_, err := c.Encrypt(ctx, in)
		return err
	}, side{"append", func() (err error) {
		dst, err = k.EncryptAppend(dst[:0], id, pt, nil)
		return err
	}}, side{"fresh", func() error {
		_, err := k.Encrypt(id, pt, nil)
		return err
	}})
}

// BenchmarkInterleavedAdapterDecrypt4KiB is BenchmarkInterleavedAdapterEncrypt4KiB for
// Decrypt: the adapter's Decrypt of a 4 KiB blob beside the binding's DecryptAppend into a
// reused buffer and the binding's Decrypt into a new slice, interleaved, with the ratios.
func BenchmarkInterleavedAdapterDecrypt4KiB(b *testing.B) {
	k, c, id := benchClient(b)
	ctx := context.Background()
	blob, err := k.Encrypt(id, make([]byte, 4096), nil)
	if err != nil {
		b.Fatal(err)
	}
	in := &kms.DecryptInput{CiphertextBlob: blob}
	dst := make([]byte, 0, 8192)
	interleave(b, func() error {
		_, err := c.Decrypt(ctx, in)
		return err
	}, side{"append", func() (err error) {
		dst, err = k.DecryptAppend(dst[:0], "", blob, nil)
		return err
	}}, side{"fresh", func() error {
		_, err := k.Decrypt(blob, nil)
		return err
	}})
}
