package feed

import (
	"bufio"
	"bytes"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// lineReader reads lines without copying them and without a length limit
// that could fail the whole file: a line longer than the buffer is reported
// as long and dropped.
type lineReader struct {
	br *bufio.Reader
	n  int // number of the line last returned, from 1
}

// next returns the next line without its line ending. The bytes are valid
// until the next call. ok is false at the end of the input.
func (r *lineReader) next() (line []byte, long, ok bool) {
	line, err := r.br.ReadSlice('\n')
	if len(line) == 0 && err != nil {
		return nil, false, false
	}
	r.n++
	if err == bufio.ErrBufferFull {
		for err == bufio.ErrBufferFull {
			_, err = r.br.ReadSlice('\n')
		}
		return nil, true, true
	}
	if r.n == 1 {
		line = bytes.TrimPrefix(line, utf8BOM)
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, false, true
}

// eachLine calls fn with every line of a line-based feed, keeping l.line
// current for logs; a line longer than the read buffer is counted as
// skipped and not passed on. The bytes are valid only during the call.
func (l *loader) eachLine(br *bufio.Reader, fn func(line []byte)) {
	lr := lineReader{br: br}
	for {
		line, long, ok := lr.next()
		if !ok {
			return
		}
		l.line = lr.n
		if long {
			l.skip("", "line too long")
			continue
		}
		fn(line)
	}
}

// loadLines reads a plain list (one item per line: IP, CIDR, domain, URL or
// hash) or a hosts file. Comments start with "#" or ";", at the start of a
// line or after a space; an inline comment becomes the entry's Info
// ("1.10.16.0/20 ; SBL256894"). Only a line's first field is used, so
// "1.2.3.4<TAB>15" (IPsum) lists 1.2.3.4; a line whose first field is an
// address followed by host names is a hosts line, and lists the names only.
func (l *loader) loadLines(br *bufio.Reader, hosts bool) {
	l.eachLine(br, func(line []byte) {
		body, comment := splitComment(line)
		if len(body) == 0 {
			return
		}
		var info uint32
		if len(comment) > 0 {
			info = l.infoBytes(comment)
		}
		f0, rest := cutField(body)
		// In a hosts file the address is a sink (0.0.0.0), never an
		// indicator; elsewhere a line that looks like a hosts line is one.
		if (hosts && looksIP(string(f0)) && validIPOrPrefix(string(f0))) || hostsLine(f0, rest) {
			for len(rest) > 0 {
				var name []byte
				name, rest = cutField(rest)
				l.addHostName(string(name), info)
			}
			return
		}
		if a, ok := ioc.ParseIPv4(f0); ok {
			l.addAddr(a, info)
			return
		}
		l.addOrSkip(kindAny, string(f0), info, true)
	})
}

// localNames are the host names hosts files map for the machine itself.
var localNames = map[string]bool{
	"localhost": true, "localhost.localdomain": true, "local": true, "broadcasthost": true,
	"ip6-localhost": true, "ip6-loopback": true, "ip6-localnet": true, "ip6-mcastprefix": true,
	"ip6-allnodes": true, "ip6-allrouters": true, "ip6-allhosts": true,
}

// addHostName adds one name of a hosts line. Local names, addresses
// ("0.0.0.0 0.0.0.0") and single-label names (a machine's own name) are not
// indicators and are ignored rather than counted as skipped.
func (l *loader) addHostName(name string, info uint32) {
	if localNames[strings.ToLower(name)] || strings.IndexByte(strings.TrimSuffix(name, "."), '.') < 0 {
		return
	}
	if looksIP(name) && validIPOrPrefix(name) {
		return
	}
	if !l.addDomain(strings.TrimSpace(name), info, true) {
		l.skip(name, "not a valid host name")
	}
}

// splitComment returns a line without its comment, and the text of an
// inline comment. "#" and ";" start a comment at the start of a line or
// after a space or tab; elsewhere they are part of the value (URL fragments).
func splitComment(line []byte) (body, comment []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' || line[0] == ';' {
		return nil, nil
	}
	for i := 1; i < len(line); i++ {
		if (line[i] == '#' || line[i] == ';') && (line[i-1] == ' ' || line[i-1] == '\t') {
			return bytes.TrimSpace(line[:i]), bytes.TrimSpace(line[i+1:])
		}
	}
	return line, nil
}

// cutField splits off the first space- or tab-separated field.
func cutField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	b = b[i:]
	for i = 0; i < len(b) && b[i] != ' ' && b[i] != '\t'; i++ {
	}
	field, rest = b[:i], b[i:]
	for i = 0; i < len(rest) && (rest[i] == ' ' || rest[i] == '\t'); i++ {
	}
	return field, rest[i:]
}

// infoBytes interns an inline comment without allocating when it was seen
// before.
func (l *loader) infoBytes(b []byte) uint32 {
	if id, ok := l.b.intern[string(b)]; ok {
		return id
	}
	return l.b.internInfo(string(b))
}

// loadTorExits reads TorDNSEL exit-addresses records. Only the address of
// "ExitAddress <ip> <date> <time>" lines is an indicator: the 40-hex relay
// fingerprint on "ExitNode" lines looks like a SHA-1 but is not a file hash.
func (l *loader) loadTorExits(br *bufio.Reader) {
	var latest time.Time // the newest LastStatus: the list's date when it has no Downloaded line
	defer func() {
		if l.stated.IsZero() {
			l.stated = latest
		}
	}()
	l.eachLine(br, func(line []byte) {
		key, rest := cutField(bytes.TrimSpace(line))
		switch string(key) {
		case "":
		case "ExitAddress":
			addr, _ := cutField(rest)
			if len(addr) == 0 || !l.addIP(string(addr), 0) {
				l.skip(string(line), "bad ExitAddress line")
			}
		case "Downloaded":
			// TorDNSEL's own date of the list, when it gives one.
			if t, ok := parseHeaderDate(string(rest)); ok {
				l.stated = t
			}
		case "LastStatus":
			if t, ok := parseHeaderDate(string(rest)); ok && t.After(latest) {
				latest = t
			}
		case "ExitNode", "Published", "@type":
		default:
			l.skip(string(line), "not an exit-addresses line")
		}
	})
}
