package ratelimit

import (
	crand "crypto/rand"
	"encoding/binary"
	"sort"
	"time"
)

// sharedState is a shared limiter's state as a store keeps it: the three
// rules' state, the pause, and what the processes using it need kept.
type sharedState struct {
	sched
	paused time.Time
	// keep is the longest window of the processes that use the state, and
	// most their largest N: the log keeps what the strictest of them needs
	// (processes that disagree about the rate each get their own rate, and
	// none loses the admissions its window counts).
	keep time.Duration
	most int
}

// adopt makes the state serve params p at now: it widens keep and most to
// p's, or, when the log is empty after pruning (nobody asked for a
// window's time), starts them afresh from p.
func (s *sharedState) adopt(now time.Time, p params) {
	keep, most := max(s.keep, p.window), max(s.most, p.n)
	s.prune(now, keep, most)
	if len(s.sent) == 0 {
		keep, most = p.window, p.n
	}
	s.keep, s.most = keep, most
}

// fromOthers reports whether the window holds an admission of another
// process (one whose id does not carry base, this process's high bits).
func (s *sharedState) fromOthers(base uint64) bool {
	for _, a := range s.sent {
		if a.id&^0xffffffff != base {
			return true
		}
	}
	return false
}

const (
	stateVersion   = 1
	stateHeader    = 1 + 3*8 + 8 + 4 + 4
	stateAdmission = 3 * 8
	// stateMaxLog bounds what decodeShared accepts: 24 bytes an admission,
	// a window of a million requests is 24 MB, far past any rate a provider
	// grants.
	stateMaxLog = 1 << 20
)

// encode is the store's form: little-endian, times as Unix nanoseconds (0
// for none), 24 bytes per admission in the window.
func (s *sharedState) encode() []byte {
	b := make([]byte, 0, stateHeader+len(s.sent)*stateAdmission)
	b = append(b, stateVersion)
	b = appendTime(b, s.next)
	b = appendTime(b, s.last)
	b = appendTime(b, s.paused)
	b = binary.LittleEndian.AppendUint64(b, uint64(s.keep))
	b = binary.LittleEndian.AppendUint32(b, uint32(s.most))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.sent)))
	for _, a := range s.sent {
		b = appendTime(b, a.at)
		b = appendTime(b, a.admitted)
		b = binary.LittleEndian.AppendUint64(b, a.id)
	}
	return b
}

// decodeShared reads encode's form. Anything else (no state yet, another
// version, a damaged value) is the empty state: the window starts afresh,
// which costs at most one window's worth of requests sent early once,
// never a stuck limiter.
func decodeShared(b []byte) sharedState {
	var s sharedState
	if len(b) < stateHeader || b[0] != stateVersion {
		return s
	}
	u64 := func(i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }
	keep, most := int64(u64(25)), binary.LittleEndian.Uint32(b[33:])
	n := int(binary.LittleEndian.Uint32(b[37:]))
	if keep < 0 || most > stateMaxLog || n > stateMaxLog || len(b) != stateHeader+n*stateAdmission {
		return s
	}
	s.next, s.last, s.paused = readTime(u64(1)), readTime(u64(9)), readTime(u64(17))
	s.keep, s.most = time.Duration(keep), int(most)
	if n > 0 {
		s.sent = make([]admission, n)
	}
	for i := range s.sent {
		o := stateHeader + i*stateAdmission
		s.sent[i] = admission{at: readTime(u64(o)), admitted: readTime(u64(o + 8)), id: u64(o + 16)}
	}
	// The rules read the log in time order; a damaged one is put back in it.
	if !sort.SliceIsSorted(s.sent, func(i, j int) bool { return s.sent[i].at.Before(s.sent[j].at) }) {
		sort.SliceStable(s.sent, func(i, j int) bool { return s.sent[i].at.Before(s.sent[j].at) })
	}
	return s
}

func appendTime(b []byte, t time.Time) []byte {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	return binary.LittleEndian.AppendUint64(b, uint64(n))
}

func readTime(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

// randomBase is the high 32 bits of a process's admission ids.
func randomBase() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:]) // never fails on supported platforms (Go 1.24+)
	return binary.LittleEndian.Uint64(b[:]) &^ 0xffffffff
}
