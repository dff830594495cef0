package cache

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logBuffer captures a store's warnings.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// Cache paths are file paths, not URIs: '?', '#' and '%' in the directory
// leave the database where it was asked for.
func TestSQLitePathIsAFilePath(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a?b", "cache?mode=memory", "x#y", "50%", "%3F", "sp ace", "semi;colon", "ünï"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := filepath.Join(root, name)
			s, err := Open(dir)
			require.NoError(t, err)
			require.NoError(t, s.Put(ctx, Key{Provider: "p", Value: "v"}, Entry{Status: "found", Data: []byte("{}")}, time.Hour))
			require.NoError(t, s.Close())
			want := filepath.Join(dir, FileName)
			assert.Equal(t, want, s.Path())
			st, err := os.Stat(want)
			require.NoError(t, err, "the database is where it was asked for")
			assert.Positive(t, st.Size())
			entries, err := os.ReadDir(root)
			require.NoError(t, err)
			require.Len(t, entries, 1, "nothing was created beside the directory")
			s2, err := Open(dir)
			require.NoError(t, err)
			defer s2.Close()
			_, ok, err := s2.Get(ctx, Key{Provider: "p", Value: "v"})
			require.NoError(t, err)
			assert.True(t, ok, "reopened from the same file")
		})
	}
}

// filledCache writes a cache with 3000 answers and 3 quota units, closed
// (so the WAL is folded into the file), and returns its path.
func filledCache(t *testing.T, dir string) string {
	t.Helper()
	clk := newClock()
	s, err := Open(dir, WithClock(clk.now))
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err := s.Take(ctx, "virustotal", 10)
		require.NoError(t, err)
	}
	bulkFill(t, s, 3000)
	require.NoError(t, s.Close())
	return s.Path()
}

func corruptPages(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 4096*8)
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	// The second half of the file holds answers only; the quota table's
	// page is one of the first few.
	_, err = f.WriteAt(junk, st.Size()/2/4096*4096)
	require.NoError(t, err)
}

// A corrupt cache is moved aside and replaced, the caller is warned, and
// the run (and cache stats and clear) go on.
func TestSQLiteHealsCorruptFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		corrupt      func(t *testing.T, dir string)
		quickCheck   int64 // 0: default
		atRuntime    bool  // found by a query rather than on open
		quotaSurvive bool
	}{
		{name: "random bytes", corrupt: func(t *testing.T, dir string) {
			b := make([]byte, 64<<10)
			for i := range b {
				b[i] = byte(rand.Uint32())
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), b, 0o600))
		}},
		{name: "a text file", corrupt: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), []byte("not a database\n"), 0o600))
		}},
		{name: "truncated header", corrupt: func(t *testing.T, dir string) {
			p := filledCache(t, dir)
			require.NoError(t, os.Truncate(p, 50))
		}},
		{name: "truncated file", quickCheck: -1, corrupt: func(t *testing.T, dir string) {
			p := filledCache(t, dir)
			st, err := os.Stat(p)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(p, st.Size()*2/5/4096*4096))
		}, quotaSurvive: true},
		{name: "corrupt pages found on open", corrupt: func(t *testing.T, dir string) {
			corruptPages(t, filledCache(t, dir))
		}, quotaSurvive: true},
		{name: "corrupt pages found at runtime", quickCheck: -1, atRuntime: true, corrupt: func(t *testing.T, dir string) {
			corruptPages(t, filledCache(t, dir))
		}, quotaSurvive: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.corrupt(t, dir)
			var logs logBuffer
			opts := []Option{WithLogger(logs.logger()), WithClock(newClock().now)}
			if tt.quickCheck != 0 {
				opts = append(opts, WithQuickCheckLimit(tt.quickCheck))
			}
			s, err := Open(dir, opts...)
			require.NoError(t, err, "a corrupt cache never fails the run")
			defer s.Close()
			if tt.atRuntime {
				assert.NotContains(t, logs.String(), "corrupt", "not checked on open")
			}
			st, err := s.Stats(ctx)
			require.NoError(t, err, "cache stats works on a corrupt file")
			assert.Zero(t, st.Entries, "a fresh cache")
			assert.Contains(t, logs.String(), "cache file was corrupt: moved it aside")
			assert.Equal(t, 1, strings.Count(logs.String(), "moved it aside"), "one warning")

			aside, err := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*"))
			require.NoError(t, err)
			require.NotEmpty(t, aside, "the corrupt file is kept for a post-mortem")
			assert.Regexp(t, `\.corrupt-\d{8}T\d{6}Z$`, aside[0])

			k := Key{Provider: "virustotal", Type: "ipv4", Value: "1.2.3.4"}
			require.NoError(t, s.Put(ctx, k, Entry{Status: "found", Data: []byte("{}")}, time.Hour))
			_, ok, err := s.Get(ctx, k)
			require.NoError(t, err)
			assert.True(t, ok, "the fresh cache works")
			require.NoError(t, s.Clear(ctx), "cache clear works")
			if tt.quotaSurvive {
				n, err := s.Used(ctx, "virustotal")
				require.NoError(t, err)
				assert.Equal(t, 3, n, "today's quota count is salvaged from the corrupt file")
			}
		})
	}
}

// Two processes (handles) finding the same corrupt file move it aside
// once: the second sees that the file was replaced and uses the new one.
func TestSQLiteHealOnceForTwoHandles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	corruptPages(t, filledCache(t, dir))
	a, err := Open(dir, WithQuickCheckLimit(-1), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer a.Close()
	b, err := Open(dir, WithQuickCheckLimit(-1), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer b.Close()
	_, err = a.Stats(ctx) // heals
	require.NoError(t, err)
	k := Key{Provider: "p", Value: "v"}
	require.NoError(t, a.Put(ctx, k, Entry{Status: "found"}, time.Hour))
	_, err = b.Stats(ctx) // finds the corruption through its old handle
	require.NoError(t, err)
	_, ok, err := b.Get(ctx, k)
	require.NoError(t, err)
	assert.True(t, ok, "b now uses the file a made")
	aside, _ := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*Z"))
	assert.Len(t, aside, 1, "moved aside once; the fresh file was left alone")
	for _, suffix := range []string{"-wal", "-shm"} {
		assert.FileExists(t, aside[0]+suffix, "its WAL files moved with it")
	}
}

// A cache written by an earlier verdict (schema version 1) is upgraded in
// place, answers kept.
func TestSQLiteUpgradesVersion1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(dir, FileName), "rw"))
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;` + sqliteMigrations[1] +
		`;INSERT INTO meta VALUES ('schema_version', '1');
		 INSERT INTO entries VALUES ('virustotal', '', 'ipv4', '1.2.3.4', 'found', '{}', 0, 9999999999);`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	s, err := Open(dir)
	require.NoError(t, err)
	defer s.Close()
	_, ok, err := s.Get(ctx, Key{Provider: "virustotal", Type: "ipv4", Value: "1.2.3.4"})
	require.NoError(t, err)
	assert.True(t, ok, "the old answers are kept")
	ok, err = s.Claim(ctx, Key{Value: "x"}, time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "claims work after the upgrade")
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	_, err = s.db.Exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = Open(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer than this verdict supports")
	aside, _ := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*"))
	assert.Empty(t, aside, "a newer cache is not corrupt: it is left alone")
}

// A cache this process cannot write is read and not written, with one
// warning; the quota is then counted in memory on top of the file's. As
// root, permissions do not bind, so the check runs in a child process as
// the user nobody.
func TestSQLiteReadOnly(t *testing.T) {
	t.Parallel()
	for _, variant := range []string{"file and directory", "file only"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			root, err := os.MkdirTemp("", "verdict-ro-")
			require.NoError(t, err)
			t.Cleanup(func() { _ = os.RemoveAll(root) })
			require.NoError(t, os.Chmod(root, 0o755))
			dir := filepath.Join(root, "cache")
			s, err := Open(dir)
			require.NoError(t, err)
			require.NoError(t, s.Put(ctx, Key{Provider: "virustotal", Type: "ipv4", Value: "1.2.3.4"}, Entry{Status: "found", Data: []byte("{}")}, time.Hour))
			for i := 0; i < 2; i++ {
				_, err := s.Take(ctx, "virustotal", 3)
				require.NoError(t, err)
			}
			require.NoError(t, s.Close())
			path := filepath.Join(dir, FileName)
			before, err := os.ReadFile(path)
			require.NoError(t, err)

			cmd := exec.Command(os.Args[0], "-test.run=^TestChild$")
			cmd.Dir = root
			if os.Geteuid() == 0 {
				u, err := user.Lookup("nobody")
				if err != nil {
					t.Skip("running as root without a user nobody to drop to")
				}
				uid, _ := strconv.Atoi(u.Uid)
				gid, _ := strconv.Atoi(u.Gid)
				bin := filepath.Join(root, "cache.test")
				copyFile(t, os.Args[0], bin, 0o755)
				cmd.Path, cmd.Args[0] = bin, bin
				runAs(cmd, uid, gid)
				require.NoError(t, os.Chmod(dir, 0o755))
				require.NoError(t, os.Chmod(path, 0o644))
				if variant == "file only" {
					require.NoError(t, os.Chown(dir, uid, gid)) // nobody may create -shm beside it
				}
			} else {
				require.NoError(t, os.Chmod(path, 0o444))
				if variant == "file and directory" {
					require.NoError(t, os.Chmod(dir, 0o555))
					t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
				}
			}
			c := startChildCmd(t, cmd, "readonly", "sqlite", dir, "HOME="+root)
			lines, err := c.collect()
			require.NoError(t, err, "child: %s\n%s", strings.Join(lines, "\n"), c.stderr())
			assert.Contains(t, lines, "readonly ok")

			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, before, after, "the file was not written")
			require.NoError(t, os.Chmod(dir, 0o755))
			require.NoError(t, os.Chmod(path, 0o644))
			s, err = Open(dir)
			require.NoError(t, err)
			defer s.Close()
			n, err := s.Used(ctx, "virustotal")
			require.NoError(t, err)
			assert.Equal(t, 2, n, "the read-only run's requests were counted in its memory only")
		})
	}
}

func readOnlyChild(t *testing.T) {
	var logs logBuffer
	s, err := Open(os.Getenv(envLoc), WithLogger(logs.logger()))
	require.NoError(t, err, "a read-only cache opens")
	require.True(t, s.ReadOnly())
	k := Key{Provider: "virustotal", Type: "ipv4", Value: "1.2.3.4"}
	_, ok, err := s.Get(ctx, k)
	require.NoError(t, err)
	assert.True(t, ok, "answers in the file are read")
	k2 := Key{Provider: "virustotal", Type: "ipv4", Value: "5.6.7.8"}
	require.NoError(t, s.Put(ctx, k2, Entry{Status: "found", Data: []byte("{}")}, time.Hour))
	_, ok, _ = s.Get(ctx, k2)
	assert.True(t, ok, "this run's answers are kept for this run")
	got, err := s.GetMany(ctx, "virustotal", "", "ipv4", []string{"1.2.3.4", "5.6.7.8", "9.9.9.9"})
	require.NoError(t, err)
	assert.Len(t, got, 2)
	n, err := s.Used(ctx, "virustotal")
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the file's quota count")
	ok, _ = s.Take(ctx, "virustotal", 3)
	assert.True(t, ok)
	ok, _ = s.Take(ctx, "virustotal", 3)
	assert.False(t, ok, "the file's count and this run's together reach the limit")
	n, _ = s.Used(ctx, "virustotal")
	assert.Equal(t, 3, n)
	ok, _ = s.Claim(ctx, k2, time.Minute)
	assert.True(t, ok, "claims work within the run")
	_, err = s.Prune(ctx, 0)
	assert.ErrorIs(t, err, ErrReadOnly)
	assert.ErrorIs(t, s.Clear(ctx), ErrReadOnly)
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.True(t, st.ReadOnly)
	assert.EqualValues(t, 1, st.Entries)
	require.Len(t, st.QuotaUsed, 1)
	assert.EqualValues(t, 3, st.QuotaUsed[0].Used)
	s.Count("virustotal", "ipv4", true)
	require.NoError(t, s.Close())
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "one warning: %s", logs.String())
	assert.Contains(t, logs.String(), "cache is read-only")
	if !t.Failed() {
		fmt.Println("readonly ok")
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, errors.Join(err, out.Close()))
}
