package feed

import (
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/model"
)

// A feed's age is the time since its data was last known current. It comes
// from, in order:
//
//  1. the record `verdict feeds update` keeps in the directory (StateFile),
//     when it describes this very file (same size and modification time):
//     when the publisher last served or confirmed it;
//  2. a date the file states in its header: abuse.ch's "Last updated",
//     Spamhaus' metadata timestamp (JSON) or "Last-Modified" (text),
//     FireHOL's "This File Date", TorDNSEL's "Downloaded", a "Generated" or
//     "Updated" line;
//  3. the file's modification time.
//
// A stated date later than the file itself (beyond a day of clock skew) is
// not believed: a file cannot have been updated after it was written, and a
// date in the future would make a feed look fresh for ever.

// maxSkew is how much later than its file a stated date may be.
const maxSkew = 24 * time.Hour

// minDate is the earliest date believed from a header.
var minDate = time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)

// headerDateKeys are the header lines that date a feed, best first:
// FireHOL's "This File Date" beats its "Source File Date", the date the
// publisher generated the file beats one it merely copied.
var headerDateKeys = []string{
	"this file date", "last updated", "last-updated", "last-modified", "last modified",
	"generated", "generated on", "generated at", "updated", "date", "source file date",
}

// headerLayouts are the date forms feeds write.
var headerLayouts = []string{
	"2006-01-02 15:04:05 MST", // abuse.ch
	"2006-01-02 15:04:05",     // TorDNSEL
	time.RFC1123,              // Spamhaus text, HTTP
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	time.UnixDate, // FireHOL
	time.ANSIC,
	time.RFC3339Nano,
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseHeaderDate reads a date in one of headerLayouts; white space is
// collapsed first ("Wed Aug  7" and "Wed Aug 7" alike).
func parseHeaderDate(s string) (time.Time, bool) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || len(s) > 64 {
		return time.Time{}, false
	}
	for _, l := range headerLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// headerDate finds the best dated line among a file's leading comments.
func headerDate(comments []string) (time.Time, bool) {
	best, bestRank := time.Time{}, len(headerDateKeys)
	for _, c := range comments {
		k, v, ok := strings.Cut(c, ":")
		if !ok {
			continue
		}
		rank := slices.Index(headerDateKeys, strings.ToLower(strings.Join(strings.Fields(k), " ")))
		if rank < 0 || rank >= bestRank {
			continue
		}
		// abuse.ch draws its banner in a box: "# Last updated: ... UTC    #".
		if t, ok := parseHeaderDate(strings.TrimRight(v, "#; \t")); ok {
			best, bestRank = t, rank
		}
	}
	return best, bestRank < len(headerDateKeys)
}

// unixDate reads a Unix timestamp in seconds (Spamhaus' metadata).
func unixDate(v int64) (time.Time, bool) {
	if v <= 0 || v > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(v, 0).UTC(), true
}

// believable says whether a stated date can be taken for a file modified
// at mtime.
func believable(stated, mtime time.Time) bool {
	return !stated.IsZero() && !stated.Before(minDate) && !stated.After(mtime.Add(maxSkew))
}

// dateFeed decides a loaded file's Updated and UpdatedFrom.
func dateFeed(info *Info, fi fs.FileInfo, stated time.Time, rec *Record) {
	switch {
	case rec != nil && rec.Describes(fi) && !rec.CheckedAt.IsZero():
		r := *rec
		info.Fetch = &r
		info.Updated, info.UpdatedFrom = rec.CheckedAt.UTC(), model.FeedUpdatedFromFetch
	case fi != nil && believable(stated, fi.ModTime()):
		info.Updated, info.UpdatedFrom = stated, model.FeedUpdatedFromHeader
	case fi != nil:
		info.Updated, info.UpdatedFrom = fi.ModTime().UTC(), model.FeedUpdatedFromFile
	}
}

// Age is how long ago the feed's data was last known current, never
// negative.
func (i Info) Age(now time.Time) time.Duration {
	if i.Updated.IsZero() {
		return 0
	}
	return max(now.Sub(i.Updated), 0)
}

// Stale reports whether the feed is older than maxAge (feeds.max_age); a
// zero maxAge never is.
func (i Info) Stale(now time.Time, maxAge time.Duration) bool {
	return maxAge > 0 && i.Age(now) > maxAge
}

// states reads, once per directory, the StateFile of the directories that
// hold feed files. An unreadable one is logged and ignored: the feeds then
// date themselves from their headers.
type states struct {
	log  *slog.Logger
	dirs map[string]*State
}

func (s *states) record(path string) *Record {
	dir := filepath.Dir(path)
	st, ok := s.dirs[dir]
	if !ok {
		var err error
		st, err = ReadState(dir)
		if err != nil {
			s.log.Warn("feeds state file ignored: feed ages come from their headers", "provider", Name, "error", err.Error())
		}
		s.dirs[dir] = st
	}
	return st.Feeds[filepath.Base(path)]
}

// Summarise describes feeds for a report: each one's category, entries and
// age at now, stale past maxAge (feeds.max_age), and one note naming the
// stale ones, or none.
func Summarise(feeds []Info, now time.Time, maxAge time.Duration) ([]model.FeedStatus, []string) {
	out := make([]model.FeedStatus, 0, len(feeds))
	var stale []string
	for _, f := range feeds {
		st := model.FeedStatus{Name: f.Name, Category: f.Category, Entries: f.Total(),
			UpdatedFrom: f.UpdatedFrom, AgeSeconds: int64(f.Age(now) / time.Second), Stale: f.Stale(now, maxAge)}
		if !f.Updated.IsZero() {
			// Never later than the report itself: with a fixed clock
			// (SOURCE_DATE_EPOCH) a file's time would make the output
			// depend on when the repository was checked out.
			u := f.Updated
			if u.After(now) {
				u = now
			}
			st.Updated = u.UTC().Format(time.RFC3339)
		}
		if st.Stale {
			stale = append(stale, fmt.Sprintf("%s (%s)", f.Name, FormatAge(f.Age(now))))
		}
		out = append(out, st)
	}
	if len(stale) == 0 {
		return out, nil
	}
	noun, its, them := "feed is", "its", "it"
	if len(stale) > 1 {
		noun, its, them = "feeds are", "their", "them"
	}
	return out, []string{fmt.Sprintf("%d %s older than feeds.max_age (%s), so %s listings may be out of date: %s; refresh %s with `verdict feeds update`",
		len(stale), noun, FormatAge(maxAge), its, strings.Join(stale, ", "), them)}
}

// FormatAge writes an age the way people say it: "45m", "5h", "3d", "2y 8d"
// (a year is 365 days).
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
