package trent_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"testing"

	trent "github.com/trent-kms/trent/bindings/go"
	"github.com/trent-kms/trent/bindings/go/internal/cbench"
)

// The benchmarks put each binding figure beside its peer in the same run (bench.sh prints
// the ratios): Encrypt 4 KiB beside the standard library's bare AES-256-GCM seal of 4 KiB,
// and GenerateDataKeys from Go beside the same batch called from C.

const size4K = 4096

func BenchmarkEncrypt4KiB(b *testing.B) {
	b.Run("trent", func(b *testing.B) {
		k := open(b)
		id := mustKey(b, k)
		pt := make([]byte, size4K)
		b.SetBytes(size4K)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := k.Encrypt(id, pt, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("trent-append", func(b *testing.B) {
		k := open(b)
		id := mustKey(b, k)
		pt := make([]byte, size4K)
		dst := make([]byte, 0, size4K+256)
		b.SetBytes(size4K)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var err error
			if dst, err = k.EncryptAppend(dst[:0], id, pt, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("c", func(b *testing.B) {
		e := openC(b)
		b.SetBytes(size4K)
		b.ResetTimer()
		if err := e.Encrypt(b.N, size4K); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("stdlib-gcm", func(b *testing.B) {
		gcm, nonce := newGCM()
		pt := make([]byte, size4K)
		dst := make([]byte, 0, size4K+gcm.Overhead())
		b.SetBytes(size4K)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			dst = gcm.Seal(dst[:0], nonce, pt, nil)
		}
	})
	b.Run("stdlib-gcm-alloc", func(b *testing.B) {
		gcm, nonce := newGCM()
		pt := make([]byte, size4K)
		b.SetBytes(size4K)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			sinkBytes = gcm.Seal(nil, nonce, pt, nil)
		}
	})
}

var sinkBytes []byte

// newGCM is the standard library's AES-256-GCM under a random key, and a nonce for it: the
// peer of Encrypt.
func newGCM() (cipher.AEAD, []byte) {
	key := make([]byte, 32)
	rand.Read(key)
	blk, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(blk)
	return gcm, make([]byte, gcm.NonceSize())
}

// openC opens the C peer (the same calls made from C, internal/cbench), closed when the
// benchmark ends.
func openC(b *testing.B) *cbench.Engine {
	e, err := cbench.Open()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	return e
}

func BenchmarkDecrypt4KiB(b *testing.B) {
	k := open(b)
	id := mustKey(b, k)
	blob, _ := k.Encrypt(id, make([]byte, size4K), nil)
	b.Run("trent", func(b *testing.B) {
		b.SetBytes(size4K)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := k.Decrypt(blob, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("trent-append", func(b *testing.B) {
		dst := make([]byte, 0, len(blob))
		b.SetBytes(size4K)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var err error
			if dst, err = k.DecryptAppend(dst[:0], "", blob, nil); err != nil {
				b.Fatal(err)
			}
		}
		clear(dst)
	})
}

func BenchmarkGenerateDataKey(b *testing.B) {
	k := open(b)
	id := mustKey(b, k)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k.GenerateDataKey(id, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
}

const batch = 1024

func BenchmarkGenerateDataKeys1024(b *testing.B) {
	b.Run("go", func(b *testing.B) {
		k := open(b)
		id := mustKey(b, k)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			dk, err := k.GenerateDataKeys(id, 0, nil, batch)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := dk.At(batch - 1); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "keys/s")
	})
	b.Run("go-into", func(b *testing.B) {
		k := open(b)
		id := mustKey(b, k)
		var dk trent.DataKeyBatch
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := k.GenerateDataKeysInto(&dk, id, 0, nil, batch); err != nil {
				b.Fatal(err)
			}
			if _, err := dk.At(batch - 1); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "keys/s")
		dk.Clear()
	})
	// The same batches made from C: item by item (trent_data_keys_get) and with the bulk
	// export.
	for _, c := range []struct {
		name string
		run  func(e *cbench.Engine, n, count int) error
	}{
		{"c", (*cbench.Engine).DataKeys},
		{"c-export", (*cbench.Engine).DataKeysExport},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := openC(b)
			b.ResetTimer()
			if err := c.run(e, b.N, batch); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}
