package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verdict-dev/verdict/pkg/model"
)

// longFieldAlert is one alert whose "message" field (also its title) holds
// n bytes of base64, the shape of an encoded PowerShell script block: no
// spaces to break lines at, the worst case for a wrapper.
func longFieldAlert(n int) *model.Alert {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[(i*7+i/64)%len(alphabet)]
	}
	raw, _ := json.Marshal(map[string]any{ // strings and maps: it cannot fail
		"alert_id": "ps-1", "host": "ws-042", "rule": map[string]any{"name": "Encoded PowerShell"},
		"message": "powershell.exe -enc " + string(b),
		"dest_ip": "185.220.101.45",
	})
	return &model.Alert{
		ID: "ps-1", Source: model.Source{File: "alerts.json", Record: 1, Line: 1}, Alert: raw,
		IOCs:       []model.IOC{{Type: "ipv4", Value: "185.220.101.45", Fields: []string{"dest_ip"}}},
		Enrichment: map[string]map[string]*model.Result{"185.220.101.45": {"feeds": {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "tor-exits.txt"}}}}},
		Risk:       model.Risk{Score: 20, Verdict: model.PotentiallySuspicious, Factors: []string{"IP 185.220.101.45: listed in local feed tor-exits.txt (+20)"}},
	}
}

func longFieldReport(a *model.Alert) *model.Report {
	var bv model.ByVerdict
	bv.Add(a.Risk.Verdict)
	return &model.Report{
		SchemaVersion: model.SchemaVersion, Tool: model.Tool{Name: "verdict", Version: "bench"}, GeneratedAt: "2026-11-22T00:00:00Z",
		Inputs: []string{"alerts.json"}, Summary: model.Summary{Alerts: 1, ByVerdict: bv, IOCs: model.IOCCounts{Unique: 1}},
	}
}

// renderOne writes one report in one format to w through the real output
// path (sinks, view, templates, commit), as `--stdout FORMAT` does.
func renderOne(ctx context.Context, f Format, tmpl string, h *model.Report, a *model.Alert, w io.Writer) error {
	out, err := NewOutput(OutputOptions{Context: ctx, Stdout: f, StdoutWriter: w, Template: tmpl})
	if err != nil {
		return err
	}
	s := out.Sink()
	if err := s.Begin(h); err != nil {
		return err
	}
	if err := s.Alert(a); err != nil {
		return err
	}
	if err := s.End(h); err != nil {
		return err
	}
	_, err = out.Commit()
	return err
}

// userTemplate is a --template that prints every alert whole, the way a
// team's ticket template might.
const userTemplate = `{{ range .Alerts }}{{ .ID }} {{ .Risk.Verdict }}
{{ printf "%s" .Alert | defangText | sanitize | wrap 100 }}
{{ end }}`

// BenchmarkRenderLongField renders one alert with a single 1 MB, 10 MB and
// 50 MB field in every format (issue 8: time must grow linearly with the
// field; a quadratic wrapper took 99 s for 1 MB in TXT alone).
func BenchmarkRenderLongField(b *testing.B) {
	tmpl := filepath.Join(b.TempDir(), "ticket.txt.tmpl")
	if err := os.WriteFile(tmpl, []byte(userTemplate), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, mb := range benchSizesMB() {
		a := longFieldAlert(mb << 20)
		h := longFieldReport(a)
		for _, f := range []Format{FormatJSON, FormatTXT, FormatHTML, FormatMarkdown, FormatCSV, FormatTemplate} {
			b.Run(fmt.Sprintf("%dMB/%s", mb, f), func(b *testing.B) {
				b.SetBytes(int64(mb << 20))
				for b.Loop() {
					if err := renderOne(context.Background(), f, tmpl, h, a, io.Discard); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchSizesMB is 1, 10 and 50; VERDICT_BENCH_MB overrides it ("1,2").
func benchSizesMB() []int {
	env := os.Getenv("VERDICT_BENCH_MB")
	if env == "" {
		return []int{1, 10, 50}
	}
	var out []int
	for _, p := range strings.Split(env, ",") {
		var n int
		if _, err := fmt.Sscan(p, &n); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}
