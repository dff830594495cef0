package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newSet writes a labelled set: the given alert files (name -> content) and
// labels.csv.
func newSet(t *testing.T, files map[string]string, labels string) Set {
	t.Helper()
	s := Set{Dir: t.TempDir()}
	require.NoError(t, os.MkdirAll(s.AlertsDir(), 0o755))
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(s.AlertsDir(), name), []byte(content), 0o644))
	}
	require.NoError(t, os.WriteFile(s.LabelsFile(), []byte(labels), 0o644))
	return s
}

// fakeVerdict records its arguments and writes the report a classify run
// over files would write: one alert per file, id "#N", classified label.
type fakeVerdict struct {
	args  [][]string
	label string
	code  int
	say   string
}

func (f *fakeVerdict) invoke(_ context.Context, args []string, stderr io.Writer) (int, error) {
	f.args = append(f.args, args)
	if f.say != "" {
		io.WriteString(stderr, f.say)
	}
	if f.code != 0 {
		return f.code, nil
	}
	var out, name string
	var files []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-o":
			out = args[i+1]
		case "--output-name":
			name = args[i+1]
		case "--":
			files = args[i+1:]
		}
	}
	rep := Report{SchemaVersion: 1}
	for i, f2 := range files {
		rep.Alerts = append(rep.Alerts, Alert{ID: "#" + string(rune('1'+i)), Source: AlertSource{File: f2, Record: 1},
			Classification: &Classification{Label: f.label, Source: "heuristic"}})
	}
	data, _ := json.Marshal(rep)
	return 0, os.WriteFile(filepath.Join(out, name+".json"), data, 0o644)
}

func TestAlertFiles(t *testing.T) {
	t.Parallel()
	s := newSet(t, map[string]string{"b.ndjson": "{}", "a.json": "[]", "README.md": "x", ".hidden": "x"}, header)
	require.NoError(t, os.Mkdir(filepath.Join(s.AlertsDir(), "sub"), 0o755))
	got, err := s.AlertFiles()
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(s.AlertsDir(), "a.json"), filepath.Join(s.AlertsDir(), "b.ndjson")}, got)

	empty := newSet(t, map[string]string{"README.md": "x"}, header)
	_, err = empty.AlertFiles()
	assert.ErrorContains(t, err, "no alert file")

	_, err = Set{Dir: filepath.Join(t.TempDir(), "none")}.AlertFiles()
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestRunOffline(t *testing.T) {
	t.Parallel()
	s := newSet(t, map[string]string{"b.ndjson": "{}", "a.json": "[]"},
		header+"a.json,#1,FALSE_POSITIVE,r,s,l\nb.ndjson,#1,TRUE_POSITIVE,r,s,l\n")
	fake := &fakeVerdict{label: FalsePositive}
	work := t.TempDir()
	r := Run{Verdict: fake.invoke, Set: s, Feeds: []string{"feeds/a", "feeds/b"}, WorkDir: work}
	report, err := r.Offline(context.Background())
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(work, "heuristic.json"), report)
	require.Len(t, fake.args, 1)
	cfg := filepath.Join(work, "empty-config.yaml")
	assert.Equal(t, []string{"classify", "--offline", "--no-cache", "--feeds", "feeds/a", "--feeds", "feeds/b",
		"--config", cfg, "--quiet", "-o", work, "--output-name", "heuristic", "-f", "json", "--",
		filepath.Join(s.AlertsDir(), "a.json"), filepath.Join(s.AlertsDir(), "b.ndjson")}, fake.args[0])
	data, err := os.ReadFile(cfg)
	require.NoError(t, err)
	assert.Empty(t, data, "an empty config, so no local verdict.yaml changes the figures")

	outs, err := s.Evaluate(report)
	require.NoError(t, err)
	m := Compute(outs)
	assert.Equal(t, 1, m.Correct)
	assert.Equal(t, []string{"b.ndjson #1"}, m.Dangerous)
}

func TestRunOnline(t *testing.T) {
	t.Parallel()
	s := newSet(t, map[string]string{"a.json": "[]"}, header+"a.json,#1,TRUE_POSITIVE,r,s,l\n")
	work := t.TempDir()
	tests := []struct {
		name           string
		lookups, cache bool
		want           []string
	}{
		{name: "happy path: the offline report, fresh answers", want: []string{"classify", "--no-cache", "--config", "my.yaml", "--quiet", "-o", work, "--output-name", "model", "-f", "json", "--", "offline.json"}},
		{name: "happy path: cached answers allowed", cache: true, want: []string{"classify", "--config", "my.yaml", "--quiet", "-o", work, "--output-name", "model", "-f", "json", "--", "offline.json"}},
		{name: "happy path: whole pipeline online", lookups: true, want: []string{"classify", "--no-cache", "--feeds", "f", "--config", "my.yaml", "--quiet", "-o", work, "--output-name", "model", "-f", "json", "--", filepath.Join(s.AlertsDir(), "a.json")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeVerdict{label: TruePositive}
			r := Run{Verdict: fake.invoke, Set: s, Feeds: []string{"f"}, Config: "my.yaml", WorkDir: work}
			report, err := r.Online(context.Background(), "offline.json", tt.lookups, tt.cache)
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(work, "model.json"), report)
			assert.Equal(t, tt.want, fake.args[0])
			assert.NotContains(t, strings.Join(fake.args[0], " "), "--offline")
		})
	}
}

func TestRunFailures(t *testing.T) {
	t.Parallel()
	s := newSet(t, map[string]string{"a.json": "[]"}, header+"a.json,#1,TRUE_POSITIVE,r,s,l\n")
	t.Run("sad path: verdict exits 2, its message is kept and escaped", func(t *testing.T) {
		t.Parallel()
		fake := &fakeVerdict{code: 2, say: "verdict: open a.json: permission denied\x1b[0m\n"}
		_, err := Run{Verdict: fake.invoke, Set: s, WorkDir: t.TempDir()}.Offline(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "exit status 2")
		assert.Contains(t, err.Error(), `permission denied\u001b[0m`)
	})
	t.Run("sad path: messages go to Stderr when given", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		fake := &fakeVerdict{code: 1, say: "boom\n"}
		_, err := Run{Verdict: fake.invoke, Set: s, WorkDir: t.TempDir(), Stderr: &buf}.Offline(context.Background())
		require.Error(t, err)
		assert.Equal(t, "boom\n", buf.String())
	})
	t.Run("sad path: the invoker fails", func(t *testing.T) {
		t.Parallel()
		inv := func(context.Context, []string, io.Writer) (int, error) { return -1, errors.New("no such file") }
		_, err := Run{Verdict: inv, Set: s, WorkDir: t.TempDir()}.Offline(context.Background())
		assert.ErrorContains(t, err, "run verdict classify: no such file")
	})
	t.Run("sad path: no work directory", func(t *testing.T) {
		t.Parallel()
		_, err := Run{Verdict: (&fakeVerdict{}).invoke, Set: s}.Offline(context.Background())
		assert.ErrorContains(t, err, "no work directory")
	})
	t.Run("sad path: no alert files", func(t *testing.T) {
		t.Parallel()
		_, err := Run{Verdict: (&fakeVerdict{}).invoke, Set: Set{Dir: t.TempDir()}, WorkDir: t.TempDir()}.Offline(context.Background())
		assert.ErrorContains(t, err, "list alert files")
	})
}

func TestExec(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as a stand-in for the verdict binary")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "verdict")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"args: $*\" >&2\necho stdout-too\nexit \"${EXIT:-0}\"\n"), 0o755))

	var buf bytes.Buffer
	code, err := Exec(script)(context.Background(), []string{"classify", "--offline"}, &buf)
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "args: classify --offline\nstdout-too\n", buf.String())

	exit3 := filepath.Join(dir, "verdict3")
	require.NoError(t, os.WriteFile(exit3, []byte("#!/bin/sh\nexit 3\n"), 0o755))
	code, err = Exec(exit3)(context.Background(), nil, io.Discard)
	require.NoError(t, err, "an exit status is not an error of the invoker")
	assert.Equal(t, 3, code)

	_, err = Exec(filepath.Join(dir, "missing"))(context.Background(), nil, io.Discard)
	assert.ErrorContains(t, err, "run ")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Exec(script)(ctx, nil, io.Discard)
	assert.Error(t, err, "a cancelled run is an error")
}
