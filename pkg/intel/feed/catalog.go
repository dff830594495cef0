package feed

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// KeyUse says whether a source takes the abuse.ch Auth-Key.
type KeyUse string

// How sources use the abuse.ch Auth-Key.
const (
	// KeyNone: the key is never sent (another publisher).
	KeyNone KeyUse = ""
	// KeyOptional: the download is free without one; the key is sent when
	// configured (abuse.ch ties fair use to it).
	KeyOptional KeyUse = "optional"
	// KeyRequired: without a key the feed is skipped.
	KeyRequired KeyUse = "required"
)

// AuthHeader is the header abuse.ch takes its Auth-Key in.
const AuthHeader = "Auth-Key"

// Source is one well-known free feed that `verdict feeds update` downloads
// into a feeds directory. The list is data (Sources); everything about a
// publisher, its address, file name, terms and the interval it asks for,
// is in its entry.
type Source struct {
	// Name is the feed's id on the command line and in the state file.
	Name string
	// Title is how people call it.
	Title string
	// URL is where it is downloaded from.
	URL string
	// File is its name in the feeds directory: a name Load recognises as
	// this feed (so its category is right even without the file's banner).
	File string
	// MinInterval is the least time between two requests for the feed:
	// never shorter than its publisher asks (Terms, Asks), usually longer.
	MinInterval time.Duration
	// Terms is the publisher's page of terms, and Asks what it asks of
	// automated downloads, in a few words.
	Terms string
	Asks  string
	// Key says whether the abuse.ch Auth-Key is sent, and whether the feed
	// needs one.
	Key KeyUse
	// Redirects are hosts a redirect may lead to (https only). None by
	// default: a feed that moves is refused, never followed anywhere.
	Redirects []string
	// MaxBytes bounds the download.
	MaxBytes int64

	// known and format are what Load must recognise a download as;
	// check looks at what Load cannot (trailers, record counts).
	known  knownFeed
	format string
	check  func(body []byte) error
}

// Sources is the catalog of feeds `verdict feeds update` downloads, in the
// order it fetches them. The intervals are verdict's: each is at least
// what the publisher asks (README, "Feeds"), read 2026-12-03:
//
//   - abuse.ch (Feodo Tracker, URLhaus, ThreatFox) regenerates its exports
//     every 5 minutes and asks that they be fetched no more often;
//     verdict waits 30 minutes.
//   - Spamhaus asks that DROP be fetched at most once an hour ("Automated
//     downloads must be at least one hour apart. Excessive downloads may
//     result in your IP being firewalled"; once a day "is more than
//     enough"); verdict waits 12 hours.
//   - The Tor Project and FireHOL state no interval; verdict waits an hour.
func Sources() []Source {
	const (
		abusech  = 30 * time.Minute
		spamhaus = 12 * time.Hour
		hourly   = time.Hour
	)
	return []Source{
		{
			Name: "feodo", Title: "abuse.ch Feodo Tracker botnet C2 IP blocklist",
			URL: "https://feodotracker.abuse.ch/downloads/ipblocklist.csv", File: "abusech-feodo-ipblocklist.csv",
			MinInterval: abusech, Terms: "https://feodotracker.abuse.ch/blocklist/",
			Asks: "generated every 5 minutes: fetch no more often; free for commercial and non-commercial use",
			Key:  KeyOptional, MaxBytes: 16 << 20,
			known: feodo, format: FormatCSV, check: checkFeodo,
		},
		{
			Name: "spamhaus-drop-v4", Title: "Spamhaus DROP (IPv4, JSON)",
			URL: "https://www.spamhaus.org/drop/drop_v4.json", File: "spamhaus-drop_v4.json",
			MinInterval: spamhaus, Terms: "https://www.spamhaus.org/drop/terms/ (FAQ: https://www.spamhaus.com/faqs/drop)",
			Asks:     "automated downloads at least one hour apart (once a day is enough); credit Spamhaus when redistributing",
			MaxBytes: 16 << 20, Redirects: []string{"spamhaus.org", "www.spamhaus.org"},
			known: spamhausDrop, format: FormatSpamhausJSON, check: checkSpamhaus,
		},
		{
			Name: "spamhaus-drop-v6", Title: "Spamhaus DROP (IPv6, JSON)",
			URL: "https://www.spamhaus.org/drop/drop_v6.json", File: "spamhaus-drop_v6.json",
			MinInterval: spamhaus, Terms: "https://www.spamhaus.org/drop/terms/ (FAQ: https://www.spamhaus.com/faqs/drop)",
			Asks:     "automated downloads at least one hour apart (once a day is enough); credit Spamhaus when redistributing",
			MaxBytes: 16 << 20, Redirects: []string{"spamhaus.org", "www.spamhaus.org"},
			known: spamhausDrop, format: FormatSpamhausJSON, check: checkSpamhaus,
		},
		{
			Name: "tor-exits", Title: "Tor Project exit node list",
			URL: "https://check.torproject.org/torbulkexitlist", File: "tor-bulk-exit-list.txt",
			MinInterval: hourly, Terms: "https://check.torproject.org/ (no stated interval)",
			Asks:     "no interval stated; verdict asks at most hourly",
			MaxBytes: 16 << 20,
			known:    torExits, format: FormatPlain,
		},
		{
			Name: "firehol-level1", Title: "FireHOL level 1",
			URL:  "https://raw.githubusercontent.com/firehol/blocklist-ipsets/master/firehol_level1.netset",
			File: "firehol_level1.netset", MinInterval: hourly,
			Terms: "https://iplists.firehol.org/?ipset=firehol_level1 (each aggregated list keeps its own terms)",
			Asks:  "no interval stated; served from GitHub, whose anonymous downloads are rate limited; verdict asks at most hourly",
			// iplists.firehol.org and GitHub move files between their hosts.
			MaxBytes: 16 << 20, Redirects: []string{"raw.githubusercontent.com", "iplists.firehol.org"},
			known: fireholLevel1, format: FormatPlain,
		},
		{
			Name: "urlhaus-recent", Title: "abuse.ch URLhaus: malware URLs of the last 30 days",
			URL: "https://urlhaus.abuse.ch/downloads/csv_recent/", File: "abusech-urlhaus-recent.csv",
			MinInterval: abusech, Terms: "https://urlhaus.abuse.ch/api/ (CC0)",
			Asks: "generated every 5 minutes: fetch no more often", Key: KeyOptional, MaxBytes: 128 << 20,
			known: urlhaus, format: FormatCSV, check: checkLastRow,
		},
		{
			Name: "threatfox-recent", Title: "abuse.ch ThreatFox: IOCs of the last 48 hours",
			URL: "https://threatfox.abuse.ch/export/csv/recent/", File: "abusech-threatfox-recent.csv",
			MinInterval: abusech, Terms: "https://threatfox.abuse.ch/api/ (CC0; a free Auth-Key from https://auth.abuse.ch/)",
			Asks: "generated every 5 minutes: fetch no more often; an Auth-Key is required", Key: KeyRequired, MaxBytes: 128 << 20,
			known: threatFox, format: FormatCSV, check: checkLastRow,
		},
	}
}

// LookupSource returns the catalog entry named name.
func LookupSource(name string) (Source, bool) {
	i := slices.IndexFunc(Sources(), func(s Source) bool { return s.Name == name })
	if i < 0 {
		return Source{}, false
	}
	return Sources()[i], true
}

// SourceNames lists the catalog's names in fetch order.
func SourceNames() []string {
	var out []string
	for _, s := range Sources() {
		out = append(out, s.Name)
	}
	return out
}

// errTruncated is wrapped by the checks that find a body cut short.
var errTruncated = errors.New("the download is incomplete")

var feodoEnd = regexp.MustCompile(`^#\s*END\s+(\d+)\s+entries\s*$`)

// checkFeodo requires Feodo Tracker's "# END n entries" trailer, and n
// data rows before it: a body cut short at a line boundary still parses as
// a valid, shorter list.
func checkFeodo(body []byte) error {
	lines := nonEmptyLines(body)
	if len(lines) == 0 {
		return fmt.Errorf("%w: empty", errTruncated)
	}
	m := feodoEnd.FindSubmatch(lines[len(lines)-1])
	if m == nil {
		return fmt.Errorf("%w: no \"# END n entries\" trailer", errTruncated)
	}
	want, _ := strconv.Atoi(string(m[1]))
	rows := 0
	for _, l := range lines {
		if l[0] != '#' && !bytes.HasPrefix(l, []byte(`"first_seen_utc"`)) {
			rows++
		}
	}
	if rows != want {
		return fmt.Errorf("%w: the trailer says %d entries, the file has %d", errTruncated, want, rows)
	}
	return checkLastRow(body)
}

// checkSpamhaus requires the metadata trailer of Spamhaus' JSON and as
// many records as it counts.
func checkSpamhaus(body []byte) error {
	records, metadata := 0, false
	var counted *int
	for _, l := range nonEmptyLines(body) {
		var rec struct {
			Type    string `json:"type"`
			Records *int   `json:"records"`
		}
		if err := json.Unmarshal(l, &rec); err != nil {
			return fmt.Errorf("%w: a line is not JSON (%v)", errTruncated, err)
		}
		if rec.Type == "metadata" {
			metadata, counted = true, rec.Records
			continue
		}
		records++
	}
	switch {
	case !metadata:
		return fmt.Errorf("%w: no metadata trailer", errTruncated)
	case counted != nil && *counted != records:
		return fmt.Errorf("%w: the metadata counts %d records, the file has %d", errTruncated, *counted, records)
	}
	return nil
}

// checkLastRow requires the last data row of an abuse.ch CSV to have as
// many fields as its header: a row cut in half has fewer, or an open
// quote.
func checkLastRow(body []byte) error {
	lines := nonEmptyLines(body)
	var header, last []byte
	for _, l := range lines {
		switch {
		case l[0] == '#':
			if h := bytes.TrimSpace(bytes.TrimLeft(l, "# ")); header == nil && parseHeader(h) != nil {
				header = h
			}
		case header == nil && parseHeader(l) != nil:
			header = l
		default:
			last = l
		}
	}
	if header == nil {
		return errors.New("no CSV header")
	}
	if last == nil {
		return nil // no rows: the recent exports can be empty
	}
	want, err := csvFields(header)
	if err != nil {
		return fmt.Errorf("read the CSV header: %w", err)
	}
	got, err := csvFields(last)
	if err != nil || got != want {
		return fmt.Errorf("%w: the last row is cut short", errTruncated)
	}
	return nil
}

func csvFields(line []byte) (int, error) {
	r := csv.NewReader(bytes.NewReader(line))
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	return len(rec), err
}

func nonEmptyLines(body []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(body, []byte{'\n'}) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}
