package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/verdict-dev/verdict/pkg/model"
)

// BlocklistWriter collects the indicators of every alert whose risk verdict
// is at or above Min, for firewalls and EDRs to ingest. Skipped indicators
// (private, allowlisted, ...) never go on it. verdict recommends; people act.
type BlocklistWriter struct {
	Min         model.Verdict
	generatedAt string
	seen        map[blockKey]bool
	list        []blockKey
}

// NewBlocklistWriter returns an empty blocklist for verdicts >= min.
func NewBlocklistWriter(min model.Verdict) *BlocklistWriter {
	return &BlocklistWriter{Min: min, seen: map[blockKey]bool{}}
}

// Begin implements Sink.
func (b *BlocklistWriter) Begin(r *model.Report) error { b.generatedAt = r.GeneratedAt; return nil }

// Alert implements Sink.
func (b *BlocklistWriter) Alert(a *model.Alert) error {
	if !a.Risk.Verdict.AtLeast(b.Min) {
		return nil
	}
	for _, i := range a.IOCs {
		if i.Skipped != "" {
			continue
		}
		k := blockKey{Type: i.Type, Value: i.Value}
		if !b.seen[k] {
			b.seen[k] = true
			b.list = append(b.list, k)
		}
	}
	return nil
}

// End implements Sink.
func (b *BlocklistWriter) End(*model.Report) error { return nil }

type blockKey struct{ Type, Value string }

// typeOrder puts addresses first, then names, then hashes.
var typeOrder = map[string]int{"ipv4": 0, "ipv6": 1, "domain": 2, "url": 3, "sha256": 4, "sha1": 5, "md5": 6}

// Bytes renders the list: a header comment, then one indicator per line
// followed by a "# type" comment, grouped by type and sorted.
func (b *BlocklistWriter) Bytes() []byte {
	sort.Slice(b.list, func(i, j int) bool {
		if ti, tj := typeOrder[b.list[i].Type], typeOrder[b.list[j].Type]; ti != tj {
			return ti < tj
		}
		return b.list[i].Value < b.list[j].Value
	})
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# verdict blocklist: indicators of alerts with risk verdict %s or worse\n", b.Min)
	fmt.Fprintf(&buf, "# generated %s; %d entries; review before blocking\n", b.generatedAt, len(b.list))
	for _, i := range b.list {
		fmt.Fprintf(&buf, "%s # %s\n", i.Value, i.Type)
	}
	return buf.Bytes()
}

// WriteFileAtomic writes data to a temporary file next to path and renames
// it into place.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	_ = os.Chmod(tmp.Name(), 0o644)
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
