package trent_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"testing"
	"time"

	trent "github.com/trent-kms/trent/bindings/go"
	"github.com/trent-kms/trent/bindings/go/internal/cbench"
)

// The interleaved benchmarks run the binding and its peer in alternating blocks within one
// benchmark, so that a neighbour's load on a shared machine falls on both alike; they report
// each side's ns/op and the ratio of throughputs (peer time / binding time) as metrics.
// bench.sh's table takes its figures from these.

func BenchmarkInterleavedEncrypt4KiB(b *testing.B) {
	k := open(b)
	id := mustKey(b, k)
	key := make([]byte, 32)
	rand.Read(key)
	blk, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(blk)
	nonce := make([]byte, gcm.NonceSize())
	pt := make([]byte, size4K)
	dst := make([]byte, 0, size4K+256)
	sealed := make([]byte, 0, size4K+gcm.Overhead())
	e, err := cbench.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	const block = 64
	var tGo, tStd, tGoAlloc, tStdAlloc, tC time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		t0 := time.Now()
		for i := 0; i < block; i++ {
			var err error
			if dst, err = k.EncryptAppend(dst[:0], id, pt, nil); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for i := 0; i < block; i++ {
			sealed = gcm.Seal(sealed[:0], nonce, pt, nil)
		}
		t2 := time.Now()
		for i := 0; i < block; i++ {
			var err error
			if sinkBytes, err = k.Encrypt(id, pt, nil); err != nil {
				b.Fatal(err)
			}
		}
		t3 := time.Now()
		for i := 0; i < block; i++ {
			sinkBytes = gcm.Seal(nil, nonce, pt, nil)
		}
		t4 := time.Now()
		if err := e.Encrypt(block, size4K); err != nil {
			b.Fatal(err)
		}
		t5 := time.Now()
		tGo += t1.Sub(t0)
		tStd += t2.Sub(t1)
		tGoAlloc += t3.Sub(t2)
		tStdAlloc += t4.Sub(t3)
		tC += t5.Sub(t4)
	}
	n := float64((b.N + block - 1) / block * block)
	b.ReportMetric(float64(tGo.Nanoseconds())/n, "append-ns/op")
	b.ReportMetric(float64(tStd.Nanoseconds())/n, "stdlib-ns/op")
	b.ReportMetric(100*float64(tStd)/float64(tGo), "append-%-of-stdlib")
	b.ReportMetric(float64(tGoAlloc.Nanoseconds())/n, "alloc-ns/op")
	b.ReportMetric(float64(tStdAlloc.Nanoseconds())/n, "stdlib-alloc-ns/op")
	b.ReportMetric(100*float64(tStdAlloc)/float64(tGoAlloc), "alloc-%-of-stdlib-alloc")
	b.ReportMetric(100*float64(tStd)/float64(tGoAlloc), "alloc-%-of-stdlib")
	b.ReportMetric(float64(tC.Nanoseconds())/n, "c-ns/op")
	b.ReportMetric(100*float64(tC)/float64(tGo), "append-%-of-c")
}

func BenchmarkInterleavedGenerateDataKeys1024(b *testing.B) {
	k := open(b)
	id := mustKey(b, k)
	e, err := cbench.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var reuse trent.DataKeyBatch
	var tInto, tNew, tExport, tGet time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := k.GenerateDataKeysInto(&reuse, id, 0, nil, batch); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		dk, err := k.GenerateDataKeys(id, 0, nil, batch)
		if err != nil || dk.Len() != batch {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := e.DataKeysExport(1, batch); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if err := e.DataKeys(1, batch); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		tInto += t1.Sub(t0)
		tNew += t2.Sub(t1)
		tExport += t3.Sub(t2)
		tGet += t4.Sub(t3)
	}
	reuse.Clear()
	n := float64(b.N)
	b.ReportMetric(float64(tInto.Nanoseconds())/n, "into-ns/batch")
	b.ReportMetric(float64(tNew.Nanoseconds())/n, "new-ns/batch")
	b.ReportMetric(float64(tExport.Nanoseconds())/n, "c-export-ns/batch")
	b.ReportMetric(float64(tGet.Nanoseconds())/n, "c-get-ns/batch")
	b.ReportMetric(100*float64(tExport)/float64(tInto), "into-%-of-c-export")
	b.ReportMetric(100*float64(tExport)/float64(tNew), "new-%-of-c-export")
	b.ReportMetric(100*float64(tGet)/float64(tInto), "into-%-of-c-get")
}
