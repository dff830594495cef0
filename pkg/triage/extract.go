package triage

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/ioc"
)

// foundIOC is one of an alert's unique indicators and the fields it was in.
type foundIOC struct {
	ioc    ioc.IOC
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
	fieldOpts map[string]ioc.Options // by normalised field path
	seen      map[ioc.IOC]int        // this alert's indicators -> index in out
	out       []foundIOC
	hashes    []hashSeen
	links     artifacts
	stems     map[string]string // hashStem by field name; exports repeat a few
	// ids are the id fields (input.id_fields); nil is the default list.
	ids *alert.IDFields
	// memo remembers what recent strings yielded: exports repeat the same
	// signatures, host names, addresses and user agents in alert after
	// alert, and extraction is the costliest step of pass 1. It is bounded
	// (cleared when full) so memory does not grow with the input.
	memo map[memoKey][]ioc.IOC
}

type memoKey struct {
	s    string
	opts ioc.Options
}

const (
	memoMaxEntries = 1 << 15
	memoMaxLen     = 512 // longer strings are rarely repeated verbatim
)

func newExtractor() *extractor {
	return &extractor{fieldOpts: map[string]ioc.Options{}, seen: map[ioc.IOC]int{}, memo: map[memoKey][]ioc.IOC{}, stems: map[string]string{}}
}

// alert returns the record's id ("" if it has none) and its unique
// indicators in order of first appearance.
func (e *extractor) alert(rec alert.Record) (string, []foundIOC, error) {
	clear(e.seen)
	e.out = e.out[:0]
	e.hashes = e.hashes[:0]
	id, idRank := "", 1<<31-1
	err := alert.Walk(rec.Raw, func(p *alert.Path, kind alert.Kind, value string) {
		switch kind {
		case alert.KindString, alert.KindNumber:
		default:
			return
		}
		norm := p.Normalized()
		if r, ok := e.ids.Rank(norm); ok && r < idRank && strings.TrimSpace(value) != "" {
			id, idRank = strings.Clone(value), r
		}
		if kind != alert.KindString || len(value) < 3 {
			return
		}
		opts, ok := e.fieldOpts[norm]
		if !ok {
			opts = ioc.FieldOptions(p.Keys())
			if len(e.fieldOpts) < 1<<16 { // attacker-chosen keys must not grow this without bound
				e.fieldOpts[strings.Clone(norm)] = opts
			}
		}
		found := e.extract(value, opts)
		if len(found) == 0 {
			return
		}
		field := p.String()
		for _, x := range found {
			k, ok := e.seen[x]
			if ok {
				if !contains(e.out[k].fields, field) {
					e.out[k].fields = append(e.out[k].fields, field)
				}
			} else {
				k = len(e.out)
				e.seen[x] = k
				e.out = append(e.out, foundIOC{ioc: x, fields: []string{field}})
			}
			if x.Type.IsHash() && len(e.hashes) < maxHashesLinked {
				last := "" // a bare string document has no key
				if keys := p.Keys(); len(keys) > 0 {
					last = keys[len(keys)-1]
				}
				e.hashes = append(e.hashes, hashSeen{scope: field[:len(field)-len(last)], stem: e.stem(last), at: k})
			}
		}
	})
	if hr, ok := e.ids.HitRank(); ok && rec.HitID != "" && hr < idRank {
		id = rec.HitID // an Elasticsearch hit's _id, where _id ranks
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
	s := hashStem(key)
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

// extract is ioc.Extract through the memo. The returned slice is shared:
// callers must not modify it.
func (e *extractor) extract(v string, opts ioc.Options) []ioc.IOC {
	if len(v) > memoMaxLen {
		return ioc.Extract(v, opts)
	}
	if found, ok := e.memo[memoKey{v, opts}]; ok {
		return found
	}
	found := ioc.Extract(v, opts)
	if len(e.memo) >= memoMaxEntries {
		clear(e.memo)
	}
	// Own the bytes: v and the values may be substrings of the whole
	// record, which the memo must not keep alive.
	for i := range found {
		found[i].Value = strings.Clone(found[i].Value)
	}
	e.memo[memoKey{strings.Clone(v), opts}] = found
	return found
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
