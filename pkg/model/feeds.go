package model

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
