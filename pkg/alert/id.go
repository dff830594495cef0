package alert

// idFields are the normalised id field names in CONTRACT.md order:
// alert_id, id, event.id, _id, SystemAlertId.
var idFields = [...]string{"alert.id", "id", "event.id", ".id", "systemalertid"}

// hitIDRank is the rank of "_id", which an Elasticsearch hit's _id stands in
// for when the _source has none.
const hitIDRank = 3

// IDRank reports whether a normalised path (see Path.Normalized) is one of the
// alert id fields, and its priority: lower wins. Paths that are not yet
// normalised are normalised first.
func IDRank(normalized string) (rank int, ok bool) {
	for i := 0; i < len(normalized); i++ {
		if c := normalized[i]; c == '_' || c == '-' || (c >= 'A' && c <= 'Z') || c >= 0x80 {
			normalized = normalizeKey(normalized)
			break
		}
	}
	for i, f := range idFields {
		if normalized == f {
			return i, true
		}
	}
	return 0, false
}

// ID returns the alert id of rec by the contract rule: the first of alert_id,
// id, event.id, _id, SystemAlertId (case-insensitive, '.', '_' and '-' alike,
// nested forms too), with HitID counting as _id when the alert has none.
// Empty strings and nulls do not count. It returns "" when there is none; the
// caller then uses the record's position.
func ID(rec Record) string {
	best, bestRank := "", len(idFields)
	if rec.Raw != nil {
		_ = Walk(rec.Raw, func(p *Path, kind Kind, v string) {
			if (kind != KindString && kind != KindNumber) || v == "" {
				return
			}
			if r, ok := IDRank(p.Normalized()); ok && r < bestRank {
				best, bestRank = v, r
			}
		})
	}
	if bestRank > hitIDRank && rec.HitID != "" {
		return rec.HitID
	}
	return best
}
