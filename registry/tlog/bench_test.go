package tlog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppendParallel measures sustained appends, each Append waiting until its entry is in a
// published checkpoint, as the registry's upload handler does.
//
// "callers=N" is closed-loop: N goroutines each keep one append outstanding, so throughput is
// N / latency (Little's law) and the server needs a few hundred concurrent uploads to pass
// 1,000 appends/s. "rate=N" is open-loop: appends arrive N per second whatever the latency, each
// from its own goroutine, as independent uploads do.
//
//	go test -run '^$' -bench AppendParallel -benchtime 4000x ./registry/tlog/
func BenchmarkAppendParallel(b *testing.B) {
	for _, callers := range []int{32, 256, 512} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			benchAppend(b, func(appendOne func(i int64)) {
				var next atomic.Int64
				b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						appendOne(next.Add(1) - 1)
					}
				})
			})
		})
	}
	for _, rate := range []int{1000, 2000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			benchAppend(b, func(appendOne func(i int64)) {
				var wg sync.WaitGroup
				start := time.Now()
				for i := range int64(b.N) {
					time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
					wg.Go(func() { appendOne(i) })
				}
				wg.Wait()
			})
		})
	}
}

// benchAppend runs drive against a fresh log; drive calls appendOne(i) for each i in [0, b.N).
func benchAppend(b *testing.B, drive func(appendOne func(i int64))) {
	s, _, _ := testKey(b, testOrigin)
	l := openLog(b, logDir(b), s)
	defer l.Close()
	ctx := context.Background()
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	start := time.Now()
	drive(func(i int64) {
		t0 := time.Now()
		if _, err := l.Append(ctx, makeEntry(uint64(i))); err != nil {
			b.Error(err)
			return
		}
		lat[i] = time.Since(t0)
	})
	elapsed := time.Since(start)
	b.StopTimer()

	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkInclusionProof measures inclusion proofs for random entries against the latest
// checkpoint, from all cores. "warm" is the steady state (tiles cached); "cold" empties the tile
// cache before every proof, the cost when a log is much larger than the cache.
func BenchmarkInclusionProof(b *testing.B) {
	s, _, vkey := testKey(b, testOrigin)
	l := openLog(b, logDir(b), s)
	defer l.Close()
	ctx := context.Background()
	const n = 3000
	appendAll(b, l, n, 256)
	_, cp := latest(b, l, vkey)

	for _, cold := range []bool{false, true} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 0))
				for pb.Next() {
					if cold {
						l.tiles.Purge()
					}
					if _, err := l.InclusionProof(ctx, r.Uint64N(cp.Size), cp.Size); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "proofs/s")
		})
	}
	b.Run("verify", func(b *testing.B) {
		e := makeEntry(0)
		idx, _ := l.Lookup(e)
		p, err := l.InclusionProof(ctx, idx, cp.Size)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if err := VerifyInclusion(e, idx, p, cp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
