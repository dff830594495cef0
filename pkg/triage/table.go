package triage

import (
	"hash/maphash"
	"strings"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// The batch-wide tables below hold what the batch keeps per unique
// indicator, which is what memory grows with: a run with a million unique
// indicators must stay within a few hundred bytes each (issue 13). Go maps
// keyed by ioc.IOC cost about 60 bytes an entry beyond the indicator
// itself; the table costs 8 to 16.

// iocTable is the batch's unique indicators in order of first sight, with
// an open-addressing index over them.
type iocTable struct {
	list  []ioc.IOC
	slots []int32 // list index+1; 0 is empty. len is a power of two.
}

func newIOCTable() *iocTable {
	return &iocTable{slots: make([]int32, 1024)}
}

// iocSeed seeds iocHash. It is one per process so that pass 1's workers
// can hash what they found and the table, on the one goroutine that
// fills it, does not have to.
var iocSeed = maphash.MakeSeed()

// iocHash is the slot hash of x. The value decides: one string is rarely
// two types, and the comparison checks the type anyway.
func iocHash(x ioc.IOC) uint64 { return maphash.String(iocSeed, x.Value) }

// find returns x's index, or -1.
func (t *iocTable) find(x ioc.IOC) int32 {
	mask := uint64(len(t.slots) - 1)
	for h := iocHash(x) & mask; ; h = (h + 1) & mask {
		s := t.slots[h]
		if s == 0 {
			return -1
		}
		if t.list[s-1] == x {
			return s - 1
		}
	}
}

// add returns x's index, adding it if it is new; added reports that it was.
// hash is iocHash(x). The table keeps its own copy of a new value: x.Value
// may be a substring of a whole record, which must not stay alive with it.
func (t *iocTable) add(x ioc.IOC, hash uint64) (idx int32, added bool) {
	mask := uint64(len(t.slots) - 1)
	h := hash & mask
	for ; ; h = (h + 1) & mask {
		s := t.slots[h]
		if s == 0 {
			break
		}
		if t.list[s-1] == x {
			return s - 1, false
		}
	}
	idx = int32(len(t.list))
	x.Value = strings.Clone(x.Value)
	t.list = append(t.list, x)
	t.slots[h] = idx + 1
	if 2*len(t.list) > len(t.slots) { // at most half full: probes stay short
		t.grow()
	}
	return idx, true
}

func (t *iocTable) grow() {
	t.slots = make([]int32, 2*len(t.slots))
	mask := uint64(len(t.slots) - 1)
	for i, x := range t.list {
		h := iocHash(x) & mask
		for t.slots[h] != 0 {
			h = (h + 1) & mask
		}
		t.slots[h] = int32(i) + 1
	}
}

// reasonTable turns skip reasons, a handful of strings, into one byte per
// indicator.
type reasonTable struct {
	names []ioc.SkipReason // code -> reason; code 0 is NotSkipped
}

func (r *reasonTable) code(s ioc.SkipReason) uint8 {
	if len(r.names) == 0 {
		r.names = append(r.names, ioc.NotSkipped)
	}
	for i, n := range r.names {
		if n == s {
			return uint8(i)
		}
	}
	if len(r.names) == 255 {
		// Not reachable with the reasons ioc.Policy gives; a policy that
		// invented more would lose only the wording, never the skip.
		return 255
	}
	r.names = append(r.names, s)
	return uint8(len(r.names) - 1)
}

func (r *reasonTable) name(code uint8) ioc.SkipReason {
	if int(code) < len(r.names) {
		return r.names[code]
	}
	return ioc.Allowlisted
}

// fieldTable interns the field paths indicators were found in. Exports
// repeat a few dozen paths in every alert; spooling an index instead of
// the string keeps the meta spool small and the second pass free of a
// string allocation per field. Attacker-chosen keys must not grow it
// without bound: past maxFields, paths are spooled whole.
type fieldTable struct {
	index map[string]uint32
	names []string
}

const maxFields = 1 << 16

// ref returns the path's reference (index+1), or 0 when the table is full
// and the path is not in it.
func (f *fieldTable) ref(s string) uint32 {
	if r, ok := f.index[s]; ok {
		return r
	}
	if len(f.names) >= maxFields {
		return 0
	}
	if f.index == nil {
		f.index = map[string]uint32{}
	}
	f.names = append(f.names, s)
	f.index[s] = uint32(len(f.names))
	return uint32(len(f.names))
}

// name is the path of a reference from ref.
func (f *fieldTable) name(ref uint32) (string, bool) {
	if ref == 0 || int(ref) > len(f.names) {
		return "", false
	}
	return f.names[ref-1], true
}

// maxInterned is how many providers an answer profile is interned for; a
// run with more providers gives every indicator its own map.
const maxInterned = 8

// profiles interns the enrichment maps of looked-up indicators by their
// answers. Providers share one Result for every indicator skipped alike
// (offline, no key) or not found, so a million indicators checked offline
// against local feeds have a handful of distinct answer sets: one map each,
// shared, instead of a map per indicator. Results are compared by pointer:
// two equal answers in two Results stay two profiles, which is only a
// missed saving.
type profiles struct {
	index map[[maxInterned]*model.Result]int32
	list  []profile
}

// profile is one distinct set of answers.
type profile struct {
	enrich map[string]*model.Result // provider -> answer; shared, never modified
	// answered has bit p set when provider p (of Results.Names) answered
	// found or not_found: what checked_by and UNCHECKED rest on.
	answered uint64
}

// intern returns the profile of an indicator's answers m (from
// intel.Results.For), keyed by provider name, with names in engine order.
func (ps *profiles) intern(names []string, m map[string]*model.Result) int32 {
	var key [maxInterned]*model.Result
	internable := len(names) <= maxInterned
	var answered uint64
	for p, name := range names {
		r := m[name]
		if internable {
			key[p] = r
		}
		if p < 64 && r != nil && (r.Status == model.StatusFound || r.Status == model.StatusNotFound) {
			answered |= 1 << p // more providers than bits: the rest never make an alert checked
		}
	}
	if internable {
		if i, ok := ps.index[key]; ok {
			return i
		}
	}
	i := int32(len(ps.list))
	ps.list = append(ps.list, profile{enrich: m, answered: answered})
	if internable {
		if ps.index == nil {
			ps.index = map[[maxInterned]*model.Result]int32{}
		}
		ps.index[key] = i
	}
	return i
}
