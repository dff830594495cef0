package ioc

import "net/netip"

// Special-purpose ranges (IANA IPv4/IPv6 special-purpose address registries).
// Order matters: the first match wins, so narrow ranges come before the
// broad "reserved" ones.
var specialRanges = []struct {
	prefix netip.Prefix
	reason SkipReason
}{
	// IPv4
	{mustPrefix("0.0.0.0/32"), Unspecified},
	{mustPrefix("0.0.0.0/8"), Reserved}, // "this network"
	{mustPrefix("10.0.0.0/8"), Private},
	{mustPrefix("100.64.0.0/10"), Shared}, // carrier-grade NAT
	{mustPrefix("127.0.0.0/8"), Loopback},
	{mustPrefix("169.254.0.0/16"), LinkLocal},
	{mustPrefix("172.16.0.0/12"), Private},
	{mustPrefix("192.0.0.0/24"), Reserved}, // IETF protocol assignments
	{mustPrefix("192.0.2.0/24"), Documentation},
	{mustPrefix("192.88.99.0/24"), Reserved}, // deprecated 6to4 relay anycast
	{mustPrefix("192.168.0.0/16"), Private},
	{mustPrefix("198.18.0.0/15"), Reserved}, // benchmarking
	{mustPrefix("198.51.100.0/24"), Documentation},
	{mustPrefix("203.0.113.0/24"), Documentation},
	{mustPrefix("224.0.0.0/4"), Multicast},
	{mustPrefix("240.0.0.0/4"), Reserved}, // includes 255.255.255.255
	// IPv6
	{mustPrefix("::/128"), Unspecified},
	{mustPrefix("::1/128"), Loopback},
	{mustPrefix("64:ff9b:1::/48"), Private}, // local-use NAT64
	{mustPrefix("100::/64"), Reserved},      // discard-only
	{mustPrefix("2001:db8::/32"), Documentation},
	{mustPrefix("3fff::/20"), Documentation},
	{mustPrefix("2001::/23"), Reserved}, // IETF protocol assignments (Teredo, ORCHID, ...)
	{mustPrefix("2002::/16"), Reserved}, // 6to4: the real host is the embedded IPv4
	{mustPrefix("fc00::/7"), Private},   // unique local
	{mustPrefix("fe80::/10"), LinkLocal},
	{mustPrefix("fec0::/10"), Reserved}, // deprecated site-local
	{mustPrefix("ff00::/8"), Multicast},
}

var globalUnicast6 = mustPrefix("2000::/3")

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// ClassifyAddr returns why an address must never be sent to a provider, or
// NotSkipped for a global unicast address.
func ClassifyAddr(a netip.Addr) SkipReason {
	a = a.WithZone("").Unmap()
	for _, r := range specialRanges {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	if a.Is6() && !globalUnicast6.Contains(a) {
		return Reserved // everything outside 2000::/3 is unallocated or special
	}
	return NotSkipped
}

// Classify returns the skip reason of an indicator: that of its address for
// IPs, and that of its host for URLs whose host is an IP. Domains and hashes
// are never skipped by address rules; Policy.Classify adds the rules for
// names and hashes (reserved, empty_file, internal, allowlisted).
func Classify(i IOC) SkipReason {
	switch i.Type {
	case IPv4, IPv6:
		a, err := netip.ParseAddr(i.Value)
		if err != nil {
			return Reserved
		}
		return ClassifyAddr(a)
	case URL:
		h, err := URLHost(i.Value)
		if err != nil {
			return NotSkipped
		}
		if h.Type.IsIP() {
			return Classify(h)
		}
	}
	return NotSkipped
}
