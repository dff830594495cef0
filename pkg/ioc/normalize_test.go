package ioc_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      ioc.IOC
		want    ioc.IOC
		wantErr string
	}{
		{name: "happy path: IPv6 canonical form", in: v6("2001:0DB8:0:0:0:0:0:1"), want: v6("2001:db8::1")},
		{name: "happy path: mapped IPv6 becomes IPv4", in: v6("::ffff:10.0.0.1"), want: v4("10.0.0.1")},
		{name: "happy path: IPv6 zone dropped", in: v6("fe80::1%eth0"), want: v6("fe80::1")},
		{name: "happy path: domain lower-cased without trailing dot", in: dom("WWW.Evil.COM."), want: dom("www.evil.com")},
		{name: "happy path: internationalised domain", in: dom("bücher.de"), want: dom("xn--bcher-kva.de")},
		{name: "happy path: hash lower-cased", in: md5("D41D8CD98F00B204E9800998ECF8427E"), want: md5(hashMD5)},
		{name: "happy path: URL scheme and host only lower-cased", in: link("HTTP://Evil.COM/A?B=C"), want: link("http://evil.com/A?B=C")},
		{name: "happy path: URL with mapped IPv6 host stays bracketed", in: link("http://[::FFFF:1.2.3.4]:80/"), want: link("http://[::ffff:1.2.3.4]:80/")},
		{name: "sad path: leading zero", in: v4("01.2.3.4"), wantErr: "not an IP address"},
		{name: "sad path: octet out of range", in: v4("999.1.1.1"), wantErr: "not an IP address"},
		{name: "sad path: unlisted TLD", in: dom("svchost.exe"), wantErr: "not under a public suffix"},
		{name: "sad path: public suffix itself", in: dom("co.uk"), wantErr: "not under a public suffix"},
		{name: "sad path: single label", in: dom("intranet"), wantErr: "not a domain"},
		{name: "sad path: hash of wrong length for type", in: sha1(hashMD5), wantErr: "not a sha1 hash"},
		{name: "sad path: null hash", in: md5("00000000000000000000000000000000"), wantErr: "not a md5 hash"},
		{name: "sad path: URL with single-label host", in: link("http://intranet/x"), wantErr: "not a URL"},
		{name: "sad path: URL with unknown scheme", in: link("ldap://evil.com/x"), wantErr: "not a URL"},
		{name: "sad path: URL with bracketed IPv4", in: link("http://[1.2.3.4]/"), wantErr: "not a URL"},
		{name: "sad path: URL with unbracketed IPv6", in: link("http://::1/"), wantErr: "not a URL"},
		{name: "sad path: URL with bad escape", in: link("http://evil.com/%zz"), wantErr: "not a URL"},
		{name: "sad path: unknown type", in: ioc.IOC{Type: "email", Value: "a@b.com"}, wantErr: "unknown type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ioc.Normalize(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ioc.ErrInvalid)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := ioc.Normalize(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "Normalize is not idempotent")
		})
	}
}

func TestNormalizeIdempotentOnExtracted(t *testing.T) {
	t.Parallel()
	for _, tt := range extractCases {
		for _, i := range ioc.Extract(tt.in, tt.opts) {
			n, err := ioc.Normalize(i)
			require.NoError(t, err, tt.name)
			assert.Equal(t, i, n, tt.name)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   ioc.IOC
		want ioc.SkipReason
	}{
		{name: "global IPv4", in: v4("185.220.101.45"), want: ioc.NotSkipped},
		{name: "global IPv6", in: v6("2a00:1450:4001:81d::200e"), want: ioc.NotSkipped},
		{name: "RFC 1918", in: v4("192.168.1.42"), want: ioc.Private},
		{name: "unique local IPv6", in: v6("fd00::1"), want: ioc.Private},
		{name: "loopback", in: v4("127.0.0.1"), want: ioc.Loopback},
		{name: "IPv6 loopback", in: v6("::1"), want: ioc.Loopback},
		{name: "link-local", in: v4("169.254.169.254"), want: ioc.LinkLocal},
		{name: "IPv6 link-local", in: v6("fe80::1"), want: ioc.LinkLocal},
		{name: "multicast", in: v4("239.255.255.250"), want: ioc.Multicast},
		{name: "IPv6 multicast", in: v6("ff02::1"), want: ioc.Multicast},
		{name: "reserved class E", in: v4("240.0.0.1"), want: ioc.Reserved},
		{name: "broadcast", in: v4("255.255.255.255"), want: ioc.Reserved},
		{name: "benchmarking", in: v4("198.18.0.1"), want: ioc.Reserved},
		{name: "6to4", in: v6("2002:c000:204::1"), want: ioc.Reserved},
		{name: "unallocated IPv6", in: v6("4000::1"), want: ioc.Reserved},
		{name: "TEST-NET-1", in: v4("192.0.2.1"), want: ioc.Documentation},
		{name: "IPv6 documentation", in: v6("2001:db8::1"), want: ioc.Documentation},
		{name: "carrier-grade NAT", in: v4("100.64.0.1"), want: ioc.Shared},
		{name: "unspecified", in: v4("0.0.0.0"), want: ioc.Unspecified},
		{name: "IPv6 unspecified", in: v6("::"), want: ioc.Unspecified},
		{name: "unparsable IP", in: v4("999.1.1.1"), want: ioc.Reserved},
		{name: "URL with private IP host", in: link("http://10.0.0.5:8080/x"), want: ioc.Private},
		{name: "URL with mapped loopback host", in: link("http://[::ffff:127.0.0.1]/"), want: ioc.Loopback},
		{name: "URL with domain host", in: link("http://evil.com/"), want: ioc.NotSkipped},
		{name: "domain", in: dom("localhost.evil.com"), want: ioc.NotSkipped},
		{name: "hash", in: sha256(hashSHA256), want: ioc.NotSkipped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, ioc.Classify(tt.in))
		})
	}
}

func TestClassifyAddrMatchesNetip(t *testing.T) {
	t.Parallel()
	// Whatever Classify lets through must be global unicast by netip too.
	for _, s := range []string{"1.1.1.1", "8.8.8.8", "2606:4700::1111", "100.63.255.255", "100.128.0.0", "172.32.0.1", "192.169.0.1"} {
		a := netip.MustParseAddr(s)
		require.Equal(t, ioc.NotSkipped, ioc.ClassifyAddr(a), s)
		assert.True(t, a.IsGlobalUnicast() && !a.IsPrivate(), s)
	}
}
