package ioc

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Policy decides, for each unique indicator of a run, whether it is sent to
// providers or skipped, and why. It applies, in order: the address rules of
// Classify (private, loopback, ...), the names reserved for documentation
// and testing (RFC 2606, RFC 6761), the hashes of the empty file, the
// organisation's own domains, and the allowlist. A URL takes the reason of
// its host. The zero Policy and a nil *Policy apply the fixed rules only.
type Policy struct {
	allow    *Allowlist
	internal map[string]bool // lower-case A-label names
}

// NewPolicy builds a Policy from an allowlist (nil for none) and the
// organisation's own domains (config ioc.internal_domains): a name equal to
// or under one of them is skipped as Internal. Entries may be written in
// Unicode or with a leading "*." or "."; they need not be public names
// (corp.local is fine), but a public suffix itself (com, co.uk) is refused,
// since it would hide every name under it.
func NewPolicy(allow *Allowlist, internalDomains []string) (*Policy, error) {
	p := &Policy{allow: allow}
	for _, e := range internalDomains {
		d, err := internalDomain(e)
		if err != nil {
			return nil, err
		}
		if d == "" {
			continue
		}
		if p.internal == nil {
			p.internal = map[string]bool{}
		}
		p.internal[d] = true
	}
	return p, nil
}

func internalDomain(e string) (string, error) {
	d := strings.TrimSpace(e)
	if rest, ok := strings.CutPrefix(d, "*."); ok {
		d = rest
	} else {
		d = strings.TrimPrefix(d, ".")
	}
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", nil
	}
	if _, err := ParseIP(d); err == nil {
		return "", fmt.Errorf("%w: internal domain %q is an IP address (list addresses and CIDRs under allowlist)", ErrInvalid, e)
	}
	if !utf8.ValidString(d) {
		return "", fmt.Errorf("%w: internal domain %q is not valid UTF-8", ErrInvalid, e)
	}
	if !isASCII(d) || strings.Contains(strings.ToLower(d), "xn--") {
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return "", fmt.Errorf("%w: internal domain %q: %w", ErrInvalid, e, err)
		}
		d = a
	}
	d = strings.ToLower(d)
	if !validLabels(d) {
		return "", fmt.Errorf("%w: internal domain %q is not a host name", ErrInvalid, e)
	}
	if ps, icann := publicsuffix.PublicSuffix(d); ps == d && (icann || strings.Contains(ps, ".")) {
		return "", fmt.Errorf("%w: internal domain %q is a public suffix: it would cover every name under it", ErrInvalid, e)
	}
	return d, nil
}

// validLabels checks RFC 1123 label syntax on a lower-case ASCII name of one
// or more labels.
func validLabels(d string) bool {
	if len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Classify returns why i must not be sent to a provider, or NotSkipped. i is
// expected in Normalize form, as Extract returns it.
func (p *Policy) Classify(i IOC) SkipReason {
	if r := p.classifyHost(i); r != NotSkipped {
		return r
	}
	if i.Type.IsHash() && emptyFileHashes[i] {
		return EmptyFile
	}
	if p != nil && p.allow.Contains(i) {
		return Allowlisted
	}
	return NotSkipped
}

// classifyHost applies the address and name rules to an IP, a domain, or a
// URL's host.
func (p *Policy) classifyHost(i IOC) SkipReason {
	switch i.Type {
	case IPv4, IPv6:
		return Classify(i)
	case Domain:
		if ReservedName(i.Value) {
			return Reserved
		}
		if p.isInternal(i.Value) {
			return Internal
		}
	case URL:
		h, err := URLHost(i.Value)
		if err != nil {
			return NotSkipped
		}
		return p.classifyHost(h)
	}
	return NotSkipped
}

func (p *Policy) isInternal(d string) bool {
	if p == nil || len(p.internal) == 0 {
		return false
	}
	for {
		if p.internal[d] {
			return true
		}
		dot := strings.IndexByte(d, '.')
		if dot < 0 {
			return false
		}
		d = d[dot+1:]
	}
}

// ReservedName reports whether the lower-case host name d is reserved for
// documentation and testing by RFC 2606 and RFC 6761: example.com,
// example.net, example.org and the names under them, the names under the
// .example, .test, .invalid and .localhost TLDs, and localhost itself.
// Nothing real answers for them, so looking them up only spends quota.
func ReservedName(d string) bool {
	d = strings.TrimSuffix(d, ".")
	top := d[strings.LastIndexByte(d, '.')+1:]
	if reservedTLD(top) {
		return true
	}
	for _, r := range [...]string{"example.com", "example.net", "example.org"} {
		if d == r || strings.HasSuffix(d, "."+r) {
			return true
		}
	}
	return false
}

// emptyFileHashes are the MD5, SHA-1 and SHA-256 of zero bytes. Every
// scanner has seen the empty file and none calls it malicious, yet EDRs
// report it for every touched, truncated or zero-length file.
var emptyFileHashes = map[IOC]bool{
	{Type: MD5, Value: "d41d8cd98f00b204e9800998ecf8427e"}:                                    true,
	{Type: SHA1, Value: "da39a3ee5e6b4b0d3255bfef95601890afd80709"}:                           true,
	{Type: SHA256, Value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}: true,
}
