// Package feed is the local blocklist provider behind --feeds: it loads
// threat-intel feed files from disk (plain and hosts-style lists, abuse.ch and
// MSTIC CSV exports, Spamhaus DROP JSON, Tor exit lists, Zeek Intel files and
// MISP events), keeps their normalised indicators in memory and answers
// lookups without any network access.
//
// Decisions worth knowing:
//   - URLs listed without a scheme (Zeek Intel::URL, which is how Zeek writes
//     them, and bare MISP url values such as "www.example.com/x") match the
//     same URL under http:// and https://; the listed form is reported as the
//     match's Entry.
//   - MISP attributes are used only when to_ids is true: MISP marks with
//     to_ids=false the context an event carries that is not meant for
//     detection (sinkholes, legitimate services the malware contacts, victim
//     infrastructure), and MISP's own IDS exports leave those out too.
//   - Zeek Intel::EMAIL indicators are ignored: the address's domain is often
//     a freemail provider, and listing it would flag every user of it.
//   - Private and reserved CIDRs stay in the data (the 2015 FireHOL level1
//     list has 10.0.0.0/8): the engine never asks about non-global addresses,
//     so they never turn an internal address into a match.
//   - Skipped counts malformed lines and listed values that do not normalise.
//     Rows of types verdict does not look up (MSTIC filepath, MISP link and
//     text, Zeek FILE_NAME) are not indicators and are ignored, not skipped.
//   - Every match carries its feed's category (see category.go), which is
//     what scoring weighs: a Feodo Tracker C2 address is not a Tor exit.
//   - A row that lists one file's MD5, SHA-1 and SHA-256 together
//     (MalwareBazaar, a MISP file object) links them: a lookup of any of
//     them names all three in Result.MD5, SHA1 and SHA256, so the hashes of
//     one file count as one artifact when an alert carries several.
package feed

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// Name is the provider name feeds report under.
const Name = "feeds"

// Feed formats, as reported in Info.Format.
const (
	FormatPlain        = "plain"              // one item per line; FireHOL, ET, Tor bulk list, Spamhaus DROP text
	FormatHosts        = "hosts"              // "0.0.0.0 evil.com" lines
	FormatCSV          = "csv"                // CSV with a header naming the indicator columns
	FormatSpamhausJSON = "spamhaus-json"      // Spamhaus DROP NDJSON
	FormatTorExits     = "tor-exit-addresses" // TorDNSEL exit-addresses records
	FormatZeekIntel    = "zeek-intel"         // Zeek Intel framework file
	FormatMISP         = "misp"               // MISP event JSON
	FormatUnknown      = "unknown"            // none of the above: loaded with zero entries and a warning
)

// Set is every feed loaded from the configured paths. It implements
// intel.Provider and intel.Local. A Set is immutable once loaded, so Lookup
// is safe for concurrent use.
type Set struct {
	feeds []feedData
	infos []string     // interned FeedMatch.Info strings; index 0 is ""
	chain []ref        // second and later listings of a value (see ref.next)
	files []fileHashes // files named by rows listing several of their hashes (see ref.file)

	ip4      map[uint32]ref
	ip6      map[[16]byte]ref
	domains  map[string]ref
	urls     map[string]ref
	noScheme map[string]ref // URLs listed without a scheme, keyed without it
	md5      map[[16]byte]ref
	sha1     map[[20]byte]ref
	sha256   map[[32]byte]ref

	cidr4, cidr6 []uint16 // feeds holding IPv4 / IPv6 CIDRs
	supports     map[ioc.Type]bool
}

// feedData is one loaded file: its summary and its CIDR intervals.
type feedData struct {
	info           Info
	cat            category // the category of entries that have none of their own
	spans4, spans6 []span
}

// Info describes one loaded feed file, for logs and run summaries.
type Info struct {
	Name    string           // the name matches report (FeedMatch.Feed)
	Path    string           // the file as found on disk
	Format  string           // one of the Format constants
	Entries map[ioc.Type]int // distinct single values by type (CIDRs not included)
	CIDRs   int              // distinct CIDRs
	Skipped int              // malformed lines and listed values that did not normalise
	// Category is what a listing in the feed means (model.FeedCategories);
	// with PerRow, the category of rows that name no threat type.
	Category string
	// CategoryFrom says how Category was decided: CategoryFromConfig,
	// CategoryFromHeader, CategoryFromWellKnown or CategoryFromDefault.
	CategoryFrom string
	// KnownAs names the well-known feed recognised ("abuse.ch Feodo
	// Tracker"), or the feeds.categories pattern that matched.
	KnownAs string
	// PerRow says each row's threat type decides its category (ThreatFox).
	PerRow bool
	// Updated is when the feed's data was last known current, and
	// UpdatedFrom how that was decided (model.FeedUpdatedFromFetch,
	// FeedUpdatedFromHeader or FeedUpdatedFromFile): see age.go.
	Updated     time.Time
	UpdatedFrom string
	// Fetch is the record `verdict feeds update` keeps of this file, nil
	// when it has none (or one of another version of the file).
	Fetch *Record
	// Size and ModTime are the file's, as loaded.
	Size    int64
	ModTime time.Time
}

// Total is the number of distinct entries in the feed, CIDRs included.
func (i Info) Total() int {
	n := i.CIDRs
	for _, c := range i.Entries {
		n += c
	}
	return n
}

// Option configures Load.
type Option func(*options)

type options struct {
	logger     *slog.Logger
	categories map[string]string
}

// WithLogger sets the logger for load warnings and debug detail; nil means
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithCategories sets feeds.categories: a feed's file name, its path, or a
// glob over either (path.Match syntax), to the category of every listing in
// it. It outranks a file's "# category:" line and the well-known feeds.
// Load fails on an unknown category or a malformed glob.
func WithCategories(m map[string]string) Option {
	return func(o *options) { o.categories = m }
}

var (
	_ intel.Provider = (*Set)(nil)
	_ intel.Local    = (*Set)(nil)
)

// Name returns "feeds".
func (s *Set) Name() string { return Name }

// Local reports true: feeds answer from local files, so their answers are
// neither cached nor rate limited, and they work with --offline.
func (s *Set) Local() bool { return true }

// Supports reports whether any loaded feed lists indicators of type t. IPv4
// CIDRs count for ipv4 and IPv6 CIDRs for ipv6.
func (s *Set) Supports(t ioc.Type) bool { return s.supports[t] }

// Feeds describes every loaded feed file, sorted by name.
func (s *Set) Feeds() []Info {
	out := make([]Info, 0, len(s.feeds))
	for _, f := range s.feeds {
		i := f.info
		if i.Fetch != nil {
			r := *i.Fetch
			i.Fetch = &r
		}
		i.Entries = make(map[ioc.Type]int, len(f.info.Entries))
		for t, n := range f.info.Entries {
			i.Entries[t] = n
		}
		out = append(out, i)
	}
	slices.SortFunc(out, func(a, b Info) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Lookup reports which feeds list i. It returns a Result with Status found
// and one match per listing feed, sorted by feed name, or intel.ErrNotFound.
// A feed that lists the value itself is preferred over one of its CIDRs or
// parent domains, which are reported in FeedMatch.Entry. i must be
// normalised (ioc.Normalize); a miss allocates nothing. A type no feed lists
// is intel.ErrUnsupported, and a malformed value wraps ioc.ErrInvalid.
func (s *Set) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	if err := ctx.Err(); err != nil {
		return model.Result{}, err
	}
	if !s.supports[i.Type] {
		return model.Result{}, fmt.Errorf("%w: no feed lists %s indicators", intel.ErrUnsupported, i.Type)
	}
	var m []model.FeedMatch
	var file uint32
	switch i.Type {
	case ioc.IPv4, ioc.IPv6:
		a, err := netip.ParseAddr(i.Value)
		if err != nil {
			return model.Result{}, fmt.Errorf("%w: %q is not an IP address", ioc.ErrInvalid, i.Value)
		}
		m = s.lookupAddr(m, a.WithZone("").Unmap())
	case ioc.Domain:
		m = s.lookupDomain(m, strings.TrimSuffix(strings.ToLower(i.Value), "."))
	case ioc.URL:
		m = s.lookupURL(m, i.Value)
	case ioc.MD5, ioc.SHA1, ioc.SHA256:
		var ok bool
		if m, file, ok = s.lookupHash(m, i.Type, i.Value); !ok {
			return model.Result{}, fmt.Errorf("%w: %q is not a %s hash", ioc.ErrInvalid, i.Value, i.Type)
		}
	}
	if len(m) == 0 {
		return model.Result{}, intel.ErrNotFound
	}
	slices.SortFunc(m, func(a, b model.FeedMatch) int { return strings.Compare(a.Feed, b.Feed) })
	res := model.Result{Status: model.StatusFound, Matches: m}
	if file != 0 {
		f := &s.files[file-1]
		if f.has&hasMD5 != 0 {
			res.MD5 = hex.EncodeToString(f.md5[:])
		}
		if f.has&hasSHA1 != 0 {
			res.SHA1 = hex.EncodeToString(f.sha1[:])
		}
		if f.has&hasSHA256 != 0 {
			res.SHA256 = hex.EncodeToString(f.sha256[:])
		}
	}
	return res, nil
}

// catOf returns the category of one listing: its row's, else its feed's.
func (s *Set) catOf(feed uint16, c category) string {
	if c == 0 {
		c = s.feeds[feed].cat
	}
	return c.String()
}

func (s *Set) lookupAddr(m []model.FeedMatch, a netip.Addr) []model.FeedMatch {
	feeds := s.cidr6
	if a.Is4() {
		if r, ok := s.ip4[v4key(a)]; ok {
			m = s.appendRefs(m, r, "")
		}
		feeds = s.cidr4
	} else if r, ok := s.ip6[a.As16()]; ok {
		m = s.appendRefs(m, r, "")
	}
	for _, f := range feeds {
		fd := &s.feeds[f]
		spans := fd.spans6
		if a.Is4() {
			spans = fd.spans4
		}
		if k := findSpan(spans, a); k >= 0 && !hasFeed(m, fd.info.Name) {
			sp := spans[k]
			m = append(m, model.FeedMatch{
				Feed:     fd.info.Name,
				Category: s.catOf(f, sp.cat),
				Entry:    netip.PrefixFrom(sp.lo, int(sp.bits)).String(),
				Info:     s.infos[sp.info],
			})
		}
	}
	return m
}

// lookupDomain matches d and its parent domains up to the registrable
// domain: a feed listing evil.com lists www.evil.com too. The walk needs no
// public suffix lookup to stop there: a stored domain always has a
// registrable part (ioc.NormalizeDomain refuses co.uk or blogspot.com), so a
// suffix can never be in the map, and the single-label TLD is not tried.
func (s *Set) lookupDomain(m []model.FeedMatch, d string) []model.FeedMatch {
	if len(s.domains) == 0 {
		return m
	}
	for cur := d; strings.IndexByte(cur, '.') >= 0; cur = cur[strings.IndexByte(cur, '.')+1:] {
		if r, ok := s.domains[cur]; ok {
			entry := ""
			if len(cur) != len(d) {
				entry = cur
			}
			m = s.appendRefs(m, r, entry)
		}
	}
	return m
}

func (s *Set) lookupURL(m []model.FeedMatch, u string) []model.FeedMatch {
	if r, ok := s.urls[u]; ok {
		m = s.appendRefs(m, r, "")
	}
	if len(s.noScheme) == 0 {
		return m
	}
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		rest, ok = strings.CutPrefix(u, "https://")
	}
	if ok {
		if r, found := s.noScheme[rest]; found {
			m = s.appendRefs(m, r, rest)
		}
	}
	return m
}

// lookupHash matches a file hash; file is the first listing's link to the
// file's other hashes (0 for none).
func (s *Set) lookupHash(m []model.FeedMatch, t ioc.Type, h string) (_ []model.FeedMatch, file uint32, ok bool) {
	var r ref
	var found bool
	switch t {
	case ioc.MD5:
		var k [16]byte
		if !decodeHex(k[:], h) {
			return m, 0, false
		}
		r, found = s.md5[k]
	case ioc.SHA1:
		var k [20]byte
		if !decodeHex(k[:], h) {
			return m, 0, false
		}
		r, found = s.sha1[k]
	case ioc.SHA256:
		var k [32]byte
		if !decodeHex(k[:], h) {
			return m, 0, false
		}
		r, found = s.sha256[k]
	}
	if !found {
		return m, 0, true
	}
	for c := r; ; c = s.chain[c.next-1] {
		if c.file != 0 {
			file = c.file
			break
		}
		if c.next == 0 {
			break
		}
	}
	return s.appendRefs(m, r, ""), file, true
}

// appendRefs adds a match for every feed listing a value, skipping feeds
// that already matched more specifically.
func (s *Set) appendRefs(m []model.FeedMatch, r ref, entry string) []model.FeedMatch {
	for {
		name := s.feeds[r.feed].info.Name
		if !hasFeed(m, name) {
			m = append(m, model.FeedMatch{Feed: name, Category: s.catOf(r.feed, r.cat), Entry: entry, Info: s.infos[r.info]})
		}
		if r.next == 0 {
			return m
		}
		r = s.chain[r.next-1]
	}
}

func hasFeed(m []model.FeedMatch, name string) bool {
	for i := range m {
		if m[i].Feed == name {
			return true
		}
	}
	return false
}
