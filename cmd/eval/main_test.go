package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSet writes a one-alert set and a stand-in verdict binary: a shell
// script that logs its arguments and writes the report a classify run would
// write, labelling the alert offLabel offline and modelLabel in the model
// run (output name "model"), with tokens in the model run.
func fakeSet(t *testing.T, offLabel, modelLabel string) (setDir, verdict, argLog string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as a stand-in for the verdict binary")
	}
	dir := t.TempDir()
	setDir = filepath.Join(dir, "set")
	require.NoError(t, os.MkdirAll(filepath.Join(setDir, "alerts"), 0o755))
	alertFile := filepath.Join(setDir, "alerts", "a.json")
	require.NoError(t, os.WriteFile(alertFile, []byte(`[{"alert_id":"A-1"}]`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(setDir, "labels.csv"),
		[]byte("file,id,label,rationale,source,licence\na.json,A-1,TRUE_POSITIVE,C2 beacon,written for verdict,verdict\n"), 0o644))
	argLog = filepath.Join(dir, "args.log")
	verdict = filepath.Join(dir, "verdict")
	script := fmt.Sprintf(`#!/bin/sh
echo "$*" >> %q
out=""; name=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2;;
    --output-name) name="$2"; shift 2;;
    *) shift;;
  esac
done
label=%q; src=heuristic; tok=0; cost=0
if [ "$name" = model ]; then label=%q; src=gemini; tok=800; cost=0.0006; fi
printf '{"schema_version":1,"alerts":[{"id":"A-1","source":{"file":%q,"record":1},"risk":{"score":0,"verdict":"CLEAN"},"classification":{"label":"%%s","source":"%%s","confidence":60,"reasoning":["r"],"prompt_tokens":%%s,"output_tokens":100,"thought_tokens":0,"cost_usd":%%s}}]}' "$label" "$src" "$tok" "$cost" > "$out/$name.json"
`, argLog, offLabel, modelLabel, alertFile)
	require.NoError(t, os.WriteFile(verdict, []byte(script), 0o755))
	return setDir, verdict, argLog
}

func env(vals map[string]string) func(string) string {
	return func(k string) string { return vals[k] }
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      func(set, verdict string) []string
		env       map[string]string
		offLabel  string
		wantCode  int
		wantOut   []string
		notOut    []string
		wantErr   []string
		wantCalls []string // substrings of each verdict call, in order
	}{
		{
			name:      "happy path: heuristic only, no key",
			args:      func(set, v string) []string { return []string{"-set", set, "-verdict", v, "-feeds", "f1"} },
			offLabel:  "TRUE_POSITIVE",
			wantOut:   []string{"(heuristic) on ", "accuracy                    1.000  (1 of 1", "classification sources: heuristic 1", "model: not run"},
			notOut:    []string{"with the model"},
			wantCalls: []string{"classify --offline --no-cache --feeds f1 --config "},
		},
		{
			name:     "happy path: GEMINI_API_KEY set runs the model over the offline report",
			args:     func(set, v string) []string { return []string{"-set", set, "-verdict", v} },
			env:      map[string]string{"GEMINI_API_KEY": "secret-key-value"},
			offLabel: "FALSE_POSITIVE",
			wantOut: []string{"dangerous errors            1", "a.json A-1",
				"with the model (over the offline report", "classification sources: gemini 1", "tokens per alert: 800.0 prompt, 100.0 output", "cost per alert: $0.000600"},
			notOut:    []string{"secret-key-value", "model: not run"},
			wantCalls: []string{"classify --offline --no-cache --feeds samples/feeds", "classify --no-cache --config "},
		},
		{
			name:      "happy path: -model off wins over the key",
			args:      func(set, v string) []string { return []string{"-set", set, "-verdict", v, "-model", "off"} },
			env:       map[string]string{"GEMINI_API_KEY": "k"},
			offLabel:  "TRUE_POSITIVE",
			wantOut:   []string{"model: not run"},
			wantCalls: []string{"--offline"},
		},
		{
			name:     "happy path: -v lists the wrong alerts",
			args:     func(set, v string) []string { return []string{"-set", set, "-verdict", v, "-v"} },
			offLabel: "NEEDS_REVIEW",
			wantOut:  []string{"wrong alerts:", "wrong  a.json A-1 (record 1): truth TP, predicted NR", "truth:      C2 beacon"},
		},
		{
			name:     "sad path: an unknown -model",
			args:     func(set, v string) []string { return []string{"-set", set, "-verdict", v, "-model", "maybe"} },
			wantCode: 2,
			wantErr:  []string{`-model "maybe"`},
		},
		{
			name:     "sad path: stray arguments",
			args:     func(set, v string) []string { return []string{"-set", set, "extra"} },
			wantCode: 2,
			wantErr:  []string{"unexpected arguments: extra"},
		},
		{
			name:     "sad path: unknown flag",
			args:     func(set, v string) []string { return []string{"-nope"} },
			wantCode: 2,
			wantErr:  []string{"flag provided but not defined: -nope"},
		},
		{
			name:     "happy path: -h",
			args:     func(set, v string) []string { return []string{"-h"} },
			wantCode: 0,
			wantErr:  []string{"usage: eval [flags]"},
		},
		{
			name:     "sad path: the set has no labels file",
			args:     func(set, v string) []string { return []string{"-set", filepath.Dir(set), "-verdict", v} },
			wantCode: 1,
			wantErr:  []string{"eval: open labels"},
		},
		{
			name:     "sad path: verdict is missing",
			args:     func(set, v string) []string { return []string{"-set", set, "-verdict", v + "-missing"} },
			wantCode: 1,
			wantErr:  []string{"eval: run verdict classify"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, verdict, argLog := fakeSet(t, tt.offLabel, "TRUE_POSITIVE")
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args(set, verdict), &out, &errOut, env(tt.env))
			assert.Equal(t, tt.wantCode, code, "stderr: %s", errOut.String())
			for _, w := range tt.wantOut {
				assert.Contains(t, out.String(), w)
			}
			for _, w := range tt.notOut {
				assert.NotContains(t, out.String()+errOut.String(), w)
			}
			for _, w := range tt.wantErr {
				assert.Contains(t, errOut.String(), w)
			}
			if tt.wantCalls != nil {
				data, err := os.ReadFile(argLog)
				require.NoError(t, err)
				calls := strings.Split(strings.TrimSpace(string(data)), "\n")
				require.Len(t, calls, len(tt.wantCalls), "%q", calls)
				for i, w := range tt.wantCalls {
					assert.Contains(t, calls[i], w)
				}
			}
		})
	}
}

func TestRunBrokenSetExitsNonZero(t *testing.T) {
	t.Parallel()
	set, verdict, _ := fakeSet(t, "TRUE_POSITIVE", "TRUE_POSITIVE")
	// A second label for an alert the report does not have.
	f, err := os.OpenFile(filepath.Join(set, "labels.csv"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("a.json,A-2,FALSE_POSITIVE,noise,written for verdict,verdict\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-set", set, "-verdict", verdict}, &out, &errOut, env(nil))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "labelled set is broken: 1 problem(s)")
	assert.Contains(t, errOut.String(), "label with no alert: a.json A-2")
}

func TestRunBaselineComparison(t *testing.T) {
	t.Parallel()
	set, verdict, _ := fakeSet(t, "FALSE_POSITIVE", "TRUE_POSITIVE")
	require.NoError(t, os.WriteFile(filepath.Join(set, "baseline.json"),
		[]byte(`{"classifier":"heuristic","alerts":1,"correct":1,"accuracy":1,"dangerous_errors":[]}`), 0o644))
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-set", set, "-verdict", verdict}, &out, &errOut, env(nil))
	assert.Equal(t, 0, code, "make eval reports a regression; the test TestHeuristicBaseline fails on it")
	assert.Contains(t, out.String(), "worse: accuracy fell from 1.0000 (1/1) to 0.0000 (0/1)")
	assert.Contains(t, out.String(), "worse: new dangerous error (a true positive classified FALSE_POSITIVE): a.json A-1")
}
