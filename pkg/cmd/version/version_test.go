package version

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

func TestNewCmdVersion(t *testing.T) {
	tests := []struct {
		name     string
		cli      string
		wantJSON bool
		wantsErr string
	}{
		{name: "happy path: text", cli: ""},
		{name: "happy path: json", cli: "--json", wantJSON: true},
		{name: "sad path: arguments", cli: "extra", wantsErr: `unknown command "extra"`},
		{name: "sad path: unknown flag", cli: "--short", wantsErr: "unknown flag: --short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdVersion(cmdutil.NewFactory(ios), func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.cli))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			_, err := cmd.ExecuteC()
			if tt.wantsErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantsErr)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Equal(t, tt.wantJSON, got.JSON)
			assert.Same(t, out, got.Out)
		})
	}
}

func TestVersionRun(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, versionRun(&Options{Out: &b}))
	assert.True(t, strings.HasPrefix(b.String(), "verdict "))
	assert.Contains(t, b.String(), "commit:")
	b.Reset()
	require.NoError(t, versionRun(&Options{Out: &b, JSON: true}))
	var m map[string]string
	require.NoError(t, json.Unmarshal(b.Bytes(), &m))
	for _, k := range []string{"version", "commit", "date", "go", "platform"} {
		assert.NotEmpty(t, m[k], k)
	}
}
