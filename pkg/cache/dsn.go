package cache

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// libpqKeywords are the connection keywords of libpq (and pgx), used to
// tell a keyword/value connection string ("host=db dbname=verdict") from a
// directory path.
var libpqKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true,
	"passfile": true, "service": true, "servicefile": true, "connect_timeout": true,
	"application_name": true, "fallback_application_name": true, "options": true,
	"sslmode": true, "sslcert": true, "sslkey": true, "sslrootcert": true, "sslpassword": true,
	"sslsni": true, "sslnegotiation": true, "target_session_attrs": true, "search_path": true,
	"pool_max_conns": true, "pool_min_conns": true, "default_query_exec_mode": true,
}

// IsPostgresURL reports whether s selects the PostgreSQL store: a
// postgres:// or postgresql:// URL, or a libpq keyword/value string whose
// first word is a libpq keyword ("host=db.internal dbname=verdict").
func IsPostgresURL(s string) bool {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return true
	}
	kv := parseKeywords(s)
	return len(kv) > 0 && libpqKeywords[kv[0][0]]
}

// parseKeywords splits a libpq keyword/value string; nil if s is not one.
// Values may be single-quoted, with \' and \\ escapes.
func parseKeywords(s string) [][2]string {
	var out [][2]string
	s = strings.TrimLeft(s, " \t\n\r")
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil
		}
		key := strings.TrimSpace(s[:eq])
		if key == "" || strings.ContainsAny(key, " \t/\\'") {
			return nil
		}
		s = strings.TrimLeft(s[eq+1:], " \t\n\r")
		var val strings.Builder
		if strings.HasPrefix(s, "'") {
			s = s[1:]
			closed := false
			for i := 0; i < len(s); i++ {
				switch c := s[i]; {
				case c == '\\' && i+1 < len(s):
					i++
					val.WriteByte(s[i])
				case c == '\'':
					s = s[i+1:]
					closed = true
				default:
					val.WriteByte(c)
				}
				if closed {
					break
				}
			}
			if !closed {
				return nil
			}
		} else {
			i := 0
			for ; i < len(s) && !strings.ContainsRune(" \t\n\r", rune(s[i])); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++ // a backslash escapes the next byte, a space included
				}
				val.WriteByte(s[i])
			}
			s = s[i:]
		}
		out = append(out, [2]string{key, val.String()})
		s = strings.TrimLeft(s, " \t\n\r")
	}
	return out
}

// dsnSecrets lists the spellings of the password that a connection string,
// the environment or ~/.pgpass gave, so that no error, log line or stats
// output can carry them: pgx redacts its own messages, but a malformed URL
// can defeat that, and the password may come back inside a server or
// network error.
func dsnSecrets(dsn string, cfg *pgconn.Config) []string {
	var raw []string
	if cfg != nil {
		raw = append(raw, cfg.Password) // also from PGPASSWORD or ~/.pgpass
	}
	lower := strings.ToLower(dsn)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		rest := dsn[strings.Index(dsn, "://")+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			userinfo := rest[:at]
			if _, pw, ok := strings.Cut(userinfo, ":"); ok {
				raw = append(raw, pw)
				if dec, err := url.PathUnescape(pw); err == nil {
					raw = append(raw, dec)
				}
			}
		}
		if u, err := url.Parse(dsn); err == nil {
			for _, k := range []string{"password", "sslpassword"} {
				raw = append(raw, u.Query()[k]...)
			}
		}
	} else {
		for _, kv := range parseKeywords(dsn) {
			if kv[0] == "password" || kv[0] == "sslpassword" {
				raw = append(raw, kv[1])
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range raw {
		for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s), url.UserPassword("", s).String()[1:]} {
			if v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	// Longest first, so that an encoded spelling is masked whole.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// scrub masks every secret in s.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "xxxxx")
	}
	return s
}

// scrubbedError carries a PostgreSQL error whose text had the password
// masked. It unwraps only to what callers test for (context errors and the
// server's *pgconn.PgError, whose fields never hold the password), never to
// the original error, whose text may.
type scrubbedError struct {
	msg  string
	keep []error
}

func (e *scrubbedError) Error() string   { return e.msg }
func (e *scrubbedError) Unwrap() []error { return e.keep }

// scrubErr returns err with every secret masked, and a hint for the TLS
// mistakes that pgx reports tersely.
func scrubErr(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	var se *scrubbedError
	if errors.As(err, &se) && se == err {
		return err
	}
	msg := scrub(err.Error(), secrets)
	switch {
	case strings.Contains(msg, "server refused TLS connection"):
		msg += " (the connection asks for TLS, sslmode=require or stricter, and this server does not offer it: enable ssl on the server, or set sslmode=disable or prefer)"
	case strings.Contains(msg, "certificate signed by unknown authority"), strings.Contains(msg, "x509:"):
		msg += " (sslmode=verify-ca/verify-full checks the server's certificate: set sslrootcert to the CA that signed it)"
	}
	out := &scrubbedError{msg: msg}
	for _, target := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, target) {
			out.keep = append(out.keep, target)
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		cp := *pgErr
		cp.Message = scrub(cp.Message, secrets)
		cp.Detail = scrub(cp.Detail, secrets)
		cp.Where = scrub(cp.Where, secrets)
		out.keep = append(out.keep, &cp)
	}
	return out
}

// describeDSN names the database for people, from the parsed config: the
// password is never part of it.
func describeDSN(dsn string, cfg *pgconn.Config) string {
	u := url.URL{Scheme: "postgresql", Path: "/" + cfg.Database}
	if cfg.User != "" {
		u.User = url.User(cfg.User)
	}
	q := url.Values{}
	if strings.HasPrefix(cfg.Host, "/") {
		q.Set("host", cfg.Host)
		q.Set("port", fmtPort(cfg.Port))
	} else {
		u.Host = cfg.Host + ":" + fmtPort(cfg.Port)
		if strings.Contains(cfg.Host, ":") {
			u.Host = "[" + cfg.Host + "]:" + fmtPort(cfg.Port)
		}
	}
	if mode := sslMode(dsn); mode != "" {
		q.Set("sslmode", mode)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func fmtPort(p uint16) string { return strconv.Itoa(int(p)) }

// sslMode is the sslmode the connection string (or PGSSLMODE) asks for.
func sslMode(dsn string) string {
	lower := strings.ToLower(dsn)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			if m := u.Query().Get("sslmode"); m != "" {
				return m
			}
		}
	} else {
		for _, kv := range parseKeywords(dsn) {
			if kv[0] == "sslmode" {
				return kv[1]
			}
		}
	}
	return os.Getenv("PGSSLMODE")
}
