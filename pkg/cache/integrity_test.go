package cache

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CheckFile finds what Open would heal, and changes nothing.
func TestCheckFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string
		wantErr error
	}{
		{name: "happy path: a filled cache", setup: filledCache},
		{name: "happy path: an empty file nobody wrote yet", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, FileName)
			require.NoError(t, os.WriteFile(p, nil, 0o600))
			return p
		}},
		{name: "sad path: a text file", wantErr: ErrCorrupt, setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, FileName)
			require.NoError(t, os.WriteFile(p, []byte("not a database\n"), 0o600))
			return p
		}},
		{name: "sad path: corrupt pages", wantErr: ErrCorrupt, setup: func(t *testing.T, dir string) string {
			p := filledCache(t, dir)
			corruptPages(t, p)
			return p
		}},
		{name: "sad path: truncated", wantErr: ErrCorrupt, setup: func(t *testing.T, dir string) string {
			p := filledCache(t, dir)
			st, err := os.Stat(p)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(p, st.Size()*2/5/4096*4096))
			return p
		}},
		{name: "sad path: missing", wantErr: fs.ErrNotExist, setup: func(t *testing.T, dir string) string {
			return filepath.Join(dir, FileName)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := tt.setup(t, dir)
			before, _ := os.ReadFile(p)
			err := CheckFile(ctx, p)
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), p)
			}
			after, _ := os.ReadFile(p)
			assert.Equal(t, before, after, "the file is left as it was")
			aside, err := filepath.Glob(filepath.Join(dir, "*.corrupt-*"))
			require.NoError(t, err)
			assert.Empty(t, aside, "nothing moved aside")
		})
	}
}
