// Package abusech holds what the abuse.ch APIs that verdict queries
// (URLhaus and ThreatFox) share: the Auth-Key header, the query_status
// vocabulary that says how a query went (the HTTP status does not: a
// refused query is a 200), numbers and booleans sent as strings, and the
// "2019-01-19 01:33:26 UTC" dates. Sources are in pkg/intel/urlhaus/README.md
// and pkg/intel/threatfox/README.md.
package abusech

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
	"github.com/verdict-dev/verdict/pkg/internal/oneline"
)

// KeyHeader is the header that carries the abuse.ch Auth-Key. One key from
// auth.abuse.ch works for every abuse.ch API.
const KeyHeader = "Auth-Key"

// Query statuses with a meaning of their own. Others that start with
// "invalid_" or "illegal_" are a query the API refused.
const (
	StatusOK = "ok"
	// StatusNoResults is URLhaus's "not listed"; ThreatFox says no_result.
	StatusNoResults = "no_results"
	StatusNoResult  = "no_result"
	// StatusUnknownAuthKey is a key abuse.ch does not know.
	StatusUnknownAuthKey = "unknown_auth_key"
)

// ErrNoKey is returned, without any request, when no Auth-Key is set: both
// APIs require one, so a keyless request could only be refused. It matches
// intel.ErrUnauthorized.
var ErrNoKey = fmt.Errorf("no Auth-Key configured: %w", intel.ErrUnauthorized)

// PostForm sends values as an application/x-www-form-urlencoded POST
// (URLhaus) with the key in the Auth-Key header.
func PostForm(ctx context.Context, hc *http.Client, provider, rawURL, key string, values url.Values) (*httpapi.Response, error) {
	if key == "" {
		return nil, fmt.Errorf("%s: %w", provider, ErrNoKey)
	}
	return httpapi.Post(ctx, hc, provider, rawURL, "application/x-www-form-urlencoded", []byte(values.Encode()), map[string]string{KeyHeader: key})
}

// PostJSON sends v as a JSON POST (ThreatFox) with the key in the Auth-Key
// header.
func PostJSON(ctx context.Context, hc *http.Client, provider, rawURL, key string, v any) (*httpapi.Response, error) {
	if key == "" {
		return nil, fmt.Errorf("%s: %w", provider, ErrNoKey)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: encode query: %w", provider, err)
	}
	return httpapi.Post(ctx, hc, provider, rawURL, "application/json", body, map[string]string{KeyHeader: key})
}

// statusOf reads query_status from a JSON answer. URLhaus's own example of
// a host answer spells it "query_staus"; both spellings are read.
func statusOf(body []byte) (string, bool) {
	var s struct {
		Status *string `json:"query_status"`
		Typo   *string `json:"query_staus"`
	}
	if json.Unmarshal(body, &s) != nil {
		return "", false
	}
	switch {
	case s.Status != nil:
		return strings.TrimSpace(*s.Status), true
	case s.Typo != nil:
		return strings.TrimSpace(*s.Typo), true
	}
	return "", false
}

// Status checks an answer and returns its query_status when the query was
// answered: "ok", or another status the caller knows (ThreatFox's
// no_result with a string in data). Everything else becomes the intel error
// the engine understands: ErrNotFound for no_results, ErrUnauthorized for a
// rejected key (HTTP 401/403 or unknown_auth_key), *intel.RateLimitError for
// a 429, a non-retryable *intel.HTTPError for a refused query (invalid_*,
// illegal_*) or a status verdict does not know, a retryable one for a 5xx,
// and ErrBadResponse for a 200 that is not the documented JSON.
func Status(provider string, r *httpapi.Response, now time.Time) (string, error) {
	status, hasStatus := "", false
	if r.IsJSON() {
		status, hasStatus = statusOf(r.Body)
	}
	switch {
	case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden:
		return "", fmt.Errorf("%s: HTTP %d %s: %w", provider, r.Status, Text(status, 64), intel.ErrUnauthorized)
	case r.Status == http.StatusTooManyRequests:
		// abuse.ch publishes no limits; a 429 is waited out (Retry-After
		// when given, else the configured rate's window), never hammered.
		return "", &intel.RateLimitError{Provider: provider, RetryAfter: httpapi.RetryAfter(r.Header, now), Detail: Text(status, 64)}
	case r.Status == http.StatusNotFound && !isNoResults(status):
		// The endpoints are fixed, so a 404 that is not a query answer
		// means the base URL is wrong: retrying cannot help.
		return "", &intel.HTTPError{Provider: provider, Status: r.Status, Code: Text(status, 64),
			Detail: "no such API endpoint (check " + provider + ".base_url): " + r.Snippet()}
	case r.Status != http.StatusOK && r.Status != http.StatusNotFound:
		if !hasStatus {
			return "", httpapi.Unexpected(provider, r)
		}
		return "", &intel.HTTPError{Provider: provider, Status: r.Status, Code: Text(status, 64), Retryable: r.Status >= 500 || r.Status == 408}
	case !r.IsJSON():
		return "", httpapi.Unexpected(provider, r)
	case !hasStatus:
		if json.Valid(r.Body) {
			return "", fmt.Errorf("%s: answer has no query_status: %w", provider, intel.ErrBadResponse)
		}
		return "", fmt.Errorf("%s: decode answer: %s: %w", provider, r.Snippet(), intel.ErrBadResponse)
	}
	if err := StatusError(provider, status); err != nil {
		return status, err
	}
	return status, nil
}

func isNoResults(s string) bool { return s == StatusNoResults || s == StatusNoResult }

// StatusError maps a query_status to an error: nil for "ok", ErrNotFound
// for no_results (either spelling), ErrUnauthorized for unknown_auth_key,
// and a non-retryable *intel.HTTPError naming the status otherwise (a
// refused query comes back the same however often it is sent).
func StatusError(provider, status string) error {
	switch {
	case status == StatusOK:
		return nil
	case isNoResults(status):
		return intel.ErrNotFound
	case status == StatusUnknownAuthKey:
		return fmt.Errorf("%s: %s: %w", provider, status, intel.ErrUnauthorized)
	case strings.HasPrefix(status, "invalid_") || strings.HasPrefix(status, "illegal_"):
		return &intel.HTTPError{Provider: provider, Status: http.StatusOK, Code: Text(status, 64), Detail: "the query was refused"}
	}
	return &intel.HTTPError{Provider: provider, Status: http.StatusOK, Code: Text(status, 64), Detail: "unknown query_status"}
}

// Int is a number abuse.ch may send as a JSON number or as a string of
// digits ("url_count": "3248"), or as null. Anything else reads as absent
// rather than failing the whole answer.
type Int struct {
	N     int
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int) UnmarshalJSON(b []byte) error {
	*i = Int{}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil
		}
		b = []byte(strings.TrimSpace(s))
	}
	if n, err := strconv.Atoi(string(b)); err == nil {
		*i = Int{N: n, Valid: true}
		return nil
	}
	if f, err := strconv.ParseFloat(string(b), 64); err == nil && f == float64(int(f)) {
		*i = Int{N: int(f), Valid: true}
	}
	return nil
}

// Ptr returns the number, or nil when it was absent.
func (i Int) Ptr() *int {
	if !i.Valid {
		return nil
	}
	n := i.N
	return &n
}

// Bool is a boolean abuse.ch may send as true/false or as the strings
// "true"/"false" (URLhaus's larted).
type Bool struct {
	V     bool
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *Bool) UnmarshalJSON(b []byte) error {
	*v = Bool{}
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if p, err := strconv.ParseBool(s); err == nil {
		*v = Bool{V: p, Valid: true}
	}
	return nil
}

// Str is a string that may arrive as a string, a number or null: answers
// are untrusted input, and a field of the wrong type must not fail the
// lookup.
type Str string

// UnmarshalJSON implements json.Unmarshaler.
func (s *Str) UnmarshalJSON(b []byte) error {
	*s = ""
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	switch x := v.(type) {
	case string:
		*s = Str(x)
	case float64:
		*s = Str(strconv.FormatFloat(x, 'f', -1, 64))
	case bool:
		*s = Str(strconv.FormatBool(x))
	}
	return nil
}

// Strs is a list of strings that may arrive as null, a list (with nulls or
// non-strings in it) or a single comma-separated string.
type Strs []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *Strs) UnmarshalJSON(b []byte) error {
	*l = nil
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	switch x := v.(type) {
	case string:
		for _, p := range strings.Split(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				*l = append(*l, p)
			}
		}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				*l = append(*l, s)
			}
		}
	}
	return nil
}

// Text makes a value from an answer fit to keep: one line, no control or
// formatting characters, valid UTF-8, at most n bytes (never cutting a
// character). abuse.ch's data is written by its reporters: tags, file
// names and comments are untrusted.
func Text(s string, n int) string { return oneline.Cut(s, n) }

// dateLayout is how abuse.ch writes times: "2019-01-19 01:33:26 UTC".
const dateLayout = "2006-01-02 15:04:05 MST"

// Date turns an abuse.ch time into RFC 3339 (UTC). A date alone
// ("2019-01-19") is kept as it is; anything else unreadable is dropped.
func Date(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if t, err := time.Parse(dateLayout, s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	if t, err := time.Parse("2006-01-02 15:04:05", s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Format(time.DateOnly)
	}
	return ""
}

// Unique appends each cleaned, non-empty value of add to list unless it is
// already there (case-insensitively), keeping at most max values.
func Unique(list []string, max int, add ...string) []string {
	for _, v := range add {
		if len(list) >= max {
			break
		}
		v = Text(v, 80)
		if v == "" {
			continue
		}
		dup := false
		for _, o := range list {
			if strings.EqualFold(o, v) {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, v)
		}
	}
	return list
}

// IsNotFound reports whether err is a not-found answer.
func IsNotFound(err error) bool { return errors.Is(err, intel.ErrNotFound) }
