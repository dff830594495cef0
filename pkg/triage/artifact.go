package triage

import (
	"math/bits"
	"sync"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// artifacts groups an alert's indicators into artifacts (CONTRACT.md "Risk
// score"): each indicator is its own, except that the MD5, SHA-1 and
// SHA-256 of one file are one. It is a union-find over the alert's
// indicators that only ever joins hashes, and never two hashes of one type:
// an artifact is one file, and one file has one SHA-256. That guard keeps a
// contradictory link (a feed row that disagrees with the alert) from
// merging two files into one and hiding a signal.
type artifacts struct {
	parent []int32
	types  []uint8 // per root: the hash types in its artifact
}

// artifactPool recycles artifacts across the alerts of the scoring passes,
// which run on every core: an alert with a file's hashes then costs no
// allocation for them.
var artifactPool = sync.Pool{New: func() any { return new(artifacts) }}

// hashBit is the bit of a hash type in artifacts.types; 0 for other types.
func hashBit(t ioc.Type) uint8 {
	switch t {
	case ioc.MD5:
		return 1
	case ioc.SHA1:
		return 2
	case ioc.SHA256:
		return 4
	}
	return 0
}

// reset makes n indicators, each its own artifact; typeOf gives each one's
// hashBit.
func (a *artifacts) reset(n int, typeOf func(int) uint8) {
	a.parent = a.parent[:0]
	a.types = a.types[:0]
	for i := 0; i < n; i++ {
		a.parent = append(a.parent, int32(i))
		a.types = append(a.types, typeOf(i))
	}
}

func (a *artifacts) find(i int) int {
	for int(a.parent[i]) != i {
		a.parent[i] = a.parent[a.parent[i]] // path halving
		i = int(a.parent[i])
	}
	return i
}

// union joins the artifacts of i and j unless one is not a hash or they
// hold a hash of the same type; it reports whether they are now one.
func (a *artifacts) union(i, j int) bool {
	ri, rj := a.find(i), a.find(j)
	if ri == rj {
		return true
	}
	ti, tj := a.types[ri], a.types[rj]
	if ti == 0 || tj == 0 || ti&tj != 0 {
		return false
	}
	if rj < ri {
		ri, rj = rj, ri // the root is the first indicator: ids are stable
	}
	a.parent[rj] = int32(ri)
	a.types[ri] = ti | tj
	return true
}

// id names i's artifact for score.Indicator.Artifact: its first
// indicator's index+1 when it joins several hashes, else 0 (its own).
func (a *artifacts) id(i int) int {
	if len(a.parent) == 0 {
		return 0
	}
	r := a.find(i)
	if bits.OnesCount8(a.types[r]) < 2 {
		return 0
	}
	return r + 1
}
