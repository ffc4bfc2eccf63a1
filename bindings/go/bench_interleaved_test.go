package trent_test

import (
	"testing"
	"time"

	trent "github.com/trent-kms/trent/bindings/go"
)

// The interleaved benchmarks run the binding and its peer in alternating blocks within one
// benchmark, so that a neighbour's load on a shared machine falls on both alike; they report
// each side's ns/op and the ratio of throughputs (peer time / binding time) as metrics.
// bench.sh's table takes its figures from these.

// interleave runs each phase in turn, block iterations at a time (a phase gets the number
// of iterations to run), until every phase has run at least b.N iterations, and returns
// the time each phase took in all and the number of iterations each ran.
func interleave(b *testing.B, block int, phases ...func(n int)) ([]time.Duration, float64) {
	total := make([]time.Duration, len(phases))
	b.ResetTimer()
	done := 0
	for ; done < b.N; done += block {
		for i, phase := range phases {
			t0 := time.Now()
			phase(block)
			total[i] += time.Since(t0)
		}
	}
	return total, float64(done)
}

func BenchmarkInterleavedEncrypt4KiB(b *testing.B) {
	k := open(b)
	id := mustKey(b, k)
	gcm, nonce := newGCM()
	pt := make([]byte, size4K)
	dst := make([]byte, 0, size4K+256)
	sealed := make([]byte, 0, size4K+gcm.Overhead())
	e := openC(b)
	t, n := interleave(b, 64,
		func(n int) { // EncryptAppend into a reused buffer
			for i := 0; i < n; i++ {
				var err error
				if dst, err = k.EncryptAppend(dst[:0], id, pt, nil); err != nil {
					b.Fatal(err)
				}
			}
		},
		func(n int) { // its peer, Seal into a reused buffer
			for i := 0; i < n; i++ {
				sealed = gcm.Seal(sealed[:0], nonce, pt, nil)
			}
		},
		func(n int) { // Encrypt, a new slice each time
			for i := 0; i < n; i++ {
				var err error
				if sinkBytes, err = k.Encrypt(id, pt, nil); err != nil {
					b.Fatal(err)
				}
			}
		},
		func(n int) { // its peer, Seal into a new slice
			for i := 0; i < n; i++ {
				sinkBytes = gcm.Seal(nil, nonce, pt, nil)
			}
		},
		func(n int) { // the same encryptions from C
			if err := e.Encrypt(n, size4K); err != nil {
				b.Fatal(err)
			}
		})
	tGo, tStd, tGoAlloc, tStdAlloc, tC := t[0], t[1], t[2], t[3], t[4]
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
	e := openC(b)
	var reuse trent.DataKeyBatch
	t, n := interleave(b, 1,
		func(int) { // GenerateDataKeysInto a reused batch
			if err := k.GenerateDataKeysInto(&reuse, id, 0, nil, batch); err != nil {
				b.Fatal(err)
			}
		},
		func(int) { // GenerateDataKeys, a new batch
			dk, err := k.GenerateDataKeys(id, 0, nil, batch)
			if err != nil || dk.Len() != batch {
				b.Fatal(err)
			}
		},
		func(int) { // from C, with the bulk export
			if err := e.DataKeysExport(1, batch); err != nil {
				b.Fatal(err)
			}
		},
		func(int) { // from C, item by item
			if err := e.DataKeys(1, batch); err != nil {
				b.Fatal(err)
			}
		})
	reuse.Clear()
	tInto, tNew, tExport, tGet := t[0], t[1], t[2], t[3]
	b.ReportMetric(float64(tInto.Nanoseconds())/n, "into-ns/batch")
	b.ReportMetric(float64(tNew.Nanoseconds())/n, "new-ns/batch")
	b.ReportMetric(float64(tExport.Nanoseconds())/n, "c-export-ns/batch")
	b.ReportMetric(float64(tGet.Nanoseconds())/n, "c-get-ns/batch")
	b.ReportMetric(100*float64(tExport)/float64(tInto), "into-%-of-c-export")
	b.ReportMetric(100*float64(tExport)/float64(tNew), "new-%-of-c-export")
	b.ReportMetric(100*float64(tGet)/float64(tInto), "into-%-of-c-get")
}
