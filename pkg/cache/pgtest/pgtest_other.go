//go:build !unix

// Package pgtest starts throwaway PostgreSQL clusters for tests. The
// clusters run Debian's initdb and pg_ctl as an unprivileged user, which
// only Unix systems offer: elsewhere every test that asks for one skips
// (and fails under VERDICT_REQUIRE_POSTGRES=1), and the package still
// builds, so `GOOS=windows go build ./...` works.
package pgtest

import (
	"context"
	"errors"
	"os"
	"testing"
)

// EnvRequire turns "PostgreSQL not found" from a skip into a failure.
const EnvRequire = "VERDICT_REQUIRE_POSTGRES"

// ErrNoBinaries is why no cluster can start here.
var ErrNoBinaries = errors.New("throwaway PostgreSQL clusters need a Unix system")

// EnvBin names a directory holding initdb and pg_ctl, searched first.
const EnvBin = "VERDICT_TEST_PG_BIN"

// User is the cluster's superuser.
const User = "verdict"

// Cluster is a running throwaway PostgreSQL server (never, here).
type Cluster struct {
	Dir       string
	Port      int
	SocketDir string
	Password  string
}

// FindBinaries finds none here.
func FindBinaries() (string, error) { return "", ErrNoBinaries }

// Start cannot start a cluster here.
func Start(ctx context.Context) (*Cluster, error) { return nil, ErrNoBinaries }

// Stop has nothing to stop.
func (c *Cluster) Stop() error { return nil }

// URL is a postgres:// URL for database db.
func (c *Cluster) URL(db string) string { return "" }

// URLNoPassword is URL without the password.
func (c *Cluster) URLNoPassword(db string) string { return "" }

// SocketDSN is a keyword/value string for database db over a Unix socket.
func (c *Cluster) SocketDSN(db string) string { return "" }

// CreateDatabase cannot create a database here.
func (c *Cluster) CreateDatabase(ctx context.Context, hint string) (string, error) {
	return "", ErrNoBinaries
}

// Shared skips the test (or fails it under VERDICT_REQUIRE_POSTGRES=1).
func Shared(t testing.TB) *Cluster {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatal(ErrNoBinaries)
	}
	t.Skip(ErrNoBinaries)
	return nil
}

// NewDatabase skips the test like Shared.
func NewDatabase(t testing.TB) string {
	t.Helper()
	Shared(t)
	return ""
}

// Main runs the tests.
func Main(m *testing.M) int { return m.Run() }
