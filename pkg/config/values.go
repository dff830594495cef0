package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ByteSize is a size in bytes, written in config as "512MiB" or "4GiB".
type ByteSize int64

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1000,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1000 * 1000,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1000 * 1000 * 1000,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1000 * 1000 * 1000 * 1000,
}

// ParseByteSize reads "4GiB", "512 MiB", "10MB" (decimal), "1g" (binary)
// or a plain number of bytes.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("%q is not a size (want e.g. 512MiB, 4GiB or a number of bytes)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size (want e.g. 512MiB, 4GiB or a number of bytes)", s)
	}
	v := f * float64(mult)
	if v > float64(1<<62) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return ByteSize(v), nil
}

// String writes the size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b > 0 && int64(b)%u.n == 0 {
			return strconv.FormatInt(int64(b)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// ParseDuration reads a Go duration ("90m", "24h") or whole and fractional
// days ("7d", "1.5d"); "" is 0 (unset).
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(t, "d"); ok {
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (want e.g. 90m, 24h or 7d)", s)
		}
		return time.Duration(f * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 90m, 24h or 7d)", s)
	}
	return d, nil
}

// DSN is a database connection string (cache.url). It prints with its
// password hidden, so it can appear in a log line or an error; Reveal
// gives the string to connect with.
type DSN string

// Reveal returns the connection string itself.
func (d DSN) Reveal() string { return string(d) }

var kwPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

// String hides the password of a URL or keyword/value string.
func (d DSN) String() string {
	s := string(d)
	if s == "" {
		return ""
	}
	if isPostgresURL(s) {
		u, err := url.Parse(s)
		if err != nil {
			return "[unparsable cache.url]"
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return kwPassword.ReplaceAllString(s, "${1}xxxxx")
}

// GoString hides the password from %#v too.
func (d DSN) GoString() string { return d.String() }

func isPostgresURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

var kwPair = regexp.MustCompile(`^\s*([a-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|[^'\s]\S*|'')\s*`)

// Validate accepts "", a postgres:// or postgresql:// URL, or a libpq
// keyword/value string ("host=db dbname=verdict"). Errors never quote the
// value, which may hold a password.
func (d DSN) Validate() error {
	s := strings.TrimSpace(string(d))
	switch {
	case s == "":
		return nil
	case isPostgresURL(s):
		u, err := url.Parse(s)
		if err != nil {
			return errors.New("not a valid URL")
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return errors.New("the URL names no host")
		}
		return nil
	case strings.Contains(s, "://"):
		return errors.New("want a postgres:// or postgresql:// URL, or a libpq keyword string (host=... dbname=...)")
	}
	for rest := s; rest != ""; {
		m := kwPair.FindStringSubmatch(rest)
		if m == nil {
			return errors.New("not a libpq keyword string (want key=value pairs such as host=db dbname=verdict)")
		}
		rest = rest[len(m[0]):]
	}
	return nil
}

var domainLabel = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)

// validDomainName accepts lower-case host names, IDN labels in punycode or
// Unicode included.
func validDomainName(d string) bool {
	if d == "" || len(d) > 253 || strings.ContainsAny(d, "/:@ \t") {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" {
			return false
		}
		if !domainLabel.MatchString(l) && !nonASCII(l) {
			return false
		}
	}
	return true
}

func nonASCII(s string) bool {
	for _, r := range s {
		if r > 127 {
			return true
		}
	}
	return false
}

// parseCategories reads feeds.categories from a map (file) or a string
// (env: "feodo*.csv=c2,tor-*.txt=anonymizer").
func parseCategories(raw any) (map[string]string, error) {
	out := map[string]string{}
	fail := func(format string, args ...any) error {
		return keyError("feeds.categories", format, args...)
	}
	set := func(pattern string, cat any) error {
		p := strings.ToLower(strings.TrimSpace(pattern))
		c := strings.ToLower(strings.TrimSpace(fmt.Sprint(cat)))
		if p == "" {
			return fail("an empty file name or glob")
		}
		if _, err := filepath.Match(p, ""); err != nil {
			return fail("%q is not a valid glob: %v", pattern, err)
		}
		if !slices.Contains(FeedCategories, c) {
			return fail("%q: unknown category %q (want one of %s)%s", pattern, c, strings.Join(FeedCategories, ", "), suggest(c, FeedCategories))
		}
		out[p] = c
		return nil
	}
	switch r := raw.(type) {
	case nil:
	case string:
		for _, item := range SplitList(r) {
			pat, cat, ok := strings.Cut(item, "=")
			if !ok {
				return nil, fail("%q: want glob=category", item)
			}
			if err := set(pat, cat); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for pat, cat := range r {
			if _, isMap := cat.(map[string]any); isMap {
				return nil, fail("%q: want a category, got a map (quote file names that hold a dot?)", pat)
			}
			if err := set(pat, cat); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fail("want a map of file name or glob to category")
	}
	return out, nil
}
