package ioc_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

func TestPolicyClassify(t *testing.T) {
	t.Parallel()
	allow, err := ioc.ParseAllowlist([]string{"8.8.8.8", "good.com", "example.org", hashSHA256, "http://ok.net/x"})
	require.NoError(t, err)
	p, err := ioc.NewPolicy(allow, []string{"corp.com", "*.contoso.net", "bücher.de", "corp.local"})
	require.NoError(t, err)
	tests := []struct {
		name string
		in   ioc.IOC
		want ioc.SkipReason
	}{
		// Address rules, as ioc.Classify.
		{name: "global IPv4", in: v4("185.220.101.45"), want: ioc.NotSkipped},
		{name: "private IPv4", in: v4("10.1.2.3"), want: ioc.Private},
		{name: "documentation IPv6", in: v6("2001:db8::1"), want: ioc.Documentation},
		{name: "URL with a loopback host", in: link("http://127.0.0.1:8080/x"), want: ioc.Loopback},

		// Reserved names (RFC 2606, RFC 6761).
		{name: "example.com", in: dom("example.com"), want: ioc.Reserved},
		{name: "subdomain of example.net", in: dom("www.example.net"), want: ioc.Reserved},
		{name: "deep subdomain of example.com", in: dom("a.b.example.com"), want: ioc.Reserved},
		{name: ".example TLD", in: dom("evil.example"), want: ioc.Reserved},
		{name: ".test TLD", in: dom("c2.test"), want: ioc.Reserved},
		{name: ".invalid TLD", in: dom("x.invalid"), want: ioc.Reserved},
		{name: ".localhost TLD", in: dom("app.localhost"), want: ioc.Reserved},
		{name: "localhost", in: dom("localhost"), want: ioc.Reserved},
		{name: "URL with a reserved host", in: link("https://cdn.example.org/payload.bin"), want: ioc.Reserved},
		{name: "reserved wins over allowlisted", in: dom("example.org"), want: ioc.Reserved},
		{name: "a name ending in example.com is not reserved", in: dom("notexample.com"), want: ioc.NotSkipped},
		{name: "example under another suffix is real", in: dom("example.co.uk"), want: ioc.NotSkipped},
		{name: "example.com under another name is real", in: dom("example.com.evil.net"), want: ioc.NotSkipped},
		{name: "test as a label is real", in: dom("test.evil.com"), want: ioc.NotSkipped},

		// Hashes of the empty file.
		{name: "empty-file MD5", in: md5(hashMD5), want: ioc.EmptyFile},
		{name: "empty-file SHA-1", in: sha1(hashSHA1), want: ioc.EmptyFile},
		{name: "empty-file SHA-256 wins over allowlisted", in: sha256(hashSHA256), want: ioc.EmptyFile},
		{name: "other MD5", in: md5(hashGUIDHex), want: ioc.NotSkipped},
		{name: "empty-file MD5 value under the wrong type", in: ioc.IOC{Type: ioc.Domain, Value: hashMD5}, want: ioc.NotSkipped},

		// Internal domains.
		{name: "internal domain itself", in: dom("corp.com"), want: ioc.Internal},
		{name: "under an internal domain", in: dom("mail.corp.com"), want: ioc.Internal},
		{name: "wildcard entry covers its subdomains", in: dom("vpn.eu.contoso.net"), want: ioc.Internal},
		{name: "wildcard entry covers the name itself", in: dom("contoso.net"), want: ioc.Internal},
		{name: "Unicode entry matches the A-label", in: dom("shop.xn--bcher-kva.de"), want: ioc.Internal},
		{name: "a name ending in the internal one is not under it", in: dom("evilcorp.com"), want: ioc.NotSkipped},
		{name: "internal name under another", in: dom("corp.com.evil.net"), want: ioc.NotSkipped},
		{name: "URL with an internal host", in: link("https://sso.corp.com/login"), want: ioc.Internal},
		{name: "URL with an internal host and userinfo", in: link("http://u:p@corp.com:8443/"), want: ioc.Internal},

		// Allowlist.
		{name: "allowlisted IP", in: v4("8.8.8.8"), want: ioc.Allowlisted},
		{name: "allowlisted domain's subdomain", in: dom("cdn.good.com"), want: ioc.Allowlisted},
		{name: "URL under an allowlisted domain", in: link("https://good.com/x"), want: ioc.Allowlisted},
		{name: "allowlisted URL", in: link("http://ok.net/x"), want: ioc.Allowlisted},
		{name: "other URL on that host", in: link("http://ok.net/y"), want: ioc.NotSkipped},
		{name: "plain domain", in: dom("evil.com"), want: ioc.NotSkipped},
		{name: "plain URL", in: link("http://evil.com/x"), want: ioc.NotSkipped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, p.Classify(tt.in))
		})
	}
}

func TestPolicyNilAndEmpty(t *testing.T) {
	t.Parallel()
	empty, err := ioc.NewPolicy(nil, nil)
	require.NoError(t, err)
	for _, p := range []*ioc.Policy{nil, empty, {}} {
		assert.Equal(t, ioc.Private, p.Classify(v4("192.168.1.1")))
		assert.Equal(t, ioc.Reserved, p.Classify(dom("example.com")))
		assert.Equal(t, ioc.EmptyFile, p.Classify(md5(hashMD5)))
		assert.Equal(t, ioc.NotSkipped, p.Classify(dom("corp.com")))
		assert.Equal(t, ioc.NotSkipped, p.Classify(v4("8.8.8.8")))
	}
}

func TestNewPolicyInternalDomains(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entries []string
		match   string // a domain that must then be internal
		wantErr string
	}{
		{name: "happy path: plain", entries: []string{"corp.com"}, match: "a.corp.com"},
		{name: "happy path: upper case and trailing dot", entries: []string{" CORP.COM. "}, match: "corp.com"},
		{name: "happy path: leading dot", entries: []string{".corp.com"}, match: "x.corp.com"},
		{name: "happy path: non-public internal zone", entries: []string{"corp.local"}, match: "dc01.corp.local"},
		{name: "happy path: single label", entries: []string{"corp"}, match: "host.corp"},
		{name: "happy path: Unicode", entries: []string{"Bücher.de"}, match: "xn--bcher-kva.de"},
		{name: "happy path: blanks are ignored", entries: []string{"", "  "}},
		{name: "sad path: public suffix", entries: []string{"com"}, wantErr: "is a public suffix"},
		{name: "sad path: multi-label public suffix", entries: []string{"co.uk"}, wantErr: "is a public suffix"},
		{name: "sad path: private public suffix", entries: []string{"github.io"}, wantErr: "is a public suffix"},
		{name: "sad path: not a host name", entries: []string{"corp_com!"}, wantErr: "is not a host name"},
		{name: "sad path: URL", entries: []string{"https://corp.com/"}, wantErr: "is not a host name"},
		{name: "sad path: invalid A-label", entries: []string{"xn--zz.com"}, wantErr: "internal domain"},
		{name: "sad path: invalid UTF-8", entries: []string{"corp\xff.com"}, wantErr: "not valid UTF-8"},
		{name: "sad path: IP address", entries: []string{"10.1.2.3"}, wantErr: "is an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ioc.NewPolicy(nil, tt.entries)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ioc.ErrInvalid)
				assert.ErrorContains(t, err, tt.wantErr)
				assert.ErrorContains(t, err, strconv.Quote(tt.entries[0]), "the error names the entry")
				return
			}
			require.NoError(t, err)
			if tt.match != "" {
				assert.Equal(t, ioc.Internal, p.Classify(dom(tt.match)))
			}
			assert.Equal(t, ioc.NotSkipped, p.Classify(dom("evil.com")))
		})
	}
}

func TestReservedName(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"example.com", "example.org", "www.example.net", "x.example", "a.b.test", "x.invalid", "localhost", "a.localhost", "example.com."} {
		assert.True(t, ioc.ReservedName(d), d)
	}
	for _, d := range []string{"example.co.uk", "myexample.com", "test.com", "localhost.localdomain", "invalid.net", ""} {
		assert.False(t, ioc.ReservedName(d), d)
	}
}

// TestPolicyOnExtracted checks the two halves together: what Extract takes
// from text is what the Policy skips.
func TestPolicyOnExtracted(t *testing.T) {
	t.Parallel()
	p, err := ioc.NewPolicy(nil, []string{"corp.com"})
	require.NoError(t, err)
	in := "GET http://www.example.com/x from 10.0.0.5 to c2.test, hash " + hashSHA256 +
		", mail sso.corp.com, beacon bücher-shop.de, sha1 " + strings.Repeat("0", 40)
	got := map[string]ioc.SkipReason{}
	for _, i := range ioc.Extract(in, ioc.Options{}) {
		got[i.String()] = p.Classify(i)
	}
	assert.Equal(t, map[string]ioc.SkipReason{
		"url:http://www.example.com/x": ioc.Reserved,
		"domain:www.example.com":       ioc.Reserved,
		"ipv4:10.0.0.5":                ioc.Private,
		"domain:c2.test":               ioc.Reserved,
		"sha256:" + hashSHA256:         ioc.EmptyFile,
		"domain:sso.corp.com":          ioc.Internal,
		"domain:" + buecherShop:        ioc.NotSkipped,
	}, got)
}
