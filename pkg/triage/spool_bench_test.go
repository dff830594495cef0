package triage

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkSpool copies 64 MiB of standard input into the spool with its
// limit and context checks, beside a plain io.Copy for comparison.
func BenchmarkSpool(b *testing.B) {
	const size = 64 << 20
	run := func(b *testing.B, copyFn func(w *os.File, r io.Reader) error) {
		dir := b.TempDir()
		b.SetBytes(size)
		for b.Loop() {
			f, err := os.Create(filepath.Join(dir, "spool"))
			if err != nil {
				b.Fatal(err)
			}
			if err := copyFn(f, io.LimitReader(endless{}, size)); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	}
	b.Run("copySpool", func(b *testing.B) {
		run(b, func(w *os.File, r io.Reader) error {
			return copySpool(context.Background(), w, r, DefaultMaxSpoolBytes, "stdin")
		})
	})
	b.Run("io.Copy", func(b *testing.B) {
		run(b, func(w *os.File, r io.Reader) error { _, err := io.Copy(w, r); return err })
	})
}
