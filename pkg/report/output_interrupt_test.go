package report

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/interrupt"
)

// trackedIn lists the paths interrupt.Track holds under dir (the registry is
// process-wide; other tests' files are elsewhere).
func trackedIn(dir string) []string {
	var out []string
	for _, p := range interrupt.Tracked() {
		if strings.HasPrefix(p, dir+string(filepath.Separator)) {
			out = append(out, filepath.Base(p))
		}
	}
	return out
}

// Every temporary report is registered with interrupt.Track while it
// exists, so that a second signal, which ends the process at once, removes
// it; once placed or removed it is forgotten.
func TestTemporaryReportsAreTracked(t *testing.T) {
	t.Parallel()
	for _, commit := range []bool{true, false} {
		dir := t.TempDir()
		out, err := NewOutput(OutputOptions{Dir: dir, Name: "r", Formats: []Format{FormatJSON, FormatTXT, FormatHTML}})
		require.NoError(t, err)
		pending := trackedIn(dir)
		require.Len(t, pending, 3)
		assert.ElementsMatch(t, listDir(t, dir), pending, "exactly the temporary files")
		rep := smallReport()
		s := out.Sink()
		require.NoError(t, s.Begin(rep))
		for _, a := range rep.Alerts {
			require.NoError(t, s.Alert(a))
		}
		require.NoError(t, s.End(rep))
		if commit {
			_, err := out.Commit()
			require.NoError(t, err)
			assert.Equal(t, []string{"r.html", "r.json", "r.txt"}, listDir(t, dir))
		} else {
			out.Abort()
			assert.Empty(t, listDir(t, dir))
		}
		assert.Empty(t, trackedIn(dir), "commit=%v: nothing left to remove", commit)
	}
}

func TestWriteFileAtomicForgetsItsTemporaryFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "blocklist.txt")
	require.NoError(t, WriteFileAtomic(path, []byte("1.2.3.4\n")))
	assert.Equal(t, []string{"blocklist.txt"}, listDir(t, dir))
	assert.Empty(t, trackedIn(dir))
}

// The output directory or a report file that cannot be created is a
// runtime failure (ErrWrite), unlike a bad name, format or template.
func TestNewOutputWriteFailuresAreTyped(t *testing.T) {
	t.Parallel()
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	_, err := NewOutput(OutputOptions{Dir: filepath.Join(blocker, "reports"), Name: "r", Formats: []Format{FormatJSON}})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrWrite)
	assert.Contains(t, err.Error(), "create output directory")

	_, err = NewOutput(OutputOptions{Dir: t.TempDir(), Name: "../x", Formats: []Format{FormatJSON}})
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrWrite), "a bad --output-name is a usage error")
	_, err = NewOutput(OutputOptions{Dir: t.TempDir(), Name: "r", Formats: []Format{"pdf"}})
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrWrite), "an unknown format is a usage error")
}
