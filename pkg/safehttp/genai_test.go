package safehttp_test

// The Gemini SDK reads answers with io.ReadAll and copies error bodies into
// genai.APIError; these tests drive the real SDK through a safehttp client
// against fake servers to show the limits and the scrubbing hold there too.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genai"

	"github.com/verdict-dev/verdict/pkg/safehttp"
)

const model = "gemini-3.5-flash-lite"

func newGenai(t *testing.T, hc *http.Client, baseURL string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      geminiKey,
		Backend:     genai.BackendGeminiAPI,
		HTTPClient:  hc,
		HTTPOptions: genai.HTTPOptions{BaseURL: baseURL + "/"},
	})
	require.NoError(t, err)
	return c
}

func generate(c *genai.Client) (*genai.GenerateContentResponse, error) {
	return c.Models.GenerateContent(context.Background(), model, genai.Text("classify this alert"), nil)
}

const okAnswer = `{"candidates":[{"content":{"role":"model","parts":[{"text":"{}"}]},"finishReason":"STOP","index":0}],` +
	`"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1,"totalTokenCount":5},"modelVersion":"` + model + `","responseId":"r1"}`

// Not parallel: allocation counts are process-wide.
func TestGenaiEndlessAnswer(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"parts":[{"text":"`)
		endless(&sent)(w, r)
	}))
	defer srv.Close()
	c := newGenai(t, safehttp.New(safehttp.Options{MaxBody: testLimit, Timeout: time.Minute, Secrets: []string{geminiKey}}), srv.URL)
	var err error
	alloc := allocDuring(func() { _, err = generate(c) })
	var tl *safehttp.BodyTooLargeError
	require.ErrorAs(t, err, &tl, "the limit, not the timeout, ended it: %v", err)
	assert.Equal(t, int64(testLimit), tl.Limit)
	t.Logf("genai, endless answer: %d MiB allocated while the server sent %d MiB", alloc>>20, sent.Load()>>20)
	assert.Less(t, alloc, uint64(16*testLimit))
}

func TestGenaiGzipBomb(t *testing.T) {
	const bomb = 8 << 30
	var produced atomic.Int64
	srv := httptest.NewServer(gzipBomb(bomb, &produced))
	defer srv.Close()
	c := newGenai(t, safehttp.New(safehttp.Options{MaxBody: testLimit, Timeout: time.Minute, Secrets: []string{geminiKey}}), srv.URL)
	var err error
	alloc := allocDuring(func() { _, err = generate(c) })
	require.ErrorIs(t, err, safehttp.ErrBodyTooLarge, "the limit, not the timeout, ended it: %v", err)
	t.Logf("genai, gzip bomb of %d GiB: %d MiB allocated; %d MiB of zeros compressed when the client left", bomb>>30, alloc>>20, produced.Load()>>20)
	assert.Less(t, alloc, uint64(16*testLimit))
}

// An error answer is capped too: the SDK reads it whole into APIError.
func TestGenaiEndlessErrorPage(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		endless(&sent)(w, r)
	}))
	defer srv.Close()
	c := newGenai(t, safehttp.New(safehttp.Options{MaxBody: testLimit}), srv.URL)
	_, err := generate(c)
	require.ErrorIs(t, err, safehttp.ErrBodyTooLarge)
	assert.Less(t, len(err.Error()), 1000, "no part of the page is copied into the error")
}

func TestGenaiRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			second := newRecorder(t)
			first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, second.URL+r.URL.Path, status)
			}))
			defer first.Close()

			// Default: refused, and the second server never hears of it.
			c := newGenai(t, safehttp.New(safehttp.Options{Secrets: []string{geminiKey}}), first.URL)
			_, err := generate(c)
			require.ErrorIs(t, err, safehttp.ErrRedirectRefused)
			assert.NotContains(t, err.Error(), geminiKey)
			hits, _ := second.requests()
			assert.Empty(t, hits)

			// Even when a policy allows it, the key stays behind.
			c = newGenai(t, safehttp.New(safehttp.Options{Secrets: []string{geminiKey}, AllowRedirect: func(_, _ *url.URL) bool { return true }}), first.URL)
			_, _ = generate(c)
			hits, _ = second.requests()
			require.NotEmpty(t, hits, "the allowed redirect was followed")
			for _, h := range hits {
				assert.Empty(t, h.Get("x-goog-api-key"))
				for _, vs := range h {
					for _, v := range vs {
						assert.NotContains(t, v, geminiKey)
					}
				}
			}
		})
	}
}

// echoServer answers like Gemini does to a bad key, with the key in it.
func echoServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/json/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"code":400,"message":"API key not valid: %s. Please pass a valid API key.","status":"INVALID_ARGUMENT",`+
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","metadata":{"key":"%s"}}]}}`,
			jsonString(r.Header.Get("x-goog-api-key")), jsonString(r.Header.Get("x-goog-api-key")))
	})
	mux.HandleFunc("/html/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "<html><body>proxy refused key=%s</body></html>", url.QueryEscape(r.Header.Get("x-goog-api-key")))
	})
	mux.HandleFunc("/header/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo-Key", r.Header.Get("x-goog-api-key"))
		_, _ = io.WriteString(w, okAnswer)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestGenaiEchoedKeyIsScrubbed(t *testing.T) {
	t.Parallel()
	srv := echoServer(t)
	hc := safehttp.New(safehttp.Options{Secrets: []string{geminiKey}})

	t.Run("JSON error", func(t *testing.T) {
		_, err := generate(newGenai(t, hc, srv.URL+"/json"))
		var ae genai.APIError
		require.True(t, errors.As(err, &ae), "a genai.APIError value: %v", err)
		assert.Equal(t, 400, ae.Code)
		assert.Equal(t, "INVALID_ARGUMENT", ae.Status)
		assert.Equal(t, "API key not valid: [redacted]. Please pass a valid API key.", ae.Message)
		assert.NotContains(t, fmt.Sprintf("%v %+v", err, ae.Details), geminiKey)
		assert.Contains(t, fmt.Sprint(ae.Details), "API_KEY_INVALID", "the rest of the answer is intact")
	})
	t.Run("HTML error page", func(t *testing.T) {
		_, err := generate(newGenai(t, hc, srv.URL+"/html"))
		var ae genai.APIError
		require.True(t, errors.As(err, &ae), "%v", err)
		assert.Equal(t, 403, ae.Code)
		assert.Contains(t, ae.Message, "proxy refused key=[redacted]")
		assert.NotContains(t, err.Error(), url.QueryEscape(geminiKey))
	})
	t.Run("header", func(t *testing.T) {
		resp, err := generate(newGenai(t, hc, srv.URL+"/header"))
		require.NoError(t, err)
		assert.Equal(t, "{}", resp.Text())
		require.NotNil(t, resp.SDKHTTPResponse)
		assert.Equal(t, safehttp.Redacted, resp.SDKHTTPResponse.Headers.Get("X-Echo-Key"))
	})
}

// The same server through a plain client leaks the key: the test above
// would catch a scrubber that stopped working.
func TestGenaiEchoedKeyLeaksWithoutSafehttp(t *testing.T) {
	t.Parallel()
	srv := echoServer(t)
	_, err := generate(newGenai(t, &http.Client{Timeout: 10 * time.Second}, srv.URL+"/json"))
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), jsonString(geminiKey)) || strings.Contains(err.Error(), geminiKey))
}
