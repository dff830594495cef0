package feed

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// writeTree creates files (relative path → content) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	}
	return dir
}

func names(s *Set) []string {
	var out []string
	for _, f := range s.Feeds() {
		out = append(out, f.Name)
	}
	return out
}

func TestLoad_Paths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		files     map[string]string
		paths     func(dir string) []string
		wantNames func(dir string) []string
		wantErr   string
	}{
		{
			name: "happy path: directory walk skips hidden files, docs and licences",
			files: map[string]string{
				"a.txt": "1.1.1.1\n", ".hidden.txt": "2.2.2.2\n", ".git/objects.txt": "3.3.3.3\n",
				"README": "4.4.4.4\n", "readme.txt": "4.4.4.5\n", "LICENSE": "5.5.5.5\n", "notes.md": "6.6.6.6\n",
				"sub/b.netset": "7.7.7.7\n",
			},
			paths:     func(dir string) []string { return []string{dir} },
			wantNames: func(string) []string { return []string{"a.txt", "b.netset"} },
		},
		{
			name:      "happy path: shared base names become relative paths",
			files:     map[string]string{"x/list.txt": "1.1.1.1\n", "y/list.txt": "1.1.1.1\n", "z.txt": "1.1.1.1\n"},
			paths:     func(dir string) []string { return []string{dir} },
			wantNames: func(string) []string { return []string{"x/list.txt", "y/list.txt", "z.txt"} },
		},
		{
			name:  "happy path: same layout under two directories uses full paths",
			files: map[string]string{"d1/list.txt": "1.1.1.1\n", "d2/list.txt": "1.1.1.1\n"},
			paths: func(dir string) []string { return []string{filepath.Join(dir, "d1"), filepath.Join(dir, "d2")} },
			wantNames: func(dir string) []string {
				return []string{filepath.ToSlash(filepath.Join(dir, "d1", "list.txt")), filepath.ToSlash(filepath.Join(dir, "d2", "list.txt"))}
			},
		},
		{
			name:      "happy path: a file given twice loads once",
			files:     map[string]string{"z.txt": "1.1.1.1\n"},
			paths:     func(dir string) []string { return []string{dir, filepath.Join(dir, "z.txt"), dir} },
			wantNames: func(string) []string { return []string{"z.txt"} },
		},
		{
			name:      "happy path: a single file, hidden or not",
			files:     map[string]string{".list": "1.1.1.1\n"},
			paths:     func(dir string) []string { return []string{filepath.Join(dir, ".list")} },
			wantNames: func(string) []string { return []string{".list"} },
		},
		{
			name:      "happy path: no paths",
			paths:     func(string) []string { return nil },
			wantNames: func(string) []string { return nil },
		},
		{
			name:    "sad path: path does not exist",
			paths:   func(dir string) []string { return []string{filepath.Join(dir, "missing")} },
			wantErr: "load feeds",
		},
		{
			name:    "sad path: corrupt gzip",
			files:   map[string]string{"list.txt.gz": "\x1f\x8b\x08\x00garbage"},
			paths:   func(dir string) []string { return []string{dir} },
			wantErr: "list.txt.gz",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, tt.files)
			s, err := Load(tt.paths(dir), quiet())
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantNames(dir), names(s))
		})
	}
}

func TestLoad_Symlink(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"real/list.txt": "1.1.1.1\n"})
	feeds := filepath.Join(dir, "feeds")
	require.NoError(t, os.Mkdir(feeds, 0o755))
	if err := os.Symlink(filepath.Join(dir, "real", "list.txt"), filepath.Join(feeds, "linked.txt")); err != nil {
		t.Skipf("symlinks not supported: %v", err)
	}
	require.NoError(t, os.Symlink(filepath.Join(dir, "real"), filepath.Join(feeds, "linkeddir")))
	s, err := Load([]string{feeds}, quiet())
	require.NoError(t, err)
	assert.Equal(t, []string{"linked.txt"}, names(s))
}

func TestLoad_Unreadable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	dir := writeTree(t, map[string]string{"list.txt": "1.1.1.1\n"})
	require.NoError(t, os.Chmod(filepath.Join(dir, "list.txt"), 0))
	_, err := Load([]string{dir}, quiet())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "list.txt")
}

func TestLookup_MultipleFeeds(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"b.txt": "45.1.1.1\nevil.example.com\n45.2.0.0/16 ; in b\n",
		"a.txt": "45.1.1.1 ; in a\nwww.evil.example.com\n45.2.0.0/16\n45.2.3.4\n",
		"c.txt": "45.0.0.0/8\n",
	})
	s, err := Load([]string{dir}, quiet())
	require.NoError(t, err)
	ctx := context.Background()

	r, err := s.Lookup(ctx, ip("45.1.1.1"))
	require.NoError(t, err)
	assert.Equal(t, []model.FeedMatch{{Feed: "a.txt", Category: "listed", Info: "in a"}, {Feed: "b.txt", Category: "listed"}, {Feed: "c.txt", Category: "listed", Entry: "45.0.0.0/8"}}, r.Matches)

	r, err = s.Lookup(ctx, ip("45.2.3.4"))
	require.NoError(t, err)
	assert.Equal(t, []model.FeedMatch{{Feed: "a.txt", Category: "listed"}, {Feed: "b.txt", Category: "listed", Entry: "45.2.0.0/16", Info: "in b"}, {Feed: "c.txt", Category: "listed", Entry: "45.0.0.0/8"}}, r.Matches,
		"an exact listing wins over the same feed's CIDR")

	r, err = s.Lookup(ctx, dom("www.evil.example.com"))
	require.NoError(t, err)
	assert.Equal(t, []model.FeedMatch{{Feed: "a.txt", Category: "listed"}, {Feed: "b.txt", Category: "listed", Entry: "evil.example.com"}}, r.Matches)
}

// lookupSample is a mix of hits and misses of every type over testdata.
var lookupSample = []ioc.IOC{
	ip("192.9.135.73"), ip("8.8.8.8"), ip("2.56.193.7"), ip("2a06:e480::1"), ip("2001:4860:4860::8888"),
	ip("10.1.2.3"), ip("185.241.208.232"), dom("www.cdn.bad.example.com"), dom("example.org"),
	url("http://zeek-example.net/gate.php?id=1"), url("https://example.com/"),
	sha256("1d233362395405a19be5da8fc1f3fba060e658fb30718a47eedc0925a7226e52"),
	sha256("0000000000000000000000000000000000000000000000000000000000000001"),
	md5("d42595b695fc008ef2c56aabd8efd68e"), sha1("392c59924103a45553b1e4bd1f5845e42d4f1c9b"),
}

func TestLookup_Concurrent(t *testing.T) {
	t.Parallel()
	s := loadTestdata(t)
	ctx := context.Background()
	type answer struct {
		r   model.Result
		err error
	}
	want := make([]answer, len(lookupSample))
	for i, q := range lookupSample {
		want[i].r, want[i].err = s.Lookup(ctx, q)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 200; n++ {
				for i, q := range lookupSample {
					r, err := s.Lookup(ctx, q)
					if err != want[i].err || !assert.ObjectsAreEqual(want[i].r, r) {
						select {
						case errs <- q.String():
						default:
						}
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for q := range errs {
		t.Errorf("concurrent lookup of %s differs from the sequential answer", q)
	}
}

func TestLookup_MissDoesNotAllocate(t *testing.T) {
	s := loadTestdata(t)
	ctx := context.Background()
	for _, q := range []ioc.IOC{
		ip("8.8.8.8"), ip("2001:4860:4860::8888"), dom("a.b.c.example.org"), url("https://example.com/x"),
		sha256("0000000000000000000000000000000000000000000000000000000000000001"), md5("d42595b695fc008ef2c56aabd8efd68e"),
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := s.Lookup(ctx, q); err != intel.ErrNotFound {
				t.Fatalf("%s: %v", q, err)
			}
		})
		assert.Zero(t, allocs, q.String())
	}
}
