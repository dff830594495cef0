package triage

import (
	"strings"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/ioc"
)

// foundIOC is one of an alert's unique indicators and the fields it was in.
type foundIOC struct {
	ioc    ioc.IOC
	fields []string
}

// extractor pulls an alert's id and indicators out of a record in one walk.
// It is reused across records to keep allocations per alert low.
type extractor struct {
	fieldOpts map[string]ioc.Options // by normalised field path
	seen      map[ioc.IOC]int        // this alert's indicators -> index in out
	out       []foundIOC
	hitRank   int
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
	r, ok := alert.IDRank(".id") // "_id", normalised: where an Elasticsearch hit id ranks
	if !ok {
		r = 1 << 30
	}
	return &extractor{fieldOpts: map[string]ioc.Options{}, seen: map[ioc.IOC]int{}, hitRank: r, memo: map[memoKey][]ioc.IOC{}}
}

// alert returns the record's id ("" if it has none) and its unique
// indicators in order of first appearance.
func (e *extractor) alert(rec alert.Record) (string, []foundIOC, error) {
	clear(e.seen)
	e.out = e.out[:0]
	id, idRank := "", 1<<31-1
	err := alert.Walk(rec.Raw, func(p *alert.Path, kind alert.Kind, value string) {
		switch kind {
		case alert.KindString, alert.KindNumber:
		default:
			return
		}
		norm := p.Normalized()
		if r, ok := alert.IDRank(norm); ok && r < idRank && strings.TrimSpace(value) != "" {
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
			if k, ok := e.seen[x]; ok {
				if !contains(e.out[k].fields, field) {
					e.out[k].fields = append(e.out[k].fields, field)
				}
				continue
			}
			e.seen[x] = len(e.out)
			e.out = append(e.out, foundIOC{ioc: x, fields: []string{field}})
		}
	})
	if rec.HitID != "" && e.hitRank < idRank {
		id = rec.HitID
	}
	return id, e.out, err
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
