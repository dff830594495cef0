package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
)

// These tests run verdict's real main in a separate process: the test
// binary re-executed with VERDICT_TEST_MAIN=1, which calls main() before
// any test runs. Signals reach it as they reach the installed binary.
func TestMain(m *testing.M) {
	if os.Getenv("VERDICT_TEST_MAIN") == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// exitWithin is how soon after a signal the process must be gone
// (CONTRACT.md, issue 8).
const exitWithin = 2 * time.Second

// sandbox is one child's world: its own temporary directory (TMPDIR, which
// must be empty after every exit), cache, config, home and output directory.
type sandbox struct {
	dir, tmp, cache, out string
	env                  []string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	dir := t.TempDir()
	s := &sandbox{dir: dir, tmp: filepath.Join(dir, "tmp"), cache: filepath.Join(dir, "cache"), out: filepath.Join(dir, "out")}
	require.NoError(t, os.MkdirAll(s.tmp, 0o700))
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "VERDICT_"), strings.HasPrefix(name, "XDG_"), name == "TMPDIR", name == "HOME",
			strings.HasSuffix(name, "_API_KEY"):
			continue // the user's configuration stays out of the test
		}
		s.env = append(s.env, kv)
	}
	s.env = append(s.env, "VERDICT_TEST_MAIN=1", "TMPDIR="+s.tmp, "HOME="+dir,
		"XDG_CACHE_HOME="+s.cache, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	return s
}

func (s *sandbox) setenv(kv ...string) { s.env = append(s.env, kv...) }

// assertClean checks that nothing was left behind: no temporary file or
// spool in TMPDIR, and no report, whole or partial, in the output
// directory.
func (s *sandbox) assertClean(t *testing.T) {
	t.Helper()
	assert.Empty(t, list(t, s.tmp), "TMPDIR holds no temporary file or spool")
	assert.Empty(t, list(t, s.out), "no report and no temporary report in the output directory")
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if p != dir {
			out = append(out, strings.TrimPrefix(p, dir+string(filepath.Separator)))
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// child is a running verdict.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	lines  chan struct{} // closed and replaced at each stderr line
	done   chan struct{} // closed once the process has exited
	exitAt time.Time
	code   int
}

// start runs verdict with args in s; stdin and stdout may be nil.
func start(t *testing.T, s *sandbox, stdin io.Reader, stdout io.Writer, args ...string) *child {
	t.Helper()
	c := &child{t: t, lines: make(chan struct{}), done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], args...)
	c.cmd.Dir = s.dir
	c.cmd.Env = s.env
	c.cmd.Stdin = stdin
	c.cmd.Stdout = stdout
	errPipe, err := c.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	go func() {
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(sc.Text() + "\n")
			close(c.lines)
			c.lines = make(chan struct{})
			c.mu.Unlock()
		}
		_ = c.cmd.Wait()
		c.mu.Lock()
		c.exitAt, c.code = time.Now(), c.cmd.ProcessState.ExitCode()
		c.mu.Unlock()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// Stderr is what the child wrote to stderr so far.
func (c *child) Stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// waitFor waits until stderr holds s: a readiness signal, never a sleep.
func (c *child) waitFor(s string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		have, next := strings.Contains(c.stderr.String(), s), c.lines
		c.mu.Unlock()
		if have {
			return
		}
		select {
		case <-next:
		case <-c.done:
			require.Contains(c.t, c.Stderr(), s, "verdict exited with %d first", c.code)
			return
		case <-deadline.C:
			require.FailNow(c.t, "timed out waiting for stderr", "want %q; stderr so far:\n%s", s, c.Stderr())
		}
	}
}

// signal sends sig and returns when it was sent.
func (c *child) signal(sig os.Signal) time.Time {
	c.t.Helper()
	require.NoError(c.t, c.cmd.Process.Signal(sig))
	return time.Now()
}

// exit waits for the process to end, at most limit after sent (the
// signal), and returns its exit code.
func (c *child) exit(sent time.Time, limit time.Duration) int {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(limit + 10*time.Second): // well past the limit: a hang
		require.FailNow(c.t, "verdict did not exit after the signal", "stderr:\n%s", c.Stderr())
	}
	took := c.exitAt.Sub(sent)
	c.t.Logf("exit %d, %s after sent", c.code, took.Round(time.Millisecond))
	assert.LessOrEqual(c.t, took, limit, "exit took %s after the signal", took)
	return c.code
}

// alertsFile writes n NDJSON alerts; alert i talks to public IP i.
func alertsFile(t *testing.T, dir string, n int, pad int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id":"a%d","dst_ip":"%s","msg":"beacon from host-%d %s"}`+"\n", i, ip(i), i, strings.Repeat("x", pad))
	}
	p := filepath.Join(dir, "alerts.ndjson")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

func ip(i int) string { return fmt.Sprintf("185.%d.%d.%d", 10+i/62500, (i/250)%250, 1+i%250) }

var signals = []struct {
	name string
	sig  syscall.Signal
	code int
}{
	{name: "SIGTERM", sig: syscall.SIGTERM, code: 143},
	{name: "SIGINT", sig: syscall.SIGINT, code: 130},
}

// A signal during the lookups: exit 130/143 at once, the answers received
// are in the cache, nothing is left behind.
func TestSignalDuringLookups(t *testing.T) {
	for _, sg := range signals {
		t.Run(sg.name, func(t *testing.T) {
			const answered = 5
			const key = "vt-signal-test-key-0123456789abcdef0123456789abcdef"
			s := newSandbox(t)
			vt := inteltest.NewVirusTotal(t, key)
			for i := range 40 {
				vt.Set(ip(i), inteltest.VTObject{Malicious: 1})
			}
			// The fake answers the first lookups, then holds every request
			// until the client gives up: a provider that has gone slow.
			var n atomic.Int32
			stuck := make(chan struct{})
			release := make(chan struct{})
			gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) <= answered {
					vt.Config.Handler.ServeHTTP(w, r)
					return
				}
				if n.Load() == answered+1 {
					close(stuck)
				}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}))
			t.Cleanup(gate.Close)
			t.Cleanup(func() { close(release) })
			s.setenv("VIRUSTOTAL_API_KEY="+key, "VERDICT_VIRUSTOTAL_BASE_URL="+gate.URL+"/api/v3",
				"VERDICT_VIRUSTOTAL_RATE=0", "VERDICT_VIRUSTOTAL_CONCURRENCY=1",
				"VERDICT_HTTP_TIMEOUT=120s", "VERDICT_HTTP_MAX_RETRIES=0")
			in := alertsFile(t, s.dir, 40, 0)

			c := start(t, s, nil, nil, "enrich", "-o", s.out, "-f", "json,txt,html", in)
			select {
			case <-stuck: // readiness: five answered, the sixth in flight
			case <-c.done:
				require.FailNow(t, "verdict exited before the lookups", "stderr:\n%s", c.Stderr())
			case <-time.After(60 * time.Second):
				require.FailNow(t, "the lookups never reached the fake", "stderr:\n%s", c.Stderr())
			}
			sent := c.signal(sg.sig)
			assert.Equal(t, sg.code, c.exit(sent, exitWithin), "stderr:\n%s", c.Stderr())
			assert.Contains(t, c.Stderr(), "interrupted by "+sg.name)
			assert.NotContains(t, c.Stderr(), "panic")
			s.assertClean(t)

			// What was answered is in the cache: open it and count.
			store, err := cache.OpenStore(context.Background(), cache.StoreOptions{Dir: filepath.Join(s.cache, "verdict")})
			require.NoError(t, err)
			defer store.Close()
			st, err := store.Stats(context.Background())
			require.NoError(t, err)
			var entries int64
			for _, g := range st.Groups {
				if g.Provider == "virustotal" {
					entries += g.Entries
				}
			}
			assert.EqualValues(t, answered, entries, "every answer received before the signal is cached, the one in flight is not")
		})
	}
}

// A signal while reports are rendered: no report, whole or partial, and
// no temporary file is left.
func TestSignalDuringRendering(t *testing.T) {
	for _, sg := range signals {
		t.Run(sg.name, func(t *testing.T) {
			s := newSandbox(t)
			// Every alert gets a detail section and a row: rendering a big
			// batch takes seconds, long enough to be caught in the middle.
			s.setenv("VERDICT_REPORT_MAX_DETAILS=1000000", "VERDICT_REPORT_MAX_ROWS=1000000")
			in := alertsFile(t, s.dir, 12000, 200)

			c := start(t, s, nil, nil, "enrich", "--offline", "--no-cache", "-o", s.out, "--output-name", "r", "-f", "json,txt,html", in)
			c.waitFor("writing reports", 120*time.Second)
			// Readiness: the text or HTML report is being rendered into its
			// temporary file.
			rendering := func() bool {
				for _, name := range list(t, s.out) {
					if strings.HasPrefix(name, ".r.txt.tmp-") || strings.HasPrefix(name, ".r.html.tmp-") {
						if st, err := os.Stat(filepath.Join(s.out, name)); err == nil && st.Size() > 0 {
							return true
						}
					}
				}
				return false
			}
			deadline := time.Now().Add(120 * time.Second)
			for !rendering() {
				select {
				case <-c.done:
					require.FailNow(t, "verdict finished before it was interrupted", "stderr:\n%s", c.Stderr())
				case <-time.After(5 * time.Millisecond):
				}
				require.True(t, time.Now().Before(deadline), "rendering never started")
			}
			sent := c.signal(sg.sig)
			assert.Equal(t, sg.code, c.exit(sent, exitWithin), "stderr:\n%s", c.Stderr())
			assert.Contains(t, c.Stderr(), "interrupted by "+sg.name)
			s.assertClean(t)
		})
	}
}

// A signal while standard input is spooled from a pipe that never ends:
// the spool goes with the process.
func TestSignalDuringStdinSpool(t *testing.T) {
	for _, sg := range signals {
		t.Run(sg.name, func(t *testing.T) {
			s := newSandbox(t)
			pr, pw, err := os.Pipe()
			require.NoError(t, err)
			t.Cleanup(func() { pw.Close() })
			c := start(t, s, pr, nil, "enrich", "--offline", "--no-cache", "-o", s.out, "-")
			pr.Close() // the child has its own copy

			// Readiness: a pipe write returns only once the reader has taken
			// most of it, so after 4 MiB the spool is well under way. The
			// writer never closes: the input never ends.
			chunk := []byte(strings.Repeat(`{"id":"s","dst_ip":"185.10.0.1"}`+"\n", 1<<10))
			for written := 0; written < 4<<20; written += len(chunk) {
				_, err := pw.Write(chunk)
				require.NoError(t, err, "stderr:\n%s", c.Stderr())
			}
			require.NotEmpty(t, list(t, s.tmp), "the spool is in TMPDIR")
			sent := c.signal(sg.sig)
			assert.Equal(t, sg.code, c.exit(sent, exitWithin), "stderr:\n%s", c.Stderr())
			s.assertClean(t)
		})
	}
}

// input.max_bytes bounds a spooled input: exit 2 naming the input and the
// limit, and no spool left.
func TestSpoolLimitEndToEnd(t *testing.T) {
	s := newSandbox(t)
	s.setenv("VERDICT_INPUT_MAX_BYTES=1MiB")
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { pw.Close() })
	c := start(t, s, pr, nil, "enrich", "--offline", "--no-cache", "-o", s.out, "-")
	pr.Close()
	go func() {
		line := []byte(strings.Repeat(`{"id":"s","dst_ip":"185.10.0.1"}`+"\n", 1<<10))
		for {
			if _, err := pw.Write(line); err != nil {
				return // the reader has gone
			}
		}
	}()
	assert.Equal(t, 2, c.exit(time.Now(), time.Minute), "stderr:\n%s", c.Stderr())
	assert.Contains(t, c.Stderr(), "stdin is larger than 1 MiB, the limit for standard input, pipes and devices (input.max_bytes)")
	s.assertClean(t)
}
