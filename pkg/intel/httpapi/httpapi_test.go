package httpapi_test

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

const key = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e"

func client() *http.Client {
	return safehttp.New(safehttp.Options{Secrets: []string{key}, Timeout: 10 * time.Second})
}

func TestGet(t *testing.T) {
	t.Parallel()
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Clone())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-RateLimit-Remaining", "41")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, `{"data":{"ipAddress":"1.2.3.4"}}`)
		_ = zw.Close()
	}))
	defer srv.Close()

	resp, err := httpapi.Get(context.Background(), client(), "abuseipdb", srv.URL+"/check?ipAddress=1.2.3.4", map[string]string{"Key": key})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.Status)
	assert.Equal(t, "41", resp.Header.Get("X-RateLimit-Remaining"))
	assert.Equal(t, `{"data":{"ipAddress":"1.2.3.4"}}`, string(resp.Body), "gzip decoded by net/http")
	assert.True(t, resp.IsJSON())

	h := got.Load().(http.Header)
	assert.Equal(t, key, h.Get("Key"))
	assert.Equal(t, "application/json", h.Get("Accept"))
	assert.Equal(t, httpapi.UserAgent(), h.Get("User-Agent"))
	assert.True(t, strings.HasPrefix(httpapi.UserAgent(), "verdict/"))
	assert.Equal(t, "gzip", h.Get("Accept-Encoding"), "negotiated by net/http, never set by hand")
}

func TestGetNon2xxIsNotAnError(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusNotFound, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusBadGateway} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"error":{"code":"X"}}`)
		}))
		resp, err := httpapi.Get(context.Background(), client(), "virustotal", srv.URL, nil)
		srv.Close()
		require.NoError(t, err, "status %d", status)
		assert.Equal(t, status, resp.Status)
		assert.Equal(t, `{"error":{"code":"X"}}`, string(resp.Body))
	}
}

func TestGetErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	ln.Close()

	_, err = httpapi.Get(context.Background(), client(), "virustotal", closed+"/files/x", map[string]string{"x-apikey": key})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "virustotal: "), err.Error())
	assert.NotContains(t, err.Error(), key)

	_, err = httpapi.Get(context.Background(), client(), "virustotal", "http://bad host/", nil)
	assert.ErrorContains(t, err, "virustotal: build request")

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = httpapi.Get(ctx, client(), "virustotal", srv.URL, nil)
	assert.ErrorIs(t, err, context.Canceled)
}

func endless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	chunk := []byte(strings.Repeat("a", 32<<10))
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

func TestGetBodyLimit(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(endless))
	defer srv.Close()
	tests := []struct {
		name  string
		c     *http.Client
		limit int64
	}{
		// Get's own cap holds even for a client that has none.
		{"plain client", &http.Client{Timeout: time.Minute}, httpapi.MaxBody},
		{"safehttp client", safehttp.New(safehttp.Options{Timeout: time.Minute}), httpapi.MaxBody},
		{"safehttp client with a lower limit", safehttp.New(safehttp.Options{MaxBody: 1 << 20, Timeout: time.Minute}), 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := httpapi.Get(context.Background(), tt.c, "virustotal", srv.URL, nil)
			assert.Nil(t, resp)
			var tl *safehttp.BodyTooLargeError
			require.ErrorAs(t, err, &tl)
			assert.Equal(t, tt.limit, tl.Limit)
			assert.ErrorIs(t, err, safehttp.ErrBodyTooLarge)
			assert.ErrorIs(t, err, intel.ErrBadResponse, "still the error Get always returned for it")
			assert.Equal(t, fmt.Sprintf("virustotal: read answer: response from %s is larger than the %s limit: unexpected response",
				strings.TrimPrefix(srv.URL, "http://"), safehttp.FormatSize(tt.limit)), err.Error())
		})
	}
	assert.Equal(t, int64(16<<20), httpapi.MaxBody)
}

func TestGetBodyAtTheLimit(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("b", int(httpapi.MaxBody))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) }))
	defer srv.Close()
	for _, c := range []*http.Client{{Timeout: time.Minute}, safehttp.New(safehttp.Options{Timeout: time.Minute})} {
		resp, err := httpapi.Get(context.Background(), c, "virustotal", srv.URL, nil)
		require.NoError(t, err)
		assert.Len(t, resp.Body, int(httpapi.MaxBody))
	}
}

// Keys that a server echoes come back scrubbed, and so do the errors built
// from the answer.
func TestGetScrubsEchoedKeys(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"errors":[{"detail":"Authentication failed for key %s.","status":401}]}`, r.Header.Get("Key"))
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html><body><h1>502 Bad Gateway</h1><p>upstream rejected %s</p></body></html>", r.Header.Get("Key"))
	})
	mux.HandleFunc("/header", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Debug", "key="+url.QueryEscape(r.Header.Get("Key")))
		w.WriteHeader(http.StatusTooManyRequests)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/json", "/html", "/header"} {
		resp, err := httpapi.Get(context.Background(), client(), "abuseipdb", srv.URL+path, map[string]string{"Key": key})
		require.NoError(t, err)
		assert.NotContains(t, string(resp.Body), key, path)
		assert.NotContains(t, fmt.Sprint(resp.Header), key, path)
		assert.NotContains(t, httpapi.Unexpected("abuseipdb", resp).Error(), key, path)
	}
}

func TestGetRefusesRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/collect", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	_, err := httpapi.Get(context.Background(), client(), "virustotal", srv.URL+"/ip_addresses/1.2.3.4", map[string]string{"x-apikey": key})
	require.ErrorIs(t, err, safehttp.ErrRedirectRefused)
	assert.Zero(t, reached.Load())
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"seconds with spaces", "  30 ", 30 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"HTTP-date ahead", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"HTTP-date behind", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"HTTP-date now", now.Format(http.TimeFormat), 0},
		{"RFC 850 date", "Monday, 23-Nov-26 02:01:00 GMT", time.Minute},
		{"asctime date", "Mon Nov 23 02:00:10 2026", 10 * time.Second},
		{"garbage", "soon", 0},
		{"fraction", "1.5", 0},
		{"unit", "30s", 0},
		{"HTML", "<html>", 0},
		{"too long for a Duration", "9300000000", math.MaxInt64},
		{"too long for an int64", "99999999999999999999999", math.MaxInt64},
		{"very negative", "-99999999999999999999999", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			assert.Equal(t, tt.want, httpapi.RetryAfter(h, now))
		})
	}
}

func TestIsJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ct, body string
		want     bool
	}{
		{"application/json", `{}`, true},
		{"application/json; charset=utf-8", `{}`, true},
		{"Application/JSON", `{}`, true},
		{"application/problem+json", `{}`, true},
		{"application/vnd.api+json", `[]`, true},
		{"text/html; charset=utf-8", `{"looks":"like json"}`, false},
		{"text/plain", `{}`, false},
		{"application/jsonp", `{}`, false},
		{"garbage;;;", `{}`, false},
		{"", `{"data":{}}`, true},
		{"", "  \n\t[1,2]", true},
		{"", "<html>", false},
		{"", "", false},
		{"", strings.Repeat(" ", 100) + "{}", false}, // only the first 64 bytes are looked at
	}
	for _, tt := range tests {
		r := &httpapi.Response{Status: 200, Header: http.Header{}, Body: []byte(tt.body)}
		if tt.ct != "" {
			r.Header.Set("Content-Type", tt.ct)
		}
		assert.Equal(t, tt.want, r.IsJSON(), "%q %q", tt.ct, tt.body)
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 250)
	tests := []struct {
		name, body, want string
	}{
		{"short", `{"error":"nope"}`, `{"error":"nope"}`},
		{"white space folded", "<html>\n  <body>\r\n\t502\n</body>\n</html>\n", "<html> <body> 502 </body> </html>"},
		{"cut at 200 bytes", long, strings.Repeat("x", 200) + "..."},
		{"exactly 200 bytes", long[:200], long[:200]},
		{"escape sequences", "bad \x1b]52;c;ZXZpbA==\x07 \x1b[2J key", "bad \uFFFD]52;c;ZXZpbA==\uFFFD \uFFFD[2J key"},
		{"bidi override", "file\u202Eexe.txt", "file\uFFFDexe.txt"},
		{"invalid UTF-8 (a run is one U+FFFD)", "a\xff\xfeb\xffc", "a\uFFFDb\uFFFDc"},
		{"a character cut in two is dropped", strings.Repeat("x", 199) + "é" + "tail", strings.Repeat("x", 199) + "..."},
		{"a four-byte character cut in two", strings.Repeat("x", 198) + "🔑" + "tail", strings.Repeat("x", 198) + "..."},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, (&httpapi.Response{Body: []byte(tt.body)}).Snippet())
		})
	}
}

func FuzzSnippet(f *testing.F) {
	f.Add([]byte("<html>\x1b[31m\u202e\xff</html>"))
	f.Add([]byte(strings.Repeat("é", 150)))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := (&httpapi.Response{Body: body}).Snippet()
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8: %q", s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' || r == '\u2066' {
				t.Fatalf("unsafe character %U in %q", r, s)
			}
		}
		if n := utf8.RuneCountInString(s); n > 203 {
			t.Fatalf("%d characters", n)
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "-1", "Mon, 23 Nov 2026 02:01:00 GMT", "9300000000", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := httpapi.RetryAfter(http.Header{"Retry-After": {v}}, now); d < 0 {
			t.Fatalf("RetryAfter(%q) = %s", v, d)
		}
	})
}

func TestUnexpected(t *testing.T) {
	t.Parallel()
	resp := func(status int, ct, body string) *httpapi.Response {
		return &httpapi.Response{Status: status, Header: http.Header{"Content-Type": {ct}}, Body: []byte(body)}
	}
	tests := []struct {
		name       string
		r          *httpapi.Response
		retryable  bool
		badAnswer  bool // a 2xx that is not the documented format
		wantInText string
	}{
		{"HTML 502", resp(502, "text/html", "<h1>Bad Gateway</h1>"), true, false, "virustotal: HTTP 502: non-JSON answer: <h1>Bad Gateway</h1>"},
		{"JSON 500", resp(500, "application/json", `{"oops":1}`), true, false, `virustotal: HTTP 500: {"oops":1}`},
		{"503", resp(503, "text/plain", "busy"), true, false, "HTTP 503"},
		{"408", resp(408, "text/plain", "slow"), true, false, "HTTP 408"},
		{"400", resp(400, "application/json", `{}`), false, false, "HTTP 400"},
		{"403 HTML", resp(403, "text/html", "<p>denied</p>"), false, false, "non-JSON answer"},
		{"200 HTML", resp(200, "text/html", "<p>captive portal</p>"), false, true, "virustotal: HTTP 200 with non-JSON answer: <p>captive portal</p>: unexpected response"},
		{"204 empty", resp(204, "", ""), false, true, "HTTP 204"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := httpapi.Unexpected("virustotal", tt.r)
			assert.Contains(t, err.Error(), tt.wantInText)
			if tt.badAnswer {
				assert.ErrorIs(t, err, intel.ErrBadResponse)
				return
			}
			var he *intel.HTTPError
			require.True(t, errors.As(err, &he))
			assert.Equal(t, tt.r.Status, he.Status)
			assert.Equal(t, "virustotal", he.Provider)
			assert.Equal(t, tt.retryable, he.Retryable)
		})
	}
}

// Post sends the body with its content type and the same headers as Get,
// and reads the answer the same way: the abuse.ch APIs take their queries
// as forms and JSON bodies.
func TestPost(t *testing.T) {
	t.Parallel()
	type seen struct {
		method string
		header http.Header
		body   string
	}
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(seen{method: r.Method, header: r.Header.Clone(), body: string(b)})
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"query_status":"ok","echo":%q}`, r.Header.Get("Auth-Key"))
	}))
	defer srv.Close()

	form := url.Values{"host": {"evil.com"}}.Encode()
	resp, err := httpapi.Post(context.Background(), client(), "urlhaus", srv.URL+"/v1/host/", "application/x-www-form-urlencoded", []byte(form), map[string]string{"Auth-Key": key})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.Status)
	assert.True(t, resp.IsJSON())
	assert.NotContains(t, string(resp.Body), key, "an echoed key is scrubbed as for Get")
	s := got.Load().(seen)
	assert.Equal(t, http.MethodPost, s.method)
	assert.Equal(t, "host=evil.com", s.body)
	assert.Equal(t, "application/x-www-form-urlencoded", s.header.Get("Content-Type"))
	assert.Equal(t, key, s.header.Get("Auth-Key"))
	assert.Equal(t, "application/json", s.header.Get("Accept"))
	assert.Equal(t, httpapi.UserAgent(), s.header.Get("User-Agent"))

	_, err = httpapi.Post(context.Background(), client(), "urlhaus", "http://[::1]:namedport/", "application/json", nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "urlhaus: build request")
}
