package cache

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
)

// Multi-process tests: the test binary runs itself as child processes
// (TestChild, selected by VERDICT_TEST_CACHE_CHILD), each with its own handle on
// one SQLite file or PostgreSQL database.

const (
	envChild = "VERDICT_TEST_CACHE_CHILD" // the child's mode
	envKind  = "VERDICT_CACHE_KIND"       // "sqlite" or "postgres"
	envLoc   = "VERDICT_CACHE_LOC"        // directory or URL
)

// child is a running child process.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	errb  *strings.Builder
	mu    sync.Mutex
}

func startChild(t *testing.T, mode, kind, loc string, env ...string) *child {
	t.Helper()
	return startChildCmd(t, exec.Command(os.Args[0], "-test.run=^TestChild$"), mode, kind, loc, env...)
}

func startChildCmd(t *testing.T, cmd *exec.Cmd, mode, kind, loc string, env ...string) *child {
	t.Helper()
	cmd.Env = append(os.Environ(), envChild+"="+mode, envKind+"="+kind, envLoc+"="+loc)
	cmd.Env = append(cmd.Env, env...)
	c := &child{cmd: cmd, lines: make(chan string, 1024), errb: &strings.Builder{}}
	var err error
	c.in, err = cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.errb.Write(p)
	})
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	return c
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// await reads lines until one starts with prefix and returns the rest.
func (c *child) await(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	var seen []string // a failing child's testing output is on stdout
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before %q:\nstdout: %s\nstderr: %s", prefix, strings.Join(seen, "\n"), c.stderr())
			}
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return rest
			}
			seen = append(seen, l)
		case <-timeout:
			t.Fatalf("child never printed %q: %s", prefix, c.stderr())
		}
	}
}

// collect reads every line until the child exits, and its exit error.
func (c *child) collect() ([]string, error) {
	var out []string
	for l := range c.lines {
		out = append(out, l)
	}
	return out, c.cmd.Wait()
}

func (c *child) stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errb.String()
}

// startTogether starts n children and releases them at once, so that they
// race for real.
func startTogether(t *testing.T, n int, start func(i int) *child) []*child {
	t.Helper()
	kids := make([]*child, n)
	for i := range kids {
		kids[i] = start(i)
	}
	for _, k := range kids {
		k.await(t, "ready")
	}
	for _, k := range kids {
		_, err := io.WriteString(k.in, "go\n")
		require.NoError(t, err)
	}
	return kids
}

// sqlStores runs fn for SQLite and PostgreSQL: the stores that processes
// share.
func sqlStores(t *testing.T, fn func(t *testing.T, kind, loc string)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var loc string
			if kind == "sqlite" {
				loc = t.TempDir()
			} else {
				loc = pgtest.NewDatabase(t)
			}
			fn(t, kind, loc)
		})
	}
}

// TestChild is the body of every child process.
func TestChild(t *testing.T) {
	mode := os.Getenv(envChild)
	if mode == "" {
		t.Skip("runs only as a child of the multi-process tests")
	}
	kind, loc := os.Getenv(envKind), os.Getenv(envLoc)
	ready := func() {
		fmt.Println("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	open := func() Store {
		switch kind {
		case "sqlite":
			s, err := Open(loc)
			require.NoError(t, err)
			return s
		case "postgres":
			s, err := OpenPostgres(context.Background(), loc)
			require.NoError(t, err)
			return s
		}
		t.Fatalf("kind %q", kind)
		return nil
	}
	switch mode {
	case "open":
		ready()
		s := open()
		require.NoError(t, s.Close())
		fmt.Println("opened")
	case "writer":
		s := open()
		for i := 0; ; i++ {
			k := Key{Provider: "virustotal", Type: "ipv4", Value: fmt.Sprintf("198.51.%d.%d", i/256, i%256)}
			require.NoError(t, s.Put(context.Background(), k, Entry{Status: "found", Data: []byte(`{"status":"found"}`)}, time.Hour))
			fmt.Printf("committed %d\n", i+1)
		}
	case "quota":
		s := open()
		limit, _ := strconv.Atoi(os.Getenv("VERDICT_CACHE_LIMIT"))
		ready()
		var granted atomic.Int64
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ok, err := s.Take(context.Background(), "virustotal", limit)
					if !assert.NoError(t, err) || !ok {
						return
					}
					granted.Add(1)
				}
			}()
		}
		wg.Wait()
		require.NoError(t, s.Close())
		fmt.Printf("granted %d\n", granted.Load())
	case "claims":
		s := open()
		keys := strings.Split(os.Getenv("VERDICT_CACHE_KEYS"), ",")
		server := os.Getenv("VERDICT_CACHE_SERVER")
		ready()
		work := make(chan string)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for v := range work {
					k := Key{Provider: "abuseipdb", Params: "maxAgeInDays=90", Type: "ipv4", Value: v}
					_, hit, claimed, err := AwaitOrClaim(context.Background(), s, k, 30*time.Second, 5*time.Millisecond)
					require.NoError(t, err)
					switch {
					case hit:
						mu.Lock()
						fmt.Printf("hit %s\n", v)
						mu.Unlock()
					case claimed:
						resp, err := http.Get(server + "/check?ip=" + v)
						require.NoError(t, err)
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						require.NoError(t, s.Put(context.Background(), k, Entry{Status: "found", Data: body}, time.Hour))
						mu.Lock()
						fmt.Printf("asked %s\n", v)
						mu.Unlock()
					default:
						t.Errorf("neither hit nor claimed: %s", v)
					}
				}
			}()
		}
		for _, k := range keys {
			work <- k
		}
		close(work)
		wg.Wait()
		require.NoError(t, s.Close())
		fmt.Println("done")
	case "rate":
		s := open()
		ready()
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Go(func() {
				for i := 0; i < 25; i++ {
					var saw uint64
					assert.NoError(t, s.(Rates).UpdateRate(context.Background(), "virustotal", counterFn(&saw)))
				}
			})
		}
		wg.Wait()
		require.NoError(t, s.Close())
		fmt.Println("done")
	case "readonly":
		readOnlyChild(t)
	default:
		t.Fatalf("unknown child mode %q", mode)
	}
}

// kill -9 mid-run keeps every answered lookup: a child writes entries as
// fast as it can, is SIGKILLed, and the store, reopened, holds every entry
// the child reported as committed.
func TestStoreSurvivesKill9(t *testing.T) {
	t.Parallel()
	sqlStores(t, func(t *testing.T, kind, loc string) {
		c := startChild(t, "writer", kind, loc)
		committed := 0
		for committed < 200 {
			n, err := strconv.Atoi(c.await(t, "committed "))
			require.NoError(t, err)
			committed = n
		}
		require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
		_, _ = c.collect()
		s := openKind(t, kind, loc)
		values := make([]string, committed)
		for i := range values {
			values[i] = fmt.Sprintf("198.51.%d.%d", i/256, i%256)
		}
		got, err := s.GetMany(ctx, "virustotal", "", "ipv4", values)
		require.NoError(t, err, "the store must open and read after a kill -9")
		for _, v := range values {
			require.Contains(t, got, v, "entry %s was committed before the kill but is missing", v)
		}
		require.NoError(t, s.Put(ctx, Key{Provider: "p", Value: "after"}, Entry{Status: "found"}, time.Hour), "and take writes")
	})
}

// Several processes, each with several goroutines, never take more than
// the shared daily quota, and take all of it.
func TestQuotaAcrossProcesses(t *testing.T) {
	t.Parallel()
	sqlStores(t, func(t *testing.T, kind, loc string) {
		const limit = 60
		openKind(t, kind, loc) // migrate before the race, so it is the quota that races
		kids := startTogether(t, 4, func(int) *child {
			return startChild(t, "quota", kind, loc, "VERDICT_CACHE_LIMIT="+strconv.Itoa(limit))
		})
		total := 0
		for _, k := range kids {
			n, err := strconv.Atoi(k.await(t, "granted "))
			require.NoError(t, err)
			_, err = k.collect()
			require.NoError(t, err, k.stderr())
			total += n
		}
		assert.Equal(t, limit, total, "a request is counted exactly once, across processes")
		s := openKind(t, kind, loc)
		used, err := s.Used(ctx, "virustotal")
		require.NoError(t, err)
		assert.Equal(t, limit, used)
	})
}

// The rate window's read-modify-write is atomic across processes: four
// processes, four goroutines each, add to one counter through UpdateRate,
// and no update is lost.
func TestUpdateRateAcrossProcesses(t *testing.T) {
	t.Parallel()
	sqlStores(t, func(t *testing.T, kind, loc string) {
		openKind(t, kind, loc)
		kids := startTogether(t, 4, func(int) *child { return startChild(t, "rate", kind, loc) })
		for _, k := range kids {
			k.await(t, "done")
			_, err := k.collect()
			require.NoError(t, err, k.stderr())
		}
		var total uint64
		require.NoError(t, openKind(t, kind, loc).(Rates).UpdateRate(ctx, "virustotal", counterFn(&total)))
		assert.Equal(t, uint64(4*4*25), total)
	})
}

// Four processes on overlapping shards of one corpus ask about each
// indicator once: a fake server counts the requests.
func TestNoIndicatorAskedTwiceAcrossProcesses(t *testing.T) {
	t.Parallel()
	sqlStores(t, func(t *testing.T, kind, loc string) {
		var mu sync.Mutex
		asked := map[string]int{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			asked[r.URL.Query().Get("ip")]++
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // long enough for the others to want it too
			fmt.Fprintf(w, `{"ip":%q}`, r.URL.Query().Get("ip"))
		}))
		defer srv.Close()
		const unique, procs = 80, 4
		corpus := make([]string, unique)
		for i := range corpus {
			corpus[i] = fmt.Sprintf("192.0.2.%d", i)
		}
		openKind(t, kind, loc)
		total := 0
		kids := startTogether(t, procs, func(i int) *child {
			// Shard i is 40 indicators starting 10 before its own 20: each
			// indicator is in two shards. Each process goes in its own order.
			var shard []string
			for j := 20*i - 10; j < 20*i+30; j++ {
				shard = append(shard, corpus[(j+unique)%unique])
			}
			r := rand.New(rand.NewPCG(uint64(i), 1))
			r.Shuffle(len(shard), func(a, b int) { shard[a], shard[b] = shard[b], shard[a] })
			total += len(shard)
			return startChild(t, "claims", kind, loc, "VERDICT_CACHE_KEYS="+strings.Join(shard, ","), "VERDICT_CACHE_SERVER="+srv.URL)
		})
		hits, asks := 0, 0
		for _, k := range kids {
			lines, err := k.collect()
			require.NoError(t, err, k.stderr())
			for _, l := range lines {
				switch {
				case strings.HasPrefix(l, "hit "):
					hits++
				case strings.HasPrefix(l, "asked "):
					asks++
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		assert.Len(t, asked, unique, "every indicator was asked")
		for ip, n := range asked {
			assert.Equal(t, 1, n, "%s was asked %d times", ip, n)
		}
		assert.Equal(t, unique, asks)
		assert.Equal(t, total-unique, hits, "every other lookup was answered by the cache")
	})
}

// Ten processes starting at once against an empty database migrate it
// once, and all of them start.
func TestMigrateOnceTenProcesses(t *testing.T) {
	t.Parallel()
	sqlStores(t, func(t *testing.T, kind, loc string) {
		kids := startTogether(t, 10, func(int) *child { return startChild(t, "open", kind, loc) })
		for _, k := range kids {
			k.await(t, "opened")
			_, err := k.collect()
			require.NoError(t, err, k.stderr())
		}
		checkMigratedOnce(t, kind, loc)
	})
}

func TestMigrateOnceTenGoroutines(t *testing.T) {
	t.Parallel()
	sqlStores(t, func(t *testing.T, kind, loc string) {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var s Store
				var err error
				if kind == "sqlite" {
					s, err = Open(loc)
				} else {
					s, err = OpenPostgres(ctx, loc)
				}
				if assert.NoError(t, err) {
					assert.NoError(t, s.Close())
				}
			}()
		}
		close(start)
		wg.Wait()
		checkMigratedOnce(t, kind, loc)
	})
}

func checkMigratedOnce(t *testing.T, kind, loc string) {
	t.Helper()
	switch kind {
	case "postgres":
		conn, err := pgx.Connect(ctx, loc)
		require.NoError(t, err)
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT version, applied_by FROM schema_migrations ORDER BY version`)
		require.NoError(t, err)
		var versions []int
		for rows.Next() {
			var v int
			var by string
			require.NoError(t, rows.Scan(&v, &by))
			versions = append(versions, v)
		}
		require.NoError(t, rows.Err())
		want := []int{}
		for i := 1; i < len(pgMigrations); i++ {
			want = append(want, i)
		}
		assert.Equal(t, want, versions, "each migration applied exactly once")
	case "sqlite":
		s := openKind(t, kind, loc).(*SQLite)
		var v string
		require.NoError(t, s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v))
		assert.Equal(t, strconv.Itoa(len(sqliteMigrations)-1), v)
	}
}
