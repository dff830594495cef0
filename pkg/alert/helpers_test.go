package alert

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// readAll reads every record of path, copying Raw, and returns the
// *FileError if the reader stopped with one.
func readAll(t testing.TB, path string, opts Options) ([]Record, error) {
	t.Helper()
	r, err := Open(path, filepath.Base(path), opts)
	require.NoError(t, err)
	defer r.Close()
	var recs []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			var fe *FileError
			require.ErrorAs(t, err, &fe)
			_, again := r.Next()
			require.ErrorIs(t, again, io.EOF, "Next after a FileError")
			return recs, err
		}
		rec.Raw = bytes.Clone(rec.Raw)
		recs = append(recs, rec)
		require.Less(t, len(recs), 10_000_000, "runaway reader")
	}
}

// writeTemp writes content to a file called name in a fresh directory.
func writeTemp(t testing.TB, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, content, 0o600))
	return path
}

type scalar struct {
	Path, Norm string
	Kind       Kind
	Value      string
}

// walkAll collects every scalar Walk reports.
func walkAll(t testing.TB, raw []byte) []scalar {
	t.Helper()
	var out []scalar
	require.NoError(t, Walk(raw, func(p *Path, k Kind, v string) {
		out = append(out, scalar{Path: p.String(), Norm: p.Normalized(), Kind: k, Value: v})
	}))
	return out
}

// valuesAt returns the values Walk reports at the original path.
func valuesAt(t testing.TB, raw []byte, path string) []string {
	t.Helper()
	var vals []string
	for _, s := range walkAll(t, raw) {
		if s.Path == path {
			vals = append(vals, s.Value)
		}
	}
	return vals
}

// ids returns ID for each good record and "ERR" for malformed ones.
func ids(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		if r.Err != nil {
			out[i] = "ERR"
			continue
		}
		out[i] = ID(r)
	}
	return out
}
