package cache

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
)

// benchStores runs fn on every store kind, each freshly made.
func benchStores(b *testing.B, fn func(b *testing.B, s Store)) {
	for _, kind := range storeKinds {
		b.Run(kind, func(b *testing.B) {
			var s Store
			var err error
			switch kind {
			case "memory":
				s = NewMemory(nil)
			case "sqlite":
				s, err = Open(b.TempDir())
			case "postgres":
				s, err = OpenPostgres(context.Background(), pgtest.NewDatabase(b))
			}
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fn(b, s)
		})
	}
}

// answer is about the size of a normalised VirusTotal result.
var answer = []byte(`{"status":"found","malicious":3,"suspicious":1,"harmless":60,"undetected":10,"reputation":-12,` +
	`"tags":["malware","c2"],"last_analysis_date":"2026-11-20T10:00:00Z","as_owner":"Example Networks","country":"NL",` +
	`"link":"https://www.virustotal.com/gui/ip-address/198.51.100.7"}`)

func benchKey(i int) Key {
	return Key{Provider: "virustotal", Type: "ipv4", Value: fmt.Sprintf("198.%d.%d.%d", i>>16&255, i>>8&255, i&255)}
}

func populate(b *testing.B, s Store, n int) {
	b.Helper()
	for i := 0; i < n; i++ {
		if err := s.Put(context.Background(), benchKey(i), Entry{Status: "found", Data: answer}, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		const n = 2000
		populate(b, s, n)
		ctx := context.Background()
		i := 0
		for b.Loop() {
			if _, ok, err := s.Get(ctx, benchKey(i%n)); err != nil || !ok {
				b.Fatal(ok, err)
			}
			i++
		}
	})
}

// BenchmarkGetMany reads 200 values per call, half of them cached: the
// engine's first pass over a batch of indicators.
func BenchmarkGetMany(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		const n = 2000
		populate(b, s, n)
		values := make([]string, 200)
		for i := range values {
			values[i] = benchKey(i*2 + n - 200).Value // the first 100 are cached
		}
		ctx := context.Background()
		for b.Loop() {
			got, err := s.GetMany(ctx, "virustotal", "", "ipv4", values)
			if err != nil || len(got) != 100 {
				b.Fatal(len(got), err)
			}
		}
	})
}

func BenchmarkPut(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		i := 0
		for b.Loop() {
			if err := s.Put(ctx, benchKey(i), Entry{Status: "found", Data: answer}, time.Hour); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkTake(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		for b.Loop() {
			if ok, err := s.Take(ctx, "virustotal", 1<<30); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}

func BenchmarkClaim(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		i := 0
		for b.Loop() {
			if ok, err := s.Claim(ctx, benchKey(i), time.Minute); err != nil || !ok {
				b.Fatal(ok, err)
			}
			i++
		}
	})
}

// BenchmarkAwaitOrClaim is the engine's call before a request on a miss:
// read, claim, read again.
func BenchmarkAwaitOrClaim(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		i := 0
		for b.Loop() {
			if _, _, claimed, err := AwaitOrClaim(ctx, s, benchKey(i), time.Minute, time.Millisecond); err != nil || !claimed {
				b.Fatal(claimed, err)
			}
			i++
		}
	})
}

// BenchmarkQuickCheck measures PRAGMA quick_check, which Open runs on files
// up to DefaultQuickCheckLimit. 100k answers always; 1M with
// VERDICT_BENCH_BIG=1 (building the file takes a while).
func BenchmarkQuickCheck(b *testing.B) {
	sizes := []int{100_000}
	if os.Getenv("VERDICT_BENCH_BIG") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			s, err := Open(b.TempDir(), WithQuickCheckLimit(-1))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			bulkFill(b, s, n)
			st, err := os.Stat(s.Path())
			if err != nil {
				b.Fatal(err)
			}
			mib := float64(st.Size()) / (1 << 20)
			ctx := context.Background()
			for b.Loop() {
				if err := s.quickCheck(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(mib, "MiB")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/mib, "ms/MiB")
		})
	}
}

// bulkFill inserts n answers in large transactions, then folds the WAL in.
func bulkFill(b testing.TB, s *SQLite, n int) {
	b.Helper()
	ctx := context.Background()
	now := s.opts.now()
	for start := 0; start < n; start += 10_000 {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO entries (provider, params, ioc_type, value, status, data, fetched_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for i := start; i < min(start+10_000, n); i++ {
			k := benchKey(i)
			if i%3 == 0 {
				k.Type, k.Value = "sha256", strings.Repeat(fmt.Sprintf("%08x", i), 8)
			}
			if _, err := stmt.ExecContext(ctx, k.Provider, k.Params, k.Type, k.Value, "found", answer, now.Unix(), now.Add(time.Hour).Unix()); err != nil {
				b.Fatal(err)
			}
		}
		if err := stmt.Close(); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
}
