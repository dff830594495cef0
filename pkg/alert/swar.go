package alert

import "encoding/binary"

// Word-at-a-time scanning: strings are most of an alert's bytes, and testing
// eight bytes per step for the few that end or interrupt a string makes the
// tokenizer and the parser several times faster than a byte loop.

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// swarZero has the high bit set in each byte of v that was zero (exact for
// the lowest such byte, which is all the callers use).
func swarZero(v uint64) uint64 { return (v - swarLo) & ^v & swarHi }

// swarEq marks the bytes of x equal to c.
func swarEq(x uint64, c byte) uint64 { return swarZero(x ^ (swarLo * uint64(c))) }

// skipStringBytes returns the index of the first byte at or after i in b that
// is '"', '\\' or '\n', or len(b).
func skipStringBytes(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if swarEq(x, '"')|swarEq(x, '\\')|swarEq(x, '\n') != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c == '\n' {
			return i
		}
	}
	return i
}

// load64 reads eight bytes of s little-endian; the compiler merges the loads.
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// plainRun returns the index of the first byte at or after i in s that is
// '"', '\\' or a control character, or len(s); and whether a byte >= 0x80
// came before it, so that ASCII strings skip the UTF-8 check.
func plainRun(s string, i int) (int, bool) {
	var acc uint64
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		// Bytes below 0x20: subtracting 0x20 borrows into the high bit, which
		// was clear (so bytes >= 0x80 do not count).
		if swarEq(x, '"')|swarEq(x, '\\')|((x-swarLo*0x20)&^x&swarHi) != 0 {
			break
		}
		acc |= x
	}
	for ; i < len(s); i++ {
		c := s[i]
		if !strPlain[c] {
			break
		}
		acc |= uint64(c)
	}
	return i, acc&swarHi != 0
}
