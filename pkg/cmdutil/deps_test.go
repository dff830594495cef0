package cmdutil

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/config"
)

// Every configured key is a secret the HTTP clients scrub, and an echoed
// key never reaches the caller.
func TestHTTPClientScrubsEveryConfiguredKey(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "virustotal", APIKey: "vt-key-0123456789"}, {Name: "abuseipdb"}},
		Gemini:    config.Gemini{APIKey: "gemini-key-0123456789"},
	}
	assert.Equal(t, []string{"vt-key-0123456789", "gemini-key-0123456789"}, Secrets(cfg), "empty keys are not secrets")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", "vt-key-0123456789")
		io.WriteString(w, `{"error":"bad key gemini-key-0123456789 and vt-key-0123456789"}`)
	}))
	defer srv.Close()
	c := NewHTTPClient(7*time.Second, Secrets(cfg))
	assert.Equal(t, 7*time.Second, c.Timeout, "every client has an explicit timeout")
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.NotContains(t, string(body), "key-0123456789")
	assert.NotContains(t, resp.Header.Get("X-Echo"), "key-0123456789")
}

func TestCheckBaseURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		url      string
		wantErr  string
		wantWarn bool
	}{
		{name: "happy path: https", url: "https://www.virustotal.com/api/v3"},
		{name: "happy path: plain http on this machine", url: "http://127.0.0.1:8080/api"},
		{name: "plain http to another host warns", url: "http://proxy.corp:8080/api", wantWarn: true},
		{name: "sad path: not http", url: "ftp://mirror/api", wantErr: "virustotal.base_url (VERDICT_VIRUSTOTAL_BASE_URL)"},
		{name: "sad path: relative", url: "/api/v3", wantErr: "virustotal.base_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			cfg := &config.Config{Providers: []config.Provider{{Name: "virustotal", BaseURL: tt.url}}}
			err := CheckBaseURLs(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.wantErr != "" {
				var ec *ExitCodeError
				require.ErrorAs(t, err, &ec, "a usage error")
				assert.Equal(t, ExitUsage, ec.Code)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.wantWarn {
				assert.Contains(t, logs.String(), "virustotal.base_url")
			} else {
				assert.Empty(t, logs.String())
			}
		})
	}
}
