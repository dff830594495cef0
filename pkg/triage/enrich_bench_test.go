package triage_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/verdict-dev/verdict/pkg/cmd/root"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

// BenchmarkEnrichFile runs `verdict --quiet enrich --offline` in process on
// the alert file named by BENCH_ALERTS, with the bundled feeds and the
// formats of BENCH_FORMATS (default json,txt,html), exactly as .ci/bench.sh
// runs the binary. (Not VERDICT_* variables: verdict refuses those as
// unknown configuration keys.) It exists so that the whole pipeline can be
// profiled with the test flags: `BENCH_PPROF=DIR make bench` runs it with
// -cpuprofile and -memprofile, and sets BENCH_PEAK_HEAP, the file this
// benchmark writes a heap profile to whenever the live heap reaches a new
// peak (a -memprofile is taken at the end, when the big structures are
// gone). Without BENCH_ALERTS it is skipped, so `go test -bench=.` stays
// quick.
func BenchmarkEnrichFile(b *testing.B) {
	in := os.Getenv("BENCH_ALERTS")
	if in == "" {
		b.Skip("BENCH_ALERTS is not set (.ci/bench.sh sets it with BENCH_PPROF)")
	}
	formats := os.Getenv("BENCH_FORMATS")
	if formats == "" {
		formats = "json,txt,html"
	}
	feeds, err := filepath.Abs(filepath.Join("..", "..", "samples", "feeds"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(in)
	if err != nil {
		b.Fatal(err)
	}
	stop := watchPeakHeap(b, os.Getenv("BENCH_PEAK_HEAP"))
	defer stop()
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		dir := b.TempDir()
		ios, _, _, errOut := iostreams.Test()
		code := root.Main(context.Background(), []string{"--quiet", "enrich", "--offline",
			"--cache-dir", filepath.Join(dir, "cache"), "--feeds", feeds, "-o", filepath.Join(dir, "reports"),
			"--output-name", "bench", "-f", formats, in}, ios)
		if code != 0 {
			b.Fatalf("exit %d: %s", code, errOut)
		}
	}
}

// watchPeakHeap samples the heap every 50 ms and, when path is set, writes
// a heap profile there each time the heap grows 10% past the last one
// written (from 16 MiB on). The profile shows what the last garbage
// collection found live, close enough to the peak to say what makes it. It
// reports the peak as peak-heap-MiB.
func watchPeakHeap(b *testing.B, path string) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak, written uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(sample)
			v := sample[0].Value.Uint64()
			peak = max(peak, v)
			if path != "" && v > 16<<20 && v > written+written/10 {
				written = v
				if f, err := os.Create(path); err == nil {
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}
