package triage

import (
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/ioc"
)

// foundIOC is one of an alert's unique indicators and the fields it was in.
type foundIOC struct {
	ioc    ioc.IOC
	hash   uint64 // iocHash(ioc), computed on the worker
	fields []string
	// art links the hashes of one file the alert carries side by side: the
	// index+1 (in the alert's list) of the artifact's first hash; 0 when the
	// indicator is an artifact of its own.
	art int
}

// hashSeen is a hash found during the walk, with where it was: hashes in
// one object (scope) under fields that differ only by hash type (stem) are
// candidates for one file.
type hashSeen struct {
	scope, stem string
	at          int // index into extractor.out
}

// extractor pulls an alert's id and indicators out of a record in one walk.
// It is reused across records to keep allocations per alert low.
type extractor struct {
	walker *alert.Walker
	walkFn func(*alert.Path, alert.Kind, string) // e.scalar, bound once
	id     string                                // the walk's best id so far
	idRank int
	seen   map[ioc.IOC]int // this alert's indicators -> index in out, once it has many
	out    []foundIOC
	hashes []hashSeen
	links  artifacts
	stems  map[string]string // hashStem by field name; exports repeat a few
	// ids are the id fields (input.id_fields); nil is the default list.
	// hitRank is where an Elasticsearch hit's _id ranks among them, or -1
	// when _id is not listed (a hit's _id then never names the alert).
	ids     *alert.IDFields
	hitRank int
	// memo remembers what recent strings yielded: exports repeat the same
	// signatures, host names, addresses and user agents in alert after
	// alert, and extraction is the costliest step of pass 1.
	memo memo
}

// seenLinear is how many indicators an alert may hold before the
// extractor indexes them in a map; below it a linear search is cheaper.
const seenLinear = 16

// newExtractor returns an extractor naming alerts by the id fields ids
// (nil: the default list).
func newExtractor(ids *alert.IDFields) *extractor {
	r, ok := ids.HitRank()
	if !ok {
		r = -1
	}
	e := &extractor{walker: alert.NewWalker(), ids: ids, seen: map[ioc.IOC]int{}, hitRank: r, stems: map[string]string{}, memo: newMemo()}
	e.walkFn = e.scalar
	return e
}

// pathInfo is what the extractor derives from a field path, once per path
// (kept in the walker's path table, see alert.Path.Memo), instead of once
// per value: every alert of an export has the same few dozen paths.
type pathInfo struct {
	idRank int // the path's rank among the extractor's id fields, or -1
	opts   ioc.Options
	field  string   // the path as written, "Device.external_ip"
	fields []string // field alone, shared by every indicator found only there: cap 1, so appending copies
	// scope and stem place a hash among its neighbours (see hashSeen).
	scope, stem string
	// The memo's record on this path: a path whose values do not repeat
	// (a timestamp, a message, a request path) goes around the memo for a
	// while, since every look-up there is a cache miss for nothing.
	tries, hits uint16
	bypass      uint16
}

const (
	memoProbe    = 256  // values of a path between decisions
	memoMinHits  = 16   // fewer hits than this in memoProbe values: bypass
	memoBypassed = 4096 // values that then go around the memo, before it is tried again
)

func (e *extractor) pathInfo(p *alert.Path) *pathInfo {
	slot := p.Memo()
	if pi, ok := (*slot).(*pathInfo); ok {
		return pi
	}
	pi := &pathInfo{idRank: -1, opts: ioc.FieldOptions(p.Keys()), field: p.String()}
	pi.fields = []string{pi.field}
	if r, ok := e.ids.Rank(p.Normalized()); ok {
		pi.idRank = r
	}
	last := "" // a bare string document has no key
	if keys := p.Keys(); len(keys) > 0 {
		last = keys[len(keys)-1]
	}
	pi.scope, pi.stem = pi.field[:len(pi.field)-len(last)], e.stem(last)
	*slot = pi
	return pi
}

// alert returns the record's id ("" if it has none) and its unique
// indicators in order of first appearance.
func (e *extractor) alert(rec alert.Record) (string, []foundIOC, error) {
	if len(e.seen) > 0 {
		clear(e.seen)
	}
	e.out = e.out[:0]
	e.hashes = e.hashes[:0]
	e.id, e.idRank = "", 1<<31-1
	// Aliased: values share the record's bytes, which stay put until the
	// batch is consumed; what outlives that is copied (the id, the memo's
	// strings, the batch table's new values, field stems).
	err := e.walker.WalkAliased(rec.Raw, e.walkFn)
	id := e.id
	if rec.HitID != "" && e.hitRank >= 0 && e.hitRank < e.idRank {
		id = rec.HitID // an Elasticsearch hit's _id, where _id ranks
	}
	for k := range e.out {
		e.out[k].hash = iocHash(e.out[k].ioc)
	}
	e.linkHashes()
	return id, e.out, err
}

// maxHashesLinked bounds the hashes of one alert considered for artifact
// links: an alert carrying thousands of hashes is a list, not a file, and
// the grouping must not cost more than the extraction.
const maxHashesLinked = 1024

// linkHashes makes the hashes of one file one artifact when the alert
// carries them side by side: in one object (Elastic's file.hash.md5 and
// file.hash.sha256, a CSV row's Md5 and Sha256 columns, Sysmon's
// "Hashes: SHA1=...,MD5=...,SHA256=...") under field names that differ only
// by the hash type. M365 Defender's InitiatingProcessSHA256 and SHA256 sit
// in one object but name two files; their stems (initiatingprocess, "")
// keep them apart. A group holding two hashes of one type (two files' MD5s
// in an array of objects, or in one message) is ambiguous and links nothing.
func (e *extractor) linkHashes() {
	if len(e.hashes) < 2 {
		return
	}
	slices.SortStableFunc(e.hashes, func(a, b hashSeen) int {
		if c := strings.Compare(a.scope, b.scope); c != 0 {
			return c
		}
		return strings.Compare(a.stem, b.stem)
	})
	e.links.reset(len(e.out), func(i int) uint8 { return hashBit(e.out[i].ioc.Type) })
	for i := 0; i < len(e.hashes); {
		j := i + 1
		for j < len(e.hashes) && e.hashes[j].scope == e.hashes[i].scope && e.hashes[j].stem == e.hashes[i].stem {
			j++
		}
		e.linkGroup(e.hashes[i:j])
		i = j
	}
	for k := range e.out {
		e.out[k].art = e.links.id(k)
	}
}

// linkGroup links one group of hashes if it names one file: at least two
// kinds of hash and no kind twice.
func (e *extractor) linkGroup(g []hashSeen) {
	var types uint8
	first := -1
	for i, h := range g {
		if slices.ContainsFunc(g[:i], func(o hashSeen) bool { return o.at == h.at }) {
			continue // one value under two fields of the object
		}
		bit := hashBit(e.out[h.at].ioc.Type)
		if types&bit != 0 {
			return // two hashes of one kind: two files
		}
		types |= bit
		if first < 0 {
			first = h.at
		}
	}
	if bits.OnesCount8(types) < 2 {
		return
	}
	for _, h := range g {
		e.links.union(first, h.at)
	}
}

// stem is hashStem through a bounded memo.
func (e *extractor) stem(key string) string {
	if s, ok := e.stems[key]; ok {
		return s
	}
	// A copy: hashStem may return key itself, a piece of the record.
	s := strings.Clone(hashStem(key))
	if len(e.stems) < 4096 { // attacker-chosen keys must not grow it without bound
		e.stems[strings.Clone(key)] = s
	}
	return s
}

// hashStem is a field name without the hash type it names: "SHA256",
// "sha256_hash" and "Hashes" have the stem "", "InitiatingProcessMD5" has
// "initiatingprocess".
func hashStem(key string) string {
	k := strings.ToLower(key)
	for _, w := range []string{"sha256", "sha-256", "sha_256", "sha1", "sha-1", "sha_1", "md5", "hashes", "hash"} {
		k = strings.ReplaceAll(k, w, "")
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x80 {
			return r
		}
		return -1
	}, k)
}

// scalar is the walk's callback: the id and the indicators of one value.
func (e *extractor) scalar(p *alert.Path, kind alert.Kind, value string) {
	switch kind {
	case alert.KindString, alert.KindNumber:
	default:
		return
	}
	info := e.pathInfo(p)
	if r := info.idRank; r >= 0 && r < e.idRank && strings.TrimSpace(value) != "" {
		e.id, e.idRank = strings.Clone(value), r
	}
	if kind != alert.KindString || len(value) < 3 {
		return
	}
	found := e.extract(value, info)
	for _, x := range found {
		k := e.index(x)
		if k >= 0 {
			if !contains(e.out[k].fields, info.field) {
				e.out[k].fields = append(e.out[k].fields, info.field)
			}
		} else {
			k = len(e.out)
			e.out = append(e.out, foundIOC{ioc: x, fields: info.fields})
			if k == seenLinear {
				for i, f := range e.out {
					e.seen[f.ioc] = i
				}
			} else if k > seenLinear {
				e.seen[x] = k
			}
		}
		if x.Type.IsHash() && len(e.hashes) < maxHashesLinked {
			e.hashes = append(e.hashes, hashSeen{scope: info.scope, stem: info.stem, at: k})
		}
	}
}

// index returns where x is in e.out, or -1.
func (e *extractor) index(x ioc.IOC) int {
	if len(e.out) > seenLinear {
		if k, ok := e.seen[x]; ok {
			return k
		}
		return -1
	}
	for k := range e.out {
		if e.out[k].ioc == x {
			return k
		}
	}
	return -1
}

// extract is ioc.Extract, with the options of path p, through the memo.
// The returned slice may be shared, and its values may be substrings of v:
// callers must not modify it, and must copy a value they keep beyond the
// record.
func (e *extractor) extract(v string, p *pathInfo) []ioc.IOC {
	if len(v) > memoMaxLen {
		return ioc.Extract(v, p.opts)
	}
	if p.bypass > 0 {
		p.bypass--
		return ioc.Extract(v, p.opts)
	}
	if p.tries++; p.tries == memoProbe {
		if p.hits < memoMinHits {
			p.bypass = memoBypassed
		}
		p.tries, p.hits = 0, 0
	}
	h := maphash.String(e.memo.seed, v)
	if found, ok := e.memo.get(h, v, p.opts); ok {
		p.hits++
		return found
	}
	found := ioc.Extract(v, p.opts)
	e.memo.put(h, v, p.opts, found)
	return found
}

const (
	memoSets   = 1 << 16 // two ways each: 128k strings
	memoDoor   = 1 << 18 // strings seen once, by hash
	memoMaxLen = 512     // longer strings are rarely repeated verbatim
)

// memo is a bounded cache of ioc.Extract results, two-way set-associative
// by string hash. A string is only admitted the second time it is seen:
// timestamps, messages and request paths that never repeat are most of an
// alert's strings, and admitting them would cost a copy and evict the
// signatures and addresses that do repeat.
type memo struct {
	seed maphash.Seed
	sets [][2]memoEntry
	mru  []uint8  // per set, the way used last
	door []uint32 // a tag of each string seen once
}

type memoEntry struct {
	h     uint64
	s     string
	opts  ioc.Options
	found []ioc.IOC
}

func newMemo() memo {
	return memo{seed: maphash.MakeSeed(), sets: make([][2]memoEntry, memoSets), mru: make([]uint8, memoSets), door: make([]uint32, memoDoor)}
}

func (m *memo) get(h uint64, v string, opts ioc.Options) ([]ioc.IOC, bool) {
	i := h & (memoSets - 1)
	set := &m.sets[i]
	for w := range set {
		if en := &set[w]; en.h == h && en.opts == opts && en.s == v && en.s != "" {
			m.mru[i] = uint8(w)
			return en.found, true
		}
	}
	return nil, false
}

func (m *memo) put(h uint64, v string, opts ioc.Options, found []ioc.IOC) {
	d := &m.door[(h>>32)&(memoDoor-1)]
	if tag := uint32(h) | 1; *d != tag {
		*d = tag // first sight
		return
	}
	i := h & (memoSets - 1)
	w := 1 - m.mru[i] // the way not used last
	// Own the bytes: v and the values may be substrings of the whole
	// record, which the memo must not keep alive.
	own := make([]ioc.IOC, len(found))
	for k, x := range found {
		own[k] = ioc.IOC{Type: x.Type, Value: strings.Clone(x.Value)}
	}
	if len(own) == 0 {
		own = nil
	}
	m.sets[i][w] = memoEntry{h: h, s: strings.Clone(v), opts: opts, found: own}
	m.mru[i] = w
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
