//go:build unix

package report

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Reports are created 0666 less the umask, like any file a user's program
// writes: private under umask 077, readable by the group under 027. Not
// parallel: the umask belongs to the whole process.
func TestOutputHonoursTheUmask(t *testing.T) {
	for _, tt := range []struct {
		umask int
		want  os.FileMode
	}{{0o077, 0o600}, {0o027, 0o640}, {0o022, 0o644}} {
		old := syscall.Umask(tt.umask)
		dir := filepath.Join(t.TempDir(), "reports")
		bl := filepath.Join(t.TempDir(), "block.txt")
		paths, _, err := writeReport(t, OutputOptions{Dir: dir, Name: "r", Unique: true, Formats: []Format{FormatJSON, FormatTXT}, Blocklist: bl}, smallReport())
		syscall.Umask(old)
		require.NoError(t, err)
		for _, p := range paths {
			st, err := os.Stat(p)
			require.NoError(t, err)
			assert.Equal(t, tt.want, st.Mode().Perm(), "%s under umask %03o", filepath.Base(p), tt.umask)
		}
		st, err := os.Stat(dir)
		require.NoError(t, err)
		assert.Equal(t, 0o777&^os.FileMode(tt.umask), st.Mode().Perm(), "the output directory under umask %03o", tt.umask)
	}
}
