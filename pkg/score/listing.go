package score

import (
	"slices"
	"strings"
)

// ListingRules are the default rules of a remote source that lists
// indicators the way a feed does (abuse.ch URLhaus and ThreatFox): the
// local-feed rules (FeedRules) that select any of the given categories,
// for provider, named "<provider>-c2-malware-phishing" and so on, in the same "feeds" group. A
// listing then scores exactly as a local feed of its category would, and
// an artifact that a local feed lists too counts its highest feed signal
// once, not twice.
func ListingRules(provider string, categories ...string) []Rule {
	var out []Rule
	for _, r := range FeedRules() {
		if !slices.ContainsFunc(r.categories(), func(c string) bool {
			return slices.ContainsFunc(categories, func(w string) bool { return strings.EqualFold(c, w) })
		}) {
			continue
		}
		r.Name = provider + "-" + strings.TrimPrefix(r.Name, "feed-")
		r.Provider = provider
		r.Categories = append([]string(nil), r.Categories...)
		out = append(out, r)
	}
	return out
}
