package ioc

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Options tune extraction for the field a string came from (see FieldOptions).
type Options struct {
	// NoEmailDomains is set for user-name fields (user, username, account,
	// upn, principal, ...): an e-mail address there names a person, so it
	// yields nothing at all.
	NoEmailDomains bool
	// NoDomains is set for file/process name and path fields, and for OAuth
	// permission fields (scope, scp, Permissions): no domain IOCs come from
	// bare words there (IPs, URLs and hashes still do, and a URL still
	// yields its host, as CONTRACT.md requires).
	NoDomains bool
	// NoHashes is set for identifier fields (device_id, cid, TenantId,
	// session, groups) and fingerprint fields (ja3, imphash, x509): EDRs
	// write 32-hex GUIDs there that look exactly like MD5s, and looking them
	// up would only burn quota.
	NoHashes bool
	// Hosts is set for fields meant to hold host names (hostname, fqdn,
	// dns.question.name, DeviceName, server_name): every name under a public
	// suffix there is a domain, even one that would read as a file name
	// (evil.zip) or a code identifier (User.Read) in free text.
	Hosts bool
}

// Match is one indicator found in a string, with its byte span in the string
// that was scanned. For a URL's host the span is that of the host inside the
// URL; for an IPv4-mapped IPv6 address it is the whole written address.
type Match struct {
	IOC
	Start, End int
}

// Extract refangs s and returns the indicators found in it, normalised,
// unique by (Type, Value), in order of first appearance; nil when none.
func Extract(s string, opts Options) []IOC {
	var out []IOC
	var seen map[IOC]struct{}
	Scan(Refang(s), opts, func(m Match) {
		// A linear search beats a map for the handful of IOCs a field holds;
		// the map takes over for hostile strings with thousands.
		if seen != nil {
			if _, dup := seen[m.IOC]; dup {
				return
			}
			seen[m.IOC] = struct{}{}
		} else {
			for _, o := range out {
				if o == m.IOC {
					return
				}
			}
			if len(out) == 32 {
				seen = make(map[IOC]struct{}, 64)
				for _, o := range out {
					seen[o] = struct{}{}
				}
				seen[m.IOC] = struct{}{}
			}
		}
		if out == nil {
			out = make([]IOC, 0, 4)
		}
		out = append(out, m.IOC)
	})
	return out
}

// Scan finds the indicators in s as given (callers refang first) and calls fn
// for each, in order of position, with values in Normalize form. A URL is
// reported before its host; its path and query yield hashes but no domains
// or IPs. Once warm, Scan does not allocate for text without indicators.
func Scan(s string, opts Options, fn func(Match)) {
	sc := scanner{s: s, opts: opts, lpStart: -1, lpEnd: -1}
	sc.run(fn)
}

// Byte classes of ASCII. Non-ASCII characters are classified by uniKind:
// letters, digits and marks join words (internationalised host names are
// taken whole), while Unicode punctuation and spaces never join a token.
const (
	cWord   uint16 = 1 << iota // A-Z a-z 0-9 . - _ : (a token with its inner separators)
	cAlnum                     // A-Z a-z 0-9
	cHex                       // 0-9 a-f A-F
	cDigit                     // 0-9
	cLetter                    // A-Z a-z
	cLocal                     // e-mail local part as seen in practice: alnum . _ % + -
	cAuth                      // URL authority: alnum - . _ ~ % : @ [ ]
	cURLEnd                    // ends a URL: controls, space, non-ASCII, " ' < > ` { } | \ ^
	cV6                        // 0-9 a-f A-F : .
	cDot                       // .
	cColon                     // :
)

var class = func() (t [256]uint16) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		isLetter := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
		isDigit := b >= '0' && b <= '9'
		var f uint16
		if isLetter {
			f |= cLetter | cAlnum | cWord | cLocal | cAuth
		}
		if isDigit {
			f |= cDigit | cAlnum | cWord | cLocal | cAuth | cHex | cV6
		}
		if b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' {
			f |= cHex | cV6
		}
		switch b {
		case '.':
			f |= cWord | cLocal | cAuth | cV6 | cDot
		case ':':
			f |= cWord | cAuth | cV6 | cColon
		case '-', '_':
			f |= cWord | cLocal | cAuth
		case '%', '+':
			f |= cLocal
		}
		switch b {
		case '~', '%', '@', '[', ']':
			f |= cAuth
		}
		if b <= ' ' || b >= 0x7f || strings.IndexByte("\"'<>`{}|\\^", b) >= 0 {
			f |= cURLEnd
		}
		t[c] = f
	}
	return t
}()

func isAlnum(c byte) bool  { return class[c]&cAlnum != 0 }
func isLetter(c byte) bool { return class[c]&cLetter != 0 }

// scanner holds the state of one Scan. The callback is passed down as a
// parameter rather than stored here: escape analysis is field-insensitive,
// and since s flows into the callback's arguments, a stored callback would
// be deemed to escape too, costing Extract three allocations per call.
type scanner struct {
	s    string
	opts Options
	// Cache of the last e-mail local-part look-ahead, so that every token of
	// "a.b.c.d+e@x.com" does not rescan the same run (linear on hostile input).
	lpStart, lpEnd int
	lpIsLocal      bool
	// scope is whether s is an OAuth scope list: 0 not yet known, 1 no, 2 yes.
	scope int8
}

func emit(fn func(Match), t Type, v string, a, b int) {
	fn(Match{IOC: IOC{Type: t, Value: v}, Start: a, End: b})
}

// Word flags gathered while scanning a word: the class bits of its bytes.
const (
	wDot   = cDot
	wColon = cColon
)

func (sc *scanner) run(fn func(Match)) {
	s := sc.s
	for i := 0; i < len(s); {
		c := s[i]
		if class[c]&cWord == 0 {
			if c < utf8.RuneSelf {
				i++
				continue
			}
			if k, n := kindAt(s, i); k == uNone {
				i += n
				continue
			}
		}
		j, flags := i, uint16(0)
		for ; j < len(s); j++ {
			f := class[s[j]]
			if f&cWord == 0 {
				break
			}
			flags |= f
		}
		if j < len(s) && s[j] >= utf8.RuneSelf {
			j, flags = sc.uniWord(i, j, flags)
		}
		i = sc.word(fn, i, j, flags)
	}
}

// uniWord carries on the word s[i:j] through internationalised letters and
// returns where it ends. It ends where a script written without spaces
// meets one written with them (see uniKind).
func (sc *scanner) uniWord(i, j int, flags uint16) (int, uint16) {
	s := sc.s
	prev := uNone // after a separator ('.', '-', ...) a label starts afresh
	if j > i && class[s[j-1]]&cAlnum != 0 {
		prev = uSpaced
	}
	for j < len(s) {
		c := s[j]
		if c < utf8.RuneSelf {
			f := class[c]
			if f&cWord == 0 {
				break
			}
			k := uNone
			if f&cAlnum != 0 {
				k = uSpaced
			}
			if breaks(prev, k) {
				break
			}
			prev = k
			flags |= f
			j++
			continue
		}
		k, n := kindAt(s, j)
		if k == uNone || breaks(prev, k) {
			break
		}
		prev = next(prev, k)
		j += n
	}
	return j, flags
}

// word handles the token s[i:j] and returns where scanning resumes.
func (sc *scanner) word(fn func(Match), i, j int, flags uint16) int {
	s := sc.s
	// "scheme://" can only sit at the end of a word, because '/' ends words.
	if flags&wColon != 0 && s[j-1] == ':' && j+1 < len(s) && s[j] == '/' && s[j+1] == '/' {
		k := j - 1
		for k > i && isLetter(s[k-1]) {
			k--
		}
		if isScheme(s[k : j-1]) {
			if k > i {
				sc.plain(fn, i, k, wDot|wColon)
			}
			if end, ok := sc.url(fn, k, j-1); ok {
				return end
			}
			// Not a valid URL: carry on after "//", so the host is still
			// seen as a domain or IP (http://999.1.1.1/, http://x.com/%zz).
			return j
		}
	}
	sc.plain(fn, i, j, flags)
	return j
}

func isScheme(s string) bool {
	switch len(s) {
	case 2, 3, 4, 5:
	default:
		return false
	}
	var b [5]byte
	for i := 0; i < len(s); i++ {
		b[i] = s[i] | 0x20
	}
	switch string(b[:len(s)]) {
	case "http", "https", "ftp", "ftps", "sftp", "ws", "wss":
		return true
	}
	return false
}

// schemeAt reports whether s[p:] starts with a known "scheme://".
func (sc *scanner) schemeAt(p int) bool {
	s := sc.s
	q := p
	for q < len(s) && q-p <= 5 && isLetter(s[q]) {
		q++
	}
	return q+3 <= len(s) && s[q] == ':' && s[q+1] == '/' && s[q+2] == '/' && isScheme(s[p:q])
}

// plain handles a word that is not a URL: IPv6 runs first (their colons would
// otherwise split them), then the colon-separated tokens around them.
func (sc *scanner) plain(fn func(Match), i, j int, flags uint16) {
	if flags&(wDot|wColon) == 0 && j-i < 32 {
		return // no dot, no colon, too short for a hash: nothing to find
	}
	if flags&wColon == 0 {
		sc.token(fn, i, j)
		return
	}
	s := sc.s
	pos := i
	for p := i; p < j; {
		if class[s[p]]&cV6 == 0 {
			p++
			continue
		}
		q := p
		for q < j && class[s[q]]&cV6 != 0 {
			q++
		}
		if addr, a, b, ok := sc.ipv6(p, q, i, j); ok {
			sc.segments(fn, pos, a)
			ip := IPIOC(addr)
			emit(fn, ip.Type, ip.Value, a, b)
			pos = b
		}
		p = q
	}
	sc.segments(fn, pos, j)
}

// segments splits s[a:b] on colons (ports, "key:value", clock times).
func (sc *scanner) segments(fn func(Match), a, b int) {
	s := sc.s
	for a < b {
		c := strings.IndexByte(s[a:b], ':')
		if c < 0 {
			sc.token(fn, a, b)
			return
		}
		if c > 0 {
			sc.token(fn, a, a+c)
		}
		a += c + 1
	}
}

// ipv6 checks the run s[p:q] of hex digits, colons and dots inside the word
// s[wi:wj] and returns the span of a valid IPv6 address in it. The address
// must be bounded by non-alphanumerics: "std::vector" and "dead:beefy" are
// not addresses. A single leading or trailing colon is a separator
// ("ip:2001:db8::1", "2001:db8::1:port").
func (sc *scanner) ipv6(p, q, wi, wj int) (netip.Addr, int, int, bool) {
	s := sc.s
	if s[p] == ':' && !(p+1 < q && s[p+1] == ':') {
		p++
	} else if p > wi && isAlnum(s[p-1]) {
		return netip.Addr{}, 0, 0, false
	}
	for q > p && s[q-1] == '.' {
		q--
	}
	if q-p >= 2 && s[q-1] == ':' && s[q-2] != ':' {
		q--
	}
	if q < wj && isAlnum(s[q]) || q-p < 2 || !plausibleIPv6(s[p:q]) {
		return netip.Addr{}, 0, 0, false
	}
	addr, err := netip.ParseAddr(s[p:q])
	if err != nil {
		return netip.Addr{}, 0, 0, false
	}
	return addr, p, q, true
}

// plausibleIPv6 pre-checks the syntax netip.ParseAddr accepts, so that clock
// times and MAC addresses are turned down without allocating an error. It
// also rejects eight groups of exactly two digits: that is a EUI-64 or a
// Fibre Channel WWN (50:06:01:60:3b:e0:1a:2c), never a written IPv6 address.
func plausibleIPv6(s string) bool {
	if len(s) > 45 {
		return false
	}
	groups, double, allTwo := 0, false, true
	i := 0
	if strings.HasPrefix(s, "::") {
		double, i = true, 2
	} else if s[0] == ':' {
		return false
	}
	for i < len(s) {
		j := i
		for j < len(s) && class[s[j]]&cHex != 0 {
			j++
		}
		if j < len(s) && s[j] == '.' {
			if _, ok := ParseIPv4(s[i:]); !ok {
				return false
			}
			groups += 2
			allTwo = false
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		if j-i != 2 {
			allTwo = false
		}
		groups++
		if groups > 8 {
			return false
		}
		if j == len(s) {
			break
		}
		// s[j] is ':' (the run holds only hex, ':' and '.').
		i = j + 1
		if i < len(s) && s[i] == ':' {
			if double {
				return false
			}
			double = true
			i++
		} else if i == len(s) {
			return false
		}
	}
	if groups == 0 {
		return false // "::" alone is punctuation in text, not an address
	}
	if double {
		return groups <= 7
	}
	return groups == 8 && !allTwo
}

// ParseIPv4 parses strict dotted decimal, exactly the IPv4 form net/netip
// takes (FuzzParseIPv4 holds the two to the same answers): four octets
// 0-255, no leading zeros (01.2.3.4 is octal to some parsers and decimal to
// others, so not an IOC). It is the one IPv4 parser of the extraction and
// of the feed loaders. Not netip.ParseAddr itself: that allocates an error
// for every string it turns down, and the scanner hands it many near
// misses (versions, OIDs, clock fractions, 999.1.1.1), where extraction
// promises not to allocate; it is also three times slower on addresses
// (BenchmarkParseIPv4).
func ParseIPv4[T string | []byte](s T) (netip.Addr, bool) {
	var ip [4]byte
	n, val, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || n == 4 {
				return netip.Addr{}, false
			}
			ip[n] = byte(val)
			n, val, digits = n+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits > 0 && val == 0 {
			return netip.Addr{}, false
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			return netip.Addr{}, false
		}
	}
	if n != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

// token handles s[a:b], a run of letters, digits and . - _ (no colons): a
// domain, or else IPv4 addresses and hashes in its -/_ separated parts.
func (sc *scanner) token(fn func(Match), a, b int) {
	s := sc.s
	// A percent-encoded separator before the token ("%2Fevil.com",
	// "%20<md5>") is not part of it.
	if a > 0 && s[a-1] == '%' && b-a >= 2 && class[s[a]]&class[s[a+1]]&cHex != 0 {
		a += 2
	}
	a0, end := a, b // before trimming, for the context rules
	for a < b && (s[a] == '.' || s[a] == '-') {
		a++
	}
	for b > a && (s[b-1] == '.' || s[b-1] == '-') {
		b--
	}
	if b-a < 4 {
		return
	}
	dot, letter := false, false
	for p := a; p < b; p++ {
		c := s[p]
		if c == '.' {
			dot = true
		} else if class[c]&cLetter != 0 || c >= utf8.RuneSelf {
			letter = true
		}
	}
	local := false
	if dot {
		local = sc.localPart(end)
	}
	if dot && letter && !local {
		if ctx := sc.nameContext(a0); ctx != ctxNone && sc.domain(fn, a, b, ctx) {
			sc.hashes(fn, a, b)
			return
		}
	}
	// Parts between - and _ ("10.0.0.1-10.0.0.255", "host_1.2.3.4", hashes).
	for p := a; p < b; {
		q := p
		for q < b && s[q] != '-' && s[q] != '_' {
			q++
		}
		sc.part(fn, p, q, local)
		p = q + 1
	}
}

// part looks for an IPv4 address or hashes in s[a:b] (letters, digits, dots).
func (sc *scanner) part(fn func(Match), a, b int, local bool) {
	s := sc.s
	for a < b && s[a] == '.' {
		a++
	}
	for b > a && s[b-1] == '.' {
		b--
	}
	if b-a < 7 {
		return
	}
	digitsDots := true
	for p := a; p < b; p++ {
		if class[s[p]]&cDigit == 0 && s[p] != '.' {
			digitsDots = false
			break
		}
	}
	if digitsDots {
		// A whole run of digits and dots, so "1.2.3.4.5" (a version, an OID
		// or netstat's ip.port) is not read as 1.2.3.4.
		if _, ok := ParseIPv4(s[a:b]); ok && !local {
			// Strict dotted decimal is already canonical: no allocation.
			emit(fn, IPv4, s[a:b], a, b)
		}
		return
	}
	sc.hashes(fn, a, b)
}

// hashes reports the whole hex runs of hash length in s[a:b].
func (sc *scanner) hashes(fn func(Match), a, b int) {
	if sc.opts.NoHashes {
		return
	}
	s := sc.s
	for p := a; p < b; {
		if class[s[p]]&cAlnum == 0 {
			p++
			continue
		}
		q := p
		var all uint16 = cHex
		hasLetter, hasDigit := false, false
		for q < b && class[s[q]]&cAlnum != 0 {
			f := class[s[q]]
			all &= f
			if f&cLetter != 0 {
				hasLetter = true
			} else {
				hasDigit = true
			}
			q++
		}
		if n := q - p; (n == 32 || n == 40 || n == 64) && all&cHex != 0 && hasLetter && hasDigit && !sc.idHex(p, q) {
			t, _ := HashType(s[p:q])
			emit(fn, t, lowerASCII(s[p:q]), p, q)
		}
		p = q
	}
}

// idHex reports whether the hex run s[p:q], of a hash's length, is known by
// what surrounds it to be something other than a file hash, which looking up
// would only burn quota on:
//   - joined by a colon to what follows: a compound identifier, such as
//     CrowdStrike's "<cid>:ind:<device id>:<n>" and "pid:<device id>:<n>"
//     ("md5:<hash>", where the hash comes last, is still a hash);
//   - in braces: a GUID written without hyphens, "{6F9619FF...}";
//   - the value of a key that names a fingerprint or a name, not a file
//     hash: Sysmon's IMPHASH= (an MD5 of the import table), JA3 and HASSH
//     (TLS and SSH client fingerprints), an X.509 CN= or serial=;
//   - an APT repository path ".../by-hash/SHA256/<hash>": every Debian and
//     Ubuntu host fetches its package indexes by their hash daily, so
//     looking those up would spend a provider's quota on "apt update".
func (sc *scanner) idHex(p, q int) bool {
	s := sc.s
	if q+1 < len(s) && s[q] == ':' && class[s[q+1]]&cAlnum != 0 {
		return true
	}
	if p == 0 {
		return false
	}
	switch s[p-1] {
	case '{':
		return q < len(s) && s[q] == '}'
	case '/':
		return aptByHash(s[:p-1])
	case '=':
		k := p - 1
		for k > 0 && p-1-k < 16 && (class[s[k-1]]&cAlnum != 0 || s[k-1] == '_') {
			k--
		}
		var buf [16]byte
		key := buf[:p-1-k]
		for i := range key {
			c := s[k+i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			key[i] = c
		}
		return fingerprintKeys[string(key)]
	}
	return false
}

// aptByHash reports whether the path before a hash ends in APT's
// "by-hash/<algorithm>" (Debian's Acquire-By-Hash repository layout).
func aptByHash(before string) bool {
	k := strings.LastIndexByte(before, '/')
	if k < len("by-hash") {
		return false
	}
	algo := before[k+1:]
	if !strings.EqualFold(algo, "sha256") && !strings.EqualFold(algo, "sha512") &&
		!strings.EqualFold(algo, "sha1") && !strings.EqualFold(algo, "md5sum") {
		return false
	}
	return strings.EqualFold(before[k-len("by-hash"):k], "by-hash")
}

// fingerprintKeys are keys, lower-cased, whose hex values are not file
// hashes (see idHex).
var fingerprintKeys = map[string]bool{
	"imphash": true, "ja3": true, "ja3s": true, "ja3_hash": true, "ja3s_hash": true,
	"hassh": true, "hasshserver": true, "cn": true, "serial": true,
}

// prevByte returns the byte before p and its position, decoding a
// percent-encoded byte ("%2F" reads as '/').
func (sc *scanner) prevByte(p int) (byte, int) {
	s := sc.s
	if p <= 0 {
		return 0, -1
	}
	if p >= 3 && s[p-3] == '%' && class[s[p-2]]&class[s[p-1]]&cHex != 0 {
		return unhex(s[p-2])<<4 | unhex(s[p-1]), p - 3
	}
	return s[p-1], p - 1
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// nameCtx is where a dotted word stands, which decides whether and how it
// can be a host name.
type nameCtx uint8

const (
	ctxNone  nameCtx = iota // not a host name here: a path component, a user's address
	ctxBare                 // free text, where file names and code identifiers abound
	ctxEmail                // the domain of an e-mail address
	ctxHost                 // written as a host: a UNC host, after "//", after a bare '@'
)

// nameContext applies the context rules to a token starting at a.
func (sc *scanner) nameContext(a int) nameCtx {
	if sc.opts.NoDomains {
		return ctxNone
	}
	c, p := sc.prevByte(a)
	if c == '@' {
		// The domain of an e-mail address: a person in a user-name field.
		if lc, _ := sc.prevByte(p); lc != 0 && (class[lc]&cLocal != 0 || lc >= utf8.RuneSelf) {
			if sc.opts.NoEmailDomains {
				return ctxNone
			}
			return ctxEmail
		}
		return ctxHost
	}
	// A path component (C:\Users\x\evil.com, /tmp/a.sh) is a file name, but
	// a UNC host (\\fileserver.corp.com\share) and "//host.com" are hosts.
	slashes, back := 0, false
	for c == '/' || c == '\\' {
		slashes++
		back = back || c == '\\'
		c, p = sc.prevByte(p)
	}
	switch {
	case slashes == 0:
		return ctxBare
	case slashes == 1:
		return ctxNone
	case c != 0 && class[c]&cAlnum != 0:
		return ctxNone // "dir\\evil.com" (JSON-escaped path), "/tmp//x.sh"
	case c == ':' && back:
		return ctxNone // "C:\\evil.com"
	}
	return ctxHost
}

// localPart reports whether the token ending at end belongs to the local
// part of an e-mail address: local-part characters run on to an '@' that a
// dotted name follows. "evil.com@SSL" (a WebDAV UNC path) is not one.
func (sc *scanner) localPart(end int) bool {
	if end >= sc.lpStart && end <= sc.lpEnd && sc.lpStart >= 0 {
		return sc.lpIsLocal
	}
	s := sc.s
	p := end
	at := -1
	for p < len(s) {
		c := s[p]
		if c == '@' {
			at = p + 1
			break
		}
		if c == '%' && p+2 < len(s) && s[p+1] == '4' && s[p+2] == '0' {
			at = p + 3
			break
		}
		if class[c]&cLocal == 0 {
			break
		}
		p++
	}
	local := false
	if at >= 0 {
		q, dot := at, false
		for q < len(s) && (class[s[q]]&cAlnum != 0 || s[q] == '-' || s[q] == '.' || s[q] >= utf8.RuneSelf) {
			dot = dot || s[q] == '.' && q > at
			q++
		}
		local = dot
	}
	sc.lpStart, sc.lpEnd, sc.lpIsLocal = end, p, local
	return local
}

// domain validates s[a:b], found in context ctx, as a domain and emits it.
func (sc *scanner) domain(fn func(Match), a, b int, ctx nameCtx) bool {
	s := sc.s
	// DNS service labels (_dmarc.evil.com, _ldap._tcp.dc._msdcs.corp.com)
	// are not host names; the name under them is.
	if u := strings.LastIndexByte(s[a:b], '_'); u >= 0 {
		d := strings.IndexByte(s[a+u:b], '.')
		if d < 0 {
			return false
		}
		a += u + d + 1
	}
	tok := s[a:b]
	if len(tok) > maxNameBytes {
		return false
	}
	last := strings.LastIndexByte(tok, '.')
	if last < 0 {
		return false
	}
	// Written as a host (a UNC host, an e-mail domain, a host-name field),
	// every name under a public suffix is a domain; in free text, file names
	// and code identifiers are told apart first.
	bare := ctx == ctxBare && !sc.opts.Hosts
	if tld := tok[last+1:]; isASCII(tld) {
		var buf [63]byte
		if len(tld) < 2 || len(tld) > len(buf) {
			return false
		}
		for i := 0; i < len(tld); i++ {
			buf[i] = tld[i] | 0x20
		}
		lt := buf[:len(tld)]
		if string(lt) == "arpa" {
			return false // reverse-DNS names (4.3.2.1.in-addr.arpa) are not hosts
		}
		// Most dotted words of a log line end in no TLD at all (svchost.exe,
		// Net.WebClient): turn them down before lower-casing the whole token.
		if !tldListedBytes(lt) && !reservedTLD(lt) {
			return false
		}
		if bare && (fileName(tok, last, lt) || codeName(tok)) {
			return false
		}
	}
	d, why := normDomain(tok)
	if why != domainOK {
		return false
	}
	if bare && sc.scopeList() {
		return false
	}
	emit(fn, Domain, d, a, b)
	return true
}

// url scans the URL whose scheme starts at u and whose "://" is at colon,
// emits it, its host and the hashes in it, and returns where it ends.
func (sc *scanner) url(fn func(Match), u, colon int) (int, bool) {
	s := sc.s
	hs := colon + 3
	p := sc.authEnd(hs)
	ae := p
	hasPath := p < len(s) && (s[p] == '/' || s[p] == '?' || s[p] == '#')
	if !hasPath {
		ae = trimURL(s, hs, ae)
	}
	if ae == hs {
		return 0, false
	}
	// Validate the host before reading the path: a string of "http://x"
	// repeats must not rescan its tail once per repeat.
	host, hostA, hostB, ok := hostSpan(s, hs, ae)
	if !ok {
		return 0, false
	}
	end := ae
	if hasPath {
		// Stop before a '%' that is not an escape in the path or fragment
		// (url.Parse rejects those: "/%s/", "/100%"); the query is free-form.
		// Non-ASCII letters are kept as written ("/пример", "/下载/文件"),
		// while Unicode punctuation and spaces end the URL, and so does a
		// switch between ASCII and a script written without spaces
		// ("http://evil.com/a然后").
		query, prev := false, uNone
	path:
		for p < len(s) {
			c := s[p]
			if c >= utf8.RuneSelf {
				k, n := kindAt(s, p)
				if k == uNone || breaks(prev, k) {
					break
				}
				prev = next(prev, k)
				p += n
				continue
			}
			f := class[c]
			if f&cURLEnd != 0 || f&cAlnum != 0 && prev == uNoSpace {
				break
			}
			prev = uNone
			switch {
			case f&cAlnum != 0:
				prev = uSpaced
			case c == '?':
				query = true
			case c == '#':
				query = false
			case c == '%' && !query && !(p+2 < len(s) && class[s[p+1]]&class[s[p+2]]&cHex != 0):
				break path
			case (c == ',' || c == ';') && sc.schemeAt(p+1):
				break path // a list of URLs: "http://a.com/x,http://b.com/y"
			}
			p++
		}
		end = trimURL(s, hs, p)
		if end < ae {
			end = ae
		}
	}
	v, ok := normURLHost(s[u:end], s[hostA:hostB], host)
	if !ok {
		return 0, false
	}
	if host.Type == Domain {
		for hostB > hostA && s[hostB-1] == '.' {
			hostB--
		}
	}
	emit(fn, URL, v, u, end)
	// Hashes before the host (in userinfo) come first to keep spans ordered.
	sc.hashes(fn, u, hostA)
	emit(fn, host.Type, host.Value, hostA, hostB)
	sc.hashes(fn, hostA, end)
	return end, true
}

// authEnd returns where the URL authority starting at p ends: at the first
// character that cannot be in one. Internationalised host names are taken
// whole, but a switch to a script written without spaces ends the host
// ("http://evil.com然后").
func (sc *scanner) authEnd(p int) int {
	s := sc.s
	prev := uNone
	for p < len(s) {
		c := s[p]
		if c < utf8.RuneSelf {
			f := class[c]
			if f&cAuth == 0 || f&cAlnum != 0 && prev == uNoSpace {
				break
			}
			prev = uNone
			if f&cAlnum != 0 {
				prev = uSpaced
			}
			p++
			continue
		}
		k, n := kindAt(s, p)
		if k == uNone || breaks(prev, k) {
			break
		}
		prev = next(prev, k)
		p += n
	}
	return p
}

// hostSpan finds the host in the authority s[hs:ae] and checks it is an IP
// or a public domain, and that url.Parse will accept the rest of it.
func hostSpan(s string, hs, ae int) (IOC, int, int, bool) {
	auth := s[hs:ae]
	h := 0
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		for i := 0; i < at; i++ {
			c := auth[i]
			if c == '[' || c == ']' || c == '%' && !(i+2 < at && class[auth[i+1]]&class[auth[i+2]]&cHex != 0) {
				return IOC{}, 0, 0, false
			}
		}
		h = at + 1
	}
	host, port, err := splitHostPort(auth[h:])
	if err != nil || strings.IndexByte(host, '%') >= 0 {
		return IOC{}, 0, 0, false // zones (fe80::1%eth0) are neither URLs nor IOCs
	}
	ioc, err := hostIndicator(host)
	if err != nil {
		return IOC{}, 0, 0, false
	}
	b := hs + len(auth) - len(port)
	a := b - len(host)
	if s[hs+h] == '[' {
		a, b = a-1, b-1 // inside the brackets
	}
	return ioc, a, b, true
}

// trimURL drops trailing punctuation and unbalanced closing brackets from
// s[hs:end]: "(see http://x.com/a)." ends at "a".
func trimURL(s string, hs, end int) int {
	open, closed := 0, 0
	for i := hs; i < end; i++ {
		switch s[i] {
		case '(', '[':
			open++
		case ')', ']':
			closed++
		}
	}
	for end > hs {
		switch s[end-1] {
		case '.', ',', ';', ':', '!', '?', '*':
			end--
			continue
		case ')', ']':
			// Parentheses and brackets share one count: mixing them in a
			// URL tail is rare and the error is one kept bracket.
			if closed > open {
				closed--
				end--
				continue
			}
		}
		return end
	}
	return end
}

// lowerASCII lower-cases s, allocating only when it has upper case.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
