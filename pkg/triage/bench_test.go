package triage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/feed"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/score"
)

type nopSink struct{}

func (nopSink) Begin(*model.Report) error { return nil }
func (nopSink) Alert(*model.Alert) error  { return nil }
func (nopSink) End(*model.Report) error   { return nil }

// BenchmarkTriage runs 20k EDR-like alerts (a private source, a public
// destination, a file's MD5 and SHA-256 side by side, a domain) through
// load, lookup against the bundled real feeds, the scoring pass and the
// emit pass into a sink that drops them: the per-alert cost of extraction,
// artifacts, checked_by and scoring.
func BenchmarkTriage(b *testing.B) {
	feeds, err := feed.Load([]string{filepath.Join("testdata", "feeds")}, feed.WithLogger(quietLog()))
	if err != nil {
		b.Fatal(err)
	}
	hashes := [][2]string{
		{"7564553469f8675a41cb1ee014b3dfdd", "1d233362395405a19be5da8fc1f3fba060e658fb30718a47eedc0925a7226e52"},
		{"991f897750ebdb9bf7104ffe4cf3faaf", "e149f36cb6c001aa340c388d7684c8a055f59152026e8e0d1d678264d7c084d7"},
		{"e5bf617e06722cb363ec2b5b53b967fb", "4e96f12945b9f21345137e7873cf6ef06e64baf5d73469e8b7db7c083479bd17"},
	}
	var sb strings.Builder
	const n = 20000
	for i := 0; i < n; i++ {
		h := hashes[i%len(hashes)]
		fmt.Fprintf(&sb, `{"id":"e%d","src_ip":"10.0.%d.%d","dst_ip":"%d.%d.%d.%d","file":{"hash":{"md5":"%s","sha256":"%s"}},"dns":{"question":"host%d.verdict-bench.net"},"rule":"Suspicious download"}`+"\n",
			i, i%250, 1+i%200, 185, 220+i%3, i%250, 1+i%97, h[0], h[1], i%500)
	}
	path := filepath.Join(b.TempDir(), "alerts.ndjson")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	sc, err := score.New(score.Default())
	if err != nil {
		b.Fatal(err)
	}
	specs := []intel.Spec{{Provider: feeds}, {Provider: &inteltest.Provider{ProviderName: "virustotal"}, Disabled: model.ReasonOffline}}
	ctx := context.Background()
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	for b.Loop() {
		eng := intel.NewEngine(specs, intel.Options{Cache: cache.Nop{}, Logger: quietLog()})
		batch, err := Load(ctx, Options{Inputs: []string{path}, Engine: eng, Scorer: sc, TempDir: b.TempDir(), Logger: quietLog()})
		if err != nil {
			b.Fatal(err)
		}
		if err := batch.Lookup(ctx); err != nil {
			b.Fatal(err)
		}
		h, err := batch.Summary(ctx, time.Unix(0, 0), "bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := batch.Emit(ctx, h, nopSink{}); err != nil {
			b.Fatal(err)
		}
		if h.Summary.Alerts != n {
			b.Fatalf("%d alerts", h.Summary.Alerts)
		}
		batch.Close()
	}
}
