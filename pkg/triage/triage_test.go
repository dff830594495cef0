package triage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/score"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func newBatch(t *testing.T, p intel.Provider, allow []string, inputs ...string) *Batch {
	t.Helper()
	sc, err := score.New(score.Default())
	require.NoError(t, err)
	al, err := ioc.ParseAllowlist(allow)
	require.NoError(t, err)
	pol, err := ioc.NewPolicy(al, nil)
	require.NoError(t, err)
	eng := intel.NewEngine([]intel.Spec{{Provider: p, Concurrency: 4}}, intel.Options{Cache: cache.Nop{}})
	b, err := Load(context.Background(), Options{Inputs: inputs, Stdin: strings.NewReader(""), Policy: pol, Engine: eng, Scorer: sc, TempDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	require.NoError(t, b.Lookup(context.Background()))
	return b
}

func collect(t *testing.T, b *Batch) (*model.Report, []*model.Alert) {
	t.Helper()
	h, err := b.Summary(context.Background(), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), "test")
	require.NoError(t, err)
	c := &report.Collect{}
	require.NoError(t, b.Emit(context.Background(), h, c))
	return c.Report, c.Report.Alerts
}

func TestIDsPositionsAndNumbering(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := write(t, dir, "a.ndjson", `{"alert_id":"A1","id":"ignored","src":"8.8.8.8"}
{"broken":
{"event":{"id":"E3"}}
`)
	b := write(t, dir, "b.json", `{"hits":{"hits":[{"_id":"H1","_source":{"msg":"no id in source"}},{"_id":"H2","_source":{"id":"own"}}]}}`)
	c := write(t, dir, "c.csv", "SystemAlertId,Name\nS-9,x\n,y\n")
	fake := &inteltest.Provider{ProviderName: "fake"}
	batch := newBatch(t, fake, nil, a, b, c)
	h, alerts := collect(t, batch)
	var ids []string
	for _, x := range alerts {
		ids = append(ids, x.ID)
	}
	// #N counts every record read, malformed ones included, across files.
	assert.Equal(t, []string{"A1", "E3", "H1", "own", "S-9", "#7"}, ids)
	require.Len(t, h.InputErrors, 1)
	assert.Equal(t, model.InputError{File: a, Record: 2, Line: 2, Reason: h.InputErrors[0].Reason}, h.InputErrors[0])
	assert.Equal(t, model.Source{File: a, Record: 3, Line: 3}, alerts[1].Source)
	assert.Equal(t, model.Source{File: c, Record: 2, Line: 3}, alerts[5].Source, "CSV records count data rows; line is the file line")
	assert.Equal(t, 6, h.Summary.Alerts)
}

func TestIOCsPerAlert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := write(t, dir, "a.ndjson", `{"id":"x","src_ip":"10.1.2.3","dst":"185.220.101.45","msg":"to 185.220.101.45 and hxxps://evil[.]com/a","user":{"email":"bob@corp.com"},"ok":"8.8.8.8"}
`)
	fake := &inteltest.Provider{ProviderName: "fake", Answer: func(i ioc.IOC, _ int) (model.Result, error) {
		if i.Value == "185.220.101.45" {
			return model.Result{Malicious: model.Int(9)}, nil
		}
		return model.Result{}, intel.ErrNotFound
	}}
	batch := newBatch(t, fake, []string{"8.8.8.8"}, f)
	_, alerts := collect(t, batch)
	require.Len(t, alerts, 1)
	got := map[string]model.IOC{}
	for _, i := range alerts[0].IOCs {
		got[i.Value] = i
	}
	assert.Equal(t, "private", got["10.1.2.3"].Skipped)
	assert.Equal(t, []string{"dst", "msg"}, got["185.220.101.45"].Fields, "deduplicated, keeping every field")
	assert.Equal(t, "url", got["https://evil.com/a"].Type)
	assert.Equal(t, "domain", got["evil.com"].Type)
	assert.Equal(t, "allowlisted", got["8.8.8.8"].Skipped)
	_, hasCorp := got["corp.com"]
	assert.False(t, hasCorp, "an e-mail in a user field yields no domain")
	// Skipped indicators are never looked up.
	for _, c := range fake.Calls() {
		assert.NotContains(t, []string{"10.1.2.3", "8.8.8.8"}, c.IOC.Value)
	}
	assert.Contains(t, alerts[0].Enrichment, "185.220.101.45")
	assert.NotContains(t, alerts[0].Enrichment, "10.1.2.3")
}

// Each unique IOC is looked up once however many alerts carry it, and the
// report keeps input order through the parallel passes.
func TestLookupOnceAndOrderKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var sb strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, `{"id":"n%04d","dst":"185.1.%d.%d"}`+"\n", i, i%7, 1+i%5)
	}
	f := write(t, dir, "many.ndjson", sb.String())
	fake := &inteltest.Provider{ProviderName: "fake"}
	batch := newBatch(t, fake, nil, f)
	_, alerts := collect(t, batch)
	require.Len(t, alerts, 1000)
	for i, a := range alerts {
		require.Equal(t, fmt.Sprintf("n%04d", i), a.ID)
	}
	assert.Len(t, fake.Calls(), 35, "7*5 distinct addresses")
}

func TestUnusableInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sc, _ := score.New(score.Default())
	eng := intel.NewEngine(nil, intel.Options{})
	for name, inputs := range map[string][]string{
		"missing":     {filepath.Join(dir, "nope.json")},
		"directory":   {dir},
		"empty":       {write(t, dir, "empty.json", "")},
		"all bad":     {write(t, dir, "bad.ndjson", "x\ny\n")},
		"stdin twice": {"-", "-"},
	} {
		_, err := Load(context.Background(), Options{Inputs: inputs, Stdin: strings.NewReader("{}"), Engine: eng, Scorer: sc, TempDir: t.TempDir()})
		assert.ErrorIs(t, err, ErrInput, name)
	}
}

// TestRecordsReadAgain: pass 2 reads the records that are the file's own
// bytes from the inputs again (only the others are spooled), from standard
// input's copy too, and a file that changed in between stops the run
// instead of reporting records nobody looked at.
func TestRecordsReadAgain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		change  string // the file's new content before pass 2; "" keeps it
		wantErr bool
	}{
		{"happy path: every record read again", "{\"id\":\"a\",\"ip\":\"8.8.8.8\"}\n{\"id\":\"b\"}\n", "", false},
		{"a repaired record comes from the spool", "{\"id\":\"a\",\"m\":\"\xff\"}\n{\"id\":\"b\"}\n", "", false},
		{"sad path: the file changed", "{\"id\":\"a\",\"ip\":\"8.8.8.8\"}\n{\"id\":\"b\"}\n", "{\"id\":\"a\",\"ip\":\"8.8.4.4\"}\n{\"id\":\"b\"}\n", true},
		{"sad path: the file was cut short", "{\"id\":\"a\",\"ip\":\"8.8.8.8\"}\n{\"id\":\"b\"}\n", "{\"id\":\"a\"}\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := write(t, dir, "a.ndjson", tt.content)
			b := newBatch(t, &inteltest.Provider{ProviderName: "fake"}, nil, path)
			if tt.change != "" {
				require.NoError(t, os.WriteFile(path, []byte(tt.change), 0o644))
			}
			h, err := b.Summary(context.Background(), time.Unix(0, 0), "test")
			require.NoError(t, err)
			c := &report.Collect{}
			err = b.Emit(context.Background(), h, c)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInputChanged)
				return
			}
			require.NoError(t, err)
			require.Len(t, c.Report.Alerts, 2)
			assert.Equal(t, "a", c.Report.Alerts[0].ID)
			assert.JSONEq(t, strings.ToValidUTF8(strings.SplitN(tt.content, "\n", 2)[0], "\uFFFD"), string(c.Report.Alerts[0].Alert))
		})
	}

	t.Run("standard input is read again from its copy", func(t *testing.T) {
		t.Parallel()
		sc, err := score.New(score.Default())
		require.NoError(t, err)
		eng := intel.NewEngine([]intel.Spec{{Provider: &inteltest.Provider{ProviderName: "fake"}}}, intel.Options{Cache: cache.Nop{}})
		b, err := Load(context.Background(), Options{Inputs: []string{"-"}, Stdin: strings.NewReader("{\"id\":\"s1\"}\n{\"id\":\"s2\"}\n"), Engine: eng, Scorer: sc, TempDir: t.TempDir()})
		require.NoError(t, err)
		defer b.Close()
		require.NoError(t, b.Lookup(context.Background()))
		_, alerts := collect(t, b)
		require.Len(t, alerts, 2)
		assert.Equal(t, `{"id":"s2"}`, string(alerts[1].Alert))
	})
}
