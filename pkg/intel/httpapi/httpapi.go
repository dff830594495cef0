// Package httpapi holds what the REST providers share: sending a GET with
// the key in a header, reading a bounded body, and turning Retry-After and
// non-JSON answers into the intel errors the engine understands.
package httpapi

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/version"
)

// MaxBody bounds a provider's answer: a WHOIS blob is large, a gigabyte is
// an attack or a bug.
const MaxBody = 16 << 20

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

// Snippet is a short, single-line excerpt of the body for error messages.
func (r *Response) Snippet() string {
	s := strings.Join(strings.Fields(string(r.Body[:min(len(r.Body), 200)])), " ")
	if len(r.Body) > 200 {
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
// reads the whole answer, at most MaxBody bytes.
func Get(ctx context.Context, c *http.Client, provider, rawURL string, headers map[string]string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: build request: %w", provider, err)
	}
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
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", provider, err)
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("%s: answer larger than %d MiB: %w", provider, MaxBody>>20, intel.ErrBadResponse)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
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
