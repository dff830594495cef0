package feed

import (
	"cmp"
	"net/netip"
	"slices"
)

// ref is one feed's listing of a value. When more than one feed lists the
// value, next is the index+1 of the next listing in Set.chain (0 ends the
// list). It is 16 bytes because a million-line feed keeps one per value;
// values themselves are stored as compact map keys (uint32 for IPv4, byte
// arrays for IPv6 and hashes) rather than strings.
type ref struct {
	info uint32 // index into Set.infos
	next uint32
	file uint32 // hashes: index+1 into Set.files when the row named the file's other hashes
	feed uint16
	cat  category // 0: the feed's own category
}

// maxFeeds is how many files one Set can hold (ref.feed is a uint16).
const maxFeeds = 1<<16 - 1

// addRef records that feed lists k. It reports whether k is new for that
// feed; a repeated listing only fills in a missing info and keeps the
// stronger of two row categories.
func addRef[K comparable](m map[K]ref, chain *[]ref, k K, feed uint16, info uint32, cat category) bool {
	r, ok := m[k]
	if !ok {
		m[k] = ref{info: info, feed: feed, cat: cat}
		return true
	}
	if r.feed == feed {
		if r.merge(info, cat) {
			m[k] = r
		}
		return false
	}
	for n := r.next; n != 0; {
		c := &(*chain)[n-1]
		if c.feed == feed {
			c.merge(info, cat)
			return false
		}
		n = c.next
	}
	*chain = append(*chain, ref{info: info, feed: feed, cat: cat, next: r.next})
	r.next = uint32(len(*chain))
	m[k] = r
	return true
}

// merge folds a repeated listing into r and reports whether r changed.
func (r *ref) merge(info uint32, cat category) bool {
	changed := false
	if r.info == 0 && info != 0 {
		r.info, changed = info, true
	}
	if cat.stronger(r.cat) {
		r.cat, changed = cat, true
	}
	return changed
}

// setFile links feed's listing of k to a file record unless it already has
// one: the first row naming a hash's siblings wins.
func setFile[K comparable](m map[K]ref, chain []ref, k K, feed uint16, file uint32) {
	r, ok := m[k]
	if !ok {
		return
	}
	if r.feed == feed {
		if r.file == 0 {
			r.file = file
			m[k] = r
		}
		return
	}
	for n := r.next; n != 0; n = chain[n-1].next {
		if c := &chain[n-1]; c.feed == feed {
			if c.file == 0 {
				c.file = file
			}
			return
		}
	}
}

// fileHashes is one file as a feed row named it: the hashes present are
// flagged in has (1 md5, 2 sha1, 4 sha256).
type fileHashes struct {
	md5    [16]byte
	sha1   [20]byte
	sha256 [32]byte
	has    uint8
}

const (
	hasMD5 uint8 = 1 << iota
	hasSHA1
	hasSHA256
)

// span is one CIDR of a feed as an address interval. A feed's spans are
// sorted and disjoint, so a lookup is a binary search.
type span struct {
	lo, hi netip.Addr
	info   uint32
	bits   uint8 // prefix length, to report the listed CIDR
	cat    category
}

type prefixEntry struct {
	p    netip.Prefix
	info uint32
	cat  category
}

// buildSpans turns a feed's CIDRs into sorted, disjoint intervals and counts
// the distinct CIDRs. Two CIDRs are either disjoint or nested, so after
// sorting by start and length a CIDR that starts inside the previous kept
// one lies wholly inside it and is merged into it (the enclosing CIDR is the
// one reported). Adjacent CIDRs are not joined: a match names the CIDR the
// feed listed, which a joined interval could no longer do.
func buildSpans(ps []prefixEntry) (v4, v6 []span, distinct int) {
	slices.SortFunc(ps, func(a, b prefixEntry) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.p.Bits(), b.p.Bits())
	})
	var last *span
	for i, e := range ps {
		if i > 0 && e.p == ps[i-1].p {
			if last != nil && last.lo == e.p.Addr() && int(last.bits) == e.p.Bits() {
				if last.info == 0 {
					last.info = e.info
				}
				if e.cat.stronger(last.cat) {
					last.cat = e.cat
				}
			}
			continue
		}
		distinct++
		lo := e.p.Addr()
		if last != nil && last.lo.Is4() == lo.Is4() && lo.Compare(last.hi) <= 0 {
			continue // nested in the previous span
		}
		sp := span{lo: lo, hi: lastAddr(e.p), bits: uint8(e.p.Bits()), info: e.info, cat: e.cat}
		if lo.Is4() {
			v4 = append(v4, sp)
			last = &v4[len(v4)-1]
		} else {
			v6 = append(v6, sp)
			last = &v6[len(v6)-1]
		}
	}
	return slices.Clip(v4), slices.Clip(v6), distinct
}

// findSpan returns the index of the span holding a, or -1.
func findSpan(spans []span, a netip.Addr) int {
	lo, hi := 0, len(spans)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if spans[mid].lo.Compare(a) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo > 0 && a.Compare(spans[lo-1].hi) <= 0 {
		return lo - 1
	}
	return -1
}

// lastAddr returns the highest address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		b := p.Addr().As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if p.Bits() < 32 {
			v |= 1<<(32-p.Bits()) - 1
		}
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	b := p.Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

func v4key(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// decodeHex decodes exactly len(dst)*2 hex digits of either case.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := hexVal[s[2*i]], hexVal[s[2*i+1]]
		if hi|lo == 0xff {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// hexVal maps a hex digit to its value and anything else to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()
