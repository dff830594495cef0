package root

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
)

// BenchmarkRateBound enriches 500 alerts sharing 200 unique IOCs against
// fakes that answer in 100 ms, with both providers limited to 20 req/s. The
// rate limit bounds the wall time: VirusTotal's 200 lookups need 199 gaps of
// 50 ms. It reports the wall time, the bound, their ratio, and the speed-up
// over one-at-a-time lookups (one provider after the other, one request in
// flight).
func BenchmarkRateBound(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	for i := 0; i < 500; i++ {
		k := i % 200
		switch {
		case k < 120:
			fmt.Fprintf(&sb, `{"id":"b%d","src":"10.1.1.%d","dst":"185.30.%d.%d"}`+"\n", i, 1+i%200, k/100, 1+k%100)
		case k < 170:
			fmt.Fprintf(&sb, `{"id":"b%d","query":"c2-%d.verdict-bench.net"}`+"\n", i, k)
		default:
			fmt.Fprintf(&sb, `{"id":"b%d","sha256":"%064x"}`+"\n", i, 0xabc000+k)
		}
	}
	file := filepath.Join(dir, "alerts.ndjson")
	if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	once := func(concurrency string, providers ...string) time.Duration {
		_, out := sandbox(b)
		vt, ab := fakes(b)
		vt.Latency, ab.Latency = 100*time.Millisecond, 100*time.Millisecond
		b.Setenv("VERDICT_VIRUSTOTAL_RATE", "20/s")
		b.Setenv("VERDICT_ABUSEIPDB_RATE", "20/s")
		b.Setenv("VERDICT_VIRUSTOTAL_CONCURRENCY", concurrency)
		b.Setenv("VERDICT_ABUSEIPDB_CONCURRENCY", concurrency)
		for _, p := range []string{"virustotal", "abuseipdb"} {
			if !strings.Contains(strings.Join(providers, ","), p) {
				b.Setenv(strings.ToUpper(p)+"_API_KEY", "")
			}
		}
		start := time.Now()
		res := run(b, "", "--quiet", "enrich", "--no-cache", "-o", out, "-f", "json", file)
		d := time.Since(start)
		if res.code != 0 {
			b.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		want := map[string]int{"virustotal": 200, "abuseipdb": 120}
		for _, p := range providers {
			s := map[string]*inteltest.Server{"virustotal": vt.Server, "abuseipdb": ab.Server}[p]
			if n := len(s.Requests()); n != want[p] {
				b.Fatalf("%s: %d requests, want %d", p, n, want[p])
			}
			if m := s.MaxInWindow(time.Second); m > 20 {
				b.Fatalf("%s: %d requests in one second", p, m)
			}
		}
		return d
	}
	for b.Loop() {
		wall := once("4", "virustotal", "abuseipdb")
		bound := time.Duration(199)*50*time.Millisecond + 100*time.Millisecond
		serial := once("1", "virustotal") + once("1", "abuseipdb")
		b.ReportMetric(wall.Seconds(), "wall_s")
		b.ReportMetric(bound.Seconds(), "bound_s")
		b.ReportMetric(wall.Seconds()/bound.Seconds(), "wall/bound")
		b.ReportMetric(serial.Seconds(), "serial_s")
		b.ReportMetric(serial.Seconds()/wall.Seconds(), "speedup")
	}
}
