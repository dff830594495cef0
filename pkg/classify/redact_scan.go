package classify

import (
	"net/netip"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// This file holds what the Redactor learns from an alert (learn*) and how
// it finds what to replace in text (find*).

const (
	// maxValue bounds a learned value: longer strings are messages, not names.
	maxValue = 256
	// maxMultiPerToken bounds the values sharing a first token, so hostile
	// input cannot make matching quadratic.
	maxMultiPerToken = 64
)

// ---- tokens ----

// isWordRune reports whether r continues a token: letters, digits, marks,
// '_', and the '.' and '-' inside names (j.doe, ws-fin-042.corp.local).
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		c := byte(r)
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// forRuns calls fn for every maximal run of word runes in s.
func forRuns(s string, fn func(a, b int)) {
	start := -1
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			fn(start, i)
			start = -1
		}
		i += n
	}
	if start >= 0 {
		fn(start, len(s))
	}
}

// trimRun drops the dots and hyphens around a run: "pc1." ends a sentence,
// "-ualice" is a command-line flag.
func trimRun(s string, a, b int) (int, int) {
	for a < b && (s[a] == '.' || s[a] == '-') {
		a++
	}
	for b > a && (s[b-1] == '.' || s[b-1] == '-') {
		b--
	}
	return a, b
}

// endsToken reports whether a match ending at end ends its run, allowing
// for trailing dots and hyphens (as trimRun does).
func endsToken(s string, end int) bool {
	for end < len(s) && (s[end] == '.' || s[end] == '-') {
		end++
	}
	if end >= len(s) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[end:])
	return !isWordRune(r)
}

// trimValue drops what cannot start or end a token: quotes, brackets,
// spaces, dots and hyphens.
func trimValue(v string) string {
	return strings.TrimFunc(v, func(r rune) bool { return !isWordRune(r) || r == '.' || r == '-' })
}

// oneRun reports whether v is a single run of word runes.
func oneRun(v string) bool {
	for _, r := range v {
		if !isWordRune(r) {
			return false
		}
	}
	return true
}

// firstRun is v's first run of word runes, trimmed like trimRun.
func firstRun(v string) string {
	end := len(v)
	for i, r := range v {
		if !isWordRune(r) {
			end = i
			break
		}
	}
	a, b := trimRun(v, 0, end)
	return v[a:b]
}

// foldCase lower-cases s rune by rune where the lower case has the same
// length in UTF-8 (A-Z, É, Ü, Ж, Σ, ...), so byte offsets in s and in the
// result are the same. The few letters whose lower case is longer or
// shorter (İ, the Kelvin sign) match only as written.
func foldCase(s string) string {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf {
			break
		}
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if l := unicode.ToLower(r); l != r && utf8.RuneLen(l) == n {
			utf8.EncodeRune(b[i:], l)
		}
		i += n
	}
	return string(b)
}

// ---- entities ----

// addLiteral registers a value to be found as a whole token, as a new
// entity of kind or, with e set, as another spelling of e. It returns the
// value's entity (an earlier one if the value was known), or e when the
// value is too short or too long to redact.
func (r *Redactor) addLiteral(kind, v string, e *entity) *entity {
	f := foldCase(trimValue(v))
	if len(f) < 2 || len(f) > maxValue {
		return e
	}
	if oneRun(f) {
		if old := r.single[f]; old != nil {
			return old
		}
		if e == nil {
			e = &entity{kind: kind, variants: map[string]string{}}
		}
		r.single[f] = e
		return e
	}
	first := firstRun(f)
	if first == "" {
		return e
	}
	list := r.multi[first]
	for _, m := range list {
		if m.folded == f {
			return m.e
		}
	}
	if len(list) >= maxMultiPerToken {
		return e
	}
	if e == nil {
		e = &entity{kind: kind, variants: map[string]string{}}
	}
	r.multi[first] = append(list, &multiLit{folded: f, e: e})
	return e
}

// addrEntity returns the entity of a non-global address, or nil for a
// global one, which is evidence and stays.
func (r *Redactor) addrEntity(a netip.Addr) *entity {
	key := a.WithZone("").Unmap()
	if e := r.addrs[key]; e != nil {
		return e
	}
	reason := ioc.ClassifyAddr(key)
	if reason == ioc.NotSkipped {
		return nil
	}
	e := &entity{kind: "ip-" + strings.ReplaceAll(string(reason), "_", "-"), variants: map[string]string{}}
	r.addrs[key] = e
	return e
}

// internalTLDs are the top-level names for private use (RFC 6762 .local,
// RFC 8375 home.arpa, ICANN's .internal, and the de facto .lan, .corp,
// .home, .intranet, .localdomain): a name under one is always internal.
var internalTLDs = map[string]bool{
	"local": true, "lan": true, "internal": true, "intranet": true, "corp": true,
	"home": true, "localdomain": true,
}

// internalKind says whether the folded run tok names something of the
// organisation: its domain itself ("domain") or a name under it ("host").
func (r *Redactor) internalKind(tok string) string {
	if tok == "localhost" || strings.HasPrefix(tok, "localhost.") {
		return ""
	}
	for _, d := range r.internal {
		if tok == d {
			return kindDomain
		}
		if len(tok) > len(d)+1 && strings.HasSuffix(tok, d) && tok[len(tok)-len(d)-1] == '.' {
			return kindHost
		}
	}
	if dot := strings.LastIndexByte(tok, '.'); dot > 0 && internalTLDs[tok[dot+1:]] {
		return kindHost
	}
	if strings.HasSuffix(tok, ".home.arpa") && len(tok) > len(".home.arpa") {
		return kindHost
	}
	return ""
}

// ---- finding ----

// findNames reports every learned value and every internal name in s
// that stands as a whole token.
func (r *Redactor) findNames(s string, add func(a, b int, e *entity)) {
	folded := foldCase(s)
	forRuns(folded, func(a, b int) {
		a, b = trimRun(folded, a, b)
		if a == b {
			return
		}
		tok := folded[a:b]
		if e := r.single[tok]; e != nil {
			add(a, b, e)
		} else if kind := r.internalKind(tok); kind != "" {
			add(a, b, r.addLiteral(kind, tok, nil))
		}
		for _, m := range r.multi[tok] {
			end := a + len(m.folded)
			if strings.HasPrefix(folded[a:], m.folded) && endsToken(folded, end) {
				add(a, end, m.e)
			}
		}
	})
}

func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isAddrByte(c byte) bool { return isHexByte(c) || c == ':' || c == '.' }

func isAlnumByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isZoneByte(c byte) bool { return isAlnumByte(c) || c == '_' || c == '-' || c == '.' }

// findAddrs reports every non-global address in s, in any textual form:
// IPv4 (zero-padded too, with a port, inside a longer dotted run), IPv6 in
// any case and compression, with a zone, IPv4-mapped.
func (r *Redactor) findAddrs(s string, add func(a, b int, e *entity)) {
	for i := 0; i < len(s); {
		if !isAddrByte(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isAddrByte(s[j]) {
			j++
		}
		if j-i >= 2 {
			j = r.addrRun(s, i, j, add)
		}
		i = j
	}
}

// addrRun looks at the run s[p:q] of hex digits, colons and dots and
// returns where scanning resumes.
func (r *Redactor) addrRun(s string, p, q int, add func(a, b int, e *entity)) int {
	if strings.IndexByte(s[p:q], ':') >= 0 {
		if a, b, addr, ok := ipv6At(s, p, q); ok {
			if e := r.addrEntity(addr); e != nil {
				add(a, b, e)
			}
			return max(b, q)
		}
	}
	for i := p; i < q; {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
			continue
		}
		j := i
		for j < q && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		r.ipv4Run(s, i, j, add)
		i = j
	}
	return q
}

// ipv6At parses the IPv6 address in the run s[p:q], with the zone that may
// follow it. A single colon before or after is a separator
// ("ip:fe80::1", "fe80::1:"), and the address must not be glued to letters
// ("std::vector" is not one).
func ipv6At(s string, p, q int) (int, int, netip.Addr, bool) {
	a, b := p, q
	for b > a && s[b-1] == '.' {
		b--
	}
	if b-a >= 2 && s[a] == ':' && s[a+1] != ':' {
		a++
	}
	if b-a >= 3 && s[b-1] == ':' && s[b-2] != ':' {
		b--
	}
	if b-a < 2 || a > 0 && isAlnumByte(s[a-1]) || b < len(s) && isAlnumByte(s[b]) {
		return 0, 0, netip.Addr{}, false
	}
	if b == q && b < len(s) && s[b] == '%' {
		z := b + 1
		for z < len(s) && isZoneByte(s[z]) {
			z++
		}
		for z > b+1 && s[z-1] == '.' {
			z--
		}
		if z > b+1 {
			if addr, err := netip.ParseAddr(s[a:z]); err == nil && addr.Is6() {
				return a, z, addr, true
			}
		}
	}
	addr, err := netip.ParseAddr(s[a:b])
	if err != nil || !addr.Is6() {
		return 0, 0, netip.Addr{}, false
	}
	return a, b, addr, true
}

// ipv4Run reports the non-global dotted quads in the run s[x:y] of digits
// and dots, left to right: "10.0.0.5.443" (netstat's address.port) holds
// 10.0.0.5, "010.000.000.005" is 10.0.0.5 zero-padded.
func (r *Redactor) ipv4Run(s string, x, y int, add func(a, b int, e *entity)) {
	var win [4][2]int
	n, start := 0, x
	for k := x; k <= y; k++ {
		if k < y && s[k] != '.' {
			continue
		}
		if n == 4 {
			copy(win[:], win[1:])
			n = 3
		}
		win[n] = [2]int{start, k}
		n++
		start = k + 1
		if n < 4 {
			continue
		}
		var ip [4]byte
		ok := true
		for i, w := range win {
			v, digits := 0, w[1]-w[0]
			if digits < 1 || digits > 3 {
				ok = false
				break
			}
			for _, c := range []byte(s[w[0]:w[1]]) {
				v = v*10 + int(c-'0')
			}
			if v > 255 {
				ok = false
				break
			}
			ip[i] = byte(v)
		}
		if !ok {
			continue
		}
		if e := r.addrEntity(netip.AddrFrom4(ip)); e != nil {
			add(win[0][0], win[3][1], e)
			n = 0
		}
	}
}

// ---- learning ----

type fieldKind int

const (
	fieldOther fieldKind = iota
	fieldUser
	fieldHost          // a host name that may be remote: redacted unless public
	fieldMachine       // the machine that logged the event: always redacted
	fieldAccountDomain // the domain of an account (CORP, corp.local)
)

// userKeys, as the last word of a key, name an account.
var userKeys = map[string]bool{
	"user": true, "users": true, "username": true, "usernames": true, "account": true,
	"accounts": true, "accountname": true, "upn": true, "principal": true, "principalname": true,
	"userprincipalname": true, "samaccountname": true, "owner": true,
}

// nameWords after an owner word (user.name, TargetUserName, AccountSid,
// actor.alternateId) name an account too.
var nameWords = map[string]bool{
	"name": true, "names": true, "id": true, "sid": true, "email": true, "mail": true,
	"upn": true, "login": true, "fullname": true,
}

var ownerWords = map[string]bool{
	"user": true, "users": true, "account": true, "accounts": true, "principal": true,
	"actor": true, "owner": true, "caller": true, "member": true,
}

// domainOwners before "domain" make it an account's domain (TargetDomainName,
// AccountDomain, user.domain), not a looked-up one (dns.question.domain).
var domainOwners = map[string]bool{
	"user": true, "account": true, "target": true, "subject": true, "logon": true,
	"principal": true, "caller": true, "actor": true, "supplied": true,
}

// machineKeys name the machine that logged the event.
var machineKeys = map[string]bool{
	"computer": true, "computername": true, "workstation": true, "workstationname": true,
	"machine": true, "machinename": true, "devicename": true, "dvchost": true,
	"compromisedentity": true, "srcworkstation": true, "sourceworkstation": true,
}

// machineParents make a name or host name under them the local machine's
// (host.name, agent.name, observer.hostname).
var machineParents = map[string]bool{
	"host": true, "agent": true, "observer": true, "device": true, "computer": true,
	"machine": true, "predecoder": true,
}

// hostKeys hold a host name that may be remote (http.hostname).
var hostKeys = map[string]bool{
	"host": true, "hostname": true, "srchost": true, "dsthost": true, "shost": true,
	"dhost": true, "desthost": true, "srchostname": true, "dsthostname": true,
	"sourcehostname": true, "destinationhostname": true, "remotehost": true, "fqdn": true,
}

func anyIn(words []string, set map[string]bool) bool {
	for _, w := range words {
		if set[w] {
			return true
		}
	}
	return false
}

// fieldClass says what the string at a key path holds, from its last key
// and the one before it (keys holding dots count as several).
func fieldClass(keys []string) fieldKind {
	var segs [][]string
	for _, k := range keys {
		for _, sub := range strings.Split(k, ".") {
			if w := ioc.KeyWords(sub); len(w) > 0 {
				segs = append(segs, w)
			}
		}
	}
	if len(segs) == 0 {
		return fieldOther
	}
	last := segs[len(segs)-1]
	var parent []string
	if len(segs) > 1 {
		parent = segs[len(segs)-2]
	}
	all := append(append([]string(nil), parent...), last...)
	for i := 0; i+1 < len(all); i++ {
		if all[i] == "user" && all[i+1] == "agent" {
			return fieldOther // a browser, not a person
		}
	}
	joined := strings.Join(last, "")
	lastWord := last[len(last)-1]
	switch {
	case machineKeys[joined] || strings.HasSuffix(joined, "devicename") || strings.HasSuffix(joined, "computername"):
		return fieldMachine
	case (joined == "name" || joined == "hostname" || joined == "host") && len(parent) > 0 && machineParents[parent[len(parent)-1]]:
		return fieldMachine
	case hostKeys[joined]:
		return fieldHost
	}
	for i, w := range last {
		if w == "domain" && (anyIn(last[:i], domainOwners) || anyIn(parent, domainOwners)) {
			return fieldAccountDomain
		}
	}
	if userKeys[lastWord] || strings.HasSuffix(lastWord, "user") {
		return fieldUser
	}
	if nameWords[lastWord] && (anyIn(last[:len(last)-1], ownerWords) || anyIn(parent, ownerWords)) {
		return fieldUser
	}
	return fieldOther
}

// learnField learns from one string by what its key says it holds.
func (r *Redactor) learnField(keys []string, v string) {
	switch fieldClass(keys) {
	case fieldUser:
		r.learnUser(v)
	case fieldMachine:
		r.learnHost(v, true)
	case fieldHost:
		r.learnHost(v, false)
	case fieldAccountDomain:
		r.learnDomain(v, true)
	}
}

// wellKnownUsers are built-in accounts and empty markers: they identify
// nobody, and the model needs to see them ("Failed password for root").
var wellKnownUsers = map[string]bool{
	"system": true, "local system": true, "localsystem": true, "local service": true,
	"localservice": true, "network service": true, "networkservice": true,
	"anonymous logon": true, "anonymous": true, "root": true, "administrator": true,
	"guest": true, "nobody": true, "daemon": true, "www-data": true, "sshd": true,
	"defaultaccount": true, "trustedinstaller": true, "everyone": true,
	"-": true, "--": true, "n/a": true, "na": true, "none": true, "null": true, "(null)": true,
	"nil": true, "unknown": true, "true": true, "false": true, "yes": true, "no": true,
}

// wellKnownDomains are Windows' built-in authorities.
var wellKnownDomains = map[string]bool{
	"nt authority": true, "builtin": true, "nt service": true, "workgroup": true,
	"window manager": true, "font driver host": true, "nt virtual machine": true,
	"iis apppool": true, "-": true, "n/a": true, "local": true, "localhost": true,
}

// roleLocalParts are shared mailboxes and service users, not people.
var roleLocalParts = map[string]bool{
	"postmaster": true, "hostmaster": true, "webmaster": true, "abuse": true,
	"noreply": true, "no-reply": true, "donotreply": true, "do-not-reply": true,
	"mailer-daemon": true, "git": true, "info": true, "support": true, "security": true,
}

// wellKnownHosts name no machine of the organisation.
var wellKnownHosts = map[string]bool{
	"localhost": true, "-": true, "n/a": true, "unknown": true, "none": true, "null": true,
	"wsl": true, "wsl.localhost": true, "tsclient": true,
}

func isIP(v string) bool {
	_, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(v), "[]"))
	return err == nil
}

func allDigits(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v != ""
}

// learnUser learns an account name in any of its written forms: an e-mail
// or UPN (its local part, and a Kerberos realm), DOMAIN\user (both parts),
// a machine account (HOST$), or a plain or display name.
func (r *Redactor) learnUser(v string) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxValue {
		return
	}
	if at := strings.LastIndexByte(v, '@'); at > 0 {
		r.learnUser(v[:at])
		r.learnDomain(v[at+1:], false)
		return
	}
	if bs := strings.IndexByte(v, '\\'); bs >= 0 {
		r.learnDomain(v[:bs], true)
		r.learnUser(v[bs+1:])
		return
	}
	if len(v) > 2 && v[len(v)-1] == '$' {
		r.learnHost(v[:len(v)-1], true)
		return
	}
	f := foldCase(v)
	if wellKnownUsers[f] || isIP(v) || allDigits(v) && len(v) < 5 || len(strings.Fields(v)) > 4 {
		return
	}
	e := r.addLiteral(kindUser, v, nil)
	if plus := strings.IndexByte(v, '+'); plus > 1 {
		r.addLiteral(kindUser, v[:plus], e) // sub-address: alice+spam is alice
	}
}

// learnLocalPart learns the local part of an e-mail address found in text.
func (r *Redactor) learnLocalPart(v string) {
	v = strings.Trim(v, ".")
	f := foldCase(v)
	if roleLocalParts[f] || wellKnownUsers[f] {
		return
	}
	e := r.addLiteral(kindUser, v, nil)
	if plus := strings.IndexByte(v, '+'); plus > 1 {
		r.addLiteral(kindUser, v[:plus], e)
	}
}

// learnHost learns a host name. One that may be remote (machine false) is
// learned only when it is not a public name: a public one is evidence,
// unless it is under an internal domain. The short name of a machine's
// FQDN is learned as the same host when it looks like a machine name
// (WS-FIN-042 for ws-fin-042.corp.local), not a word (mail, intranet).
func (r *Redactor) learnHost(v string, machine bool) {
	v = strings.TrimRight(strings.TrimSpace(v), ".")
	v = strings.TrimSuffix(v, "$")
	if v == "" || len(v) > 253 || strings.ContainsAny(v, " \t\r\n/\\@") || isIP(v) || allDigits(v) {
		return
	}
	f := foldCase(v)
	if wellKnownHosts[f] || strings.HasPrefix(f, "localhost.") {
		return
	}
	if _, err := ioc.NormalizeDomain(v); err == nil && !machine && r.internalKind(f) == "" {
		return
	}
	var e *entity
	short := ""
	if dot := strings.IndexByte(v, '.'); dot > 0 && machineLike(v[:dot]) {
		short = v[:dot]
		if old := r.single[foldCase(trimValue(short))]; old != nil && old.kind == kindHost {
			e = old
		}
	}
	e = r.addLiteral(kindHost, v, e)
	if short != "" {
		r.addLiteral(kindHost, short, e)
	}
}

// machineLike tells a machine's short name (dc01, ws-fin-042) from a word.
func machineLike(s string) bool {
	if len(s) < 3 {
		return false
	}
	return strings.ContainsAny(s, "0123456789-")
}

// learnDomain learns an account or organisation domain (CORP, corp.local).
// Without force, a public domain is left alone unless it is internal.
func (r *Redactor) learnDomain(v string, force bool) {
	v = strings.Trim(strings.TrimSpace(v), ".")
	f := foldCase(v)
	if len(v) < 2 || len(v) > 253 || wellKnownDomains[f] || strings.ContainsAny(v, " \t\r\n/\\@") || isIP(v) {
		return
	}
	if !force {
		if _, err := ioc.NormalizeDomain(v); err == nil && r.internalKind(f) == "" {
			return
		}
	}
	e := r.addLiteral(kindDomain, v, nil)
	if strings.Contains(f, ".") {
		r.learnDomainDN(f, e)
	}
}

// learnDomainDN learns the LDAP form of a dotted domain
// (DC=simulandlabs,DC=com) as the same entity.
func (r *Redactor) learnDomainDN(d string, e *entity) {
	if e == nil || !strings.Contains(d, ".") {
		return
	}
	r.addLiteral(e.kind, "dc="+strings.Join(strings.Split(d, "."), ",dc="), e)
}

// Free text names accounts and hosts in a few recurring patterns: sshd
// and PAM messages, Windows event text, key=value pairs (CEF, syslog),
// profile paths, UNC paths and URLs. Each is found from a keyword located
// with strings.Index, then read by a regular expression anchored there and
// run on a short window: the cost is that of the keywords, not of a
// regular expression over the whole text (a field may hold megabytes).
// The expressions run on the case-folded text; values are taken from the
// original at the same offsets.

// window bounds what an anchored expression reads after its keyword.
const window = 512

// valueRE captures a value after "key=" or "Key: ".
const valueRE = `["']?([^\s"',;|&<>()\[\]{}=]+)`

// loginValueRE captures the account after an sshd or PAM phrase.
const loginValueRE = `^(?:[ \t]+(?:invalid user|illegal user|user))?[ \t]+([^\s"'@,;:()\[\]<>]+)`

var (
	// user=alice, suser=alice (CEF), "Account Name:\t\talice" (Windows),
	// runas /user:CORP\svc_backup, UserPrincipalName: ...
	reUserKV = regexp.MustCompile(`^(?:user(?:[ _-]?principal)?(?:[ _-]?name)?|account(?:[ _-]?name)?|logon[ _-]?name|upn)[ \t]*(?:=|:[ \t]*)` + valueRE)
	// "Account Domain:\tCORP", user_domain=CORP, domain=corp.local
	reDomainKV = regexp.MustCompile(`^domain(?:[ _-]?name)?[ \t]*(?:=|:[ \t]*)` + valueRE)
	// "Workstation Name: WS01", shost=WS01, Computer: DC01, Host: intranet
	reHostKV = regexp.MustCompile(`^(?:workstation|computer|device|machine|host)(?:[ _-]?name)?[ \t]*(?:=|:[ \t]*)` + valueRE)
	// sshd, PAM and login messages, after their phrase.
	reLoginValue = regexp.MustCompile(loginValueRE)
	// "Invalid user paco from 172.17.1.1"
	reUserFrom = regexp.MustCompile(`^user[ \t]+([^\s"'@,;:()\[\]<>]+)[ \t]+from(?:$|[^a-z0-9_])`)
	// "sudo:   alice : TTY=pts/0 ; ..."
	reSudo = regexp.MustCompile(`^sudo(?:\[[0-9]+\])?:[ \t]+([^\s"'@,;:()\[\]<>]+)[ \t]+:`)
	// Profile directories name their user: C:\Users\j.doe, /home/alice.
	reProfileWin = regexp.MustCompile(`^(?:users|documents and settings)\\+([^\\/\s"'<>|:*?]+)`)
	reProfileNix = regexp.MustCompile(`^/+(?:home|users)/+([^\\/\s"'<>|:*?]+)`)
	// \\fs01\share
	reUNC = regexp.MustCompile(`^\\{2,}([a-z0-9][a-z0-9._-]*)`)
	// ://[user[:password]@]host, after a scheme
	reURL = regexp.MustCompile(`^://(?:([^/\s@"'<>:\\]*)(?::[^/\s@"'<>]*)?@)?(\[[0-9a-f:.%]+\]|[^/\s:"'<>?#\\\[\]@]+)`)
	// Domain account SIDs (S-1-5-21-<domain>-<rid>).
	reSID = regexp.MustCompile(`^s-1-5-21(?:-[0-9]+){3,4}`)
)

// loginPhrases come before an account name in sshd, PAM and login text.
var loginPhrases = []string{
	"password for", "publickey for", "keyboard-interactive/pam for", "hostbased for",
	"gssapi-with-mic for", "none for", "invalid user", "illegal user", "for user",
	"logged in as", "logged on as", "login as", "logon as", "authentication failure for",
}

// hostKeyPrefixes may come right before "host" in a host key (shost,
// src_host, RemoteHost); anything else (localhost, ghost) is another word.
var hostKeyPrefixes = map[string]bool{
	"": true, "s": true, "d": true, "r": true, "src": true, "dst": true, "dvc": true,
	"source": true, "dest": true, "destination": true, "remote": true, "client": true, "server": true,
}

// machineKeyPrefixes may come right before workstation, computer, device
// or machine (RemoteDeviceName, SourceWorkstation).
var machineKeyPrefixes = map[string]bool{
	"": true, "source": true, "src": true, "target": true, "remote": true, "dest": true,
	"destination": true, "dst": true, "local": true,
}

// profileDirs are profile directories that belong to nobody.
var profileDirs = map[string]bool{
	"public": true, "default": true, "default user": true, "all users": true, "shared": true,
	"desktop.ini": true, "defaultapppool": true,
}

// eachHit calls fn with the offset of every occurrence of key in s.
func eachHit(s, key string, fn func(i int)) {
	for i := 0; i <= len(s)-len(key); {
		j := strings.Index(s[i:], key)
		if j < 0 {
			return
		}
		fn(i + j)
		i += j + len(key)
	}
}

// matchAt runs the anchored expression re on the window of s at i and
// returns its submatch offsets in s, or nil.
func matchAt(re *regexp.Regexp, s string, i int) []int {
	end := min(len(s), i+window)
	for end < len(s) && !utf8.RuneStart(s[end]) {
		end--
	}
	m := re.FindStringSubmatchIndex(s[i:end])
	for k := range m {
		if m[k] >= 0 {
			m[k] += i
		}
	}
	return m
}

// wordBefore returns the letters right before i in s, after skipping one
// separator when skipSep is set ("src_host" gives "src").
func wordBefore(s string, i int, skipSep bool) string {
	if skipSep && i > 0 && (s[i-1] == ' ' || s[i-1] == '_' || s[i-1] == '-') {
		i--
	}
	j := i
	for j > 0 && s[j-1] >= 'a' && s[j-1] <= 'z' {
		j--
	}
	return s[j:i]
}

func boundaryBefore(s string, i int) bool { return i == 0 || !isAlnumByte(s[i-1]) && s[i-1] != '_' }

// learnText learns from the patterns of free text.
func (r *Redactor) learnText(s string) {
	if len(s) < 3 {
		return
	}
	if strings.IndexByte(s, '@') >= 0 {
		r.learnEmails(s)
	}
	f := foldCase(s)
	value := func(m []int, k int) string { return s[m[2*k]:m[2*k+1]] }
	// Internal names are found wherever they are anyway; learning them here
	// also links a machine's short name (WS7 for ws7.corp.example.com) and
	// numbers them in reading order.
	if strings.IndexByte(f, '.') >= 0 {
		forRuns(f, func(a, b int) {
			if a, b = trimRun(f, a, b); b-a > 3 && strings.IndexByte(f[a:b], '.') > 0 {
				switch r.internalKind(f[a:b]) {
				case kindHost:
					r.learnHost(s[a:b], true)
				case kindDomain:
					r.addLiteral(kindDomain, s[a:b], nil)
				}
			}
		})
	}
	if strings.ContainsAny(s, "=:") {
		for _, key := range []string{"user", "account", "logon", "upn"} {
			eachHit(f, key, func(i int) {
				if m := matchAt(reUserKV, f, i); m != nil {
					r.learnUser(value(m, 1))
				}
			})
		}
		eachHit(f, "domain", func(i int) {
			if m := matchAt(reDomainKV, f, i); m != nil {
				w := wordBefore(f, i, true)
				force := false
				for o := range domainOwners {
					force = force || strings.HasSuffix(w, o)
				}
				r.learnDomain(value(m, 1), force)
			}
		})
		for _, key := range []string{"workstation", "computer", "device", "machine", "host"} {
			eachHit(f, key, func(i int) {
				// Letters glued to the key must be a known prefix (shost,
				// RemoteDeviceName); localhost and ghost are other words.
				w := wordBefore(f, i, false)
				if key == "host" && !hostKeyPrefixes[w] || key != "host" && !machineKeyPrefixes[w] {
					return
				}
				if m := matchAt(reHostKV, f, i); m != nil {
					r.learnHost(value(m, 1), key != "host" || w == "dvc")
				}
			})
		}
		eachHit(f, "://", func(i int) {
			j := i
			for j > 0 && i-j < 16 && (isAlnumByte(f[j-1]) || f[j-1] == '+' || f[j-1] == '.' || f[j-1] == '-') {
				j--
			}
			if j == i || f[j] < 'a' || f[j] > 'z' {
				return // no scheme
			}
			if m := matchAt(reURL, f, i); m != nil {
				if m[2] >= 0 && m[3] > m[2] {
					r.learnUser(value(m, 1))
				}
				if h := value(m, 2); !strings.HasPrefix(h, "[") {
					r.learnHost(h, false)
				}
			}
		})
		eachHit(f, "sudo", func(i int) {
			if m := matchAt(reSudo, f, i); m != nil && boundaryBefore(f, i) {
				r.learnUser(value(m, 1))
			}
		})
	}
	for _, p := range loginPhrases {
		eachHit(f, p, func(i int) {
			if m := matchAt(reLoginValue, f, i+len(p)); m != nil && boundaryBefore(f, i) {
				r.learnUser(value(m, 1))
			}
		})
	}
	eachHit(f, "user ", func(i int) {
		if m := matchAt(reUserFrom, f, i); m != nil && boundaryBefore(f, i) {
			r.learnUser(value(m, 1))
		}
	})
	if strings.IndexByte(s, '\\') >= 0 {
		for _, key := range []string{"users\\", "documents and settings\\"} {
			eachHit(f, key, func(i int) {
				if i > 0 && f[i-1] == '\\' {
					if m := matchAt(reProfileWin, f, i); m != nil && !profileDirs[foldCase(value(m, 1))] {
						r.learnUser(value(m, 1))
					}
				}
			})
		}
		eachHit(f, `\\`, func(i int) {
			if i > 0 && (f[i-1] == '\\' || !strings.ContainsRune(" \t\r\n\"'=(,;<>|", rune(f[i-1]))) {
				return // inside a longer run, or a path (C:\\Users in escaped JSON)
			}
			if m := matchAt(reUNC, f, i); m != nil {
				r.learnHost(value(m, 1), false)
			}
		})
	}
	for _, key := range []string{"/home/", "/users/"} {
		eachHit(f, key, func(i int) {
			j := i
			for j > 0 && f[j-1] == '/' {
				j--
			}
			if j > 0 && !strings.ContainsRune(" \t\r\n\"'=(:,;", rune(f[j-1])) {
				return // a URL path (/api/users/me), not a profile
			}
			if m := matchAt(reProfileNix, f, i); m != nil && !profileDirs[foldCase(value(m, 1))] {
				r.learnUser(value(m, 1))
			}
		})
	}
	eachHit(f, "s-1-5-21-", func(i int) {
		if m := matchAt(reSID, f, i); m != nil && (i == 0 || !isWordRuneByte(f[i-1])) && endsSID(f, m[1]) {
			r.addLiteral(kindUser, s[m[0]:m[1]], nil)
		}
	})
}

func isWordRuneByte(c byte) bool { return isAlnumByte(c) || c == '_' || c == '-' }

func endsSID(s string, end int) bool { return end == len(s) || !isWordRuneByte(s[end]) }

func isLocalPartByte(c byte) bool {
	return isAlnumByte(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c >= utf8.RuneSelf
}

// learnEmails learns the local part of every e-mail address in s: a local
// part, '@', and a domain whose last label is a name (not "lodash@4.17.21")
// or an IPv4 address (ssh alice@10.0.0.5).
func (r *Redactor) learnEmails(s string) {
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		a := i
		for a > 0 && isLocalPartByte(s[a-1]) {
			a--
		}
		b := i + 1
		for b < len(s) && (isAlnumByte(s[b]) || s[b] == '-' || s[b] == '.' || s[b] >= utf8.RuneSelf) {
			b++
		}
		if a == i {
			continue
		}
		domain := strings.TrimRight(s[i+1:b], ".")
		dot := strings.LastIndexByte(domain, '.')
		if dot <= 0 {
			continue
		}
		tld := domain[dot+1:]
		named := len(tld) >= 2 && (strings.HasPrefix(tld, "xn--") || strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsLetter(r) }) < 0)
		if named || isIP(domain) {
			r.learnLocalPart(s[a:i])
		}
	}
}
