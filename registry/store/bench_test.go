package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/decom-project/decom/internal/pgtest"
	"time"
)

// benchBackends are the stores the benchmarks measure. PostgreSQL is the test
// cluster, with fsync off: its figures show the store's overhead, not a disk's.
func benchBackends(b *testing.B) []struct {
	name string
	open func(b *testing.B) Store
} {
	return []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"sqlite", func(b *testing.B) Store { return openSQLiteForTest(b, b.TempDir()) }},
		{"postgres", func(b *testing.B) Store {
			c := pgtest.Start(b)
			s, err := OpenPostgres(context.Background(), c.NewDatabase(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
}

// benchBundle is about the size of a real Sigstore bundle of a certificate (3 KB).
var benchBundle = []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"` +
	strings.Repeat("eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEi", 50) + `"}}`)

func benchRecord(run string, i int64) Record {
	r := testRecord(int(i % 1000000))
	r.ID = fmt.Sprintf("%s-%012d", run, i)
	r.Serial = fmt.Sprintf("S%s%09d", run, i)
	r.Bundle = benchBundle
	return r
}

// BenchmarkPutParallel stores new certificates from 16 goroutines at once (on 2
// cores), the way a registry under load does, and from one for comparison.
func BenchmarkPutParallel(b *testing.B) {
	for _, be := range benchBackends(b) {
		// A benchmark that runs sub-benchmarks runs once: one store for all rounds.
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			var n atomic.Int64
			run := fmt.Sprint(time.Now().UnixNano())
			ctx := context.Background()
			b.Run("writers=16", func(b *testing.B) {
				b.SetBytes(int64(len(benchBundle)))
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, created, err := s.PutCertificate(ctx, benchRecord(run, n.Add(1))); err != nil || !created {
							b.Errorf("PutCertificate: %v, %v", created, err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
			})
			// One writer alone: every put is a commit of its own.
			b.Run("writers=1", func(b *testing.B) {
				b.SetBytes(int64(len(benchBundle)))
				for b.Loop() {
					if _, created, err := s.PutCertificate(ctx, benchRecord(run, n.Add(1))); err != nil || !created {
						b.Fatalf("PutCertificate: %v, %v", created, err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
			})
		})
	}
}

// benchFill stores n certificates for the lookup benchmarks.
func benchFill(b *testing.B, s Store, run string, n int64) {
	ctx := context.Background()
	for i := range n {
		if _, _, err := s.PutCertificate(ctx, benchRecord(run, i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet looks certificates up by ID from 16 goroutines, in a store of 20,000.
func BenchmarkGet(b *testing.B) {
	const stored = 20000
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			benchFill(b, s, "get", stored)
			ctx := context.Background()
			b.Run("readers=16", func(b *testing.B) {
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						id := benchRecord("get", rand.Int64N(stored)).ID
						if _, err := s.GetCertificate(ctx, id); err != nil {
							b.Errorf("GetCertificate: %v", err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
			})
		})
	}
}

// BenchmarkSearchSerial searches by serial number (one page of one record), the
// auditor's usual question, in a store of 20,000.
func BenchmarkSearchSerial(b *testing.B) {
	const stored = 20000
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			benchFill(b, s, "srch", stored)
			ctx := context.Background()
			b.Run("readers=16", func(b *testing.B) {
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						serial := strings.ToLower(benchRecord("srch", rand.Int64N(stored)).Serial)
						if p, err := s.Search(ctx, Query{Serial: serial}); err != nil || len(p.Records) != 1 {
							b.Errorf("Search: %d records, %v", len(p.Records), err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "searches/s")
			})
		})
	}
}

// BenchmarkCheckToken checks an API token, as every authenticated request does.
func BenchmarkCheckToken(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			tok, err := s.CreateToken(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			b.Run("readers=16", func(b *testing.B) {
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.CheckToken(ctx, tok); err != nil {
							b.Errorf("CheckToken: %v", err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
			})
		})
	}
}
