package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/safehttp"
)

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// get sends one GET with client and returns the error, as a provider sees it.
func get(t *testing.T, client *http.Client, rawURL string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	return err
}

// TestClassifyNetwork reads real transport errors, produced by real
// clients against real (local) servers, except where a condition cannot be
// set up on a test machine (a DNS failure needs a resolver).
func TestClassifyNetwork(t *testing.T) {
	t.Parallel()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		case "/cut":
			// Promise a long body, send half, hang up.
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte("half"))
			if hj, ok := w.(http.Hijacker); ok {
				c, _, _ := hj.Hijack()
				_ = c.Close()
			}
		case "/reset":
			if hj, ok := w.(http.Hijacker); ok {
				c, _, _ := hj.Hijack()
				_ = c.Close()
			}
		}
	}))
	t.Cleanup(plain.Close)

	tests := []struct {
		name string
		err  func(t *testing.T) error
		want Kind
	}{
		{name: "connection refused", want: Unreachable, err: func(t *testing.T) error {
			return get(t, &http.Client{}, "http://"+closedPort(t)+"/")
		}},
		{name: "connection refused through safehttp", want: Unreachable, err: func(t *testing.T) error {
			return get(t, safehttp.New(safehttp.Options{Secrets: []string{"k3y-in-the-url-path"}}), "http://"+closedPort(t)+"/k3y-in-the-url-path")
		}},
		{name: "DNS failure", want: Unreachable, err: func(*testing.T) error {
			return &url.Error{Op: "Get", URL: "https://www.virustotal.invalid/api/v3/ip_addresses/1.2.3.4",
				Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "www.virustotal.invalid", IsNotFound: true}}}
		}},
		{name: "certificate signed by an unknown authority", want: Unreachable, err: func(t *testing.T) error {
			return get(t, &http.Client{}, tlsSrv.URL)
		}},
		{name: "plain HTTP where TLS was expected", want: Unreachable, err: func(t *testing.T) error {
			return get(t, &http.Client{}, "https://"+plain.Listener.Addr().String()+"/")
		}},
		{name: "client timeout", want: Transient, err: func(t *testing.T) error {
			return get(t, &http.Client{Timeout: 50 * time.Millisecond}, plain.URL+"/slow")
		}},
		{name: "body cut short", want: Transient, err: func(t *testing.T) error {
			return get(t, &http.Client{}, plain.URL+"/cut")
		}},
		{name: "connection closed without an answer", want: Transient, err: func(t *testing.T) error {
			return get(t, &http.Client{}, plain.URL+"/reset")
		}},
		{name: "body over the size limit is final", want: Answered, err: func(*testing.T) error {
			return fmt.Errorf("virustotal: read answer: %w", &safehttp.BodyTooLargeError{Limit: 16 << 20, Host: "www.virustotal.com"})
		}},
		{name: "cancelled by the caller", want: Answered, err: func(*testing.T) error { return context.Canceled }},
		{name: "anything else", want: Answered, err: func(*testing.T) error { return errors.New("HTTP 400 InvalidArgumentError") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.err(t)
			require.Error(t, err)
			assert.Equal(t, tt.want, ClassifyNetwork(err).Kind, "%v", err)
		})
	}
	assert.False(t, IsUnreachable(nil))
	assert.False(t, IsTransient(nil))
}
