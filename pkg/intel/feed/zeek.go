package feed

import (
	"bufio"
	"bytes"
	"strings"
)

// loadZeek reads a Zeek Intel framework file: a "#fields" header naming
// tab-separated columns (indicator, indicator_type, meta.desc, ...), then one
// indicator per line. "-" and "(empty)" are Zeek's unset values. The types
// used are Intel::ADDR, SUBNET, DOMAIN, URL and FILE_HASH; Intel::URL values
// have no scheme (see the package doc); Intel::EMAIL, FILE_NAME, CERT_HASH
// and the rest are ignored. Info is meta.desc, or meta.source without one.
func (l *loader) loadZeek(br *bufio.Reader) {
	ind, typ, desc, src := -1, -1, -1, -1
	var fields []string
	l.eachLine(br, func(line []byte) {
		if len(bytes.TrimSpace(line)) == 0 {
			return
		}
		if line[0] == '#' {
			if isZeekFields(line) {
				ind, typ, desc, src = -1, -1, -1, -1
				names := strings.Fields(string(line[len("#fields"):]))
				for i, n := range names {
					switch n {
					case "indicator":
						ind = i
					case "indicator_type":
						typ = i
					case "meta.desc":
						desc = i
					case "meta.source":
						src = i
					}
				}
			}
			return
		}
		if ind < 0 || typ < 0 {
			l.skip(string(line), "no #fields header with indicator and indicator_type")
			return
		}
		fields = splitTabs(fields[:0], string(line))
		if ind >= len(fields) || typ >= len(fields) {
			l.skip(string(line), "too few fields")
			return
		}
		var info uint32
		for _, c := range []int{desc, src} {
			if c >= 0 && c < len(fields) && !blank(strings.TrimSpace(fields[c])) {
				info = l.b.internInfo(fields[c])
				break
			}
		}
		l.addTyped(fields[typ], fields[ind], info)
	})
}

// splitTabs splits s on tabs into dst without allocating a new slice.
func splitTabs(dst []string, s string) []string {
	for {
		i := strings.IndexByte(s, '\t')
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i+1:]
	}
}
