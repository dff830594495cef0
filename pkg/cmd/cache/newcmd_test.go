package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

func TestNewCmdCacheSubcommands(t *testing.T) {
	tests := []struct {
		name     string
		build    func(*cmdutil.Factory, func(context.Context, *Options) error) *cobra.Command
		cli      string
		want     func(t *testing.T, o *Options)
		wantsErr string
	}{
		{name: "happy path: prune", build: NewCmdPrune, cli: "", want: func(t *testing.T, o *Options) { assert.Zero(t, o.OlderThan) }},
		{name: "happy path: prune --older-than", build: NewCmdPrune, cli: "--older-than 720h", want: func(t *testing.T, o *Options) {
			assert.Equal(t, 720*time.Hour, o.OlderThan)
		}},
		{name: "sad path: prune negative age", build: NewCmdPrune, cli: "--older-than -1h", wantsErr: "--older-than must be positive"},
		{name: "sad path: prune bad duration", build: NewCmdPrune, cli: "--older-than soon", wantsErr: `invalid argument "soon" for "--older-than"`},
		{name: "sad path: prune takes no arguments", build: NewCmdPrune, cli: "x", wantsErr: `unknown command "x"`},
		{name: "happy path: stats", build: NewCmdStats, cli: "", want: func(t *testing.T, o *Options) { assert.False(t, o.JSON) }},
		{name: "happy path: stats --json", build: NewCmdStats, cli: "--json", want: func(t *testing.T, o *Options) { assert.True(t, o.JSON) }},
		{name: "sad path: stats unknown flag", build: NewCmdStats, cli: "--yaml", wantsErr: "unknown flag: --yaml"},
		{name: "happy path: clear", build: NewCmdClear, cli: "", want: func(t *testing.T, o *Options) { assert.NotNil(t, o.Config) }},
		{name: "sad path: clear takes no arguments", build: NewCmdClear, cli: "all", wantsErr: `unknown command "all"`},
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // never the user's cache
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := tt.build(cmdutil.NewFactory(ios), func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.cli))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			_, err := cmd.ExecuteC()
			if tt.wantsErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantsErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got)
			tt.want(t, got)
		})
	}
}

// The parent command binds --cache-dir to cache.dir for every subcommand,
// and the real run functions work on an empty cache.
func TestCacheRun(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	ios, _, out, errOut := iostreams.Test()
	var f *cmdutil.Factory
	run := func(args ...string) {
		t.Helper()
		out.Reset()
		errOut.Reset()
		f = cmdutil.NewFactory(ios) // one factory and command tree per run, as in main
		parent := &cobra.Command{Use: "verdict"}
		parent.AddCommand(NewCmdCache(f))
		parent.SetArgs(args)
		parent.SetOut(&bytes.Buffer{})
		parent.SetErr(&bytes.Buffer{})
		require.NoError(t, parent.Execute(), errOut.String())
	}
	run("cache", "stats", "--json", "--cache-dir", dir)
	var st map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &st))
	assert.EqualValues(t, 0, st["entries"])
	assert.Contains(t, st["path"], dir)
	assert.Equal(t, dir, f.Viper.GetString("cache.dir"))
	run("cache", "stats", "--cache-dir", dir)
	assert.Contains(t, out.String(), "entries: 0 (0 expired)")
	run("cache", "prune", "--older-than", "1h", "--cache-dir", dir)
	assert.Contains(t, errOut.String(), "pruned 0 entries")
	run("cache", "clear", "--cache-dir", dir)
	assert.Contains(t, errOut.String(), "cleared 0 entries")
}
