package safehttp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/verdict-dev/verdict/pkg/safehttp"
)

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		warn    bool
		errPart string // empty: no error
	}{
		{raw: "https://www.virustotal.com/api/v3"},
		{raw: "https://api.abuseipdb.com/api/v2/"},
		{raw: "HTTPS://Proxy.Corp.Example:8443/vt"},
		{raw: "http://127.0.0.1:8080/api/v3"},
		{raw: "http://127.1.2.3/"},
		{raw: "http://localhost:9000"},
		{raw: "http://LOCALHOST./x"},
		{raw: "http://[::1]:8080/"},
		{raw: "http://[::ffff:127.0.0.1]/"},
		{raw: "http://vt-mirror.corp.example/api/v3", warn: true},
		{raw: "http://10.0.0.5:8080", warn: true},
		{raw: "http://[2001:db8::1]/", warn: true},
		{raw: "http://localhost.evil.example/", warn: true},
		{raw: "http://127.0.0.1.nip.io/", warn: true},
		{raw: "http://user:hunter2-password@mirror.example/", warn: true},
		{raw: "", errPart: "empty"},
		{raw: "   ", errPart: "empty"},
		{raw: "www.virustotal.com/api/v3", errPart: "not an absolute URL"},
		{raw: "/api/v3", errPart: "not an absolute URL"},
		{raw: "ftp://mirror.example/", errPart: `scheme "ftp"`},
		{raw: "file:///etc/passwd", errPart: `scheme "file"`},
		{raw: "https://", errPart: "no host"},
		{raw: "https:///path", errPart: "no host"},
		{raw: "http://:8080/", errPart: "no host"},
		{raw: "https:opaque", errPart: "no host"},
		{raw: "https://host:0/", errPart: "port"},
		{raw: "https://host:70000/", errPart: "port"},
		{raw: "https://host:port/", errPart: "not a valid URL"},
		{raw: "https://host/api?key=abc", errPart: "query string or fragment"},
		{raw: "https://host/api?", errPart: "query string or fragment"},
		{raw: "https://host/api#frag", errPart: "query string or fragment"},
		{raw: "https://ho st/", errPart: "not a valid URL"},
		{raw: "https://host/\x1b[31m", errPart: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			warning, err := safehttp.CheckBaseURL("virustotal", tt.raw)
			if tt.errPart != "" {
				assert.ErrorContains(t, err, tt.errPart)
				assert.ErrorContains(t, err, "virustotal.base_url")
				assert.Empty(t, warning)
				return
			}
			assert.NoError(t, err)
			if !tt.warn {
				assert.Empty(t, warning)
				return
			}
			assert.Contains(t, warning, "virustotal.base_url")
			assert.Contains(t, warning, "plain http://")
			assert.NotContains(t, warning, "hunter2")
		})
	}
}

func TestCheckBaseURLNeverPrintsAPassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"https://user:hunter2-password@host:port/",
		"ftp://user:hunter2-password@host/",
		"https://user:hunter2-password@host/?q=1",
		"http://user:hunter2-password@mirror.example/",
		"user:hunter2-password@host/x",
	} {
		warning, err := safehttp.CheckBaseURL("gemini", raw)
		if err != nil {
			assert.NotContains(t, err.Error(), "hunter2", raw)
		}
		assert.NotContains(t, warning, "hunter2", raw)
		assert.True(t, err != nil || warning != "", "%s: neither an error nor a warning", raw)
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "localhost.": true, "127.0.0.1": true, "127.255.255.254": true,
		"::1": true, "::ffff:127.0.0.1": true, "0:0:0:0:0:0:0:1": true,
		"": false, "localhost.localdomain": false, "a.localhost": false, "128.0.0.1": false, "0.0.0.0": false,
		"::": false, "10.0.0.1": false, "example.com": false, "[::1]": false,
	} {
		assert.Equal(t, want, safehttp.IsLoopback(host), host)
	}
}
