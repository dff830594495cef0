package model

import (
	"strconv"
	"time"
)

// Where a feed's age comes from, as FeedStatus.UpdatedFrom says.
const (
	// FeedUpdatedFromFetch is the record `verdict feeds update` keeps of when
	// the publisher last served or confirmed (304 Not Modified) the file.
	FeedUpdatedFromFetch = "feeds update"
	// FeedUpdatedFromHeader is a date the file states about itself (abuse.ch
	// "Last updated", Spamhaus' metadata timestamp, FireHOL's "This File
	// Date").
	FeedUpdatedFromHeader = "header"
	// FeedUpdatedFromFile is the file's modification time: the weakest
	// evidence, since copying a file renews it.
	FeedUpdatedFromFile = "file time"
)

// FeedStatus is one local feed file as a run used it. Its age says how far
// its listings can be trusted: a year-old C2 list names addresses that have
// long changed hands.
type FeedStatus struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Entries  int    `json:"entries"`
	// Updated is when the data was last known current (RFC 3339, UTC); see
	// UpdatedFrom for how that was decided.
	Updated     string `json:"updated,omitempty"`
	UpdatedFrom string `json:"updated_from,omitempty"`
	// AgeSeconds is the time from Updated to the report's generated_at.
	AgeSeconds int64 `json:"age_seconds"`
	// Stale is set past feeds.max_age.
	Stale bool `json:"stale,omitempty"`
}

// FormatAge writes an age the way people say it: "45m", "5h", "3d", "2y 8d"
// (a year is 365 days), as reports and verdict doctor show a feed's age.
func FormatAge(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
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
