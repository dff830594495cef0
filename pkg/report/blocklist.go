package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/verdict-dev/verdict/pkg/interrupt"
	"github.com/verdict-dev/verdict/pkg/model"
)

// BlocklistFormat is how --export-blocklist writes its file.
type BlocklistFormat string

// Blocklist formats (CONTRACT.md "Output").
const (
	// BlocklistPlain is one value per line and nothing else: what firewall
	// external dynamic lists and `ipset restore` scripts read.
	BlocklistPlain BlocklistFormat = "plain"
	// BlocklistAnnotated precedes each value with a "# type: reason"
	// comment line (never an inline comment, which list readers reject).
	BlocklistAnnotated BlocklistFormat = "annotated"
	// BlocklistCSV is "type,value,reason,alerts" with a header row.
	BlocklistCSV BlocklistFormat = "csv"
)

// BlocklistFormats lists the formats, for help texts and validation.
var BlocklistFormats = []BlocklistFormat{BlocklistPlain, BlocklistAnnotated, BlocklistCSV}

// ParseBlocklistFormat reads a blocklist format name.
func ParseBlocklistFormat(s string) (BlocklistFormat, error) {
	f := BlocklistFormat(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range BlocklistFormats {
		if f == k {
			return f, nil
		}
	}
	names := make([]string, len(BlocklistFormats))
	for i, k := range BlocklistFormats {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown blocklist format %q (want one of %s)", s, strings.Join(names, ", "))
}

// BlocklistWriter collects, for firewalls and EDRs to ingest, the
// indicators that a source flagged in alerts whose risk verdict is at or
// above Min: a local feed listed it, VirusTotal has at least one malicious
// detection, or AbuseIPDB's confidence is 75 or more. Nothing else goes on
// it: not a skipped indicator (private, allowlisted, ...), not one merely
// seen in the same alert (8.8.8.8 beside a C2 address), and never one that
// a source calls benign or a known service (GreyNoise "benign" or RIOT).
// verdict recommends; people act.
type BlocklistWriter struct {
	Min    model.Verdict
	Types  []string        // IOC types kept; empty keeps every type
	Format BlocklistFormat // plain when empty

	generatedAt string
	entries     map[blockKey]*blockEntry
}

type blockKey struct{ Type, Value string }

type blockEntry struct {
	blockKey
	reasons []string // distinct, in the order first seen
	alerts  int
}

// maxReasons bounds the reasons kept per indicator.
const maxReasons = 4

// NewBlocklistWriter returns an empty blocklist for verdicts >= min, of
// every type, in the plain format.
func NewBlocklistWriter(min model.Verdict) *BlocklistWriter {
	return &BlocklistWriter{Min: min, Format: BlocklistPlain, entries: map[blockKey]*blockEntry{}}
}

// Begin implements Sink.
func (b *BlocklistWriter) Begin(r *model.Report) error { b.generatedAt = r.GeneratedAt; return nil }

// Alert implements Sink.
func (b *BlocklistWriter) Alert(a *model.Alert) error {
	if !a.Risk.Verdict.AtLeast(b.Min) {
		return nil
	}
	for _, i := range a.IOCs {
		if i.Skipped != "" || !b.keeps(i.Type) || checkIOCValue(i.Type, i.Value) != nil {
			continue
		}
		reasons, ok := flagged(a.Enrichment[i.Value])
		if !ok {
			continue
		}
		k := blockKey{Type: i.Type, Value: i.Value}
		e := b.entries[k]
		if e == nil {
			e = &blockEntry{blockKey: k}
			b.entries[k] = e
		}
		e.alerts++
		for _, r := range reasons {
			if len(e.reasons) < maxReasons && !contains(e.reasons, r) {
				e.reasons = append(e.reasons, r)
			}
		}
	}
	return nil
}

func (b *BlocklistWriter) keeps(typ string) bool {
	return len(b.Types) == 0 || contains(b.Types, typ)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// flagged says whether the answers about one indicator flag it, and why.
func flagged(results map[string]*model.Result) ([]string, bool) {
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	// Feed listings first, then detections, then reputation scores.
	var listed, detected, scored []string
	for _, n := range names {
		r := results[n]
		if r == nil || r.Status != model.StatusFound {
			continue
		}
		if knownBenign(r) {
			return nil, false // a known service or benign scanner is never blocked
		}
		for _, m := range r.Matches {
			listed = append(listed, "listed in "+clip(m.Feed, 128))
		}
		if r.Malicious != nil && *r.Malicious >= 1 {
			detected = append(detected, fmt.Sprintf("%s: %d malicious detections", providerTitle(n), *r.Malicious))
		}
		if r.AbuseConfidenceScore != nil && *r.AbuseConfidenceScore >= 75 {
			scored = append(scored, fmt.Sprintf("%s: confidence %d", providerTitle(n), *r.AbuseConfidenceScore))
		}
	}
	reasons := append(append(listed, detected...), scored...)
	return reasons, len(reasons) > 0
}

// knownBenign is GreyNoise's word that an address is harmless: a benign
// classification, or a common business service (RIOT) such as 8.8.8.8.
func knownBenign(r *model.Result) bool {
	return strings.EqualFold(r.Classification, "benign") || (r.RIOT != nil && *r.RIOT)
}

func providerTitle(p string) string {
	switch p {
	case "virustotal":
		return "VirusTotal"
	case "abuseipdb":
		return "AbuseIPDB"
	case "greynoise":
		return "GreyNoise"
	}
	return clip(p, 64)
}

// End implements Sink.
func (b *BlocklistWriter) End(*model.Report) error { return nil }

// typeOrder puts addresses first, then names, then hashes.
var typeOrder = map[string]int{"ipv4": 0, "ipv6": 1, "domain": 2, "url": 3, "sha256": 4, "sha1": 5, "md5": 6}

// Len is the number of indicators on the list.
func (b *BlocklistWriter) Len() int { return len(b.entries) }

// Bytes renders the list in its format, grouped by type and sorted.
func (b *BlocklistWriter) Bytes() []byte {
	list := make([]*blockEntry, 0, len(b.entries))
	for _, e := range b.entries {
		list = append(list, e)
	}
	sort.Slice(list, func(i, j int) bool {
		if ti, tj := typeOrder[list[i].Type], typeOrder[list[j].Type]; ti != tj {
			return ti < tj
		}
		return list[i].Value < list[j].Value
	})
	var buf bytes.Buffer
	switch b.Format {
	case BlocklistAnnotated:
		fmt.Fprintf(&buf, "# verdict blocklist: indicators a source flagged in alerts with risk verdict %s or worse\n", b.Min)
		fmt.Fprintf(&buf, "# generated %s; %d entries; review before blocking\n", SanitizeLine(clip(b.generatedAt, 64)), len(list))
		for _, e := range list {
			fmt.Fprintf(&buf, "# %s: %s (%s)\n", e.Type, SanitizeLine(strings.Join(e.reasons, "; ")), plural(e.alerts, "alert"))
			buf.WriteString(e.Value)
			buf.WriteByte('\n')
		}
	case BlocklistCSV:
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"type", "value", "reason", "alerts"})
		for _, e := range list {
			_ = w.Write([]string{e.Type, e.Value, csvSafe(SanitizeLine(strings.Join(e.reasons, "; "))), strconv.Itoa(e.alerts)})
		}
		w.Flush()
	default:
		for _, e := range list {
			buf.WriteString(e.Value)
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// WriteFileAtomic writes data to a temporary file next to path and renames
// it into place, with mode 0666 less the umask.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	tmp, err := createTemp(dir, filepath.Base(path))
	if err != nil {
		return err
	}
	defer interrupt.Track(tmp.Name())() // a second signal removes it too
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
