package feed

import (
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/verdict-dev/verdict/pkg/model"
)

// A feed's category says what a listing in it means, and scoring weighs it
// (CONTRACT.md "Risk score"). It comes from, in order:
//
//  1. feeds.categories (WithCategories): a file name, path or glob;
//  2. a "# category: NAME" line in the file's leading comments;
//  3. the well-known feeds, recognised by their content (banners, headers,
//     formats) and by their published file names, so a renamed file is
//     still recognised;
//  4. otherwise "listed".
//
// ThreatFox is the one feed whose rows differ: each row's threat_type gives
// its category (botnet_cc is c2; payload and payload_delivery are malware),
// unless step 1 or 2 sets the whole file's category.

// Where a feed's category came from, as reported in Info.CategoryFrom.
const (
	CategoryFromConfig     = "feeds.categories"
	CategoryFromHeader     = "header"
	CategoryFromWellKnown  = "well-known"
	CategoryFromDefault    = "default"
	maxCategoryHeaderLines = 64
)

// category is a category as stored per entry: 0 means "the feed's own
// category", otherwise model.FeedCategories[c-1]. Feeds of one category
// (all but ThreatFox) store only zeros, so categories cost nothing per entry.
type category uint8

func categoryCode(name string) category {
	if r := model.FeedCategoryRank(name); r >= 0 {
		return category(r + 1)
	}
	return 0
}

func (c category) String() string {
	if c == 0 || int(c) > len(model.FeedCategories) {
		return model.CategoryListed
	}
	return model.FeedCategories[c-1]
}

// stronger reports whether c is a stronger signal than d (c2 is the
// strongest); an unset category is the weakest.
func (c category) stronger(d category) bool { return c != 0 && (d == 0 || c < d) }

// ParseCategory reads a feed category name, case-insensitively. It is how
// config validation checks feeds.categories.
func ParseCategory(s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	if model.FeedCategoryRank(n) < 0 {
		return "", fmt.Errorf("unknown feed category %q (want one of %s)", s, strings.Join(model.FeedCategories, ", "))
	}
	return n, nil
}

// categoryRule is one feeds.categories entry.
type categoryRule struct {
	pattern string
	cat     string
	glob    bool
}

// compileCategories validates feeds.categories and orders it so the most
// specific pattern decides: exact names before globs, longer globs before
// shorter ones, then by name. A map has no order of its own, and a file
// matched by two globs must get the same category on every run.
func compileCategories(m map[string]string) ([]categoryRule, error) {
	rules := make([]categoryRule, 0, len(m))
	for p, c := range m {
		cat, err := ParseCategory(c)
		if err != nil {
			return nil, fmt.Errorf("feeds.categories[%q]: %w", p, err)
		}
		p = filepath.ToSlash(strings.TrimSpace(p))
		if p == "" {
			return nil, fmt.Errorf("feeds.categories: empty file name or glob")
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("feeds.categories[%q]: %w", p, err)
		}
		rules = append(rules, categoryRule{pattern: p, cat: cat, glob: strings.ContainsAny(p, `*?[\`)})
	}
	slices.SortFunc(rules, func(a, b categoryRule) int {
		switch {
		case a.glob != b.glob:
			if !a.glob {
				return -1
			}
			return 1
		case len(a.pattern) != len(b.pattern):
			return len(b.pattern) - len(a.pattern)
		}
		return strings.Compare(a.pattern, b.pattern)
	})
	return rules, nil
}

// configCategory returns the category feeds.categories gives a file: a
// pattern matches the file's base name, its name in reports (a path
// relative to the feeds directory when base names collide), or its path as
// given.
func configCategory(rules []categoryRule, src *source) (cat, pattern string, ok bool) {
	names := []string{filepath.Base(src.path), src.name, filepath.ToSlash(src.path)}
	if src.rel != "" {
		names = append(names, filepath.ToSlash(src.rel))
	}
	for _, r := range rules {
		for _, n := range names {
			if m, _ := path.Match(r.pattern, n); m {
				return r.cat, r.pattern, true
			}
		}
	}
	return "", "", false
}

// leadingComments returns the text of the comment lines ("#" or ";") at the
// top of a file, before its first data line, without the comment marks.
func leadingComments(peek []byte) []string {
	peek = bytes.TrimPrefix(peek, utf8BOM)
	var out []string
	for rest := peek; len(rest) > 0 && len(out) < maxCategoryHeaderLines; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '#' && line[0] != ';' {
			break
		}
		out = append(out, string(bytes.TrimSpace(bytes.TrimLeft(line, "#;"))))
	}
	return out
}

// headerCategory finds a "category: NAME" line among the leading comments.
// found is true when there is such a line, even with an unknown name, so the
// caller can warn about it.
func headerCategory(comments []string) (name string, found bool) {
	for _, c := range comments {
		k, v, ok := strings.Cut(c, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "category") {
			continue
		}
		return strings.TrimSpace(v), true
	}
	return "", false
}

// knownFeed is one of the well-known feeds.
type knownFeed struct {
	Name     string // as reported in Info.KnownAs
	Category string
	PerRow   bool // ThreatFox: each row's threat type decides
}

var (
	feodo         = knownFeed{Name: "abuse.ch Feodo Tracker", Category: model.CategoryC2}
	threatFox     = knownFeed{Name: "abuse.ch ThreatFox", Category: model.CategoryMalware, PerRow: true}
	malwareBazaar = knownFeed{Name: "abuse.ch MalwareBazaar", Category: model.CategoryMalware}
	urlhaus       = knownFeed{Name: "abuse.ch URLhaus", Category: model.CategoryMalware}
	openPhish     = knownFeed{Name: "OpenPhish", Category: model.CategoryPhishing}
	phishTank     = knownFeed{Name: "PhishTank", Category: model.CategoryPhishing}
	spamhausDrop  = knownFeed{Name: "Spamhaus DROP", Category: model.CategoryDrop}
	fireholLevel1 = knownFeed{Name: "FireHOL level 1", Category: model.CategoryDrop}
	etCompromised = knownFeed{Name: "Emerging Threats compromised IPs", Category: model.CategoryCompromised}
	blocklistDE   = knownFeed{Name: "blocklist.de", Category: model.CategoryCompromised}
	cinsArmy      = knownFeed{Name: "CINS Army", Category: model.CategoryCompromised}
	torExits      = knownFeed{Name: "Tor exit list", Category: model.CategoryAnonymizer}
)

// fireholSets maps FireHOL ipset names (the first line of a FireHOL
// .netset/.ipset header) to the feed they carry. Only the lists CONTRACT.md
// names are here; other FireHOL sets (level 2 to 4, dshield...) mix sources
// and stay "listed".
var fireholSets = map[string]knownFeed{
	"firehol_level1": fireholLevel1,
	"feodo":          feodo,
	"spamhaus_drop":  spamhausDrop,
	"spamhaus_edrop": spamhausDrop,
	"et_compromised": etCompromised,
	"blocklist_de":   blocklistDE,
	"ciarmy":         cinsArmy,
	"tor_exits":      torExits,
	"tor_exits_1d":   torExits,
	"tor_exits_7d":   torExits,
	"tor_exits_30d":  torExits,
	"phishtank":      phishTank,
	"openphish":      openPhish,
	"urlhaus_1d":     urlhaus,
}

// knownByContent recognises a well-known feed from what is inside it: its
// format, its banner (the leading comments) or its CSV header.
func knownByContent(sn sniffed, comments []string) (knownFeed, bool) {
	switch sn.format {
	case FormatTorExits:
		return torExits, true // TorDNSEL's own record format
	case FormatSpamhausJSON:
		return spamhausDrop, true // only Spamhaus DROP and EDROP are published in it
	}
	for _, c := range comments {
		// FireHOL headers start with the ipset's name on a line of its own.
		if f := strings.Fields(c); len(f) == 1 {
			if k, ok := fireholSets[strings.ToLower(f[0])]; ok {
				return k, true
			}
			if strings.HasPrefix(strings.ToLower(f[0]), "blocklist_de_") {
				return blocklistDE, true
			}
		}
	}
	banner := strings.ToLower(strings.Join(comments, "\n"))
	if isFireHOL(banner) {
		// Another FireHOL set: its header lists the sources it aggregates
		// ("includes: spamhaus_drop dshield ..."), which say nothing of the
		// set's own category; its "Category" line says what FireHOL files it
		// under, and two of FireHOL's categories are ours.
		name, _ := headerCategory(comments)
		switch strings.ToLower(name) {
		case "anonymizers":
			return knownFeed{Name: "FireHOL anonymizers", Category: model.CategoryAnonymizer}, true
		case "malware":
			return knownFeed{Name: "FireHOL malware", Category: model.CategoryMalware}, true
		}
		return knownFeed{}, false
	}
	switch {
	case strings.Contains(banner, "feodo tracker"):
		return feodo, true
	case strings.Contains(banner, "threatfox"):
		return threatFox, true
	case strings.Contains(banner, "malwarebazaar"):
		return malwareBazaar, true
	case strings.Contains(banner, "urlhaus"):
		return urlhaus, true
	case strings.Contains(banner, "spamhaus") && strings.Contains(banner, "drop"):
		return spamhausDrop, true
	case strings.Contains(banner, "phishtank"):
		return phishTank, true
	case strings.Contains(banner, "openphish"):
		return openPhish, true
	}
	if sn.format == FormatCSV {
		has := func(cols ...string) bool {
			for _, c := range cols {
				if !slices.Contains(sn.header, c) {
					return false
				}
			}
			return true
		}
		switch {
		case has("ioc_id", "ioc_value", "threat_type"):
			return threatFox, true
		case has("dst_ip", "c2_status"):
			return feodo, true
		case has("urlhaus_link"):
			return urlhaus, true
		case has("phish_id", "phish_detail_url"):
			return phishTank, true
		}
	}
	return knownFeed{}, false
}

// isFireHOL reports whether a lower-cased banner is a FireHOL ipset header
// ("Maintainer      : FireHOL").
func isFireHOL(banner string) bool {
	return strings.Contains(banner, "firehol")
}

// feodoNames are Feodo Tracker's published file names, too generic to
// match as parts of other names.
var feodoNames = map[string]bool{
	"ipblocklist.csv": true, "ipblocklist.txt": true, "ipblocklist.json": true,
	"ipblocklist_recommended.txt": true, "ipblocklist_recommended.json": true,
	"ipblocklist_aggressive.csv": true, "ipblocklist_aggressive.txt": true,
}

// spamhausNames are Spamhaus DROP's published file names.
var spamhausNames = map[string]bool{
	"drop.txt": true, "edrop.txt": true, "dropv6.txt": true, "drop_v6.txt": true,
	"drop_v4.json": true, "drop_v6.json": true, "asndrop.json": true, "asndrop.txt": true,
}

// knownByName recognises a well-known feed by its published file name, or
// by a name that contains the feed's name (abusech-feodo-ipblocklist.csv,
// firehol_level1.2025-08-27.netset, tor-bulk-exit-list.txt).
func knownByName(p string) (knownFeed, bool) {
	base := strings.ToLower(strings.TrimSuffix(filepath.Base(p), ".gz"))
	if feodoNames[base] {
		return feodo, true
	}
	if spamhausNames[base] {
		return spamhausDrop, true
	}
	// Tokens: "et-compromised-ips.head.txt" is et, compromised, ips, head, txt.
	tokens := strings.FieldsFunc(base, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
	has := func(t string) bool { return slices.Contains(tokens, t) }
	seq := func(a, b string) bool {
		for i := 0; i+1 < len(tokens); i++ {
			if tokens[i] == a && tokens[i+1] == b {
				return true
			}
		}
		return false
	}
	switch {
	case strings.Contains(base, "feodo"):
		return feodo, true
	case strings.Contains(base, "threatfox"):
		return threatFox, true
	case strings.Contains(base, "malwarebazaar"), seq("malware", "bazaar"),
		// CriticalPathSecurity's Zeek Intel feed of MalwareBazaar hashes.
		strings.Contains(base, "abuse-ch-malware"), strings.Contains(base, "abusech-malware"):
		return malwareBazaar, true
	case strings.Contains(base, "urlhaus"):
		return urlhaus, true
	case strings.Contains(base, "openphish"):
		return openPhish, true
	case strings.Contains(base, "phishtank"), base == "online-valid.csv", base == "online-valid.json":
		return phishTank, true
	case strings.Contains(base, "spamhaus") && strings.Contains(base, "drop"):
		return spamhausDrop, true
	case seq("firehol", "level1"):
		return fireholLevel1, true
	case seq("compromised", "ips"), seq("et", "compromised"):
		return etCompromised, true
	case strings.Contains(base, "blocklist.de"), seq("blocklist", "de"), has("blocklistde"):
		return blocklistDE, true
	case seq("ci", "badguys"), has("ciarmy"), has("cins"), strings.HasPrefix(base, "cinsscore"):
		return cinsArmy, true
	case has("torbulkexitlist"), seq("exit", "addresses"), has("torexits"), has("torexit"),
		has("tor") && (seq("tor", "exit") || seq("tor", "exits") || seq("tor", "bulk") || has("exitnodes")):
		return torExits, true
	}
	return knownFeed{}, false
}

// threatFoxCategory maps a ThreatFox threat_type to a category: botnet
// command and control is c2; payloads, payload delivery and the rest are
// malware (ThreatFox lists only malware infrastructure).
func threatFoxCategory(threatType string) category {
	if strings.EqualFold(strings.TrimSpace(threatType), "botnet_cc") {
		return categoryCode(model.CategoryC2)
	}
	return categoryCode(model.CategoryMalware)
}

// decision is how one feed file's category was decided.
type decision struct {
	category string
	from     string // one of the CategoryFrom constants
	detail   string // the pattern, or the well-known feed's name
	perRow   bool
}

// decideCategory applies the order of the package comment to one file.
func (b *builder) decideCategory(src *source, peek []byte, sn sniffed) decision {
	if cat, p, ok := configCategory(b.categories, src); ok {
		return decision{category: cat, from: CategoryFromConfig, detail: p}
	}
	comments := leadingComments(peek)
	if name, found := headerCategory(comments); found {
		if cat, err := ParseCategory(name); err == nil {
			return decision{category: cat, from: CategoryFromHeader}
		}
		// FireHOL headers carry a "Category : attacks" line in FireHOL's own
		// vocabulary; that is not a mistake worth a warning.
		if !isFireHOL(strings.ToLower(strings.Join(comments, "\n"))) {
			b.log.Warn("feed header names an unknown category; ignored", "provider", Name, "file", src.path,
				"category", cleanInfo(name), "want", strings.Join(model.FeedCategories, ", "))
		}
	}
	k, ok := knownByContent(sn, comments)
	if !ok {
		k, ok = knownByName(src.path)
	}
	if ok {
		return decision{category: k.Category, from: CategoryFromWellKnown, detail: k.Name, perRow: k.PerRow}
	}
	return decision{category: model.CategoryListed, from: CategoryFromDefault}
}
