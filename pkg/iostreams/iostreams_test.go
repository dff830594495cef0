package iostreams

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTestStreams(t *testing.T) {
	t.Parallel()
	ios, in, out, errOut := Test()
	in.WriteString("input")
	b := make([]byte, 5)
	n, err := ios.In.Read(b)
	require.NoError(t, err)
	assert.Equal(t, "input", string(b[:n]))
	_, _ = ios.Out.Write([]byte("report"))
	_, _ = ios.ErrOut.Write([]byte("people"))
	assert.Equal(t, "report", out.String())
	assert.Equal(t, "people", errOut.String())
	assert.False(t, ios.IsStderrTTY(), "buffers are not terminals")
	assert.False(t, ios.Quiet())
}

func TestSystemStreams(t *testing.T) {
	t.Parallel()
	ios := System()
	assert.Same(t, os.Stdin, ios.In)
	assert.Same(t, os.Stdout, ios.Out)
	assert.Same(t, os.Stderr, ios.ErrOut)
}

func TestProgressEnabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		tty, quiet, noProgess bool
		want                  bool
	}{
		{name: "terminal", tty: true, want: true},
		{name: "not a terminal (cron, CI)", tty: false, want: false},
		{name: "quiet", tty: true, quiet: true, want: false},
		{name: "json logs", tty: true, noProgess: true, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, errOut := Test()
			ios.SetStderrTTY(tt.tty)
			ios.SetQuiet(tt.quiet)
			if tt.noProgess {
				ios.SetProgress(false)
			}
			assert.Equal(t, tt.want, ios.ProgressEnabled())
			assert.Equal(t, tt.quiet, ios.Quiet())
			bar := ios.NewProgress(10, "lookups")
			require.NoError(t, bar.Add(3))
			require.NoError(t, bar.Finish())
			if tt.want {
				assert.Contains(t, errOut.String(), "lookups")
			} else {
				assert.Empty(t, errOut.String(), "an invisible bar draws nothing")
			}
		})
	}
}

func TestSetProgressBackOn(t *testing.T) {
	t.Parallel()
	ios, _, _, _ := Test()
	ios.SetStderrTTY(true)
	ios.SetProgress(false)
	assert.False(t, ios.ProgressEnabled())
	ios.SetProgress(true)
	assert.True(t, ios.ProgressEnabled())
}
