package safehttp

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
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
