package abuseipdb_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/abuseipdb"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
)

// Against the AbuseIPDB fake: the check is answered 401 because no key is
// sent, which is the point.
func TestCheck_SendsNoKey(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewAbuseIPDB(t, key)
	c := abuseipdb.New(key, abuseipdb.WithBaseURL(fake.BaseURL()), abuseipdb.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}))
	h, err := c.Check(context.Background())
	require.NoError(t, err)
	assert.False(t, h.KeyAccepted, "the key is not checked")
	assert.False(t, h.SpentQuota)
	assert.Contains(t, h.Detail, "API reachable; key not checked: AbuseIPDB counts every request made with a key")
	reqs := fake.Requests()
	require.Len(t, reqs, 1)
	assert.Empty(t, reqs[0].Header.Get("Key"), "the key is never sent")
	assert.Equal(t, "/api/v2/check", reqs[0].Path)
	assert.Equal(t, "application/json", reqs[0].Header.Get("Accept"))
}

func TestCheck_Failures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		ctype, body string
		wantErr     error
		wantMsg     string
		wantSpent   bool
	}{
		{name: "happy path: answered without a key (a proxy adds one)", status: 200, ctype: "application/json", body: `{"data":{"ipAddress":"192.0.2.1","abuseConfidenceScore":0}}`, wantSpent: true},
		{name: "sad path: 503 HTML", status: 503, ctype: "text/html", body: "<html>down</html>", wantMsg: "HTTP 503"},
		{name: "sad path: HTML 401 from a proxy is not AbuseIPDB", status: 401, ctype: "text/html", body: "<html>proxy login</html>", wantMsg: "non-JSON answer"},
		{name: "sad path: 429", status: 429, ctype: "application/json", body: `{"errors":[{"detail":"Daily rate limit of 1000 requests exceeded","status":429}]}`, wantMsg: "rate limited (429)"},
		{name: "sad path: garbage 200", status: 200, ctype: "text/plain", body: "\x00\x01", wantErr: intel.ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Empty(t, r.Header.Get("Key"))
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := abuseipdb.New(key, abuseipdb.WithBaseURL(srv.URL+"/api/v2"), abuseipdb.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}))
			h, err := c.Check(context.Background())
			if tt.wantErr == nil && tt.wantMsg == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.wantSpent, h.SpentQuota)
				assert.False(t, h.KeyAccepted)
				return
			}
			require.Error(t, err)
			assert.NotErrorIs(t, err, intel.ErrUnauthorized, "no key was sent: nothing said about it")
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}
