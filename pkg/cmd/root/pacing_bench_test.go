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

// BenchmarkPacing30 is issue 13's pacing figure: 500 alerts, each with its
// own public IP, enriched against fakes that answer in 100 ms and are
// limited to 30 requests a second, with the cache on (its writes are part of
// every lookup). Both providers get 500 lookups, so the rate bounds the wall
// time at 499 gaps of 1/30 s plus one answer's latency. It reports the wall
// time, that bound and their ratio (the goal is at most 1.05), and fails if
// a fake ever saw more than 30 requests in a second.
func BenchmarkPacing30(b *testing.B) {
	const (
		alerts  = 500
		perSec  = 30
		latency = 100 * time.Millisecond
	)
	var sb strings.Builder
	for i := 0; i < alerts; i++ {
		fmt.Fprintf(&sb, `{"id":"p%d","src":"10.2.%d.%d","dst":"185.31.%d.%d"}`+"\n", i, i/250, 1+i%250, i/250, 1+i%250)
	}
	file := filepath.Join(b.TempDir(), "alerts.ndjson")
	if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	bound := time.Duration(alerts-1)*time.Second/perSec + latency
	for b.Loop() {
		_, out := sandbox(b)
		vt, ab := fakes(b)
		vt.Latency, ab.Latency = latency, latency
		b.Setenv("VERDICT_VIRUSTOTAL_RATE", fmt.Sprintf("%d/s", perSec))
		b.Setenv("VERDICT_ABUSEIPDB_RATE", fmt.Sprintf("%d/s", perSec))
		b.Setenv("VERDICT_VIRUSTOTAL_DAILY_QUOTA", "0")
		b.Setenv("VERDICT_ABUSEIPDB_DAILY_QUOTA", "0")
		start := time.Now()
		res := run(b, "", "--quiet", "enrich", "-o", out, "-f", "json", file)
		wall := time.Since(start)
		if res.code != 0 {
			b.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		end := start.Add(wall)
		most := 0
		// Where the time goes: before the first request (loading, cache
		// open), between the first and the last (pacing), after the last
		// (its latency, scoring, writing).
		var first, last time.Time
		for name, s := range map[string]*inteltest.Server{"virustotal": vt.Server, "abuseipdb": ab.Server} {
			reqs := s.Requests()
			if len(reqs) != alerts {
				b.Fatalf("%s: %d requests, want %d", name, len(reqs), alerts)
			}
			for _, r := range reqs {
				if first.IsZero() || r.At.Before(first) {
					first = r.At
				}
				if r.At.After(last) {
					last = r.At
				}
			}
			most = max(most, s.MaxInWindow(time.Second))
		}
		b.ReportMetric(first.Sub(start).Seconds(), "before_s")
		b.ReportMetric(last.Sub(first).Seconds()/(bound-latency).Seconds(), "span/ideal")
		b.ReportMetric(end.Sub(last).Seconds(), "after_s")
		b.ReportMetric(wall.Seconds(), "wall_s")
		b.ReportMetric(bound.Seconds(), "bound_s")
		b.ReportMetric(wall.Seconds()/bound.Seconds(), "wall/bound")
		b.ReportMetric(float64(most), "max_per_s")
		b.Logf("wall %.2fs, bound %.2fs, wall/bound %.3f, most requests in one second %d; before the first request %.3fs, requests span %.2fs, after the last %.3fs",
			wall.Seconds(), bound.Seconds(), wall.Seconds()/bound.Seconds(), most, first.Sub(start).Seconds(), last.Sub(first).Seconds(), end.Sub(last).Seconds())
		if most > perSec {
			b.Errorf("a fake saw %d requests in one second, limit %d", most, perSec)
		}
	}
}
