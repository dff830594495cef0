package root

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/interrupt"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/triage"
)

// The exit status comes from the error's type alone: the same OS error is
// a runtime failure (1) while running and a usage error (2) only where it
// is typed as unusable input; a message that merely reads like a usage
// error is 1.
func TestExitCode(t *testing.T) {
	t.Parallel()
	canceled := fmt.Errorf("lookups interrupted: %w", context.Canceled)
	tests := []struct {
		name string
		err  error
		want int
	}{
		{name: "happy path: no error", err: nil, want: 0},

		{name: "sad path: EINVAL writing a report is a runtime failure",
			err: fmt.Errorf("write report: %w", &fs.PathError{Op: "write", Path: "reports/x.json", Err: syscall.EINVAL}), want: 1},
		{name: "sad path: EINVAL creating the output directory is a runtime failure",
			err: fmt.Errorf("%w", &fs.PathError{Op: "mkdir", Path: "/mnt/usb/a:b", Err: syscall.EINVAL}), want: 1},
		{name: "sad path: text ending in invalid argument is not a usage error",
			err: errors.New("open /dev/foo: invalid argument"), want: 1},
		{name: "sad path: text of a cobra usage error is not a usage error",
			err: errors.New(`unknown command "x" for "verdict"`), want: 1},
		{name: "sad path: EINVAL opening an input is unusable input",
			err: fmt.Errorf("%w: open %s: %w", triage.ErrInput, "alerts.json", syscall.EINVAL), want: 2},
		{name: "sad path: EACCES creating the output directory is a runtime failure",
			err: fmt.Errorf("create output directory: %w", &fs.PathError{Op: "mkdir", Path: "/srv/reports", Err: syscall.EACCES}), want: 1},
		{name: "sad path: fs.ErrPermission writing the cache is a runtime failure",
			err: fmt.Errorf("put cache entry: %w", fs.ErrPermission), want: 1},
		{name: "sad path: EACCES opening an input is unusable input",
			err: fmt.Errorf("%w: open %s: %w", triage.ErrInput, "/var/log/alerts.json", syscall.EACCES), want: 2},

		{name: "signal: wrapped context.Canceled with SIGINT",
			err: &cmdutil.InterruptedError{Signal: os.Interrupt, Err: canceled}, want: 130},
		{name: "signal: wrapped context.Canceled with SIGTERM",
			err: &cmdutil.InterruptedError{Signal: syscall.SIGTERM, Err: canceled}, want: 143},
		{name: "signal: wrapped again on the way up",
			err: fmt.Errorf("enrich: %w", &cmdutil.InterruptedError{Signal: syscall.SIGTERM, Err: canceled}), want: 143},
		{name: "signal: wins over the input error it cut short",
			err: &cmdutil.InterruptedError{Signal: os.Interrupt, Err: fmt.Errorf("%w: read stdin: %w", triage.ErrInput, context.Canceled)}, want: 130},
		{name: "signal: an error that lost context.Canceled on the way",
			err: &cmdutil.InterruptedError{Signal: syscall.SIGTERM, Err: errors.New("sqlite: interrupted (9)")}, want: 143},
		{name: "sad path: context.Canceled without a signal is a runtime failure", err: canceled, want: 1},
		{name: "sad path: a deadline is a runtime failure", err: fmt.Errorf("lookup: %w", context.DeadlineExceeded), want: 1},

		{name: "input: ErrInput", err: fmt.Errorf("%w: alerts.json: not one record could be read", triage.ErrInput), want: 2},
		{name: "input: --strict", err: &triage.StrictError{Malformed: 2}, want: 2},
		{name: "input: too large to spool", err: fmt.Errorf("load: %w", &triage.InputTooLargeError{Input: "stdin", Limit: 1 << 20}), want: 2},
		{name: "input: a command's InputError", err: cmdutil.InputError(errors.New("load feeds: no such file")), want: 2},

		{name: "config: file that cannot be read", err: fmt.Errorf("%w %s: %w", config.ErrConfigFile, "verdict.yaml", fs.ErrNotExist), want: 2},
		{name: "config: invalid value, as commands return it", err: cmdutil.InputError(errors.New(`virustotal.rate: "lots" is not a rate`)), want: 2},
		{name: "config: unknown key", err: &config.UnknownKeyError{Name: "feeds.dir", File: "verdict.yaml", Suggestion: "feeds.dirs"}, want: 2},
		{name: "config: unknown variable, joined with another",
			err: errors.Join(&config.UnknownKeyError{Name: "VERDICT_VIRUSTOTAL_RAET", Env: true, Suggestion: "VERDICT_VIRUSTOTAL_RATE"}, errors.New("x")), want: 2},
		{name: "config: an unknown key wrapped by the sentinel",
			err: fmt.Errorf("%w: scoring.rulez in verdict.yaml", config.ErrUnknownKey), want: 2},

		{name: "usage: FlagError", err: cmdutil.FlagErrorf("--fail-on: %v", "bad"), want: 2},
		{name: "usage: wrapped FlagError", err: fmt.Errorf("x: %w", &cmdutil.FlagError{Err: errors.New("y")}), want: 2},

		{name: "fail-on: FailOnError", err: &triage.FailOnError{Threshold: model.Malicious, Count: 1}, want: 3},
		{name: "fail-on: explicit code", err: &cmdutil.ExitCodeError{Code: cmdutil.ExitFailOn}, want: 3},
		{name: "silent: already reported", err: cmdutil.ErrSilent, want: 1},
		{name: "write: NewOutput's disk failure", err: fmt.Errorf("run: %w", report.ErrWrite), want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, ExitCode(tt.err))
		})
	}
}

// Main types the error of a run that a signal stopped, from the context's
// cause; a run that finished keeps its own outcome.
func TestInterruptedTypesTheRunError(t *testing.T) {
	t.Parallel()
	sigCtx := func(sig os.Signal) context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(&interrupt.SignalError{Signal: sig})
		return ctx
	}
	plain, cancel := context.WithCancel(context.Background())
	cancel()
	failOn := &triage.FailOnError{Threshold: model.Suspicious, Count: 2}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{name: "SIGINT during the run", ctx: sigCtx(os.Interrupt), err: fmt.Errorf("lookups interrupted: %w", context.Canceled), want: 130},
		{name: "SIGTERM during the run", ctx: sigCtx(syscall.SIGTERM), err: fmt.Errorf("render txt report: %w", context.Canceled), want: 143},
		{name: "SIGTERM, error without context.Canceled", ctx: sigCtx(syscall.SIGTERM), err: errors.New("database is closed"), want: 143},
		{name: "signal after the run finished", ctx: sigCtx(syscall.SIGTERM), err: nil, want: 0},
		{name: "signal after --fail-on decided, reports written", ctx: sigCtx(syscall.SIGTERM), err: failOn, want: 3},
		{name: "cancelled without a signal", ctx: plain, err: context.Canceled, want: 1},
		{name: "no signal: usage error stays", ctx: context.Background(), err: cmdutil.FlagErrorf("bad"), want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := interrupted(tt.ctx, tt.err)
			assert.Equal(t, tt.want, ExitCode(err))
			if tt.want >= 128 {
				var ie *cmdutil.InterruptedError
				require.ErrorAs(t, err, &ie)
				assert.ErrorIs(t, err, tt.err, "what the stopped work returned stays reachable")
			}
		})
	}
}

// Cobra's own usage errors are typed where cobra makes them: each exits 2
// with a usage hint, and a group command refuses an unknown subcommand.
func TestCobraUsageErrorsAreTyped(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantExit   int
		wantStderr []string
	}{
		{name: "sad path: unknown command", args: []string{"frobnicate"}, wantExit: 2,
			wantStderr: []string{`unknown command "frobnicate" for "verdict"`, "Run 'verdict --help' for usage."}},
		{name: "sad path: unknown command with a suggestion", args: []string{"enrch", "x.json"}, wantExit: 2,
			wantStderr: []string{`unknown command "enrch"`, "did you mean enrich?"}},
		{name: "sad path: unknown subcommand of a group", args: []string{"cache", "bogus"}, wantExit: 2,
			wantStderr: []string{`unknown command "bogus" for "verdict cache"`, "Run 'verdict cache --help' for usage."}},
		{name: "sad path: unknown subcommand of completion", args: []string{"completion", "tcsh"}, wantExit: 2,
			wantStderr: []string{`unknown command "tcsh" for "verdict completion"`}},
		{name: "sad path: arguments to a command that takes none", args: []string{"version", "extra"}, wantExit: 2,
			wantStderr: []string{`unknown command "extra" for "verdict version"`, "Run 'verdict version --help'"}},
		{name: "sad path: arguments to a cache subcommand", args: []string{"cache", "stats", "now"}, wantExit: 2},
		{name: "sad path: no report to re-render", args: []string{"report"}, wantExit: 2, wantStderr: []string{"give exactly one JSON report"}},
		{name: "sad path: unknown flag", args: []string{"enrich", "--bogus", "x"}, wantExit: 2, wantStderr: []string{"unknown flag: --bogus"}},
		{name: "sad path: unknown shorthand flag", args: []string{"version", "-z"}, wantExit: 2, wantStderr: []string{"unknown shorthand flag"}},
		{name: "sad path: invalid flag value", args: []string{"enrich", "--input-format", "xml", "x"}, wantExit: 2,
			wantStderr: []string{`invalid argument "xml"`, "valid values are"}},
		{name: "sad path: flags that exclude each other", args: []string{"-v", "-q", "version"}, wantExit: 2,
			wantStderr: []string{"[quiet verbose] were all set", "Run 'verdict version --help'"}},
		{name: "sad path: a command's flags that exclude each other", args: []string{"enrich", "--no-cache", "--refresh", "x"}, wantExit: 2,
			wantStderr: []string{"none of the others can be"}},
		{name: "happy path: a group alone prints its help", args: []string{"cache"}, wantExit: 0, wantStderr: []string{"Available Commands:", "stats"}},
		{name: "happy path: verdict alone prints its help", args: nil, wantExit: 0, wantStderr: []string{"Available Commands:", "enrich"}},
		{name: "happy path: help for a command", args: []string{"help", "enrich"}, wantExit: 0, wantStderr: []string{"--id-per-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox(t)
			res := run(t, "", tt.args...)
			assert.Equal(t, tt.wantExit, res.code, "stderr:\n%s", res.stderr)
			for _, s := range tt.wantStderr {
				assert.Contains(t, res.stderr, s)
			}
			if tt.wantExit == 2 {
				assert.Contains(t, res.stderr, "--help' for usage.", "usage errors point at the help")
			}
		})
	}
}

// A runtime OS error end to end: the output directory cannot be created
// (a file is in the way). That is exit 1 with no usage hint, whatever the
// message says.
func TestOutputDirectoryFailureIsARuntimeError(t *testing.T) {
	sandbox(t)
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	res := run(t, "", "enrich", "--offline", "-o", filepath.Join(blocker, "reports"), "samples/alerts/suricata-eve.ndjson")
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Contains(t, res.stderr, "create output directory")
	assert.NotContains(t, res.stderr, "--help")
}

// Main(nil) is verdict without arguments, never the process's own: cobra
// reads os.Args for nil, which in a test binary holds its flags (-update
// broke make update-golden this way).
func TestMainNilArgsIgnoresOsArgs(t *testing.T) {
	sandbox(t)
	saved := os.Args
	t.Cleanup(func() { os.Args = saved })
	os.Args = []string{saved[0], "--bogus-test-flag"}
	res := run(t, "")
	assert.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "Available Commands:")
}
