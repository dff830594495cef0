package safehttp

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://www.virustotal.com/api/v3/files/x", "https://www.virustotal.com/gui/file/x", true},
		{"https://www.virustotal.com/x", "https://WWW.VirusTotal.com./y", true},
		{"https://www.virustotal.com/x", "https://www.virustotal.com:443/y", true},
		{"http://127.0.0.1/x", "http://127.0.0.1:80/y", true},
		{"https://www.virustotal.com/x", "http://www.virustotal.com/x", false}, // downgrade
		{"http://www.virustotal.com/x", "https://www.virustotal.com/x", false}, // upgrade: still another origin
		{"https://www.virustotal.com/x", "https://www.virustotal.com:8443/x", false},
		{"https://www.virustotal.com/x", "https://virustotal.com/x", false},  // parent domain
		{"https://virustotal.com/x", "https://evil.virustotal.com/x", false}, // subdomain
		{"https://www.virustotal.com/x", "https://www.virustotal.com.evil/x", false},
		{"https://user@host/x", "https://other@host/y", true},
		{"http://[::1]:8080/", "http://[0:0:0:0:0:0:0:1]:8080/", false}, // spelled differently: refused, never wrongly allowed
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		assert.Equal(t, tt.want, sameOrigin(a, b), "%s vs %s", tt.a, tt.b)
		assert.Equal(t, tt.want, sameOrigin(b, a), "%s vs %s", tt.b, tt.a)
	}
}

func TestOriginHidesPathQueryAndUserinfo(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("HTTPS://user:pw@Host.Example:8443/p/a/t/h?key=secret#frag")
	assert.Equal(t, "https://Host.Example:8443", origin(u))
}

func baseTransport(t *testing.T, c *http.Client) *http.Transport {
	t.Helper()
	tr, ok := c.Transport.(*transport)
	require.True(t, ok)
	base, ok := tr.base.(*http.Transport)
	require.True(t, ok)
	return base
}

func TestNewHonoursProxyEnvironment(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
	t.Setenv("HTTP_PROXY", "http://plain-proxy.corp.example:8080")
	t.Setenv("NO_PROXY", "internal.example")
	tr := baseTransport(t, New(Options{}))
	for target, want := range map[string]string{
		"https://www.virustotal.com/api/v3/domains/x.com": "proxy.corp.example:3128",
		"http://mirror.example/api":                       "plain-proxy.corp.example:8080",
		"https://internal.example/api":                    "", // NO_PROXY
		"https://api.internal.example/api":                "", // and its subdomains
		"http://127.0.0.1:8080/api":                       "", // never for this machine
		"http://localhost/api":                            "",
	} {
		req, err := http.NewRequest(http.MethodGet, target, nil)
		require.NoError(t, err)
		u, err := tr.Proxy(req)
		require.NoError(t, err)
		if want == "" {
			assert.Nil(t, u, target)
			continue
		}
		require.NotNil(t, u, target)
		assert.Equal(t, want, u.Host, target)
	}
}

func TestNewTransportSettings(t *testing.T) {
	t.Parallel()
	c := New(Options{Timeout: 7 * time.Second, DialTimeout: 2 * time.Second, TLSHandshakeTimeout: 3 * time.Second})
	assert.Equal(t, 7*time.Second, c.Timeout, "every client has an overall timeout")
	tr := baseTransport(t, c)
	assert.Equal(t, 3*time.Second, tr.TLSHandshakeTimeout)
	assert.Equal(t, 7*time.Second, tr.ResponseHeaderTimeout, "defaults to the overall timeout")
	assert.Equal(t, DefaultMaxHeaderSize, tr.MaxResponseHeaderBytes, "headers are capped too")
	assert.Equal(t, uint16(tls.VersionTLS12), tr.TLSClientConfig.MinVersion)
	assert.False(t, tr.DisableCompression, "net/http negotiates and decodes gzip")
	assert.NotNil(t, c.CheckRedirect)

	d := baseTransport(t, New(Options{}))
	assert.Equal(t, DefaultTLSTimeout, d.TLSHandshakeTimeout)
	assert.Equal(t, DefaultTimeout, d.ResponseHeaderTimeout)
}
