//go:build unix

// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb and
// pg_ctl in a temporary directory, listening on a free TCP port on
// 127.0.0.1 and on a Unix socket inside that directory, with password
// (SCRAM) authentication everywhere, torn down when the tests end.
//
// A test binary shares one cluster, started on first use; each test gets a
// fresh database from NewDatabase. Call Main from TestMain so the cluster
// is stopped when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// When no PostgreSQL binaries are found the tests that ask for one skip,
// and fail instead when VERDICT_REQUIRE_POSTGRES=1 (CI sets it). initdb
// refuses to run as root, so as root the cluster runs as the user nobody.
// A watchdog process stops the cluster and removes its directory when the
// test binary's end of a pipe closes, so a test binary killed by a timeout
// or a signal leaves no server behind.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvRequire turns "PostgreSQL not found" from a skip into a failure.
const EnvRequire = "VERDICT_REQUIRE_POSTGRES"

// EnvBin names a directory holding initdb and pg_ctl, searched first.
const EnvBin = "VERDICT_TEST_PG_BIN"

// ErrNoBinaries is returned when initdb and pg_ctl cannot be found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found")

// User is the cluster's superuser.
const User = "verdict"

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	Dir       string // everything lives here: data/, the socket, the log
	Port      int
	SocketDir string
	Password  string

	bin   string
	cred  *syscall.Credential
	dog   *exec.Cmd
	dogIn io.WriteCloser
	admin *pgxpool.Pool

	version int // server_version_num

	mu     sync.Mutex
	nextDB int
}

// FindBinaries returns the directory holding initdb and pg_ctl: $VERDICT_TEST_PG_BIN,
// then $PATH, then the distributions' versioned directories (Debian's
// /usr/lib/postgresql/<ver>/bin, the newest first).
func FindBinaries() (string, error) {
	ok := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl"} {
			if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv(EnvBin); d != "" && ok(d) {
		return d, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		// Debian's /usr/local/bin symlinks point into the versioned
		// directory; resolve them so that initdb finds postgres beside it.
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		if d := filepath.Dir(p); ok(d) {
			return d, nil
		}
	}
	var candidates []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql*/bin", "/usr/local/opt/postgresql*/bin"} {
		m, _ := filepath.Glob(pattern)
		candidates = append(candidates, m...)
	}
	sort.Slice(candidates, func(i, j int) bool { return version(candidates[i]) > version(candidates[j]) })
	for _, d := range candidates {
		if ok(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

var digits = regexp.MustCompile(`\d+`)

func version(dir string) int {
	n, _ := strconv.Atoi(digits.FindString(dir))
	return n
}

// Start initialises and starts a cluster. The caller stops it with Stop.
func Start(ctx context.Context) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "verdict-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, SocketDir: dir, bin: bin, Password: randomHex(16)}
	ok := false
	defer func() {
		if !ok {
			_ = c.Stop()
			_ = os.RemoveAll(dir)
		}
	}()
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: run the server as nobody.
		u, err := user.Lookup("nobody")
		if err != nil {
			return nil, fmt.Errorf("running as root and cannot find the user nobody to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if c.cred != nil {
		if err := os.Chown(pwfile, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.command(ctx, "initdb", "-D", data, "-U", User, "--pwfile="+pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	_ = os.Remove(pwfile)
	if err := c.startWatchdog(); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c.Port, err = freePort()
		if err != nil {
			return nil, err
		}
		// Durability is not what these tests measure: fsync off makes a
		// cluster start and each commit fast on a busy CI machine.
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB", c.Port, dir)
		out, err := c.command(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "120", "-o", opts, "start").CombinedOutput()
		if err == nil {
			lastErr = nil
			break
		}
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		lastErr = fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, tail(log, 2000))
	}
	if lastErr != nil {
		return nil, lastErr
	}
	cfg, err := pgxpool.ParseConfig(c.URL("postgres"))
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 2
	if c.admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, err
	}
	var v string
	if err := c.admin.QueryRow(ctx, "SHOW server_version_num").Scan(&v); err != nil {
		return nil, fmt.Errorf("connect to the test cluster: %w", err)
	}
	c.version, _ = strconv.Atoi(v)
	ok = true
	return c, nil
}

// command runs a server binary as the cluster's owner.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.Dir // nobody may not be able to enter the test's directory
	cmd.Env = []string{"PATH=" + c.bin + ":/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC", "HOME=" + c.Dir}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// startWatchdog starts a shell that waits for its standard input to close,
// then stops the server and removes the directory. The test binary holds
// the write end: Stop closes it, and so does the kernel when the binary
// dies in any way. Its own process group keeps a Ctrl-C meant for `go test`
// from killing it before it has cleaned up.
func (c *Cluster) startWatchdog() error {
	script := `cat >/dev/null; "$0" -D "$1" -m immediate -w stop >/dev/null 2>&1; rm -rf "$2"`
	cmd := exec.Command("/bin/sh", "-c", script, filepath.Join(c.bin, "pg_ctl"), filepath.Join(c.Dir, "data"), c.Dir)
	cmd.Dir = c.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the cluster watchdog: %w", err)
	}
	c.dog, c.dogIn = cmd, in
	return nil
}

// Stop stops the server and removes its directory.
func (c *Cluster) Stop() error {
	if c.admin != nil {
		c.admin.Close()
		c.admin = nil
	}
	if c.dog == nil {
		return os.RemoveAll(c.Dir)
	}
	_ = c.dogIn.Close()
	done := make(chan error, 1)
	go func() { done <- c.dog.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = c.dog.Process.Kill()
		err = errors.New("the cluster watchdog did not finish in 60s")
	}
	c.dog = nil
	if rerr := os.RemoveAll(c.Dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// URL is a postgres:// URL for database db over TCP, with the password.
func (c *Cluster) URL(db string) string {
	return (&url.URL{Scheme: "postgres", User: url.UserPassword(User, c.Password), Host: "127.0.0.1:" + strconv.Itoa(c.Port), Path: "/" + db, RawQuery: "sslmode=disable"}).String()
}

// URLNoPassword is URL without the password (for PGPASSWORD and ~/.pgpass).
func (c *Cluster) URLNoPassword(db string) string {
	return (&url.URL{Scheme: "postgres", User: url.User(User), Host: "127.0.0.1:" + strconv.Itoa(c.Port), Path: "/" + db, RawQuery: "sslmode=disable"}).String()
}

// SocketDSN is a libpq keyword/value string for database db over the Unix
// socket, with the password.
func (c *Cluster) SocketDSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s password='%s' dbname=%s", c.SocketDir, c.Port, User, c.Password, db)
}

// CreateDatabase creates an empty database and returns its name.
func (c *Cluster) CreateDatabase(ctx context.Context, hint string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock() // CREATE DATABASE copies template1: one at a time
	c.nextDB++
	name := fmt.Sprintf("t%d_%s", c.nextDB, sanitize(hint))
	if len(name) > 60 {
		name = name[:60]
	}
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if c.version >= 150000 {
		// With fsync off, copying template1's files is several times faster
		// than PostgreSQL 15's default of WAL-logging every block.
		stmt += " STRATEGY FILE_COPY"
	}
	if _, err := c.admin.Exec(ctx, stmt); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return name, nil
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

func sanitize(s string) string { return unsafeName.ReplaceAllString(strings.ToLower(s), "_") }

var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Shared returns the test binary's cluster, starting it on first use. It
// skips the test when PostgreSQL is not installed, unless
// VERDICT_REQUIRE_POSTGRES=1, and fails it when the cluster cannot start.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		shared.c, shared.err = Start(ctx)
	})
	switch {
	case shared.err == nil:
		return shared.c
	case errors.Is(shared.err, ErrNoBinaries) && os.Getenv(EnvRequire) != "1":
		t.Skipf("skipping: %v (install Debian's postgresql package; %s=1 makes this a failure)", shared.err, EnvRequire)
	default:
		t.Fatalf("start a PostgreSQL test cluster: %v", shared.err)
	}
	return nil
}

// NewDatabase returns the URL (with password, over TCP) of a fresh, empty
// database on the shared cluster.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, err := c.CreateDatabase(ctx, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return c.URL(name)
}

// Main runs the tests and then stops the shared cluster, if one was
// started. It returns m.Run's exit code.
func Main(m *testing.M) int {
	code := m.Run()
	if shared.c != nil {
		if err := shared.c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop the cluster:", err)
		}
	}
	return code
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
