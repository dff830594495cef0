package triage

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/report"
)

// loadIDs loads inputs with the given id options and returns each alert's
// id in order.
func loadIDs(t *testing.T, ids *alert.IDFields, perFile bool, inputs ...string) []string {
	t.Helper()
	opts, _ := loadOptions(t, strings.NewReader(`{"msg":"from stdin"}`+"\n"), inputs...)
	opts.IDs, opts.IDPerFile = ids, perFile
	b, err := Load(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	require.NoError(t, b.Lookup(context.Background()))
	h, err := b.Summary(context.Background(), runNow, "test")
	require.NoError(t, err)
	c := &report.Collect{}
	require.NoError(t, b.Emit(context.Background(), h, c))
	var out []string
	for _, a := range c.Report.Alerts {
		out = append(out, a.ID)
	}
	return out
}

func TestIDFieldsFromConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := write(t, dir, "a.ndjson", strings.Join([]string{
		`{"Ticket-No":"T-1","id":"plain-id","event":{"id":"E-1"}}`,
		`{"id":"plain-id-2","event":{"id":"E-2"}}`,
		`{"id":"only-plain"}`,
		`{"ticket_no":"  ","event":{"id":7}}`,
	}, "\n")+"\n")
	hits := write(t, dir, "hits.json", `{"hits":{"hits":[{"_id":"H1","_source":{"msg":"x"}},{"_id":"H2","_source":{"ticket.no":"T-9"}}]}}`)
	tests := []struct {
		name   string
		fields []string
		want   []string
	}{
		{name: "happy path: the default list", fields: alert.DefaultIDFields,
			want: []string{"plain-id", "plain-id-2", "only-plain", "7", "H1", "H2"}},
		{name: "happy path: a list of its own, first match wins, names as everywhere (case, . _ -)", fields: []string{"ticket.no", "event.id"},
			want: []string{"T-1", "E-2", "#3", "7", "#5", "T-9"}},
		{name: "happy path: _id listed last takes the hit id after the others", fields: []string{"ticket_no", "_id"},
			want: []string{"T-1", "#2", "#3", "#4", "H1", "T-9"}},
		{name: "happy path: no id fields: positions only", fields: []string{},
			want: []string{"#1", "#2", "#3", "#4", "#5", "#6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ids, err := alert.NewIDFields(tt.fields)
			require.NoError(t, err)
			assert.Equal(t, tt.want, loadIDs(t, ids, false, f, hits))
		})
	}
}

// #N is batch-wide: it counts every record read, malformed ones and a
// truncated file's unreadable tail included, in input order. With
// --id-per-file the ids are FILE#N, N the record in its own file, and do
// not move when other files join the batch.
func TestPositionIDs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := write(t, dir, "a.ndjson", `{"msg":"one"}`+"\n"+`{"broken":`+"\n"+`{"id":"A3"}`+"\n"+`{"msg":"four"}`+"\n")
	trunc := write(t, dir, "t.json", `[{"msg":"t1"},{"msg":"t2"`)
	c := write(t, dir, "c.csv", "Name,Host\nx,h1\ny,h2\n")
	assert.Equal(t, []string{"#1", "A3", "#4", "#5", "#7", "#8"}, loadIDs(t, nil, false, a, trunc, c),
		"#N counts the malformed record of a and the truncated tail of t")
	assert.Equal(t, []string{"#1", "#2"}, loadIDs(t, nil, false, c), "batch-wide: c alone starts at #1")

	perFile := loadIDs(t, nil, true, a, trunc, c)
	assert.Equal(t, []string{a + "#1", "A3", a + "#4", trunc + "#1", c + "#1", c + "#2"}, perFile)
	assert.Equal(t, []string{c + "#1", c + "#2"}, loadIDs(t, nil, true, c), "per file: the same ids alone or in a batch")
	assert.Equal(t, []string{c + "#1", c + "#2", a + "#1", "A3", a + "#4"}, loadIDs(t, nil, true, c, a), "and in any order")
	assert.Equal(t, []string{"stdin#1", c + "#1", c + "#2"}, loadIDs(t, nil, true, "-", c), "standard input is stdin#N")
}
