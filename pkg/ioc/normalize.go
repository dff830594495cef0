package ioc

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Normalize validates i and returns its canonical form:
//   - IPs as net/netip prints them (IPv4-mapped IPv6 becomes IPv4, zones dropped);
//   - domains lower-cased, without a trailing dot, checked against the public
//     suffix list (internationalised names become their xn-- form);
//   - hashes lower-cased, with the type matching the length;
//   - URLs with scheme and host lower-cased and the rest as written.
//
// The type of an IP may change (mapped IPv6 becomes ipv4). Normalize is
// idempotent: Normalize(Normalize(i)) == Normalize(i).
func Normalize(i IOC) (IOC, error) {
	switch i.Type {
	case IPv4, IPv6:
		a, err := ParseIP(i.Value)
		if err != nil {
			return IOC{}, err
		}
		return IPIOC(a), nil
	case Domain:
		d, err := NormalizeDomain(i.Value)
		if err != nil {
			return IOC{}, err
		}
		return IOC{Type: Domain, Value: d}, nil
	case MD5, SHA1, SHA256:
		h := strings.ToLower(strings.TrimSpace(i.Value))
		t, ok := HashType(h)
		if !ok || t != i.Type {
			return IOC{}, fmt.Errorf("%w: %q is not a %s hash", ErrInvalid, i.Value, i.Type)
		}
		return IOC{Type: t, Value: h}, nil
	case URL:
		u, err := NormalizeURL(i.Value)
		if err != nil {
			return IOC{}, err
		}
		return IOC{Type: URL, Value: u}, nil
	}
	return IOC{}, fmt.Errorf("%w: unknown type %q", ErrInvalid, i.Type)
}

// Guess normalises a bare value whose type is unknown (a line of a plain
// blocklist, say): an IP, a hash, a URL or a domain, tried in that order.
func Guess(s string) (IOC, error) {
	s = strings.TrimSpace(s)
	if a, err := ParseIP(s); err == nil {
		return IPIOC(a), nil
	}
	if t, ok := HashType(strings.ToLower(s)); ok {
		return IOC{Type: t, Value: strings.ToLower(s)}, nil
	}
	if strings.Contains(s, "://") {
		return Normalize(IOC{Type: URL, Value: s})
	}
	return Normalize(IOC{Type: Domain, Value: s})
}

// ParseIP parses an IPv4 or IPv6 address strictly (no leading zeros, no
// ports), unmaps IPv4-mapped IPv6 and drops any zone.
func ParseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: %q is not an IP address", ErrInvalid, s)
	}
	return a.WithZone("").Unmap(), nil
}

// IPIOC wraps an address as an IOC of the right type.
func IPIOC(a netip.Addr) IOC {
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return IOC{Type: IPv4, Value: a.String()}
	}
	return IOC{Type: IPv6, Value: a.String()}
}

// HashType reports the hash type of a lower- or upper-case hex string by its
// length. All-zero strings (null hashes in EDR exports) are not hashes.
func HashType(s string) (Type, bool) {
	var t Type
	switch len(s) {
	case 32:
		t = MD5
	case 40:
		t = SHA1
	case 64:
		t = SHA256
	default:
		return "", false
	}
	zero := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isHex(c) {
			return "", false
		}
		if c != '0' {
			zero = false
		}
	}
	if zero {
		return "", false
	}
	return t, true
}

// NormalizeDomain lower-cases a host name, strips one trailing dot, converts
// internationalised labels to their ASCII (xn--) form, the one DNS and
// VirusTotal use (bücher.de becomes xn--bcher-kva.de), checks that xn--
// labels are valid punycode, and checks that the name has a registrable part
// under a listed public suffix. Names under the TLDs reserved for testing
// and documentation (.example, .test, .invalid, .localhost) are accepted
// too, so that they can be reported as skipped.
func NormalizeDomain(s string) (string, error) {
	d, why := normDomain(strings.TrimSpace(s))
	switch why {
	case domainOK:
		return d, nil
	case domainNotPublic:
		return "", fmt.Errorf("%w: %q is not under a public suffix", ErrInvalid, s)
	}
	return "", fmt.Errorf("%w: %q is not a domain", ErrInvalid, s)
}

const (
	domainOK = iota
	domainSyntax
	domainNotPublic
)

// normDomain is NormalizeDomain without the error values, so that the
// scanner can reject the many dotted words of a log line without allocating.
func normDomain(s string) (string, int) {
	d := strings.TrimSuffix(s, ".")
	if len(d) > maxNameBytes {
		// Longer than any name can be in UTF-8; punycode encoding is
		// quadratic in a label's distinct characters, so hostile input
		// must not reach it.
		return "", domainSyntax
	}
	if !isASCII(d) {
		// UTS #46 lookup: maps case, full-width forms and ideographic full
		// stops, deletes soft hyphens, and rejects what no registry allows.
		// It encodes invalid UTF-8 as U+FFFD without an error, though, and
		// then refuses its own output: such bytes are no name.
		if !utf8.ValidString(d) {
			return "", domainSyntax
		}
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return "", domainSyntax
		}
		d = strings.ToLower(a)
	} else if d = strings.ToLower(d); strings.Contains(d, "xn--") {
		// An A-label must decode to a valid U-label: "xn--zz.com" is not a
		// name, and accepting it would make Normalize disagree with DNS.
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return "", domainSyntax
		}
		d = a
	}
	if !validHostname(d) {
		return "", domainSyntax
	}
	if !publicDomain(d) && !reservedTLD(d[strings.LastIndexByte(d, '.')+1:]) {
		return "", domainNotPublic
	}
	return d, domainOK
}

// publicDomain reports whether d is below a public suffix on the list. A name
// whose top label is not on the list at all (.local, .lan, .exe) is not one.
func publicDomain(d string) bool {
	if !tldListed(d[strings.LastIndexByte(d, '.')+1:]) {
		return false
	}
	ps, icann := publicsuffix.PublicSuffix(d)
	if !icann && !strings.Contains(ps, ".") {
		return false // unlisted TLD: the package falls back to the last label
	}
	return len(d) > len(ps)+1 && d[len(d)-len(ps)-1] == '.'
}

// tldCache maps lower-case top labels to whether the public suffix list has
// them. PublicSuffix allocates a netip error for every name it is given, and
// log text is full of dotted words with unlisted tops (svchost.exe,
// localhost.localdomain); the cache turns those down without allocating.
// It is copy-on-write so that readers never lock, and bounded so hostile
// input cannot grow it without limit.
var tldCache atomic.Pointer[map[string]bool]

const tldCacheMax = 4096

// tldListedBytes is tldListed for a lower-case label in a buffer; the map
// lookup with string(b) does not allocate.
func tldListedBytes(b []byte) bool {
	if m := tldCache.Load(); m != nil {
		if v, ok := (*m)[string(b)]; ok {
			return v
		}
	}
	return tldListed(string(b))
}

func tldListed(tld string) bool {
	m := tldCache.Load()
	if m != nil {
		if v, ok := (*m)[tld]; ok {
			return v
		}
	}
	// Every rule of the list, private ones included, sits under an ICANN
	// top-level domain, so the ICANN flag of "x.<tld>" says whether the
	// top label is listed at all.
	_, listed := publicsuffix.PublicSuffix("x." + tld)
	for m == nil || len(*m) < tldCacheMax {
		next := make(map[string]bool, 1)
		if m != nil {
			next = make(map[string]bool, len(*m)+1)
			for k, v := range *m {
				next[k] = v
			}
		}
		next[strings.Clone(tld)] = listed
		if tldCache.CompareAndSwap(m, &next) {
			break
		}
		m = tldCache.Load()
	}
	return listed
}

// validHostname checks RFC 1123 label syntax on a lower-case ASCII name with
// at least two labels and an alphabetic top label.
func validHostname(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := 0
	start := 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			c := d[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		l := d[start:i]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	if labels < 2 {
		return false
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if strings.HasPrefix(tld, "xn--") {
		return true
	}
	for i := 0; i < len(tld); i++ {
		if tld[i] < 'a' || tld[i] > 'z' {
			return false
		}
	}
	return true
}

// urlSchemes are the schemes whose URLs verdict treats as indicators.
var urlSchemes = map[string]bool{"http": true, "https": true, "ftp": true, "ftps": true, "sftp": true, "ws": true, "wss": true}

// NormalizeURL lower-cases the scheme and host of an absolute URL and keeps
// the rest as written. The host must be an IP address or a public domain; an
// IPv6 host must be bracketed and a bracketed host must be IPv6 (RFC 3986).
func NormalizeURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, ok := normURL(s)
	if !ok {
		return "", fmt.Errorf("%w: %q is not a URL", ErrInvalid, s)
	}
	return u, nil
}

// normURL is NormalizeURL without the error value.
func normURL(s string) (string, bool) { return normURLHost(s, "", IOC{}) }

// normURLHost is normURL for a caller that has already made an indicator of
// the URL's host: when the host is written knownHost, known is used instead
// of converting and checking the name a second time.
func normURLHost(s, knownHost string, known IOC) (string, bool) {
	sep := strings.Index(s, "://")
	if sep <= 0 {
		return "", false
	}
	scheme := strings.ToLower(s[:sep])
	if !urlSchemes[scheme] {
		return "", false
	}
	rest := s[sep+3:]
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	auth, tail := rest[:authEnd], rest[authEnd:]
	userinfo := ""
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		userinfo, auth = auth[:at+1], auth[at+1:]
	}
	host, port, err := splitHostPort(auth)
	if err != nil {
		return "", false
	}
	hi := known
	if host != knownHost || known.Type == "" {
		var err error
		if hi, err = hostIndicator(host); err != nil {
			return "", false
		}
	}
	// The host is written back lower-cased, not canonicalised, so the URL
	// stays as the attacker wrote it apart from case (CONTRACT.md); an
	// internationalised host is written in its xn-- form, as the domain IOC
	// is, so that one name has one spelling. Brackets follow the colon, not
	// the parsed type: [::ffff:1.2.3.4] parses as IPv4 but must stay
	// bracketed to remain a URL.
	switch {
	case hi.Type == Domain && !isASCII(host):
		if strings.HasSuffix(host, ".") {
			host = hi.Value + "."
		} else {
			host = hi.Value
		}
	default:
		host = strings.ToLower(host)
	}
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	out := scheme + "://" + userinfo + host + port + tail
	if strings.ContainsAny(out, " \t\r\n\x00") {
		return "", false
	}
	if _, err := url.Parse(out); err != nil {
		return "", false
	}
	return out, true
}

// URLHost returns the IP or domain indicator of a normalised URL's host.
func URLHost(u string) (IOC, error) {
	sep := strings.Index(u, "://")
	if sep < 0 {
		return IOC{}, fmt.Errorf("%w: %q is not a URL", ErrInvalid, u)
	}
	rest := u[sep+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	host, _, err := splitHostPort(rest)
	if err != nil {
		return IOC{}, err
	}
	return hostIndicator(host)
}

// splitHostPort splits "host", "host:port", "[v6]" and "[v6]:port"; the port
// comes back with its colon so callers can reassemble the original text.
// Brackets are for IPv6 only, and an IPv6 host must be bracketed: without
// that rule "http://::1/" would read as host "::" with port 1.
func splitHostPort(auth string) (host, port string, err error) {
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return "", "", ErrInvalid
		}
		host, port = auth[1:end], auth[end+1:]
		if strings.IndexByte(host, ':') < 0 {
			return "", "", ErrInvalid
		}
	} else if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		host, port = auth[:i], auth[i:]
		if strings.IndexByte(host, ':') >= 0 {
			return "", "", ErrInvalid
		}
	} else {
		host = auth
	}
	if port != "" {
		if port[0] != ':' || len(port) > 6 {
			return "", "", ErrInvalid
		}
		for _, c := range port[1:] {
			if c < '0' || c > '9' {
				return "", "", ErrInvalid
			}
		}
	}
	if host == "" {
		return "", "", ErrInvalid
	}
	return host, port, nil
}

// hostIndicator classifies a URL host as an IP or a public domain.
func hostIndicator(host string) (IOC, error) {
	// A domain's top label is alphabetic, so only a host with a colon or a
	// final digit can be an address; skipping ParseAddr otherwise saves the
	// allocation of its error.
	if n := len(host); n > 0 && (strings.IndexByte(host, ':') >= 0 || host[n-1] >= '0' && host[n-1] <= '9') {
		if a, err := netip.ParseAddr(host); err == nil {
			return IPIOC(a), nil
		}
	}
	d, why := normDomain(host)
	if why != domainOK {
		return IOC{}, ErrInvalid
	}
	return IOC{Type: Domain, Value: d}, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
