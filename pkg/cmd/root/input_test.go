package root

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Standard input and devices are spooled up to input.max_bytes, then the
// run stops with exit 2 naming the input and the limit, leaving no spool.
func TestInputMaxBytes(t *testing.T) {
	tests := []struct {
		name       string
		stdin      string
		args       []string
		limit      string
		wantExit   int
		wantStderr string
	}{
		{name: "happy path: standard input within the limit", stdin: strings.Repeat(`{"id":"x","ip":"8.8.8.8"}`+"\n", 100),
			args: []string{"-"}, limit: "4KiB", wantExit: 0},
		{name: "sad path: standard input over the limit", stdin: strings.Repeat(`{"id":"x","ip":"8.8.8.8"}`+"\n", 200),
			args: []string{"-"}, limit: "4KiB", wantExit: 2,
			wantStderr: "verdict: stdin is larger than 4 KiB, the limit for standard input, pipes and devices (input.max_bytes); give a regular file, or raise the limit"},
		{name: "sad path: /dev/zero", args: []string{"/dev/zero"}, limit: "1MiB", wantExit: 2,
			wantStderr: "verdict: /dev/zero is larger than 1 MiB"},
		{name: "sad path: a bad limit is a usage error naming the key", args: []string{"-"}, limit: "lots", wantExit: 2,
			wantStderr: "input.max_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.args[0] == "/dev/zero" && runtime.GOOS == "windows" {
				t.Skip("no /dev/zero")
			}
			_, out := sandbox(t)
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			t.Setenv("VERDICT_INPUT_MAX_BYTES", tt.limit)
			res := run(t, tt.stdin, append([]string{"enrich", "--offline", "--no-cache", "-f", "json", "-o", out, "--output-name", "r"}, tt.args...)...)
			assert.Equal(t, tt.wantExit, res.code, res.stderr)
			assert.Contains(t, res.stderr, tt.wantStderr)
			entries, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, entries, "no spool left")
		})
	}
}

// input.id_fields and --id-per-file from the command line.
func TestAlertIDOptions(t *testing.T) {
	_, out := sandbox(t)
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	b := filepath.Join(dir, "b.ndjson")
	require.NoError(t, os.WriteFile(a, []byte(`{"ticket":"T-1","id":"x"}`+"\n"+`{"id":"only-id"}`+"\n"), 0o644))
	require.NoError(t, os.WriteFile(b, []byte(`{"msg":"none"}`+"\n"+`{"broken":`+"\n"+`{"msg":"none"}`+"\n"), 0o644))

	ids := func(args ...string) []string {
		t.Helper()
		res := run(t, "", append([]string{"enrich", "--offline", "--no-cache", "-f", "json", "-o", out, "--output-name", "ids"}, args...)...)
		require.Equal(t, 0, res.code, res.stderr)
		var got []string
		for _, al := range readReport(t, filepath.Join(out, "ids.json")).Alerts {
			got = append(got, al.ID)
		}
		return got
	}
	assert.Equal(t, []string{"x", "only-id", "#3", "#5"}, ids(a, b), "the default fields; #N counts the malformed record")
	assert.Equal(t, []string{"x", "only-id", b + "#1", b + "#3"}, ids("--id-per-file", a, b))
	assert.Equal(t, []string{b + "#1", b + "#3"}, ids("--id-per-file", b), "FILE#N does not move when a file leaves the batch")

	cfg := filepath.Join(dir, "verdict.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("input:\n  id_fields: [Ticket, event.id]\n"), 0o644))
	assert.Equal(t, []string{"T-1", "#2", "#3", "#5"}, ids("--config", cfg, a, b), "input.id_fields replaces the list")

	t.Setenv("VERDICT_INPUT_ID_FIELDS", "ticket")
	assert.Equal(t, []string{"T-1", "#2", "#3", "#5"}, ids(a, b), "and so does its variable")
}
