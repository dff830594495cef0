package ioc

import (
	"fmt"
	"net/netip"
	"strings"
)

// Allowlist holds indicators an organisation never wants looked up or
// scored: its own IPs, CIDRs and domains (a domain covers its subdomains).
type Allowlist struct {
	exact    map[IOC]bool
	prefixes []netip.Prefix
	domains  map[string]bool
}

// ParseAllowlist builds an Allowlist from entries such as "8.8.8.8",
// "203.0.113.0/24", "corp.example.com" or a hash.
func ParseAllowlist(entries []string) (*Allowlist, error) {
	a := &Allowlist{exact: map[IOC]bool{}, domains: map[string]bool{}}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			a.prefixes = append(a.prefixes, p.Masked())
			continue
		}
		i, err := Guess(e)
		if err != nil {
			return nil, fmt.Errorf("allowlist entry %q is not an IP, CIDR, domain, URL or hash", e)
		}
		if i.Type == Domain {
			a.domains[i.Value] = true
		} else {
			a.exact[i] = true
		}
	}
	return a, nil
}

// Len is the number of entries.
func (a *Allowlist) Len() int {
	if a == nil {
		return 0
	}
	return len(a.exact) + len(a.prefixes) + len(a.domains)
}

// Contains reports whether i is allowlisted: listed itself, an address in a
// listed CIDR, a domain under a listed domain, or a URL whose host is.
func (a *Allowlist) Contains(i IOC) bool {
	if a.Len() == 0 {
		return false
	}
	if a.exact[i] {
		return true
	}
	switch i.Type {
	case IPv4, IPv6:
		addr, err := netip.ParseAddr(i.Value)
		if err != nil {
			return false
		}
		for _, p := range a.prefixes {
			if p.Contains(addr) {
				return true
			}
		}
	case Domain:
		for d := i.Value; d != ""; {
			if a.domains[d] {
				return true
			}
			dot := strings.IndexByte(d, '.')
			if dot < 0 {
				break
			}
			d = d[dot+1:]
		}
	case URL:
		if h, err := URLHost(i.Value); err == nil {
			return a.Contains(h)
		}
	}
	return false
}
