// Package httpapi holds what the REST providers share: sending a GET with
// the key in a header, reading a bounded body, and turning Retry-After and
// non-JSON answers into the intel errors the engine understands.
//
// The client handed to Get should come from safehttp.New, with the
// provider keys among its Secrets: that client refuses redirects to other
// hosts and scrubs keys out of everything a server sends back. Get caps the
// body itself too, so a plain client cannot exhaust memory either.
package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/safehttp"
	"github.com/verdict-dev/verdict/pkg/version"
)

// MaxBody bounds a provider's answer: a WHOIS blob is large, a gigabyte is
// an attack or a bug.
const MaxBody = safehttp.DefaultMaxBody

// Response is a fully read answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// IsJSON reports whether the answer says it is JSON (or says nothing and
// looks like it).
func (r *Response) IsJSON() bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		b := strings.TrimSpace(string(r.Body[:min(len(r.Body), 64)]))
		return strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[")
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// snippetLen is how many bytes of a body Snippet shows.
const snippetLen = 200

// Snippet is a short, single-line excerpt of the body for error messages.
// The body is the server's, so the excerpt is made safe to print: runs of
// white space become one space, control and formatting characters (escape
// sequences, bidi overrides) and invalid UTF-8 become U+FFFD, and a
// character is never cut in half.
func (r *Response) Snippet() string {
	b := r.Body[:min(len(r.Body), snippetLen)]
	if len(b) < len(r.Body) {
		// Drop a character the cut split in two rather than show U+FFFD.
		for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
			if utf8.RuneStart(b[len(b)-i]) {
				if !utf8.FullRune(b[len(b)-i:]) {
					b = b[:len(b)-i]
				}
				break
			}
		}
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
			return utf8.RuneError
		}
		return c
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	if len(r.Body) > snippetLen {
		s += "..."
	}
	return s
}

// UserAgent identifies verdict to providers.
func UserAgent() string {
	v, _, _ := version.Info()
	return "verdict/" + v + " (+https://github.com/verdict-dev/verdict)"
}

// Get sends one GET with the given headers (the API key among them: keys
// only ever travel in headers, so no URL in an error can carry one) and
// reads the whole answer, at most MaxBody bytes (less if the client's own
// limit is lower). A longer answer is an error that matches both
// safehttp.ErrBodyTooLarge (errors.As: *safehttp.BodyTooLargeError) and
// intel.ErrBadResponse.
func Get(ctx context.Context, c *http.Client, provider, rawURL string, headers map[string]string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: build request: %w", provider, err)
	}
	return send(c, provider, req, headers)
}

// Post sends one POST of body, of the given Content-Type, with the given
// headers (the API key among them), and reads the answer as Get does. It is
// for the APIs that take their query in a form or a JSON body (abuse.ch):
// the body carries the indicator, never a key.
func Post(ctx context.Context, c *http.Client, provider, rawURL, contentType string, body []byte, headers map[string]string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: build request: %w", provider, err)
	}
	req.Header.Set("Content-Type", contentType)
	return send(c, provider, req, headers)
}

// send sets the common headers, sends req and reads the bounded answer.
func send(c *http.Client, provider string, req *http.Request, headers map[string]string) (*Response, error) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent())
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// No Accept-Encoding here: net/http negotiates gzip and decodes it; a
	// hand-set one once made vt-go report a 429 as "gzip: invalid header".
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", provider, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err == nil && int64(len(body)) > MaxBody {
		err = &safehttp.BodyTooLargeError{Limit: MaxBody, Host: req.URL.Host}
	}
	if errors.Is(err, safehttp.ErrBodyTooLarge) {
		return nil, fmt.Errorf("%s: read answer: %w: %w", provider, err, intel.ErrBadResponse)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", provider, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
// It is 0 when the header is absent, unreadable or in the past. A delay too
// long for a time.Duration saturates rather than wrapping round to a
// negative (which would read as "no delay given").
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		switch {
		case s <= 0:
			return 0
		case s > int64(math.MaxInt64/time.Second):
			return math.MaxInt64
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Unexpected classifies an answer that is not the provider's documented
// format: a 5xx or an HTML error page is retryable, anything else is not.
func Unexpected(provider string, r *Response) error {
	he := &intel.HTTPError{Provider: provider, Status: r.Status, Retryable: r.Status >= 500 || r.Status == 408}
	if r.IsJSON() {
		he.Detail = r.Snippet()
	} else {
		he.Detail = "non-JSON answer: " + r.Snippet()
	}
	if r.Status >= 200 && r.Status < 300 {
		return fmt.Errorf("%s: HTTP %d with %s: %w", provider, r.Status, he.Detail, intel.ErrBadResponse)
	}
	return he
}
