package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

// writeReport streams rep through an Output made with opts and commits it.
func writeReport(t testing.TB, opts OutputOptions, rep *model.Report) ([]string, *Output, error) {
	t.Helper()
	out, err := NewOutput(opts)
	if err != nil {
		return nil, nil, err
	}
	s := out.Sink()
	if err := s.Begin(rep); err != nil {
		out.Abort()
		return nil, out, err
	}
	for _, a := range rep.Alerts {
		if err := s.Alert(a); err != nil {
			out.Abort()
			return nil, out, err
		}
	}
	if err := s.End(rep); err != nil {
		out.Abort()
		return nil, out, err
	}
	paths, err := out.Commit()
	return paths, out, err
}

// smallReport is a valid two-alert report.
func smallReport() *model.Report {
	rep := longFieldReport(longFieldAlert(10))
	rep.Alerts = []*model.Alert{longFieldAlert(10)}
	return rep
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestOutputDefaultNameNeverOverwrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing []string // files already in the directory
		formats  []Format
		unique   bool
		want     []string // the files this output writes
	}{
		{name: "free name", formats: []Format{FormatJSON, FormatTXT}, unique: true, want: []string{"r.json", "r.txt"}},
		{name: "one format taken moves the whole set", existing: []string{"r.txt"}, formats: []Format{FormatJSON, FormatTXT}, unique: true, want: []string{"r-2.json", "r-2.txt"}},
		{name: "-2 taken too", existing: []string{"r.json", "r-2.json"}, formats: []Format{FormatJSON}, unique: true, want: []string{"r-3.json"}},
		{name: "only the formats being written count", existing: []string{"r.html"}, formats: []Format{FormatJSON}, unique: true, want: []string{"r.json"}},
		{name: "a directory in the way counts as taken", existing: []string{"r.csv/"}, formats: []Format{FormatCSV}, unique: true, want: []string{"r-2.csv"}},
		{name: "an explicit name overwrites", existing: []string{"r.json"}, formats: []Format{FormatJSON}, unique: false, want: []string{"r.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, e := range tt.existing {
				if strings.HasSuffix(e, "/") {
					require.NoError(t, os.Mkdir(filepath.Join(dir, e), 0o755))
					continue
				}
				require.NoError(t, os.WriteFile(filepath.Join(dir, e), []byte("another run's report\n"), 0o644))
			}
			paths, out, err := writeReport(t, OutputOptions{Dir: dir, Name: "r", Unique: tt.unique, Formats: tt.formats}, smallReport())
			require.NoError(t, err)
			var got []string
			for _, p := range paths {
				got = append(got, filepath.Base(p))
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, strings.TrimSuffix(tt.want[0], filepath.Ext(tt.want[0])), out.Name())
			for _, e := range tt.existing {
				b, err := os.ReadFile(filepath.Join(dir, e))
				if strings.HasSuffix(e, "/") || (!tt.unique && contains(tt.want, e)) {
					continue
				}
				require.NoError(t, err)
				assert.Equal(t, "another run's report\n", string(b), "%s was overwritten", e)
			}
			for _, name := range listDir(t, dir) {
				assert.False(t, strings.HasPrefix(name, "."), "temporary file %s left", name)
			}
		})
	}
}

// Two runs in the same second (here: sixteen at once) keep every report:
// each gets its own name, every file is complete, and no temporary file is
// left.
func TestOutputConcurrentRunsKeepEveryReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const runs = 16
	names := make([]string, runs)
	errs := make([]error, runs)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep := smallReport()
			rep.Alerts[0].ID = fmt.Sprintf("run-%02d", i)
			out, err := NewOutput(OutputOptions{Dir: dir, Name: "verdict-20261122-000000", Unique: true, Formats: []Format{FormatJSON, FormatTXT, FormatHTML}})
			if err != nil {
				errs[i] = err
				return
			}
			s := out.Sink()
			_ = s.Begin(rep)
			_ = s.Alert(rep.Alerts[0])
			_ = s.End(rep)
			<-start // commit all at once
			_, errs[i] = out.Commit()
			names[i] = out.Name()
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "run %d", i)
	}
	seen := map[string]bool{}
	for _, n := range names {
		assert.False(t, seen[n], "two runs were given %s", n)
		seen[n] = true
	}
	assert.Len(t, listDir(t, dir), runs*3, "three files per run, nothing else: %v", listDir(t, dir))
	for i, n := range names {
		for _, ext := range []string{"json", "txt", "html"} {
			b, err := os.ReadFile(filepath.Join(dir, n+"."+ext))
			require.NoError(t, err)
			assert.Contains(t, string(b), fmt.Sprintf("run-%02d", i), "%s.%s holds run %d's report", n, ext, i)
		}
	}
}

func TestOutputCancelledLeavesNothing(t *testing.T) {
	t.Parallel()
	t.Run("while streaming", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		out, err := NewOutput(OutputOptions{Context: ctx, Dir: dir, Name: "r", Unique: true, Formats: []Format{FormatJSON, FormatTXT, FormatCSV}})
		require.NoError(t, err)
		s := out.Sink()
		rep := smallReport()
		require.NoError(t, s.Begin(rep))
		cancel()
		var streamErr error
		for range 10 * checkEvery {
			if streamErr = s.Alert(rep.Alerts[0]); streamErr != nil {
				break
			}
		}
		assert.ErrorIs(t, streamErr, context.Canceled, "the sink stops within %d alerts", checkEvery)
		out.Abort()
		assert.Empty(t, listDir(t, dir))
	})
	t.Run("while rendering", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		out, err := NewOutput(OutputOptions{Context: ctx, Dir: dir, Name: "r", Formats: []Format{FormatTXT, FormatHTML}, View: ViewOptions{MaxDetails: 5000}})
		require.NoError(t, err)
		s := out.Sink()
		rep := smallReport()
		require.NoError(t, s.Begin(rep))
		for range 3000 {
			require.NoError(t, s.Alert(longFieldAlert(3000)))
		}
		require.NoError(t, s.End(rep))
		cancel()
		_, err = out.Commit()
		assert.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, listDir(t, dir), "no report and no temporary file")
	})
	t.Run("a renderer stops at its next write", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		vb := NewViewBuilder(ViewOptions{MaxDetails: 5000})
		rep := smallReport()
		_ = vb.Begin(rep)
		for range 2000 {
			_ = vb.Alert(longFieldAlert(3000))
		}
		_ = vb.End(rep)
		v := vb.Build()
		// Markdown is a summary (25 rows, 5 details): a few KB, written at once.
		for _, f := range []Format{FormatTXT, FormatHTML} {
			w := &cancelAfter{n: 4 << 10, cancel: cancel}
			err := RenderViewContext(ctx, w, f, v)
			assert.ErrorIs(t, err, context.Canceled, "%s", f)
			assert.Less(t, w.written, 1<<20, "%s went on writing after the cancel", f)
			ctx, cancel = context.WithCancel(context.Background())
		}
		cancel()
	})
}

// cancelAfter cancels once n bytes have been written to it.
type cancelAfter struct {
	n, written int
	cancel     func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.written += len(p)
	if c.written >= c.n {
		c.cancel()
	}
	return len(p), nil
}

func TestUserTemplatesNeverReplaceABuiltInReport(t *testing.T) {
	t.Parallel()
	const body = `{{ range .Alerts }}[{{ .ID }}]{{ end }}`
	tests := []struct {
		template string
		file     string // the template's output next to r.html
		escaped  bool
	}{
		{template: "html.tmpl", file: "r.template.html", escaped: true},
		{template: "HTML.tmpl", file: "r.template.HTML", escaped: true},
		{template: "txt.tmpl", file: "r.template.txt"},
		{template: "json.tmpl", file: "r.template.json"},
		{template: "report.html.tmpl", file: "r.report.html", escaped: true},
		{template: "page.htm.gotmpl", file: "r.page.htm", escaped: true},
		{template: "slack.md.tmpl", file: "r.slack.md"},
		{template: ".tmpl", file: "r.template"},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tmpl := filepath.Join(t.TempDir(), tt.template)
			require.NoError(t, os.WriteFile(tmpl, []byte(body), 0o644))
			rep := smallReport()
			rep.Alerts[0].ID = `<img src=x onerror=alert(1)>`
			paths, _, err := writeReport(t, OutputOptions{Dir: dir, Name: "r", Formats: []Format{FormatHTML, FormatTXT, FormatJSON}, Template: tmpl}, rep)
			require.NoError(t, err)
			assert.Contains(t, paths, filepath.Join(dir, tt.file))
			builtin, err := os.ReadFile(filepath.Join(dir, "r.html"))
			require.NoError(t, err)
			assert.Contains(t, string(builtin), "Content-Security-Policy", "r.html is verdict's own report")
			got, err := os.ReadFile(filepath.Join(dir, tt.file))
			require.NoError(t, err)
			if tt.escaped {
				assert.Equal(t, "[&lt;img src=x onerror=alert(1)&gt;]", string(got))
			} else {
				assert.Equal(t, "[<img src=x onerror=alert(1)>]", string(got))
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"nightly", "verdict-20261122-000000", "report.v2", "..hidden", "ünïcode"} {
		assert.NoError(t, ValidateName(ok), ok)
	}
	for _, bad := range []string{"", " ", ".", "..", "../x", "a/b", `a\b`, "/abs", "x\x1b]52;c;AAAA\x07", "tab\tname", "bidi\u202ename"} {
		assert.Error(t, ValidateName(bad), "%q", bad)
	}
	_, err := NewOutput(OutputOptions{Dir: t.TempDir(), Name: "../escape", Formats: []Format{FormatJSON}})
	assert.Error(t, err, "NewOutput checks the name too")
}

func TestStdoutOutputWritesNoFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b bytes.Buffer
	paths, _, err := writeReport(t, OutputOptions{Dir: dir, Name: "r", Stdout: FormatCSV, StdoutWriter: &b}, smallReport())
	require.NoError(t, err)
	assert.Empty(t, paths)
	assert.True(t, strings.HasPrefix(b.String(), strings.Join(CSVHeader, ",")))
	_, err = os.Stat(dir)
	assert.NoError(t, err)
	assert.Empty(t, listDir(t, dir))
}

func TestLinkUnsupportedFallsBack(t *testing.T) {
	t.Parallel()
	assert.True(t, linkUnsupported(&os.LinkError{Op: "link", Err: os.ErrPermission}))
	assert.True(t, linkUnsupported(&os.LinkError{Op: "link", Err: errors.ErrUnsupported}))
	assert.False(t, linkUnsupported(&os.LinkError{Op: "link", Err: os.ErrExist}))
	assert.False(t, linkUnsupported(errors.New("disk full")))
}
