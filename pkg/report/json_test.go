package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/score"
)

func testHeader() *Report {
	return &Report{
		SchemaVersion: SchemaVersion, Tool: Tool{Name: "verdict", Version: "test"}, GeneratedAt: "2026-11-22T00:00:00Z",
		Inputs: []string{"a.json"},
		Summary: Summary{Alerts: 2, ByVerdict: ByVerdict{Suspicious: 1, Clean: 1}, IOCs: IOCCounts{Unique: 3, Skipped: 1},
			Providers: map[string]ProviderStats{"feeds": {Lookups: 2}}},
	}
}

// The streamed JSON is what encoding the whole report at once would give.
func TestJSONWriterStreamsTheWholeReport(t *testing.T) {
	t.Parallel()
	for _, alerts := range [][]*Alert{sampleAlerts(), {}} {
		h := testHeader()
		var streamed bytes.Buffer
		jw := NewJSONWriter(&streamed)
		require.NoError(t, jw.Begin(h))
		for _, a := range alerts {
			require.NoError(t, jw.Alert(a))
		}
		require.NoError(t, jw.End(h))

		whole := *h
		whole.InputErrors = []InputError{}
		whole.Alerts = alerts
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		require.NoError(t, enc.Encode(&whole))
		assert.Equal(t, want.String(), streamed.String())
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	h := testHeader()
	var b bytes.Buffer
	jw := NewJSONWriter(&b)
	require.NoError(t, jw.Begin(h))
	alerts := sampleAlerts()[:3] // the fourth holds invalid UTF-8, which the pipeline never produces
	for _, a := range alerts {
		require.NoError(t, jw.Alert(a))
	}
	require.NoError(t, jw.End(h))
	first := b.String()

	rep, err := ReadAll(strings.NewReader(first))
	require.NoError(t, err)
	assert.Len(t, rep.Alerts, len(alerts))
	assert.Equal(t, score.Suspicious, rep.Alerts[0].Risk.Verdict)

	var again bytes.Buffer
	jw = NewJSONWriter(&again)
	require.NoError(t, jw.Begin(rep))
	for _, a := range rep.Alerts {
		require.NoError(t, jw.Alert(a))
	}
	require.NoError(t, jw.End(rep))
	assert.Equal(t, first, again.String(), "decode then encode is stable")
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"not json":        "hello",
		"array":           "[1]",
		"no version":      `{"alerts": []}`,
		"future version":  `{"schema_version": 2, "alerts": []}`,
		"alerts not list": `{"schema_version": 1, "alerts": {}}`,
		"truncated":       `{"schema_version": 1, "alerts": [{"id": "x"`,
	} {
		_, err := ReadAll(strings.NewReader(in))
		assert.Error(t, err, name)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"schema_version":1,"alerts":[{"id":"a","alert":{},"iocs":[],"enrichment":{},"risk":{"score":1,"verdict":"CLEAN","factors":[]}}]}`)
	f.Add(`{"schema_version":1,"summary":{"alerts":1},"alerts":null}`)
	f.Add(`{"schema_version":1,"x":[[[[{}]]]],"alerts":[{}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		rep, err := ReadAll(strings.NewReader(s))
		if err != nil {
			return
		}
		// Whatever decodes must render in every format without panicking.
		vb := NewViewBuilder(ViewOptions{})
		_ = vb.Begin(rep)
		for _, a := range rep.Alerts {
			_ = vb.Alert(a)
			_, _ = appendAlert(nil, a, nil)
		}
		_ = vb.End(rep)
		v := vb.Build()
		for _, f := range []Format{FormatTXT, FormatHTML, FormatMarkdown} {
			var b bytes.Buffer
			if err := RenderView(&b, f, v); err != nil {
				t.Fatalf("render %s: %v", f, err)
			}
		}
	})
}
