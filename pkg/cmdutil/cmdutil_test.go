package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
)

// A provider registered by this test binary only, to build engines from.
func init() {
	intel.Register(intel.Registration{
		Name: "cmdutiltest", Title: "CmdutilTest", Types: []ioc.Type{ioc.IPv4}, NeedsKey: true,
		Defaults: intel.Defaults{BaseURL: "https://cmdutiltest.invalid", Concurrency: 1},
		New: func(intel.Settings) (intel.Provider, error) {
			return &inteltest.Provider{ProviderName: "cmdutiltest", Types: []ioc.Type{ioc.IPv4}}, nil
		},
	})
}

func sandbox(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "VERDICT_") || strings.HasSuffix(name, "_API_KEY") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

func quietFactory(t *testing.T) *Factory {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f := NewFactory(ios)
	f.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return f
}

func TestErrors(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	fe := &FlagError{Err: base}
	assert.Equal(t, "boom", fe.Error())
	assert.ErrorIs(t, fe, base)
	assert.Equal(t, "--x: bad 3", FlagErrorf("--x: bad %d", 3).Error())
	var target *FlagError
	assert.ErrorAs(t, fmt.Errorf("wrapped: %w", FlagErrorf("y")), &target)

	ie := InputError(base)
	var ec *ExitCodeError
	require.ErrorAs(t, ie, &ec)
	assert.Equal(t, ExitUsage, ec.Code)
	assert.ErrorIs(t, ie, base)
	assert.Equal(t, "boom", ie.Error())
	assert.Equal(t, "exit status 3", (&ExitCodeError{Code: ExitFailOn}).Error())
	assert.ErrorIs(t, fmt.Errorf("x: %w", ErrSilent), ErrSilent)
	assert.Equal(t, []int{0, 1, 2, 3}, []int{ExitOK, ExitError, ExitUsage, ExitFailOn}, "CONTRACT.md exit codes")
}

func TestClock(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1795305600")
	assert.Equal(t, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Clock()())
	t.Setenv("SOURCE_DATE_EPOCH", "not a number")
	now := Clock()()
	assert.WithinDuration(t, time.Now(), now, time.Minute, "a bad value means the real clock")
	os.Unsetenv("SOURCE_DATE_EPOCH")
	assert.WithinDuration(t, time.Now(), Clock()(), time.Minute)
}

func TestConfigIsLoadedOnce(t *testing.T) {
	sandbox(t)
	f := quietFactory(t)
	f.Viper.Set("report.max_rows", 7)
	c1, err := f.Config()
	require.NoError(t, err)
	assert.Equal(t, 7, c1.Report.MaxRows)
	f.Viper.Set("report.max_rows", 9)
	c2, err := f.Config()
	require.NoError(t, err)
	assert.Same(t, c1, c2, "one configuration per run")
	assert.Equal(t, 7, c2.Report.MaxRows)
	require.NotNil(t, c1.Provider("cmdutiltest"), "registered providers are configured")
}

func TestConfigErrorIsKept(t *testing.T) {
	sandbox(t)
	t.Setenv("VERDICT_CMDUTILTEST_RAET", "1/s")
	f := quietFactory(t)
	_, err := f.Config()
	require.ErrorContains(t, err, "did you mean VERDICT_CMDUTILTEST_RATE?")
	_, err2 := f.Engine(context.Background(), EngineOptions{})
	var ec *ExitCodeError
	require.ErrorAs(t, err2, &ec, "a config error is a usage error for the engine too")
	assert.Equal(t, ExitUsage, ec.Code)
}

// The engine and the classifier share one store, opened once; Close
// releases it.
func TestFactoryBuildsEachDependencyOnce(t *testing.T) {
	sandbox(t)
	f := quietFactory(t)
	ctx := context.Background()
	d1, err := f.Engine(ctx, EngineOptions{})
	require.NoError(t, err)
	d2, err := f.Engine(ctx, EngineOptions{Offline: true})
	require.NoError(t, err)
	assert.Same(t, d1, d2, "the first call's options win")
	r1, err := f.Classifier(ctx, ClassifierOptions{Offline: true})
	require.NoError(t, err)
	r2, err := f.Classifier(ctx, ClassifierOptions{})
	require.NoError(t, err)
	assert.Same(t, r1, r2)
	s1, err := f.Store()
	require.NoError(t, err)
	s2, _ := f.Store()
	assert.Same(t, s1, s2)
	assert.Equal(t, s1, d1.Cache, "the engine uses the shared store")
	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "closing twice is fine")
	dbs, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "verdict", "*.db"))
	assert.Len(t, dbs, 1, "one database")
}

func TestFactoryWithoutACache(t *testing.T) {
	sandbox(t)
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	f := quietFactory(t)
	f.Viper.Set("cache.dir", filepath.Join(blocker, "sub")) // a file where a directory must be
	d, err := f.Engine(context.Background(), EngineOptions{})
	require.NoError(t, err, "a missing cache is a warning, not a failure")
	_, storeErr := f.Store()
	assert.Error(t, storeErr)
	plan, err := d.Engine.Plan(context.Background(), []ioc.IOC{{Type: ioc.IPv4, Value: "185.1.1.1"}})
	require.NoError(t, err)
	require.NotEmpty(t, plan)
	assert.NoError(t, f.Close())
}

func TestBuildEngineFromTheRegistry(t *testing.T) {
	sandbox(t)
	tests := []struct {
		name         string
		set          map[string]any
		opts         EngineOptions
		wantDisabled string
	}{
		{name: "no key: answers from the cache only", wantDisabled: model.ReasonNoAPIKey},
		{name: "offline wins over a key", set: map[string]any{"cmdutiltest.api_key": "k"}, opts: EngineOptions{Offline: true}, wantDisabled: model.ReasonOffline},
		{name: "happy path: a key", set: map[string]any{"cmdutiltest.api_key": "k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := quietFactory(t)
			for k, v := range tt.set {
				f.Viper.Set(k, v)
			}
			cfg, err := f.Config()
			require.NoError(t, err)
			tt.opts.Logger = f.Logger
			d, err := BuildEngine(context.Background(), cfg, tt.opts)
			require.NoError(t, err)
			assert.Contains(t, d.Engine.Names(), "cmdutiltest")
			plan, err := d.Engine.Plan(context.Background(), []ioc.IOC{{Type: ioc.IPv4, Value: "185.1.1.1"}})
			require.NoError(t, err)
			var line intel.PlanLine
			for _, p := range plan {
				if p.Provider == "cmdutiltest" {
					line = p
				}
			}
			assert.Equal(t, tt.wantDisabled, line.Disabled)
			assert.Equal(t, 1, line.Supported)
		})
	}
}

func TestBuildEngineLoadsFeeds(t *testing.T) {
	sandbox(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.txt"), []byte("185.1.1.1\n"), 0o600))
	f := quietFactory(t)
	f.Viper.Set("feeds.dirs", []string{dir})
	cfg, err := f.Config()
	require.NoError(t, err)
	d, err := BuildEngine(context.Background(), cfg, EngineOptions{Logger: f.Logger})
	require.NoError(t, err)
	require.NotNil(t, d.Feeds)
	f2 := quietFactory(t)
	f2.Viper.Set("feeds.dirs", []string{filepath.Join(dir, "missing")})
	cfg2, err := f2.Config()
	require.NoError(t, err)
	_, err = BuildEngine(context.Background(), cfg2, EngineOptions{Logger: f2.Logger})
	var ec *ExitCodeError
	require.ErrorAs(t, err, &ec, "an unreadable feed is a usage error")
}

func TestBuildClassifier(t *testing.T) {
	sandbox(t)
	f := quietFactory(t)
	cfg, err := f.Config()
	require.NoError(t, err)
	r, err := BuildClassifier(context.Background(), cfg, ClassifierOptions{Offline: true, Logger: f.Logger})
	require.NoError(t, err)
	assert.Empty(t, r.Stats().Model, "offline: the heuristic, no model")
	f2 := quietFactory(t)
	f2.Viper.Set("gemini.api_key", "AIza-test")
	cfg2, err := f2.Config()
	require.NoError(t, err)
	r2, err := BuildClassifier(context.Background(), cfg2, ClassifierOptions{Logger: f2.Logger})
	require.NoError(t, err)
	assert.Equal(t, "gemini-3.5-flash-lite", r2.Stats().Model)
}

func TestBindFlags(t *testing.T) {
	sandbox(t)
	f := quietFactory(t)
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	cmd.Flags().String("cache-dir", "", "")
	require.NoError(t, BindFlags(f, cmd.Flags(), []FlagKey{{Flag: "cache-dir", Key: "cache.dir"}}))
	require.NoError(t, cmd.Flags().Set("cache-dir", "/from/flag"))
	t.Setenv("VERDICT_CACHE_DIR", "/from/env")
	assert.Equal(t, "/from/flag", f.Viper.GetString("cache.dir"), "a flag wins over the environment")
	err := BindFlags(f, cmd.Flags(), []FlagKey{{Flag: "nope", Key: "x"}})
	require.ErrorContains(t, err, "flag --nope is not defined")
}

func TestStringEnumFlag(t *testing.T) {
	t.Parallel()
	var v string
	cmd := &cobra.Command{Use: "x"}
	StringEnumFlag(cmd, &v, "mode", "m", "auto", []string{"auto", "json"}, "input mode")
	assert.Equal(t, "auto", v)
	fl := cmd.Flags().Lookup("mode")
	assert.Equal(t, "input mode: {auto|json}", fl.Usage)
	assert.Equal(t, "m", fl.Shorthand)
	require.NoError(t, fl.Value.Set("JSON"))
	assert.Equal(t, "json", v, "case-insensitive, stored as listed")
	assert.EqualError(t, fl.Value.Set("xml"), "valid values are auto, json")
	assert.Equal(t, "string", fl.Value.Type())
}

func TestOutputFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		flags    OutputFlags
		want     OutputFlags
		wantsErr string
	}{
		{name: "happy path", flags: OutputFlags{FormatList: "json, html", BlocklistMin: "suspicious"},
			want: OutputFlags{FormatList: "json, html", Formats: []report.Format{report.FormatJSON, report.FormatHTML}, BlocklistMin: "SUSPICIOUS", BlocklistFormat: "plain"}},
		{name: "happy path: stdout", flags: OutputFlags{FormatList: "json", Stdout: "MD", BlocklistMin: "MALICIOUS"},
			want: OutputFlags{FormatList: "json", Formats: []report.Format{report.FormatJSON}, Stdout: "md", BlocklistMin: "MALICIOUS", BlocklistFormat: "plain"}},
		{name: "sad path: format", flags: OutputFlags{FormatList: "json,pdf", BlocklistMin: "MALICIOUS"}, wantsErr: `--format: unknown format "pdf"`},
		{name: "sad path: stdout format", flags: OutputFlags{FormatList: "json", Stdout: "pdf", BlocklistMin: "MALICIOUS"}, wantsErr: "--stdout:"},
		{name: "sad path: stdout template", flags: OutputFlags{FormatList: "json", Stdout: "template", BlocklistMin: "MALICIOUS"}, wantsErr: "--stdout template needs --template FILE"},
		{name: "sad path: blocklist min", flags: OutputFlags{FormatList: "json", BlocklistMin: "nope"}, wantsErr: "--blocklist-min:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.flags
			err := o.Parse()
			if tt.wantsErr != "" {
				var fe *FlagError
				require.ErrorAs(t, err, &fe, "a usage error")
				assert.Contains(t, err.Error(), tt.wantsErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, o)
		})
	}
	o := OutputFlags{Dir: "d", Stdout: "csv", Template: "t.tmpl", ExportBlocklist: "b", BlocklistMin: "SUSPICIOUS", Formats: []report.Format{report.FormatJSON}}
	w := io.Discard
	oo := o.OutputOptions("name", w, report.ViewOptions{MaxRows: 5})
	// No --output-name: the default name is made unique, never overwriting.
	assert.Equal(t, report.OutputOptions{Dir: "d", Name: "name", Unique: true, Formats: o.Formats, Stdout: report.FormatCSV, StdoutWriter: w, Template: "t.tmpl",
		View: report.ViewOptions{MaxRows: 5}, Blocklist: "b", BlocklistMin: model.Suspicious}, oo)
}

func TestVerdictCompletion(t *testing.T) {
	t.Parallel()
	got, dir := VerdictCompletion(nil, nil, "")
	assert.Equal(t, []string{"CLEAN", "POTENTIALLY_SUSPICIOUS", "SUSPICIOUS", "MALICIOUS"}, got)
	assert.Equal(t, cobra.ShellCompDirectiveNoFileComp, dir)
}
