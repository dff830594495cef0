package alert

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultIDFields are the alert id fields of CONTRACT.md, in order:
// alert_id, id, event.id, _id, SystemAlertId (input.id_fields).
var DefaultIDFields = []string{"alert_id", "id", "event.id", "_id", "SystemAlertId"}

// IDFields is an ordered list of the fields that hold an alert's id
// (input.id_fields): the first listed field that the alert has, with a
// non-empty string or number, gives the id. Names match as field names do
// everywhere (case-insensitive, '.', '_' and '-' alike), nested forms too:
// "event.id" is also {"event": {"id": ...}}. An alert with none of them is
// named by its position (#N, or FILE#N); see the README.
type IDFields struct {
	norm []string // normalised names, in order
	// hitRank is the rank of "_id", which an Elasticsearch hit's _id stands
	// in for when the _source has no better id; -1 when _id is not listed.
	hitRank int
}

// NewIDFields builds the list from field names. An empty list is allowed:
// every alert is then named by its position. An empty name is an error.
func NewIDFields(names []string) (*IDFields, error) {
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return nil, fmt.Errorf("id field %d is empty", i+1)
		}
	}
	return newIDFields(names), nil
}

// newIDFields builds the list, leaving out empty names.
func newIDFields(names []string) *IDFields {
	f := &IDFields{hitRank: -1}
	hit := normalizeKey("_id")
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		norm := normalizeKey(n)
		if slices.Contains(f.norm, norm) {
			continue // a repeat never ranks above its first place
		}
		if norm == hit {
			f.hitRank = len(f.norm)
		}
		f.norm = append(f.norm, norm)
	}
	return f
}

// defaultIDs is DefaultIDFields, built once.
var defaultIDs = newIDFields(DefaultIDFields)

// DefaultIDs returns the CONTRACT.md id fields.
func DefaultIDs() *IDFields { return defaultIDs }

// Rank reports whether a normalised path (see Path.Normalized) is one of the
// id fields, and its priority: lower wins. Paths that are not yet normalised
// are normalised first. A nil list is the default one.
func (f *IDFields) Rank(normalized string) (rank int, ok bool) {
	if f == nil {
		f = defaultIDs
	}
	for i := 0; i < len(normalized); i++ {
		if c := normalized[i]; c == '_' || c == '-' || (c >= 'A' && c <= 'Z') || c >= 0x80 {
			normalized = normalizeKey(normalized)
			break
		}
	}
	for i, n := range f.norm {
		if normalized == n {
			return i, true
		}
	}
	return 0, false
}

// HitRank is where an Elasticsearch hit's _id ranks (the rank of "_id"),
// and false when "_id" is not one of the fields.
func (f *IDFields) HitRank() (rank int, ok bool) {
	if f == nil {
		f = defaultIDs
	}
	return f.hitRank, f.hitRank >= 0
}

// Names returns the normalised field names in order.
func (f *IDFields) Names() []string {
	if f == nil {
		f = defaultIDs
	}
	return append([]string(nil), f.norm...)
}

// ID returns the alert id of rec: the value of the first listed field the
// alert has (empty strings and nulls do not count), with HitID standing for
// _id when _id is listed and the alert has no better id. It returns "" when
// there is none; the caller then uses the record's position.
func (f *IDFields) ID(rec Record) string {
	if f == nil {
		f = defaultIDs
	}
	best, bestRank := "", len(f.norm)
	if rec.Raw != nil && len(f.norm) > 0 {
		_ = Walk(rec.Raw, func(p *Path, kind Kind, v string) {
			if (kind != KindString && kind != KindNumber) || strings.TrimSpace(v) == "" {
				return
			}
			if r, ok := f.Rank(p.Normalized()); ok && r < bestRank {
				best, bestRank = v, r
			}
		})
	}
	if hr, ok := f.HitRank(); ok && hr < bestRank && rec.HitID != "" {
		return rec.HitID
	}
	return best
}

// IDRank is DefaultIDs().Rank.
func IDRank(normalized string) (rank int, ok bool) { return defaultIDs.Rank(normalized) }

// ID is DefaultIDs().ID: the first of alert_id, id, event.id, _id,
// SystemAlertId, with HitID counting as _id when the alert has none.
func ID(rec Record) string { return defaultIDs.ID(rec) }
