package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

func testHeader() *model.Report {
	return &model.Report{
		SchemaVersion: model.SchemaVersion, Tool: model.Tool{Name: "verdict", Version: "test"}, GeneratedAt: "2026-11-22T00:00:00Z",
		Inputs: []string{"a.json"},
		Summary: model.Summary{Alerts: 2, ByVerdict: model.ByVerdict{Suspicious: 1, Clean: 1}, IOCs: model.IOCCounts{Unique: 3, Skipped: 1},
			Providers: map[string]model.ProviderStats{"feeds": {Lookups: 2}}},
	}
}

// The streamed JSON is the report with an indented header and each alert
// compact on its own line: valid JSON that decodes to what was written.
func TestJSONWriterStreamsTheWholeReport(t *testing.T) {
	t.Parallel()
	for _, alerts := range [][]*model.Alert{sampleAlerts()[:3], {}} {
		h := testHeader()
		var streamed bytes.Buffer
		jw := NewJSONWriter(&streamed)
		require.NoError(t, jw.Begin(h))
		for _, a := range alerts {
			require.NoError(t, jw.Alert(a))
		}
		require.NoError(t, jw.End(h))
		require.True(t, json.Valid(streamed.Bytes()), streamed.String())

		lines := strings.Split(strings.TrimRight(streamed.String(), "\n"), "\n")
		for i, a := range alerts {
			line := lines[len(lines)-2-len(alerts)+i]
			want := "    " + reference(t, a, layout{compact: true})
			if i < len(alerts)-1 {
				want += ","
			}
			assert.Equal(t, want, line, "alert %d is one compact line", i)
		}

		var whole map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(streamed.Bytes(), &whole))
		var hdr header
		require.NoError(t, json.Unmarshal(streamed.Bytes(), &hdr))
		assert.Equal(t, h.Summary, hdr.Summary)
		var got []json.RawMessage
		require.NoError(t, json.Unmarshal(whole["alerts"], &got))
		assert.Len(t, got, len(alerts))
		assert.True(t, strings.HasPrefix(streamed.String(), "{\n  \"schema_version\": 1,\n  \"tool\": {\n"), "the header stays indented")
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	h := testHeader()
	// The summary its three alerts support: a report read back is recounted.
	h.Summary.Alerts, h.Summary.ByVerdict = 3, model.ByVerdict{Suspicious: 1, Clean: 2}
	h.Summary.ByClassification = &model.ByClassification{NeedsReview: 1}
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
	assert.Equal(t, model.Suspicious, rep.Alerts[0].Risk.Verdict)

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
