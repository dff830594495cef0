package triage

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
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
		// Compressed inputs are not read (no decompression anywhere): a
		// gzip file is not an alert format, and never gets as far as
		// pass 2's re-reading of file offsets.
		"gzip": {write(t, dir, "a.ndjson.gz", gzipped(t, "{\"id\":\"a\"}\n"))},
	} {
		_, err := Load(context.Background(), Options{Inputs: inputs, Stdin: strings.NewReader("{}"), Engine: eng, Scorer: sc, TempDir: t.TempDir()})
		assert.ErrorIs(t, err, ErrInput, name)
	}
}

// quoteIfSpaced is a value as slog's text handler writes it.
func quoteIfSpaced(s string) string {
	if strings.Contains(s, " ") {
		return strconv.Quote(s)
	}
	return s
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.String()
}

// TestRecordsReadAgain: pass 2 reads the records that are the file's own
// bytes from the inputs again (only the others are spooled), from standard
// input's copy too, and a file that changed in a record pass 1 read stops
// the run, naming the file and the record, instead of reporting records
// nobody looked at. A file that changed elsewhere (it grew, it was touched,
// it was written again with the same records) still gives the report of
// what was read, with a warning.
func TestRecordsReadAgain(t *testing.T) {
	t.Parallel()
	const two = "{\"id\":\"a\",\"ip\":\"8.8.8.8\"}\n{\"id\":\"b\"}\n"
	rewrite := func(body string) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
		}
	}
	tests := []struct {
		name     string
		file     string // the input's name: its extension picks the format
		content  string
		change   func(t *testing.T, path string) // before pass 2; nil keeps the file
		wantIDs  []string
		wantErr  string // the InputChangedError's Why
		wantLine int
		wantWarn string // the change the warning names
	}{
		{name: "happy path: every record read again", content: two, wantIDs: []string{"a", "b"}},
		{name: "happy path: a JSON array's members", file: "a.json", content: "[\n {\"id\":\"a\",\"ip\":\"8.8.8.8\"},\n {\"id\":\"b\"}\n]\n", wantIDs: []string{"a", "b"}},
		{name: "happy path: Elasticsearch hits", file: "a.json", content: `{"hits":{"hits":[{"_id":"a","_source":{"ip":"8.8.8.8"}},{"_id":"b","_source":{}}]}}`, wantIDs: []string{"a", "b"}},
		{name: "a repaired record comes from the spool", content: "{\"id\":\"a\",\"m\":\"\xff\"}\n{\"id\":\"b\"}\n", wantIDs: []string{"a", "b"}},
		// Never opened again: nothing to check, nothing to warn of.
		{name: "a CSV row comes from the spool, whatever the file became", file: "a.csv", content: "id,ip\na,8.8.8.8\nb,1.1.1.1\n",
			change: rewrite("id,ip\nz,9.9.9.9\ny,2.2.2.2\n"), wantIDs: []string{"a", "b"}},
		{name: "sad path: the first record changed, same size", content: two,
			change: rewrite("{\"id\":\"a\",\"ip\":\"8.8.4.4\"}\n{\"id\":\"b\"}\n"), wantErr: "differs", wantLine: 1},
		{name: "sad path: a later record changed", content: two,
			change: rewrite("{\"id\":\"a\",\"ip\":\"8.8.8.8\"}\n{\"id\":\"c\"}\n"), wantErr: "differs", wantLine: 2},
		{name: "sad path: the file was cut short", content: two, change: rewrite("{\"id\":\"a\"}\n"), wantErr: "is cut short", wantLine: 1},
		{name: "sad path: the file was emptied", content: two, change: rewrite(""), wantErr: "is cut short", wantLine: 1},
		{name: "sad path: replaced by another file", content: two, change: func(t *testing.T, path string) {
			other := path + ".new"
			require.NoError(t, os.WriteFile(other, []byte("{\"id\":\"x\",\"ip\":\"1.2.3.4\"}\n{\"id\":\"b\"}\n"), 0o644))
			require.NoError(t, os.Rename(other, path))
		}, wantErr: "differs", wantLine: 1},
		{name: "grown: the records read are reported, with a warning", content: two,
			change: rewrite(two + "{\"id\":\"late\"}\n"), wantIDs: []string{"a", "b"}, wantWarn: "grew by 14 bytes"},
		{name: "replaced by the same records: reported, with a warning", content: two, change: func(t *testing.T, path string) {
			other := path + ".new"
			require.NoError(t, os.WriteFile(other, []byte(two), 0o644))
			require.NoError(t, os.Rename(other, path))
		}, wantIDs: []string{"a", "b"}, wantWarn: "replaced by another file"},
		{name: "touched: reported, with a warning", content: two, change: func(t *testing.T, path string) {
			later := time.Now().Add(time.Hour)
			require.NoError(t, os.Chtimes(path, later, later))
		}, wantIDs: []string{"a", "b"}, wantWarn: "modified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := tt.file
			if file == "" {
				file = "a.ndjson"
			}
			path := write(t, t.TempDir(), file, tt.content)
			var logs bytes.Buffer
			opts, _ := loadOptions(t, nil, path)
			opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			b, err := Load(context.Background(), opts)
			require.NoError(t, err)
			defer b.Close()
			require.NoError(t, b.Lookup(context.Background()))
			if tt.change != nil {
				tt.change(t, path)
			}
			h, err := b.Summary(context.Background(), time.Unix(0, 0), "test")
			require.NoError(t, err)
			c := &report.Collect{}
			err = b.Emit(context.Background(), h, c)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrInputChanged)
				var ce *InputChangedError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, path, ce.Input)
				assert.Equal(t, tt.wantErr, ce.Why)
				assert.Equal(t, tt.wantLine, ce.Line)
				assert.True(t, strings.HasPrefix(err.Error(), path+" changed while verdict was reading it"), err.Error())
				// The classification's pre-pass reads the same way.
				require.ErrorIs(t, b.EachAlert(context.Background(), func(*model.Alert) error { return nil }), ErrInputChanged)
				return
			}
			require.NoError(t, err)
			var ids []string
			for _, a := range c.Report.Alerts {
				ids = append(ids, a.ID)
			}
			assert.Equal(t, tt.wantIDs, ids)
			if !strings.HasSuffix(file, ".csv") && len(tt.file) == 0 {
				first := strings.SplitN(tt.content, "\n", 2)[0]
				assert.JSONEq(t, strings.ToValidUTF8(first, "\uFFFD"), string(c.Report.Alerts[0].Alert))
			}
			if tt.wantWarn == "" {
				assert.Empty(t, logs.String())
				return
			}
			assert.Contains(t, logs.String(), "input changed on disk after it was read")
			assert.Contains(t, logs.String(), "change="+quoteIfSpaced(tt.wantWarn))
			// Once per file, however many times pass 2 reads it.
			require.NoError(t, b.EachAlert(context.Background(), func(*model.Alert) error { return nil }))
			assert.Equal(t, 1, strings.Count(logs.String(), "input changed on disk"))
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
