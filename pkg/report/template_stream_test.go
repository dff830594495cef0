package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

// streamReport is a report of n alerts, each with an indicator and an
// answer, as triage would stream it.
func streamReport(n int) *model.Report {
	rep := smallReport()
	rep.Summary.Alerts = n
	rep.Alerts = nil
	answers := map[string]*model.Result{"feeds": {Status: model.StatusNotFound}}
	for i := range n {
		ip := fmt.Sprintf("185.220.%d.%d", i/250, 1+i%250)
		rep.Alerts = append(rep.Alerts, &model.Alert{
			ID: fmt.Sprintf("A-%d", i+1), Source: model.Source{File: "a.ndjson", Record: i + 1, Line: i + 1},
			Alert:      []byte(fmt.Sprintf(`{"id":"A-%d","dst":"%s"}`, i+1, ip)),
			IOCs:       []model.IOC{{Type: "ipv4", Value: ip, Fields: []string{"dst"}}},
			Enrichment: map[string]map[string]*model.Result{ip: answers},
			Risk:       model.Risk{Verdict: model.Clean, Factors: []string{}, CheckedBy: []string{"feeds"}},
		})
	}
	return rep
}

// TestTemplateStreamsAlerts: a --template sees the JSON report's data with
// .Alerts as a stream that each range reads again, alert for alert as the
// JSON report has them, and the spool it streams from is gone afterwards.
func TestTemplateStreamsAlerts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
		wantErr          string
	}{
		{name: "happy path: range", body: `{{ .Summary.Alerts }}:{{ range .Alerts }} {{ .ID }}={{ (index .IOCs 0).Value }}/{{ (index (index .Enrichment (index .IOCs 0).Value) "feeds").Status }}{{ end }}`,
			want: "3: A-1=185.220.0.1/not_found A-2=185.220.0.2/not_found A-3=185.220.0.3/not_found"},
		{name: "happy path: every range reads them again", body: `{{ range .Alerts }}{{ .ID }} {{ end }}| {{ $n := 0 }}{{ range $a := .Alerts }}{{ $n = add1 $n }}{{ $n }}:{{ $a.Source.Record }} {{ end }}`,
			want: "A-1 A-2 A-3 | 1:1 2:2 3:3 "},
		{name: "happy path: a template may stop early", body: `{{ range .Alerts }}{{ .ID }}{{ break }}{{ end }}`, want: "A-1"},
		{name: "happy path: the header as the JSON report has it", body: `{{ .SchemaVersion }} {{ .Tool.Name }} {{ len .Inputs }}`, want: "1 verdict 1"},
		{name: "sad path: a stream has no length", body: `{{ len .Alerts }}`, wantErr: "len"},
		{name: "sad path: nor indexes", body: `{{ range $i, $a := .Alerts }}{{ $i }}{{ end }}`, wantErr: "more than one variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, tmpDir := t.TempDir(), t.TempDir()
			tmpl := filepath.Join(t.TempDir(), "out.txt.tmpl")
			require.NoError(t, os.WriteFile(tmpl, []byte(tt.body), 0o644))
			rep := streamReport(3)
			rep.Tool.Name, rep.Inputs = "verdict", []string{"a.ndjson"}
			out, err := NewOutput(OutputOptions{Dir: dir, Name: "r", Formats: []Format{FormatJSON}, Template: tmpl})
			require.NoError(t, err)
			out.tspool.dir = tmpDir
			s := out.Sink()
			require.NoError(t, s.Begin(rep))
			for _, a := range rep.Alerts {
				require.NoError(t, s.Alert(a))
			}
			require.NoError(t, s.End(rep))
			_, err = out.Commit()
			assert.Empty(t, listDir(t, tmpDir), "the spool is removed")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(dir, "r.out.txt"))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

// TestTemplateMemoryDoesNotGrowWithAlerts: streaming a report through a
// template holds the alerts on disk, not in memory: a sink that drops
// every alert after the template spool has them leaves nothing reachable.
func TestTemplateMemoryDoesNotGrowWithAlerts(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(t.TempDir(), "count.txt.tmpl")
	require.NoError(t, os.WriteFile(tmpl, []byte(`{{ $n := 0 }}{{ range .Alerts }}{{ $n = add1 $n }}{{ end }}{{ $n }}`), 0o644))
	out, err := NewOutput(OutputOptions{Dir: dir, Name: "r", Template: tmpl})
	require.NoError(t, err)
	s := out.Sink()
	const n = 20000
	rep := streamReport(1)
	rep.Summary.Alerts = n
	require.NoError(t, s.Begin(rep))
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for _, a := range streamReport(n).Alerts {
		require.NoError(t, s.Alert(a))
	}
	grown := int64(heap()) - int64(before)
	require.NoError(t, s.End(rep))
	_, err = out.Commit()
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "r.count.txt"))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(n), string(got))
	// The view keeps a few thousand rows; the alerts themselves (about
	// 1 kB each in memory) would be 20 MB.
	assert.Less(t, grown, int64(8<<20), "the sinks hold on to the alerts")
}

func TestTemplateStreamStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	tmpl := filepath.Join(t.TempDir(), "count.txt.tmpl")
	require.NoError(t, os.WriteFile(tmpl, []byte(`{{ range .Alerts }}{{ end }}done`), 0o644))
	out, err := NewOutput(OutputOptions{Context: ctx, Dir: dir, Name: "r", Template: tmpl})
	require.NoError(t, err)
	rep := streamReport(200)
	s := out.Sink()
	require.NoError(t, s.Begin(rep))
	for _, a := range rep.Alerts {
		require.NoError(t, s.Alert(a))
	}
	require.NoError(t, s.End(rep))
	cancel()
	_, err = out.Commit()
	require.ErrorIs(t, err, context.Canceled)
	for _, e := range listDir(t, dir) {
		assert.False(t, strings.HasPrefix(e, "r."), "no report is placed: %s", e)
	}
}
