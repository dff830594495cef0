package cmdutil

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTPClientHonoursProxyAndTimeout(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
	t.Setenv("NO_PROXY", "internal.example")
	c := NewHTTPClient(7 * time.Second)
	assert.Equal(t, 7*time.Second, c.Timeout, "every client has an explicit timeout")
	tr, ok := c.Transport.(*http.Transport)
	require.True(t, ok)
	req, _ := http.NewRequest(http.MethodGet, "https://www.virustotal.com/api/v3/domains/x.com", nil)
	u, err := tr.Proxy(req)
	require.NoError(t, err)
	require.NotNil(t, u)
	assert.Equal(t, "proxy.corp.example:3128", u.Host)
	req, _ = http.NewRequest(http.MethodGet, "https://internal.example/api", nil)
	u, err = tr.Proxy(req)
	require.NoError(t, err)
	assert.Nil(t, u, "NO_PROXY is honoured too")
}
