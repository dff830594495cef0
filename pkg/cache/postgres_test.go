package cache

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
)

func openPG(dsn string, opts ...Option) (*Postgres, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return OpenPostgres(ctx, dsn, opts...)
}

// newDB returns the shared cluster and the name of a fresh database on it.
func newDB(t *testing.T) (*pgtest.Cluster, string) {
	t.Helper()
	u, err := url.Parse(pgtest.NewDatabase(t))
	require.NoError(t, err)
	return pgtest.Shared(t), strings.TrimPrefix(u.Path, "/")
}

// The password never appears in an error, whatever went wrong and however
// it was spelled, and never in Describe or cache stats.
func TestPostgresNeverShowsThePassword(t *testing.T) {
	t.Parallel()
	c, db := newDB(t)
	const secret = "Sup3r-Secret-PW"
	port := strconv.Itoa(c.Port)
	closed := func() string { // a port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}()
	tests := []struct {
		name    string
		dsn     string
		secrets []string
		wantErr string
	}{
		{"wrong password in a URL", "postgres://verdict:" + secret + "@127.0.0.1:" + port + "/" + db + "?sslmode=disable",
			[]string{secret}, "password authentication failed"},
		{"wrong password with URL metacharacters", "postgres://verdict:" + url.QueryEscape(secret+"@:/?#%") + "@127.0.0.1:" + port + "/" + db + "?sslmode=disable",
			[]string{secret, url.QueryEscape(secret + "@:/?#%")}, "password authentication failed"},
		{"wrong password in a keyword string", "host=127.0.0.1 port=" + port + " user=verdict password='" + secret + " x' dbname=" + db + " sslmode=disable",
			[]string{secret}, "password authentication failed"},
		{"password in the query", "postgres://verdict@127.0.0.1:" + port + "/" + db + "?sslmode=disable&password=" + secret,
			[]string{secret}, "password authentication failed"},
		{"nobody listening", "postgres://verdict:" + secret + "@127.0.0.1:" + closed + "/" + db + "?sslmode=disable&connect_timeout=5",
			[]string{secret}, "connect to cache"},
		{"malformed URL", "postgres://verdict:" + secret + "@127.0.0.1:notaport/" + db,
			[]string{secret}, "parse cache url"},
		{"unknown database", "postgres://verdict:" + c.Password + "@127.0.0.1:" + port + "/no_such_db?sslmode=disable",
			[]string{c.Password}, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := openPG(tt.dsn)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			for _, s := range tt.secrets {
				assert.NotContains(t, err.Error(), s)
				assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), s)
			}
		})
	}

	t.Run("describe and stats", func(t *testing.T) {
		t.Parallel()
		for _, dsn := range []string{c.URL(db), c.SocketDSN(db)} {
			p, err := openPG(dsn)
			require.NoError(t, err)
			assert.NotContains(t, p.Describe(), c.Password)
			assert.Contains(t, p.Describe(), db)
			st, err := p.Stats(ctx)
			require.NoError(t, err)
			assert.NotContains(t, st.Path, c.Password)
			require.NoError(t, p.Close())
		}
	})
}

// PGPASSWORD, PGPASSFILE and ~/.pgpass work as for libpq. (Not parallel:
// they set the environment.)
func TestPostgresPasswordFromEnvironment(t *testing.T) {
	c, db := newDB(t)
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGPASSFILE", "")
	home := t.TempDir()
	t.Setenv("HOME", home)

	_, err := openPG(c.URLNoPassword(db))
	require.Error(t, err, "no password anywhere: the server refuses")

	t.Setenv("PGPASSWORD", c.Password)
	p, err := openPG(c.URLNoPassword(db))
	require.NoError(t, err, "PGPASSWORD")
	require.NoError(t, p.Close())

	t.Setenv("PGPASSWORD", "wrong-"+c.Password)
	_, err = openPG(c.URLNoPassword(db))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wrong-"+c.Password, "a password from the environment is masked too")
	t.Setenv("PGPASSWORD", "")

	pgpass := "# host:port:db:user:password\n" +
		"127.0.0.1:" + strconv.Itoa(c.Port) + ":*:verdict:" + c.Password + "\n" +
		"localhost:" + strconv.Itoa(c.Port) + ":*:verdict:" + c.Password + "\n" // Unix sockets match "localhost"
	require.NoError(t, os.WriteFile(filepath.Join(home, ".pgpass"), []byte(pgpass), 0o600))
	p, err = openPG(c.URLNoPassword(db))
	require.NoError(t, err, "~/.pgpass")
	require.NoError(t, p.Close())
	p, err = openPG(fmt.Sprintf("host=%s port=%d user=verdict dbname=%s", c.SocketDir, c.Port, db))
	require.NoError(t, err, "~/.pgpass for a Unix socket")
	require.NoError(t, p.Close())

	other := filepath.Join(t.TempDir(), "pgpass")
	require.NoError(t, os.Rename(filepath.Join(home, ".pgpass"), other))
	t.Setenv("PGPASSFILE", other)
	p, err = openPG(c.URLNoPassword(db))
	require.NoError(t, err, "PGPASSFILE")
	require.NoError(t, p.Close())
}

// sslmode is honoured: require against a server without TLS fails, with
// an error that says why.
func TestPostgresSSLMode(t *testing.T) {
	c, db := newDB(t)
	base := fmt.Sprintf("postgres://verdict:%s@127.0.0.1:%d/%s", c.Password, c.Port, db)
	for _, mode := range []string{"disable", "allow", "prefer"} {
		p, err := openPG(base + "?sslmode=" + mode)
		require.NoError(t, err, mode)
		assert.Contains(t, p.Describe(), "sslmode="+mode)
		require.NoError(t, p.Close())
	}
	for _, mode := range []string{"require", "verify-ca", "verify-full"} {
		_, err := openPG(base + "?sslmode=" + mode)
		require.Error(t, err, mode)
		assert.Contains(t, err.Error(), "server refused TLS connection", mode)
		assert.Contains(t, err.Error(), "does not offer it", mode)
		assert.NotContains(t, err.Error(), c.Password)
	}
	t.Setenv("PGSSLMODE", "require")
	_, err := openPG(base)
	require.Error(t, err, "PGSSLMODE is honoured too")
	assert.Contains(t, err.Error(), "TLS")
}

func TestPostgresRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	p, err := openPG(dsn)
	require.NoError(t, err)
	_, err = p.pool.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_by) VALUES (99, 'future', 'test')`)
	require.NoError(t, err)
	require.NoError(t, p.Close())
	_, err = openPG(dsn)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer than this verdict supports")
}

// A database that already has an unrelated "entries" table is not taken
// over: the migration fails and says so.
func TestPostgresForeignTables(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `CREATE TABLE entries (id int)`)
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	_, err = openPG(dsn)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `relation "entries" already exists`)
}

// The store keeps to the server's clock, so that hosts agree on lease
// expiry and on the UTC day.
func TestPostgresUsesServerClock(t *testing.T) {
	t.Parallel()
	p, err := openPG(pgtest.NewDatabase(t))
	require.NoError(t, err)
	defer p.Close()
	var server time.Time
	require.NoError(t, p.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&server))
	assert.WithinDuration(t, server, p.opts.now(), 2*time.Second)
}

func TestOpenStoreSelects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := OpenStore(ctx, StoreOptions{Dir: dir})
	require.NoError(t, err)
	assert.IsType(t, &SQLite{}, s)
	assert.Equal(t, filepath.Join(dir, FileName), s.Describe())
	require.NoError(t, s.Close())

	file := filepath.Join(t.TempDir(), "x.db")
	s, err = OpenStore(ctx, StoreOptions{File: file, Dir: dir})
	require.NoError(t, err)
	assert.Equal(t, file, s.Describe(), "File wins over Dir")
	require.NoError(t, s.Close())

	_, err = OpenStore(ctx, StoreOptions{URL: "mysql://x", Dir: dir})
	assert.ErrorIs(t, err, ErrBadURL, "a URL that is not PostgreSQL is an error, not a silent SQLite")

	c, db := newDB(t)
	for _, u := range []string{c.URL(db), c.SocketDSN(db), strings.Replace(c.URL(db), "postgres://", "postgresql://", 1)} {
		s, err = OpenStore(ctx, StoreOptions{URL: u, Dir: dir})
		require.NoError(t, err)
		assert.IsType(t, &Postgres{}, s)
		require.NoError(t, s.Close())
	}
}

// Info reads what `verdict doctor` shows of the connection from the
// server itself, and none of it is secret.
func TestPostgresInfo(t *testing.T) {
	t.Parallel()
	c, db := newDB(t)
	for _, tt := range []struct{ name, dsn, sslmode string }{
		{"url", fmt.Sprintf("postgres://verdict:%s@127.0.0.1:%d/%s?sslmode=disable", c.Password, c.Port, db), "disable"},
		{"keywords over the socket, sslmode unset", c.SocketDSN(db), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := openPG(tt.dsn)
			require.NoError(t, err)
			defer p.Close()
			in, err := p.Info(ctx)
			require.NoError(t, err)
			assert.Equal(t, p.Describe(), in.URL)
			assert.NotContains(t, in.URL, c.Password)
			assert.Equal(t, tt.sslmode, in.SSLMode)
			assert.False(t, in.TLS, "the test cluster offers no TLS")
			assert.True(t, in.Local, "127.0.0.1 and a socket are this machine")
			assert.Regexp(t, `^\d+(\.\d+)?`, in.ServerVersion)
			assert.Equal(t, db, in.Database)
			assert.Equal(t, pgtest.User, in.User)
			assert.Equal(t, len(pgMigrations)-1, in.LatestSchema)
			assert.Equal(t, in.LatestSchema, in.SchemaVersion, "opening migrated the database")
		})
	}
}

func TestSSLMode(t *testing.T) { // not parallel: it sets PGSSLMODE
	tests := []struct{ dsn, env, want string }{
		{"postgres://u@db/verdict?sslmode=verify-full", "", "verify-full"},
		{"postgresql://u@db/verdict?sslmode=require", "disable", "require"},
		{"postgres://u@db/verdict", "", ""},
		{"postgres://u@db/verdict", "verify-ca", "verify-ca"},
		{"host=db dbname=verdict sslmode=verify-full", "", "verify-full"},
		{"host=db dbname=verdict", "require", "require"},
	}
	for _, tt := range tests {
		t.Run(tt.dsn+" PGSSLMODE="+tt.env, func(t *testing.T) {
			t.Setenv("PGSSLMODE", tt.env)
			assert.Equal(t, tt.want, sslMode(tt.dsn))
		})
	}
}

func TestLocalHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"/run/postgresql": true, "localhost": true, "127.0.0.1": true, "::1": true,
		"db.internal": false, "10.0.0.5": false, "": false,
	} {
		assert.Equal(t, want, localHost(host), host)
	}
}
