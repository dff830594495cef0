package virustotal_test

import (
	"context"
	"errors"
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

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/virustotal"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

// quotaBody is GET /users/{id}/overall_quotas for a free key (the shape
// the quota probes of public VirusTotal clients read: data.<quota>.user).
const quotaBody = `{"data": {
  "api_requests_daily":   {"user": {"used": 37, "allowed": 500}},
  "api_requests_hourly":  {"user": {"used": 3, "allowed": 240}},
  "api_requests_monthly": {"user": {"used": 1204, "allowed": 15500}},
  "intelligence_searches_monthly": {"user": {"used": 0, "allowed": 0}}
}}`

// quotaServer fakes the quota endpoint: it checks the header and the id in
// the path, then plays status/body.
func quotaServer(t *testing.T, status int, ctype, body string, hits *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		id, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v3/users/")
		id, ok2 := strings.CutSuffix(id, "/overall_quotas")
		id, _ = url.PathUnescape(id)
		switch {
		case r.Method != http.MethodGet || !ok || !ok2:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"NotFoundError","message":"bad path"}}`)
			return
		case r.Header.Get("x-apikey") == "":
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"AuthenticationRequiredError","message":"X-Apikey header is missing"}}`)
			return
		case id != r.Header.Get("x-apikey"):
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"error":{"code":"ForbiddenError","message":"You are not authorized to perform the requested operation"}}`)
			return
		}
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "30")
		}
		w.WriteHeader(status)
		// A hostile answer echoing the key must not carry it anywhere.
		io.WriteString(w, strings.ReplaceAll(body, "KEY", id))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		ctype      string
		body       string
		wantDetail string
		wantErr    error
		wantErrMsg string
	}{
		{name: "happy path: key accepted, VirusTotal's own counters", status: 200, ctype: "application/json", body: quotaBody,
			wantDetail: "key accepted; VirusTotal counts 37 of 500 requests today, 3 of 240 requests this hour, 1204 of 15500 requests this month"},
		{name: "happy path: an answer without counters", status: 200, ctype: "application/json", body: `{"data": {}}`, wantDetail: "key accepted"},
		{name: "sad path: 401 wrong key", status: 401, ctype: "application/json", body: `{"error":{"code":"WrongCredentialsError","message":"Wrong API key KEY"}}`,
			wantErr: intel.ErrUnauthorized, wantErrMsg: "WrongCredentialsError"},
		{name: "sad path: 401 inactive account", status: 401, ctype: "application/json", body: `{"error":{"code":"UserNotActiveError","message":"User is not active"}}`,
			wantErr: intel.ErrUnauthorized},
		{name: "sad path: 429 over quota", status: 429, ctype: "application/json", body: `{"error":{"code":"QuotaExceededError","message":"Quota exceeded"}}`,
			wantErrMsg: "rate limited (429): QuotaExceededError"},
		{name: "sad path: HTML 503 from a proxy", status: 503, ctype: "text/html", body: "<html><body>Service Unavailable KEY</body></html>",
			wantErrMsg: "HTTP 503"},
		{name: "sad path: garbage with 200", status: 200, ctype: "application/json", body: "\x00not json", wantErr: intel.ErrBadResponse},
		{name: "sad path: HTML with 200", status: 200, ctype: "text/html", body: "<html>login</html>", wantErr: intel.ErrBadResponse},
		{name: "sad path: 404 is not a verdict on the key", status: 404, ctype: "application/json", body: `{"error":{"code":"NotFoundError","message":"User KEY not found"}}`,
			wantErr: intel.ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv := quotaServer(t, tt.status, tt.ctype, tt.body, &hits)
			hc := safehttp.New(safehttp.Options{Timeout: 5 * time.Second, Secrets: []string{key}})
			c := virustotal.New(key, virustotal.WithBaseURL(srv.URL+"/api/v3"), virustotal.WithHTTPClient(hc))
			h, err := c.Check(context.Background())
			assert.EqualValues(t, 1, hits.Load(), "one request")
			if tt.wantErr == nil && tt.wantErrMsg == "" {
				require.NoError(t, err)
				assert.True(t, h.KeyAccepted)
				assert.False(t, h.SpentQuota, "an account endpoint, not a lookup")
				assert.Equal(t, tt.wantDetail, h.Detail)
				return
			}
			require.Error(t, err)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			assert.Contains(t, err.Error(), tt.wantErrMsg)
			assert.NotContains(t, err.Error(), key)
			assert.NotContains(t, err.Error(), url.PathEscape(key))
			if tt.status == 429 {
				var rl *intel.RateLimitError
				require.True(t, errors.As(err, &rl))
				assert.Equal(t, 30*time.Second, rl.RetryAfter)
			}
		})
	}
}

// The key is in the URL of this one request, and net/http quotes the URL
// in its errors: a failure to connect must not print it.
func TestCheck_TransportErrorHidesTheKey(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/api/v3"
	srv.Close() // connection refused from now on
	c := virustotal.New(key, virustotal.WithBaseURL(base), virustotal.WithHTTPClient(&http.Client{Timeout: time.Second}))
	_, err := c.Check(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), key)
	assert.Contains(t, err.Error(), safehttp.Redacted)
	assert.Contains(t, err.Error(), "/overall_quotas")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Check(ctx)
	assert.ErrorIs(t, err, context.Canceled, "errors.Is still sees through the scrubbing")
	assert.NotContains(t, err.Error(), key)
}

func TestCheck_NoKey(t *testing.T) {
	t.Parallel()
	_, err := virustotal.New("").Check(context.Background())
	assert.ErrorIs(t, err, intel.ErrUnauthorized)
}
