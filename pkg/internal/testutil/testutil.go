// Package testutil holds helpers shared by tests: golden files and the
// location of the optional ../shared sample corpus.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate testutil source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// SharedSamples returns ../shared/samples-real/<sub> next to the repository,
// or skips the test when that corpus is absent (a user's clone, CI).
// VERDICT_SHARED_SAMPLES overrides the location.
func SharedSamples(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("VERDICT_SHARED_SAMPLES")
	if base == "" {
		base = filepath.Join(RepoRoot(t), "..", "shared", "samples-real")
	}
	dir := filepath.Join(base, sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared sample corpus not present at %s (only available next to the development checkout)", dir)
	}
	return dir
}

// packageDir is the test's package directory: the working directory when
// the test binary starts, before any test calls t.Chdir.
var packageDir, _ = os.Getwd()

// Golden compares got with testdata/golden/<TestName>.golden, rewriting the
// file first when update is true.
func Golden(t testing.TB, update bool, got []byte) {
	t.Helper()
	path := filepath.Join(packageDir, "testdata", "golden", sanitize(t.Name())+".golden")
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", path, diff(string(want), string(got)))
	}
}

func sanitize(name string) string {
	out := []byte(name)
	for i, c := range out {
		switch c {
		case '/', '\\', ':', ' ', '*', '?', '"', '<', '>', '|':
			out[i] = '_'
		}
	}
	return string(out)
}
