package cache

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsPostgresURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"postgres://db.internal/verdict", true},
		{"postgresql://u:p@db:5433/verdict?sslmode=verify-full", true},
		{"POSTGRES://db/verdict", true},
		{"  postgres://db/verdict  ", true},
		{"host=db.internal dbname=verdict", true},
		{"dbname=verdict", true},
		{"host=/var/run/postgresql", true},
		{"service=verdict", true},
		{"user='o''neil' host=db", false}, // not libpq quoting: '' is no escape
		{"", false},
		{"/var/cache/verdict", false},
		{"./cache", false},
		{"cache=dir", false}, // a directory that happens to contain '='
		{"/tmp/host=x", false},
		{"mysql://db/verdict", false},
		{"sqlite:///tmp/x.db", false},
		{"host", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, IsPostgresURL(tt.in))
		})
	}
}

func TestParseKeywords(t *testing.T) {
	t.Parallel()
	got := parseKeywords(`host=db  port = 5433 password='it''s' user='a b\'c' dbname=x\ y`)
	assert.Nil(t, got, "'' is not libpq quoting")
	got = parseKeywords(`host=db  port = 5433 password='a b\'c\\' dbname=x\ y`)
	assert.Equal(t, [][2]string{{"host", "db"}, {"port", "5433"}, {"password", `a b'c\`}, {"dbname", "x y"}}, got)
	assert.Nil(t, parseKeywords("password='unterminated"))
}

func TestDescribeDSN(t *testing.T) { // not parallel: it sets PGSSLMODE
	tests := []struct{ dsn, want string }{
		{"postgres://u:pw@db.internal:5433/verdict?sslmode=verify-full", "postgresql://u@db.internal:5433/verdict?sslmode=verify-full"},
		{"host=db.internal user=u password=pw dbname=verdict", "postgresql://u@db.internal:5432/verdict"},
		{"host=/run/postgresql port=5432 user=u password='p w' dbname=verdict sslmode=disable", "postgresql://u@/verdict?host=%2Frun%2Fpostgresql&port=5432&sslmode=disable"},
		{"postgres://u:pw@[::1]:5432/verdict", "postgresql://u@[::1]:5432/verdict"},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			t.Setenv("PGSSLMODE", "")
			cfg, err := pgconn.ParseConfig(tt.dsn)
			require.NoError(t, err)
			assert.Equal(t, tt.want, describeDSN(tt.dsn, cfg))
		})
	}
}

func TestScrubErr(t *testing.T) {
	t.Parallel()
	pw := "p@ss w/rd?"
	dsn := (&url.URL{Scheme: "postgres", User: url.UserPassword("u", pw), Host: "db", Path: "/x"}).String()
	cfg, err := pgconn.ParseConfig(dsn)
	require.NoError(t, err)
	require.Equal(t, pw, cfg.Password)
	secrets := dsnSecrets(dsn, cfg)
	for _, leak := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw)} {
		err := scrubErr(fmt.Errorf("dial %s: %w", leak, context.Canceled), secrets)
		assert.NotContains(t, err.Error(), leak)
		assert.Contains(t, err.Error(), "xxxxx")
		assert.ErrorIs(t, err, context.Canceled, "context errors stay testable")
	}
	pgErr := &pgconn.PgError{Code: "28P01", Message: "bad " + pw}
	err = scrubErr(fmt.Errorf("x: %w", pgErr), secrets)
	var got *pgconn.PgError
	require.True(t, errors.As(err, &got))
	assert.Equal(t, "28P01", got.Code, "the SQLSTATE stays testable")
	assert.NotContains(t, got.Message, pw)
	assert.Nil(t, scrubErr(nil, secrets))
}

// FuzzDescribeAndScrub: whatever the password, Describe never depends on
// it, and scrubbing removes it from any message.
func FuzzDescribeAndScrub(f *testing.F) {
	f.Add("verdict", "s3cret", "db.internal")
	f.Add("u", "p@ss:w/rd?#%", "10.0.0.1")
	f.Add("ü", "'quoted' \\ \x00", "[::1]")
	f.Fuzz(func(t *testing.T, user, pw, host string) {
		if pw == "" || strings.ContainsRune(pw, 'x') {
			return // "xxxxx" is the mask: a password made of x's cannot be told from it
		}
		mk := func(pw string) string {
			return (&url.URL{Scheme: "postgres", User: url.UserPassword(user, pw), Host: host, Path: "/verdict"}).String()
		}
		dsn := mk(pw)
		cfg, err := pgconn.ParseConfig(dsn)
		secrets := dsnSecrets(dsn, nil)
		if err != nil {
			msg := scrubErr(err, secrets).Error()
			if strings.Contains(msg, pw) && !strings.Contains(user+host+"postgres://verdictcannot parse", pw) {
				t.Fatalf("parse error shows the password %q: %s", pw, msg)
			}
			return
		}
		other, err := pgconn.ParseConfig(mk("different"))
		if err != nil {
			return
		}
		if a, b := describeDSN(dsn, cfg), describeDSN(mk("different"), other); a != b {
			t.Fatalf("Describe depends on the password: %q vs %q", a, b)
		}
		secrets = dsnSecrets(dsn, cfg)
		msg := scrub("before "+pw+" "+url.QueryEscape(pw)+" "+url.PathEscape(pw)+" after", secrets)
		if strings.Contains(msg, pw) {
			t.Fatalf("scrub left %q in %q", pw, msg)
		}
	})
}
