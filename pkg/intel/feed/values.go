package feed

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// kind says what a feed field may hold, from its column name or type.
type kind uint8

const (
	kindAny    kind = iota // guessed: IP, CIDR, hash, URL or domain
	kindIP                 // an address, address:port or CIDR
	kindHost               // a domain or an address
	kindURL                // a URL, with or without a scheme
	kindHash               // MD5, SHA-1 or SHA-256, by length
	kindMD5                // only an MD5
	kindSHA1               // only a SHA-1
	kindSHA256             // only a SHA-256
)

// part says which half of a MISP-style composite value ("a|b") to use.
type part uint8

const (
	whole  part = iota
	before      // ip-dst|port: the address
	after       // filename|sha256: the hash
	both        // domain|ip: both
)

// typeSpec maps one type name from a feed's own vocabulary (MISP attribute
// types, Zeek Intel types, CSV type columns such as MSTIC's IndicatorType or
// ThreatFox's ioc_type) to the kind of value it marks.
type typeSpec struct {
	kind  kind
	part  part
	known bool // false: a type verdict does not use (filepath, email, link, ...)
}

// typeSpecs is keyed by lower-case type name. Types not listed are not
// indicators verdict looks up; their rows are ignored rather than counted as
// skipped. Notably: MISP "link" attributes are references to reports, not
// indicators; Zeek Intel::EMAIL is left out on purpose (see the package doc);
// x509 and imphash/ssdeep/pehash hashes are not file hashes verdict takes.
var typeSpecs = map[string]typeSpec{
	"ip": {kind: kindIP}, "ipv4": {kind: kindIP}, "ipv6": {kind: kindIP},
	"ip-dst": {kind: kindIP}, "ip-src": {kind: kindIP}, "ip_address": {kind: kindIP},
	"ipaddress": {kind: kindIP}, "ip-address": {kind: kindIP}, "ipv4-addr": {kind: kindIP},
	"ipv6-addr": {kind: kindIP}, "addr": {kind: kindIP}, "address": {kind: kindIP},
	"cidr": {kind: kindIP}, "subnet": {kind: kindIP}, "netblock": {kind: kindIP},
	"ip:port": {kind: kindIP}, "ip-dst|port": {kind: kindIP, part: before}, "ip-src|port": {kind: kindIP, part: before},
	"domain": {kind: kindHost}, "hostname": {kind: kindHost}, "fqdn": {kind: kindHost},
	"host": {kind: kindHost}, "domain-name": {kind: kindHost}, "domain_name": {kind: kindHost},
	"hostname|port": {kind: kindHost, part: before}, "domain|ip": {kind: kindHost, part: both},
	"url": {kind: kindURL},
	"md5": {kind: kindMD5}, "md5_hash": {kind: kindMD5}, "md5hash": {kind: kindMD5}, "filehash-md5": {kind: kindMD5},
	"sha1": {kind: kindSHA1}, "sha1_hash": {kind: kindSHA1}, "sha1hash": {kind: kindSHA1}, "filehash-sha1": {kind: kindSHA1},
	"sha256": {kind: kindSHA256}, "sha256_hash": {kind: kindSHA256}, "sha256hash": {kind: kindSHA256}, "filehash-sha256": {kind: kindSHA256},
	"filename|md5": {kind: kindMD5, part: after}, "malware-sample": {kind: kindMD5, part: after},
	"filename|sha1": {kind: kindSHA1, part: after}, "filename|sha256": {kind: kindSHA256, part: after},
	"hash": {kind: kindHash}, "filehash": {kind: kindHash}, "file_hash": {kind: kindHash},
	// Zeek Intel framework types (matched case-insensitively like the rest).
	"intel::addr": {kind: kindIP}, "intel::subnet": {kind: kindIP}, "intel::domain": {kind: kindHost},
	"intel::url": {kind: kindURL}, "intel::file_hash": {kind: kindHash},
}

func init() {
	for k, v := range typeSpecs {
		v.known = true
		typeSpecs[k] = v
	}
}

// spec returns the spec of a type name as written in a feed. Names are
// cached as seen, so the per-row cost is one map lookup without lower-casing.
func (b *builder) spec(typ string) typeSpec {
	if s, ok := b.typeCache[typ]; ok {
		return s
	}
	s := typeSpecs[strings.ToLower(strings.TrimSpace(typ))]
	if len(b.typeCache) < 1024 { // a hostile file must not grow it without bound
		b.typeCache[strings.Clone(typ)] = s
	}
	return s
}

// addTyped adds a value listed with a type name. Values of types verdict
// does not use are ignored; values of known types that do not normalise are
// counted as skipped.
func (l *loader) addTyped(typ, v string, info uint32) {
	s := l.b.spec(typ)
	if !s.known {
		return
	}
	first, second, composite := strings.Cut(v, "|")
	switch s.part {
	case whole:
		l.addOrSkip(s.kind, v, info, false)
	case before:
		l.addOrSkip(s.kind, first, info, false)
	case after:
		if !composite {
			second = v // a bare hash under a composite type
		}
		l.addOrSkip(s.kind, second, info, false)
	case both:
		l.addOrSkip(s.kind, first, info, false)
		if composite {
			l.addOrSkip(s.kind, second, info, false)
		}
	}
}

// addOrSkip adds v, counting it as skipped when it does not normalise.
func (l *loader) addOrSkip(k kind, v string, info uint32, owned bool) {
	if !l.add(k, v, info, owned) {
		l.skip(v, "not a valid indicator")
	}
}

// add normalises v as an indicator of kind k and stores it for this feed.
// It reports false when v is not blank but does not normalise. owned says v
// is a string of its own (not a slice of a larger row), so it can be kept as
// a map key without copying.
func (l *loader) add(k kind, v string, info uint32, owned bool) bool {
	v = strings.TrimSpace(v)
	if blank(v) {
		return true
	}
	switch k {
	case kindIP:
		return l.addIP(v, info)
	case kindHost:
		if looksIP(v) && l.addIP(v, info) {
			return true
		}
		return l.addDomain(v, info, owned)
	case kindURL:
		return l.addURL(v, info)
	case kindHash:
		return l.addHash(v, "", info)
	case kindMD5:
		return l.addHash(v, ioc.MD5, info)
	case kindSHA1:
		return l.addHash(v, ioc.SHA1, info)
	case kindSHA256:
		return l.addHash(v, ioc.SHA256, info)
	}
	if looksIP(v) {
		if l.addIP(v, info) {
			return true
		}
		if !hasLetter(v) {
			return false // 1.2.3.0/33 must not become the URL http://1.2.3.0/33
		}
	}
	if n := len(v); (n == 32 || n == 40 || n == 64) && l.addHash(v, "", info) {
		return true
	}
	if strings.IndexByte(v, '/') >= 0 {
		return l.addURL(v, info)
	}
	return l.addDomain(v, info, owned)
}

// blank reports the values feeds write for "no value".
func blank(v string) bool {
	return v == "" || v == "-" || v == "(empty)" || strings.EqualFold(v, "n/a")
}

// looksIP is a cheap pre-check that keeps netip's error allocations off the
// path of domain and hash lines.
func looksIP(v string) bool {
	sep := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '.' || c == ':':
			sep = true
		case c == '%':
			return sep // an IPv6 zone (fe80::1%eth0) may hold any character
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '/', c == '[', c == ']':
		default:
			return false
		}
	}
	return sep
}

func hasLetter(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

// addIP adds an address, a CIDR, or the address of an address:port.
func (l *loader) addIP(v string, info uint32) bool {
	if a, err := netip.ParseAddr(v); err == nil {
		l.addAddr(a, info)
		return true
	}
	if strings.IndexByte(v, '/') >= 0 {
		p, err := netip.ParsePrefix(v)
		return err == nil && l.addPrefix(p, info)
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		l.addAddr(ap.Addr(), info)
		return true
	}
	return false
}

func (l *loader) addAddr(a netip.Addr, info uint32) {
	a = a.WithZone("").Unmap()
	s := l.b.set
	if a.Is4() {
		if addRef(s.ip4, &s.chain, v4key(a), l.feed, info, l.cat) {
			l.counts[ioc.IPv4]++
		}
		return
	}
	if addRef(s.ip6, &s.chain, a.As16(), l.feed, info, l.cat) {
		l.counts[ioc.IPv6]++
	}
}

// addPrefix adds a CIDR. Host bits are masked off; a /32 or /128 is the
// address itself; a /0 would match everything and is refused.
func (l *loader) addPrefix(p netip.Prefix, info uint32) bool {
	p = p.Masked()
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	switch {
	case !p.IsValid() || p.Bits() == 0:
		return false
	case p.IsSingleIP():
		l.addAddr(p.Addr(), info)
	default:
		l.prefixes = append(l.prefixes, prefixEntry{p: p, info: info, cat: l.cat})
	}
	return true
}

// addDomain adds a host name. A leading "*." or "." (wildcard notation in
// some lists) is dropped: a listed domain matches its subdomains anyway.
func (l *loader) addDomain(v string, info uint32, owned bool) bool {
	if rest, ok := strings.CutPrefix(v, "*."); ok {
		v = rest
	} else {
		v = strings.TrimPrefix(v, ".")
	}
	d, err := ioc.NormalizeDomain(v)
	if err != nil {
		return false
	}
	s := l.b.set
	if _, ok := s.domains[d]; !ok && !owned {
		d = strings.Clone(d) // do not pin the whole row in memory
	}
	if addRef(s.domains, &s.chain, d, l.feed, info, l.cat) {
		l.counts[ioc.Domain]++
	}
	return true
}

// addURL adds a URL. Without a scheme (Zeek Intel::URL, bare MISP url values)
// it is normalised as http:// and stored without the scheme, so that it
// matches the URL under http:// and https://.
func (l *loader) addURL(v string, info uint32) bool {
	s := l.b.set
	if strings.Contains(v, "://") {
		u, err := ioc.NormalizeURL(v)
		if err != nil {
			return false
		}
		if addRef(s.urls, &s.chain, u, l.feed, info, l.cat) {
			l.counts[ioc.URL]++
		}
		return true
	}
	u, err := ioc.NormalizeURL("http://" + v)
	if err != nil {
		return false
	}
	if addRef(s.noScheme, &s.chain, u[len("http://"):], l.feed, info, l.cat) {
		l.counts[ioc.URL]++
	}
	return true
}

// addHash adds a file hash; want, when set, is the only type accepted.
func (l *loader) addHash(v string, want ioc.Type, info uint32) bool {
	t, ok := ioc.HashType(v)
	if !ok || (want != "" && t != want) {
		return false
	}
	s := l.b.set
	added := false
	var key [32]byte
	switch t {
	case ioc.MD5:
		var k [16]byte
		decodeHex(k[:], v)
		added = addRef(s.md5, &s.chain, k, l.feed, info, l.cat)
		copy(key[:], k[:])
	case ioc.SHA1:
		var k [20]byte
		decodeHex(k[:], v)
		added = addRef(s.sha1, &s.chain, k, l.feed, info, l.cat)
		copy(key[:], k[:])
	case ioc.SHA256:
		decodeHex(key[:], v)
		added = addRef(s.sha256, &s.chain, key, l.feed, info, l.cat)
	}
	if added {
		l.counts[t]++
	}
	if l.inRow && len(l.rowHashes) < 8 {
		l.rowHashes = append(l.rowHashes, rowHash{t: t, key: key})
	}
	return true
}

// rowHash is a hash listed by the current row.
type rowHash struct {
	t   ioc.Type
	key [32]byte // the hash's bytes, left-aligned
}

// beginRow starts a row whose hashes, if it lists more than one, are the
// hashes of one file: a CSV row (MalwareBazaar's sha256_hash, md5_hash and
// sha1_hash columns) or a MISP object.
func (l *loader) beginRow() {
	l.inRow = true
	l.rowHashes = l.rowHashes[:0]
}

// endRow links the row's hashes when it named one file by at least two
// kinds of hash and by no more than one hash of each kind: a row with two
// SHA-256 values describes two files, and which MD5 goes with which is
// unknowable.
func (l *loader) endRow() {
	l.inRow = false
	if len(l.rowHashes) < 2 {
		return
	}
	var f fileHashes
	for _, h := range l.rowHashes {
		var bit uint8
		switch h.t {
		case ioc.MD5:
			bit = hasMD5
			if f.has&bit != 0 && [16]byte(h.key[:16]) != f.md5 {
				return
			}
			f.md5 = [16]byte(h.key[:16])
		case ioc.SHA1:
			bit = hasSHA1
			if f.has&bit != 0 && [20]byte(h.key[:20]) != f.sha1 {
				return
			}
			f.sha1 = [20]byte(h.key[:20])
		case ioc.SHA256:
			bit = hasSHA256
			if f.has&bit != 0 && h.key != f.sha256 {
				return
			}
			f.sha256 = h.key
		}
		f.has |= bit
	}
	if f.has&(f.has-1) == 0 {
		return // one kind of hash only: nothing to link
	}
	s := l.b.set
	s.files = append(s.files, f)
	id := uint32(len(s.files))
	if f.has&hasMD5 != 0 {
		setFile(s.md5, s.chain, f.md5, l.feed, id)
	}
	if f.has&hasSHA1 != 0 {
		setFile(s.sha1, s.chain, f.sha1, l.feed, id)
	}
	if f.has&hasSHA256 != 0 {
		setFile(s.sha256, s.chain, f.sha256, l.feed, id)
	}
}

// maxInfo is the longest FeedMatch.Info, in characters, before "…".
const maxInfo = 100

// cleanInfo makes feed context fit for a report line: valid UTF-8, one line,
// single spaces, at most maxInfo characters.
func cleanInfo(s string) string {
	if simpleInfo(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxInfo {
		n := 0
		for i := range s {
			if n == maxInfo {
				s = strings.TrimSpace(s[:i]) + "…"
				break
			}
			n++
		}
	}
	return s
}

// simpleInfo is the fast path of cleanInfo: short printable ASCII with no
// leading, trailing or doubled spaces needs no work.
func simpleInfo(s string) bool {
	if len(s) > maxInfo || (s != "" && (s[0] == ' ' || s[len(s)-1] == ' ')) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' || (s[i] == ' ' && i > 0 && s[i-1] == ' ') {
			return false
		}
	}
	return true
}
