package feed

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
)

// sniffed is the outcome of format detection for one file.
type sniffed struct {
	format          string
	header          []string // CSV: normalised column names
	headerCommented bool     // CSV: the header is a "# ..." line (abuse.ch)
}

var utf8BOM = []byte("\xef\xbb\xbf")

// sniffLines is how many data lines detection looks at.
const sniffLines = 64

// sniff detects a file's format from its first bytes (peek) and its
// extension. complete says peek holds the whole file.
func sniff(peek []byte, ext string, complete bool) sniffed {
	peek = bytes.TrimPrefix(peek, utf8BOM)
	if bytes.IndexByte(peek, 0) >= 0 {
		return sniffed{format: FormatUnknown} // binary: an archive, an image, UTF-16
	}
	body := bytes.TrimLeft(peek, " \t\r\n")
	if len(body) > 0 && (body[0] == '{' || body[0] == '[') {
		first, _, _ := bytes.Cut(body, []byte{'\n'})
		if body[0] == '{' && spamhausLine(first) {
			return sniffed{format: FormatSpamhausJSON}
		}
		return sniffed{format: FormatMISP}
	}
	if !complete {
		// The last line may be cut short by the peek window.
		if i := bytes.LastIndexByte(peek, '\n'); i >= 0 {
			peek = peek[:i+1]
		}
	}
	var (
		header    []string
		commented bool
		data      [][]byte
	)
	for rest := peek; len(rest) > 0 && len(data) < sniffLines; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if isZeekFields(line) {
			return sniffed{format: FormatZeekIntel}
		}
		if line[0] == '#' || line[0] == ';' {
			// abuse.ch MalwareBazaar, ThreatFox and URLhaus comment out their header.
			if header == nil && len(data) == 0 {
				if h := parseHeader(bytes.TrimLeft(line, "#; \t")); h != nil {
					header, commented = h, true
				}
			}
			continue
		}
		if len(data) == 0 {
			if bytes.HasPrefix(line, []byte("ExitNode ")) || bytes.HasPrefix(line, []byte("@type tordnsel")) {
				return sniffed{format: FormatTorExits}
			}
			if header == nil {
				if h := parseHeader(line); h != nil {
					header, commented = h, false
					continue
				}
			}
		}
		data = append(data, line)
	}
	// A header-like comment over data lines without commas is a plain list's
	// banner ("# ip, domain and url entries"), not a CSV header.
	if header != nil && (ext == ".csv" || len(data) == 0 || bytes.IndexByte(data[0], ',') >= 0) {
		return sniffed{format: FormatCSV, header: header, headerCommented: commented}
	}
	hosts := 0
	for _, d := range data {
		if body, _ := splitComment(d); len(body) > 0 {
			f0, rest := cutField(body)
			if hostsLine(f0, rest) {
				hosts++
			}
		}
	}
	if hosts > 0 && (ext == ".hosts" || 2*hosts >= len(data)) {
		return sniffed{format: FormatHosts}
	}
	return sniffed{format: FormatPlain}
}

func isZeekFields(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("#fields"))
	return ok && len(rest) > 0 && (rest[0] == '\t' || rest[0] == ' ')
}

// spamhausLine reports whether line is a Spamhaus DROP JSON record or its
// metadata trailer.
func spamhausLine(line []byte) bool {
	var v struct {
		CIDR *string `json:"cidr"`
		Type string  `json:"type"`
	}
	return json.Unmarshal(bytes.TrimSpace(line), &v) == nil && (v.CIDR != nil || v.Type == "metadata")
}

// hostsLine reports whether a line's first field is an address followed by
// a host name ("0.0.0.0 evil.com"), as opposed to "1.2.3.4 15" (IPsum) or
// "1.2.3.4 5.6.7.8".
func hostsLine(f0, rest []byte) bool {
	if len(rest) == 0 || !looksIP(string(f0)) {
		return false
	}
	if _, err := netip.ParseAddr(string(f0)); err != nil {
		return false
	}
	name, _ := cutField(rest)
	s := string(name)
	return hasLetter(s) && !(looksIP(s) && validIPOrPrefix(s))
}

func validIPOrPrefix(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}

// parseHeader returns the normalised column names of a CSV header line, or
// nil when line is not one: at least two columns, names made of letters,
// digits, spaces, "_", "-" and ".", and at least one indicator column.
func parseHeader(line []byte) []string {
	if bytes.IndexByte(line, ',') < 0 {
		return nil
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil || len(rec) < 2 {
		return nil
	}
	names := make([]string, len(rec))
	known := false
	for i, f := range rec {
		f = strings.TrimSpace(f)
		if len(f) > 64 {
			return nil
		}
		for j := 0; j < len(f); j++ {
			c := f[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '_' || c == '-' || c == '.') {
				return nil
			}
		}
		names[i] = normColumn(f)
		if _, ok := indicatorColumns[names[i]]; ok {
			known = true
		}
	}
	if !known && slices.Contains(names, "value") {
		// MISP CSV exports: "type,value" with MISP attribute types.
		for _, n := range typeColumns {
			known = known || slices.Contains(names, n)
		}
	}
	if !known {
		return nil
	}
	return names
}

// normColumn lower-cases a column name and spells " ", "-" and "." as "_".
func normColumn(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.':
			return '_'
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
