package safehttp_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/safehttp"
)

// Keys shaped like the real ones; the Gemini one has characters that URL,
// JSON and HTML escape.
const (
	vtKey      = "5f2b1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
	abuseKey   = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607182"
	geminiKey  = "AIzaSyTEST-key_with/slash+plus=eq<&>"
	tfKey      = "threatfox-auth-key-0123456789"
	bearer     = "bearer-token-0123456789abcdef"
	greyKey    = "greynoise-key-0123456789"
	customHdrV = "Token custom-secret-0123456789"
)

var secrets = []string{vtKey, abuseKey, geminiKey, tfKey, bearer, greyKey, "custom-secret-0123456789"}

// keyHeaders are the credential headers of every API verdict knows, as the
// providers set them.
var keyHeaders = map[string]string{
	"x-apikey":       vtKey,
	"Key":            abuseKey,
	"x-goog-api-key": geminiKey,
	"Authorization":  "Bearer " + bearer,
	"Auth-Key":       tfKey,
	"key":            greyKey,
}

func newRequest(t *testing.T, method, target string) *http.Request {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"contents":[]}`)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, target, body)
	require.NoError(t, err)
	for k, v := range keyHeaders {
		req.Header.Set(k, v)
	}
	req.Header["X-Custom"] = []string{customHdrV} // any header holding a secret
	req.Header.Set("Accept", "application/json")
	return req
}

// recorder is a second server that records what reached it.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	hits []http.Header
	uris []string
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.hits = append(r.hits, req.Header.Clone())
		r.uris = append(r.uris, req.RequestURI)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() ([]http.Header, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.hits...), append([]string(nil), r.uris...)
}

// assertNoKeys fails if any credential, or any header holding a secret,
// reached the server.
func assertNoKeys(t *testing.T, h http.Header) {
	t.Helper()
	for name := range keyHeaders {
		assert.Empty(t, h.Values(name), "header %s crossed hosts", name)
	}
	assert.Empty(t, h.Values("X-Custom"), "a header holding a secret crossed hosts")
	assert.Empty(t, h.Values("Referer"), "the previous URL crossed hosts")
	for k, vs := range h {
		for _, v := range vs {
			for _, s := range secrets {
				assert.NotContains(t, v, s, "header %s", k)
			}
		}
	}
}

func redirector(to func() string, status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to(), status)
	})
}

func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	statuses := []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect}
	for _, status := range statuses {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(fmt.Sprintf("%d %s", status, method), func(t *testing.T) {
				t.Parallel()
				second := newRecorder(t)
				first := httptest.NewServer(redirector(func() string { return second.URL + "/steal?token=from-the-query" }, status))
				defer first.Close()

				c := safehttp.New(safehttp.Options{Secrets: secrets})
				resp, err := c.Do(newRequest(t, method, first.URL+"/api/v3/files/abc"))
				if resp != nil {
					resp.Body.Close()
				}
				require.Error(t, err)
				var re *safehttp.RedirectError
				require.ErrorAs(t, err, &re)
				assert.ErrorIs(t, err, safehttp.ErrRedirectRefused)
				assert.Equal(t, status, re.Status)
				assert.Equal(t, first.URL, re.From)
				assert.Equal(t, second.URL, re.To)
				msg := err.Error()
				assert.Contains(t, msg, strings.TrimPrefix(first.URL, "http://"))
				assert.Contains(t, msg, strings.TrimPrefix(second.URL, "http://"))
				assert.NotContains(t, msg, "token", "the target's query string is never printed")
				assert.NotContains(t, msg, "/steal")
				for _, s := range secrets {
					assert.NotContains(t, msg, s)
				}
				hits, _ := second.requests()
				assert.Empty(t, hits, "the second server was never contacted")
			})
		}
	}
}

func TestAllowedRedirectCarriesNoKeys(t *testing.T) {
	statuses := []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect}
	for _, status := range statuses {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(fmt.Sprintf("%d %s", status, method), func(t *testing.T) {
				t.Parallel()
				second := newRecorder(t)
				first := httptest.NewServer(redirector(func() string { return second.URL + "/registry/domain/example.com" }, status))
				defer first.Close()
				var asked []string
				c := safehttp.New(safehttp.Options{Secrets: secrets, AllowRedirect: func(from, to *url.URL) bool {
					asked = append(asked, from.Host+" -> "+to.Host)
					return true
				}})
				resp, err := c.Do(newRequest(t, method, first.URL+"/domain/example.com"))
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				assert.JSONEq(t, `{"ok":true}`, string(body))
				assert.Contains(t, asked, strings.TrimPrefix(first.URL, "http://")+" -> "+strings.TrimPrefix(second.URL, "http://"))
				hits, _ := second.requests()
				require.Len(t, hits, 1)
				assertNoKeys(t, hits[0])
				assert.Equal(t, "application/json", hits[0].Get("Accept"), "ordinary headers still go along")
			})
		}
	}
}

func TestSameOriginRedirectKeepsKeys(t *testing.T) {
	t.Parallel()
	var got atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/new", http.StatusMovedPermanently) })
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("x-apikey"))
		_, _ = io.WriteString(w, "{}")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := safehttp.New(safehttp.Options{Secrets: secrets}).Do(newRequest(t, http.MethodGet, srv.URL+"/old"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, vtKey, got.Load(), "a redirect on the same host is followed with the key")
}

func TestRedirectToTheSameMachineByAnotherNameIsRefused(t *testing.T) {
	t.Parallel()
	second := newRecorder(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(second.URL, "http://"))
	// localhost and 127.0.0.1 are different hosts to a browser and to us.
	first := httptest.NewServer(redirector(func() string { return "http://localhost:" + port + "/x" }, http.StatusFound))
	defer first.Close()
	_, err := safehttp.New(safehttp.Options{}).Do(newRequest(t, http.MethodGet, first.URL))
	require.ErrorIs(t, err, safehttp.ErrRedirectRefused)
	hits, _ := second.requests()
	assert.Empty(t, hits)
}

func TestRedirectChainThatComesBackCarriesNoKeys(t *testing.T) {
	t.Parallel()
	var back atomic.Value
	var firstURL string
	mux := http.NewServeMux()
	second := httptest.NewServer(redirector(func() string { return firstURL + "/back" }, http.StatusFound))
	defer second.Close()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, second.URL+"/hop", http.StatusFound) })
	mux.HandleFunc("/back", func(w http.ResponseWriter, r *http.Request) {
		back.Store(r.Header.Clone())
		_, _ = io.WriteString(w, "{}")
	})
	first := httptest.NewServer(mux)
	defer first.Close()
	firstURL = first.URL
	c := safehttp.New(safehttp.Options{Secrets: secrets, AllowRedirect: func(_, _ *url.URL) bool { return true }})
	resp, err := c.Do(newRequest(t, http.MethodGet, first.URL+"/start"))
	require.NoError(t, err)
	resp.Body.Close()
	h, _ := back.Load().(http.Header)
	require.NotNil(t, h)
	assertNoKeys(t, h)
}

func TestTooManyRedirects(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(redirector(func() string { return "/again" }, http.StatusFound))
	defer srv.Close()
	_, err := safehttp.New(safehttp.Options{Secrets: secrets}).Do(newRequest(t, http.MethodGet, srv.URL))
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("stopped after %d redirects", safehttp.MaxRedirects))
}

func TestAllowHTTPS(t *testing.T) {
	t.Parallel()
	u := func(s string) *url.URL { v, _ := url.Parse(s); return v }
	assert.True(t, safehttp.AllowHTTPS(u("https://rdap.org/domain/x.com"), u("https://rdap.verisign.com/com/v1/domain/x.com")))
	assert.False(t, safehttp.AllowHTTPS(u("https://rdap.org/domain/x.com"), u("http://rdap.example/domain/x.com")))
}

// The location a server echoes the key into is scrubbed before it is
// followed, so not even the URL carries it on.
func TestEchoedKeyInLocationIsNotFollowed(t *testing.T) {
	t.Parallel()
	second := newRecorder(t)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", second.URL+"/x?k="+url.QueryEscape(r.Header.Get("x-goog-api-key")))
		w.WriteHeader(http.StatusFound)
	}))
	defer first.Close()
	c := safehttp.New(safehttp.Options{Secrets: secrets, AllowRedirect: safehttp.AllowHTTPS})
	_, err := c.Do(newRequest(t, http.MethodGet, first.URL))
	require.ErrorIs(t, err, safehttp.ErrRedirectRefused, "AllowHTTPS refuses plain http")

	c = safehttp.New(safehttp.Options{Secrets: secrets, AllowRedirect: func(_, _ *url.URL) bool { return true }})
	resp, err := c.Do(newRequest(t, http.MethodGet, first.URL))
	require.NoError(t, err)
	resp.Body.Close()
	_, uris := second.requests()
	require.Len(t, uris, 1)
	assert.Equal(t, "/x?k=[redacted]", uris[0])
}

// --- body limits ---

// allocDuring returns the bytes allocated while f ran: an upper bound on
// how far the heap grew, which sampling could miss.
func allocDuring(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// endless writes 'a's until the client goes away; sent counts them.
func endless(sent *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := bytes.Repeat([]byte("a"), 32<<10)
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}
}

// gzipBomb sends, as Content-Encoding: gzip, a stream that decompresses to
// size bytes of zeros, compressing on the fly; produced counts the bytes
// compressed before the client went away.
func gzipBomb(size int64, produced *atomic.Int64) http.HandlerFunc {
	return gzipStream(size, gzip.BestCompression, produced)
}

func gzipStream(size int64, level int, produced *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		zw, _ := gzip.NewWriterLevel(w, level)
		zeros := make([]byte, 1<<20)
		for n := int64(0); n < size && r.Context().Err() == nil; n += int64(len(zeros)) {
			if _, err := zw.Write(zeros); err != nil {
				return
			}
			produced.Add(int64(len(zeros)))
		}
		_ = zw.Close()
	}
}

func get(t *testing.T, c *http.Client, target string) ([]byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	require.NoError(t, err)
	req.Header.Set("x-apikey", vtKey)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

const testLimit = 1 << 20

// Not parallel: allocation counts are process-wide.
func TestEndlessBodyStopsAtTheLimit(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(endless(&sent))
	defer srv.Close()
	c := safehttp.New(safehttp.Options{MaxBody: testLimit, Timeout: time.Minute, Secrets: secrets})
	var body []byte
	var err error
	alloc := allocDuring(func() { body, err = get(t, c, srv.URL) })
	require.Error(t, err)
	var tl *safehttp.BodyTooLargeError
	require.ErrorAs(t, err, &tl, "the limit, not the one-minute timeout, ended it: %v", err)
	assert.ErrorIs(t, err, safehttp.ErrBodyTooLarge)
	assert.Equal(t, int64(testLimit), tl.Limit)
	assert.Equal(t, "response from "+strings.TrimPrefix(srv.URL, "http://")+" is larger than the 1 MiB limit", err.Error())
	assert.Empty(t, body, "no part of an oversized body is handed out")
	t.Logf("endless body: %d MiB allocated while the server sent %d MiB", alloc>>20, sent.Load()>>20)
	assert.Less(t, alloc, uint64(16*testLimit), "memory grows with the limit, not the body")
}

func TestGzipBombStopsAtTheLimit(t *testing.T) {
	const bomb = 8 << 30 // 8 GiB of zeros, about 8 MiB compressed
	var produced atomic.Int64
	var acceptEncoding atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acceptEncoding.Store(r.Header.Get("Accept-Encoding"))
		gzipBomb(bomb, &produced)(w, r)
	}))
	defer srv.Close()
	c := safehttp.New(safehttp.Options{MaxBody: testLimit, Timeout: time.Minute, Secrets: secrets})
	var err error
	alloc := allocDuring(func() { _, err = get(t, c, srv.URL) })
	var tl *safehttp.BodyTooLargeError
	require.ErrorAs(t, err, &tl, "the limit, not the one-minute timeout, ended it: %v", err)
	assert.Equal(t, "gzip", acceptEncoding.Load(), "net/http negotiated gzip itself")
	t.Logf("gzip bomb of %d GiB: %d MiB allocated; the server had compressed %d MiB of zeros when the client left", bomb>>30, alloc>>20, produced.Load()>>20)
	assert.Less(t, alloc, uint64(16*testLimit), "memory grows with the limit, not the decompressed size")
	assert.Less(t, produced.Load(), int64(bomb/8), "the client stopped reading long before the end")
}

// A caller that asks for gzip itself gets the compressed bytes, and those
// are capped the same way. (Stored, not compressed, so the server need not
// squeeze gigabytes to send more than the limit.)
func TestCompressedBodyIsCappedToo(t *testing.T) {
	var produced atomic.Int64
	srv := httptest.NewServer(gzipStream(64<<30, gzip.NoCompression, &produced))
	defer srv.Close()
	c := safehttp.New(safehttp.Options{MaxBody: 64 << 10})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, safehttp.ErrBodyTooLarge)
	assert.Contains(t, err.Error(), "64 KiB limit")
}

func TestDefaultLimitIs16MiB(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(endless(&sent))
	defer srv.Close()
	_, err := get(t, safehttp.New(safehttp.Options{}), srv.URL)
	var tl *safehttp.BodyTooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, int64(16<<20), tl.Limit)
	assert.Equal(t, safehttp.DefaultMaxBody, tl.Limit)
}

func TestBodyLimitBoundaries(t *testing.T) {
	t.Parallel()
	const limit = 1000
	tests := []struct {
		name    string
		size    int
		chunked bool
		gzip    bool
		wantErr bool
	}{
		{"empty", 0, false, false, false},
		{"at the limit, Content-Length", limit, false, false, false},
		{"one over, Content-Length", limit + 1, false, false, true},
		{"at the limit, chunked", limit, true, false, false},
		{"one over, chunked", limit + 1, true, false, true},
		{"at the limit after gzip", limit, false, true, false},
		{"one over after gzip", limit + 1, false, true, true},
		{"far over, declared", 10 * limit, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := bytes.Repeat([]byte("x"), tt.size)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case tt.gzip:
					w.Header().Set("Content-Encoding", "gzip")
					zw := gzip.NewWriter(w)
					_, _ = zw.Write(payload)
					_ = zw.Close()
				case tt.chunked:
					_, _ = w.Write(payload[:tt.size/2])
					w.(http.Flusher).Flush()
					_, _ = w.Write(payload[tt.size/2:])
				default:
					w.Header().Set("Content-Length", fmt.Sprint(tt.size))
					_, _ = w.Write(payload)
				}
			}))
			defer srv.Close()
			body, err := get(t, safehttp.New(safehttp.Options{MaxBody: limit}), srv.URL)
			if tt.wantErr {
				require.ErrorIs(t, err, safehttp.ErrBodyTooLarge)
				assert.Contains(t, err.Error(), "1000 bytes limit")
				assert.Empty(t, body)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, payload, body)
		})
	}
}

// A body cut short hands out nothing: its last bytes may be the first half
// of a key.
func TestTruncatedBodyHandsOutNothing(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, `{"error":"bad key `+vtKey[:20])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	defer srv.Close()
	body, err := get(t, safehttp.New(safehttp.Options{Secrets: secrets}), srv.URL)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Empty(t, body)
}

func TestCloseBeforeReading(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") }))
	defer srv.Close()
	resp, err := safehttp.New(safehttp.Options{}).Get(srv.URL)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	_, err = resp.Body.Read(make([]byte, 1))
	assert.Error(t, err)
}

// --- scrubbing ---

func TestResponsesAreScrubbed(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	// An API that puts the key it was sent into its JSON error.
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"code":400,"message":"API key not valid: %s","status":"INVALID_ARGUMENT"}}`, jsonString(r.Header.Get("x-goog-api-key")))
	})
	// A proxy's HTML error page.
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html><body><h1>502</h1><p>upstream refused key %s (%s)</p></body></html>",
			htmlEscape(r.Header.Get("x-goog-api-key")), r.Header.Get("x-apikey"))
	})
	// Headers and trailers.
	mux.HandleFunc("/header", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Debug-Trailer")
		w.Header().Set("X-Debug-Key", r.Header.Get("x-apikey"))
		w.Header().Set("Www-Authenticate", `Bearer error="invalid_token", key="`+url.QueryEscape(r.Header.Get("x-goog-api-key"))+`"`)
		w.Header().Set("X-"+r.Header.Get("Key"), "in a header name")
		_, _ = io.WriteString(w, "{}")
		w.Header().Set("X-Debug-Trailer", r.Header.Get("Key"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := safehttp.New(safehttp.Options{Secrets: secrets})

	for _, path := range []string{"/json", "/html", "/header"} {
		t.Run(path, func(t *testing.T) {
			resp, err := c.Do(newRequest(t, http.MethodGet, srv.URL+path))
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			var all strings.Builder
			all.Write(body)
			for _, h := range []http.Header{resp.Header, resp.Trailer} {
				for k, vs := range h {
					all.WriteString("\n" + k + ": " + strings.Join(vs, ", "))
				}
			}
			dump := all.String()
			for _, s := range secrets {
				for _, form := range []string{s, url.QueryEscape(s), jsonString(s), htmlEscape(s)} {
					assert.NotContains(t, dump, form)
				}
			}
			assert.Contains(t, dump, safehttp.Redacted)
			assert.Equal(t, int64(-1), resp.ContentLength, "scrubbing may change the length")
		})
	}
}

// jsonString is s as encoding/json writes it inside a string, HTML-safe
// escapes included.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// rawServer answers every connection with the given bytes, for answers
// net/http's server would never write.
func rawServer(t *testing.T, answer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for { // read the request head
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				_, _ = io.WriteString(conn, answer)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestStatusLineIsScrubbed(t *testing.T) {
	t.Parallel()
	base := rawServer(t, "HTTP/1.1 403 Forbidden key "+vtKey+"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
	resp, err := safehttp.New(safehttp.Options{Secrets: secrets}).Get(base)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "403 Forbidden key [redacted]", resp.Status)
}

// Errors from the transport never print a key: keys travel only in
// headers, and what a server sends back is scrubbed, even when net/http
// quotes it in an error.
func TestTransportErrorsCarryNoKeys(t *testing.T) {
	t.Parallel()
	closedPort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr
	}()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	other := newRecorder(t)
	redirect := httptest.NewServer(redirector(func() string { return other.URL + "/?k=" + vtKey }, http.StatusFound))
	t.Cleanup(redirect.Close)
	loop := httptest.NewServer(redirector(func() string { return "/again?k=" + vtKey }, http.StatusFound))
	t.Cleanup(loop.Close)
	badLocation := rawServer(t, "HTTP/1.1 302 Found\r\nLocation: http://[::1%"+vtKey+"/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

	tests := []struct {
		name   string
		target string
		want   string // a fragment of the expected error
	}{
		{"connection refused", closedPort, "connect"},
		{"timeout", slow.URL, "timeout"},
		{"redirect refused", redirect.URL, "refused redirect"},
		{"too many redirects", loop.URL, "stopped after"},
		{"unusable Location", badLocation, "Location"},
		{"malformed header line", rawServer(t, "HTTP/1.1 200 OK\r\n"+vtKey+"\r\n\r\n"), "malformed"},
		{"malformed status", rawServer(t, "HTTP/1.1 "+vtKey+" OK\r\n\r\n"), "malformed"},
		{"garbage", rawServer(t, geminiKey+"\r\n\r\n"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			timeout := 10 * time.Second
			if tt.target == slow.URL {
				timeout = 300 * time.Millisecond
			}
			c := safehttp.New(safehttp.Options{Secrets: secrets, Timeout: timeout})
			resp, err := c.Do(newRequest(t, http.MethodGet, tt.target))
			if resp != nil {
				resp.Body.Close()
			}
			require.Error(t, err)
			msg := fmt.Sprintf("%v | %+v | %#v", err, err, err)
			// Case-insensitive: which of two equal timeouts fires first
			// ("timeout awaiting response headers", "Client.Timeout
			// exceeded") is a race.
			assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(tt.want))
			for _, s := range secrets {
				assert.NotContains(t, msg, s)
				assert.NotContains(t, msg, url.QueryEscape(s))
			}
		})
	}
}

func TestScrubbedErrorKeepsTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	_, err = safehttp.New(safehttp.Options{Secrets: secrets}).Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var ne net.Error
	require.True(t, errors.As(err, &ne))
	assert.True(t, ne.Timeout())
}

func TestNew(t *testing.T) {
	t.Parallel()
	assert.Equal(t, safehttp.DefaultTimeout, safehttp.New(safehttp.Options{}).Timeout)
	assert.Equal(t, 5*time.Second, safehttp.New(safehttp.Options{Timeout: 5 * time.Second}).Timeout)
	// Go negotiates gzip itself and decodes it: no Accept-Encoding by hand.
	var ae atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ae.Store(r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, `{"data":{"id":"x"}}`)
		_ = zw.Close()
	}))
	defer srv.Close()
	body, err := get(t, safehttp.New(safehttp.Options{}), srv.URL)
	require.NoError(t, err)
	assert.Equal(t, `{"data":{"id":"x"}}`, string(body))
	assert.Equal(t, "gzip", ae.Load())
}
