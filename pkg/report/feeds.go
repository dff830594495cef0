package report

import (
	"strconv"
	"time"

	"github.com/verdict-dev/verdict/pkg/model"
)

// FeedRow is one local feed in a report's summary. A feed's age says how
// far its listings can be trusted: a year-old C2 list names addresses that
// have long changed hands.
type FeedRow struct {
	Name        string // sanitised
	Category    string
	Entries     int
	Updated     string // "2024-04-04 07:03 UTC", or "" when unknown
	UpdatedFrom string // "feeds update", "header" or "file time"
	Age         string // "2y 243d"
	Stale       bool   // older than feeds.max_age
}

// feedRows makes the summary's feeds fit to show. They come from a JSON
// report too (verdict report), so every string is untrusted.
func feedRows(feeds []model.FeedStatus) []FeedRow {
	out := make([]FeedRow, 0, len(feeds))
	for _, f := range feeds {
		r := FeedRow{Name: shown(clip(f.Name, 256)), Category: token(f.Category), Entries: max(f.Entries, 0),
			UpdatedFrom: shown(clip(f.UpdatedFrom, 32)), Age: formatAge(time.Duration(max(f.AgeSeconds, 0)) * time.Second), Stale: f.Stale}
		if t, err := time.Parse(time.RFC3339, f.Updated); err == nil {
			r.Updated = t.UTC().Format("2006-01-02 15:04 UTC")
		}
		out = append(out, r)
	}
	return out
}

// formatAge writes an age the way people say it: "45m", "5h", "3d", "2y
// 8d" (a year is 365 days), as verdict doctor does.
func formatAge(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 2*day:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d < 365*day:
		return strconv.Itoa(int(d/day)) + "d"
	}
	years, days := int(d/(365*day)), int(d%(365*day)/day)
	if days == 0 {
		return strconv.Itoa(years) + "y"
	}
	return strconv.Itoa(years) + "y " + strconv.Itoa(days) + "d"
}
