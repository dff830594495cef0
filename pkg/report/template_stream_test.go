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
		listMax          int64 // 0: the default
		wantErr          string
	}{
		{name: "happy path: range", body: `{{ .Summary.Alerts }}:{{ range .Alerts }} {{ .ID }}={{ (index .IOCs 0).Value }}/{{ (index (index .Enrichment (index .IOCs 0).Value) "feeds").Status }}{{ end }}`,
			want: "3: A-1=185.220.0.1/not_found A-2=185.220.0.2/not_found A-3=185.220.0.3/not_found"},
		{name: "happy path: every range reads them again", body: `{{ range .Alerts }}{{ .ID }} {{ end }}| {{ $n := 0 }}{{ range $a := .Alerts }}{{ $n = add1 $n }}{{ $n }}:{{ $a.Source.Record }} {{ end }}`,
			want: "A-1 A-2 A-3 | 1:1 2:2 3:3 "},
		{name: "happy path: a template may stop early", body: `{{ range .Alerts }}{{ .ID }}{{ break }}{{ end }}`, want: "A-1"},
		{name: "happy path: the header as the JSON report has it", body: `{{ .SchemaVersion }} {{ .Tool.Name }} {{ len .Inputs }}`, want: "1 verdict 1"},
		{name: "happy path: a stream with alerts skips the else", body: `{{ range .Alerts }}{{ break }}{{ else }}none{{ end }}|{{ range $.Alerts }}{{ break }}{{ else }}empty{{ end }}`,
			want: "|"},
		// Written for a list: given the whole report, as before streaming.
		{name: "list: len, index and a range with an index", body: `{{ len .Alerts }} {{ range $i, $a := .Alerts }}{{ $i }}={{ $a.ID }} {{ end }}{{ (index .Alerts 2).ID }}`,
			want: "3 0=A-1 1=A-2 2=A-3 A-3"},
		{name: "list: with, and handed to a function", body: `{{ with .Alerts }}{{ (first .).ID }}{{ end }} {{ (last .Alerts).ID }}`, want: "A-1 A-3"},
		{name: "list: in a template of its own", body: `{{ define "n" }}{{ len . }}{{ end }}{{ template "n" .Alerts }}`, want: "3"},
		{name: "sad path: over the limit for a list", body: `{{ len .Alerts }}`, listMax: 100, wantErr: "uses .Alerts as a list"},
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
			if tt.listMax > 0 {
				out.tspool.listMax = tt.listMax
			}
			s := out.Sink()
			require.NoError(t, s.Begin(rep))
			assert.Len(t, trackedIn(tmpDir), 1, "a second signal removes the spool too")
			for _, a := range rep.Alerts {
				require.NoError(t, s.Alert(a))
			}
			require.NoError(t, s.End(rep))
			_, err = out.Commit()
			assert.Empty(t, listDir(t, tmpDir), "the spool is removed")
			assert.Empty(t, trackedIn(tmpDir))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.ErrorContains(t, err, tmpl, "the error names the template")
				assert.Empty(t, listDir(t, dir), "no report is placed")
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

// TestAlertsAsList: a template that only ranges over .Alerts streams them;
// any other use of .Alerts is a list's, and gets the whole list.
func TestAlertsAsList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want bool
	}{
		{`{{ range .Alerts }}{{ .ID }}{{ end }}`, false},
		{`{{ range $a := .Alerts }}{{ $a.ID }}{{ end }}`, false},
		{`{{ range $.Alerts }}{{ range .IOCs }}{{ .Value }}{{ end }}{{ end }}`, false},
		{`{{ range .Alerts }}x{{ else }}none{{ end }}{{ range .Alerts }}{{ break }}{{ end }}`, false},
		{`{{ .Summary.Alerts }} {{ $.Summary.Alerts }} {{ range .InputErrors }}{{ .File }}{{ end }}`, false},
		{`{{ define "row" }}{{ .ID }}{{ end }}{{ range .Alerts }}{{ template "row" . }}{{ end }}`, false},
		{`{{ len .Alerts }}`, true},
		{`{{ .Alerts | len }}`, true},
		{`{{ index .Alerts 0 }}`, true},
		{`{{ range $i, $a := .Alerts }}{{ end }}`, true},
		{`{{ with .Alerts }}{{ end }}`, true},
		{`{{ if .Alerts }}x{{ end }}`, true},
		{`{{ $x := .Alerts }}{{ range $x }}{{ end }}`, true},
		{`{{ range first .Alerts }}{{ end }}`, true},
		{`{{ $r := . }}{{ len $r.Alerts }}`, true},
		{`{{ define "t" }}{{ len .Alerts }}{{ end }}{{ template "t" . }}`, true},
		{`{{ template "t" .Alerts }}{{ define "t" }}{{ end }}`, true},
		{`{{ index . "Alerts" }}`, true},
	}
	for _, tt := range tests {
		for _, ext := range []string{".txt.tmpl", ".html.tmpl"} {
			t.Run(tt.body+ext, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "t"+ext)
				require.NoError(t, os.WriteFile(path, []byte(tt.body), 0o644))
				u, err := LoadTemplate(path)
				require.NoError(t, err)
				assert.Equal(t, tt.want, u.ListsAlerts())
			})
		}
	}
}

// A stream of no alerts takes a range's else, as an empty list did.
func TestTemplateEmptyStreamTakesElse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tmpl := filepath.Join(t.TempDir(), "e.txt.tmpl")
	require.NoError(t, os.WriteFile(tmpl, []byte(`{{ range .Alerts }}{{ .ID }}{{ else }}no alerts{{ end }}`), 0o644))
	out, err := NewOutput(OutputOptions{Dir: dir, Name: "r", Template: tmpl})
	require.NoError(t, err)
	require.False(t, out.tmpl.ListsAlerts())
	rep := streamReport(0)
	s := out.Sink()
	require.NoError(t, s.Begin(rep))
	require.NoError(t, s.End(rep))
	_, err = out.Commit()
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "r.e.txt"))
	require.NoError(t, err)
	assert.Equal(t, "no alerts", string(got))
}
