package feed

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// indicatorColumns are the CSV columns that hold indicators, by normalised
// name, with what each may hold. A typed column (md5_hash) takes only its
// type, so a stray value never lands in the wrong map. imphash, ssdeep, tlsh,
// file_name and *_link columns are deliberately absent: they look like
// hashes or URLs but are not indicators verdict looks up.
var indicatorColumns = map[string]kind{
	"dst_ip": kindIP, "src_ip": kindIP, "dest_ip": kindIP, "dstip": kindIP, "srcip": kindIP,
	"ip": kindIP, "ip_address": kindIP, "ipaddress": kindIP, "ip_addr": kindIP,
	"ipv4": kindIP, "ipv6": kindIP, "cidr": kindIP, "netblock": kindIP, "subnet": kindIP,
	"indicator": kindAny, "ioc": kindAny, "ioc_value": kindAny, "indicator_value": kindAny, "observable": kindAny,
	"url": kindURL, "domain": kindHost, "domain_name": kindHost, "host": kindHost, "hostname": kindHost, "fqdn": kindHost,
	"sha256_hash": kindSHA256, "sha256": kindSHA256,
	"sha1_hash": kindSHA1, "sha1": kindSHA1,
	"md5_hash": kindMD5, "md5": kindMD5,
	"hash": kindHash, "file_hash": kindHash, "filehash": kindHash,
}

// Columns that describe a row rather than list an indicator, in order of
// preference.
var (
	typeColumns   = []string{"indicatortype", "indicator_type", "ioc_type", "ioctype", "type"}
	familyColumns = []string{"malware_printable", "malware", "signature", "malware_family", "family", "threat_name"}
	threatColumns = []string{"threat_type", "threat"}
)

type csvColumn struct {
	idx  int
	kind kind
}

// csvPlan says which columns of a CSV feed to read.
type csvPlan struct {
	cols     []csvColumn
	typeCol  int   // -1: none; else generic columns take their type from it
	family   []int // info columns, by preference
	threat   []int
	status   int // abuse.ch Feodo c2_status
	toIDsCol int // MISP CSV exports: rows with to_ids false are not for detection
}

func planCSV(header []string) csvPlan {
	p := csvPlan{typeCol: -1, status: -1, toIDsCol: -1}
	index := map[string]int{}
	for i, h := range header {
		if _, dup := index[h]; !dup {
			index[h] = i
		}
	}
	for _, name := range typeColumns {
		if i, ok := index[name]; ok {
			p.typeCol = i
			break
		}
	}
	for i, h := range header {
		if k, ok := indicatorColumns[h]; ok {
			p.cols = append(p.cols, csvColumn{idx: i, kind: k})
		} else if h == "value" && p.typeCol >= 0 {
			p.cols = append(p.cols, csvColumn{idx: i, kind: kindAny}) // MISP CSV: type,value
		}
	}
	for _, name := range familyColumns {
		if i, ok := index[name]; ok {
			p.family = append(p.family, i)
		}
	}
	for _, name := range threatColumns {
		if i, ok := index[name]; ok {
			p.threat = append(p.threat, i)
		}
	}
	if i, ok := index["c2_status"]; ok {
		p.status = i
	}
	if i, ok := index["to_ids"]; ok {
		p.toIDsCol = i
	}
	return p
}

// loadCSV reads a CSV feed whose header was found by sniff. Rows may be
// separated by ", " (MalwareBazaar), fields may hold stray quotes and
// unquoted backslashes (MSTIC paths), and "#" lines are comments (the abuse.ch
// banner and "# END 28 entries" trailer).
func (l *loader) loadCSV(br *bufio.Reader, header []string, headerCommented bool) error {
	plan := planCSV(header)
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	skipHeader := !headerCommented
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err
			}
			l.line = pe.Line
			l.skip("", pe.Err.Error())
			continue
		}
		l.line, _ = cr.FieldPos(0)
		if skipHeader {
			skipHeader = false
			continue
		}
		l.csvRow(&plan, rec)
	}
}

func (l *loader) csvRow(p *csvPlan, rec []string) {
	if p.toIDsCol >= 0 && p.toIDsCol < len(rec) && !truthy(rec[p.toIDsCol]) {
		return
	}
	info := l.csvInfo(p, rec)
	if l.perRow {
		tt := ""
		for _, i := range p.threat {
			if i < len(rec) && strings.TrimSpace(rec[i]) != "" {
				tt = rec[i]
				break
			}
		}
		l.cat = threatFoxCategory(tt)
	}
	l.beginRow()
	defer l.endRow()
	for _, c := range p.cols {
		if c.idx >= len(rec) {
			continue
		}
		v := rec[c.idx]
		if c.kind == kindAny && p.typeCol >= 0 {
			typ := ""
			if p.typeCol < len(rec) {
				typ = rec[p.typeCol]
			}
			if strings.TrimSpace(typ) == "" {
				l.addOrSkip(kindAny, v, info, false)
				continue
			}
			l.addTyped(typ, v, info) // MSTIC "filepath" rows are ignored here
			continue
		}
		l.addOrSkip(c.kind, v, info, false)
	}
}

// csvInfo builds a row's Info ("Pikabot (c2 offline)", "Cobalt Strike,
// botnet_cc") and interns it; rows repeat a handful of combinations, so the
// cache keeps the per-row cost at one map lookup.
func (l *loader) csvInfo(p *csvPlan, rec []string) uint32 {
	first := func(cols []int) string {
		for _, i := range cols {
			if i < len(rec) {
				if v := strings.TrimSpace(rec[i]); !blank(v) {
					return v
				}
			}
		}
		return ""
	}
	var key [3]string
	key[0], key[1] = first(p.family), first(p.threat)
	if p.status >= 0 {
		key[2] = first([]int{p.status})
	}
	if key == [3]string{} {
		return 0
	}
	if id, ok := l.b.infoCache[key]; ok {
		return id
	}
	s := key[0]
	if key[1] != "" && key[1] != key[0] {
		if s != "" {
			s += ", "
		}
		s += key[1]
	}
	if key[2] != "" {
		if s != "" {
			s += " "
		}
		s += "(c2 " + key[2] + ")"
	}
	id := l.b.internInfo(s)
	if len(l.b.infoCache) < 1<<16 {
		l.b.infoCache[[3]string{strings.Clone(key[0]), strings.Clone(key[1]), strings.Clone(key[2])}] = id
	}
	return id
}

// truthy reads a MISP to_ids cell ("1", "True", "true").
func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "y", "t":
		return true
	}
	return false
}
