package model

import "strings"

// Status is the outcome of one lookup, as written in the JSON report.
type Status string

// Lookup statuses (CONTRACT.md).
const (
	StatusFound    Status = "found"
	StatusNotFound Status = "not_found"
	StatusError    Status = "error"
	StatusSkipped  Status = "skipped"
)

// Reasons for StatusSkipped.
const (
	ReasonOffline        = "offline"
	ReasonNoAPIKey       = "no_api_key"
	ReasonQuotaExhausted = "quota_exhausted"
	ReasonUnauthorized   = "unauthorized"
	ReasonCanceled       = "canceled"
	ReasonDryRun         = "dry_run"
	// ReasonProviderUnavailable: the provider could not be reached (DNS,
	// connection refused, TLS) three times in a row, so it is unavailable
	// for the rest of the run (CONTRACT.md, status).
	ReasonProviderUnavailable = "provider_unavailable"
)

// Result is one provider's normalised answer about one indicator. Providers
// fill the fields they know; the rest stay empty and are left out of JSON.
// Numbers are pointers so that a real zero ("0 malicious detections") is
// distinguishable from "not reported".
type Result struct {
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"` // why it was skipped
	Error  string `json:"error,omitempty"`  // why it failed
	Cached bool   `json:"cached,omitempty"` // answered from the on-disk cache

	// VirusTotal
	Malicious       *int     `json:"malicious,omitempty"`
	Suspicious      *int     `json:"suspicious,omitempty"`
	Harmless        *int     `json:"harmless,omitempty"`
	Undetected      *int     `json:"undetected,omitempty"`
	Reputation      *int     `json:"reputation,omitempty"`
	ThreatLabel     string   `json:"threat_label,omitempty"`
	Categories      []string `json:"categories,omitempty"`
	TypeDescription string   `json:"type_description,omitempty"`
	MeaningfulName  string   `json:"meaningful_name,omitempty"`
	// The hashes of the file a hash lookup found, as the source names them
	// (a VirusTotal file object, a feed row listing md5, sha1 and sha256
	// together): they make the hashes of one file one artifact.
	MD5          string `json:"md5,omitempty"`
	SHA1         string `json:"sha1,omitempty"`
	SHA256       string `json:"sha256,omitempty"`
	LastAnalysis string `json:"last_analysis_date,omitempty"`

	// Network facts (VirusTotal and AbuseIPDB)
	Country string `json:"country,omitempty"`
	ASOwner string `json:"as_owner,omitempty"`
	ASN     *int   `json:"asn,omitempty"`
	Network string `json:"network,omitempty"`

	// AbuseIPDB
	AbuseConfidenceScore *int     `json:"abuse_confidence_score,omitempty"`
	IsTor                *bool    `json:"is_tor,omitempty"`
	IsWhitelisted        *bool    `json:"is_whitelisted,omitempty"`
	UsageType            string   `json:"usage_type,omitempty"`
	ISP                  string   `json:"isp,omitempty"`
	Domain               string   `json:"domain,omitempty"`
	Hostnames            []string `json:"hostnames,omitempty"`
	TotalReports         *int     `json:"total_reports,omitempty"`
	NumDistinctUsers     *int     `json:"num_distinct_users,omitempty"`
	LastReportedAt       string   `json:"last_reported_at,omitempty"`

	// GreyNoise (issue 11): its label for an address (malicious, benign,
	// unknown) and whether it is a known common business service (RIOT).
	// A benign or RIOT answer keeps an indicator off any blocklist.
	Classification string `json:"classification,omitempty"`
	RIOT           *bool  `json:"riot,omitempty"`

	// Shared
	Tags []string `json:"tags,omitempty"`
	Link string   `json:"link,omitempty"` // a page a person can open about the indicator

	// Local feeds
	Matches []FeedMatch `json:"matches,omitempty"`

	// Attrs holds a provider's normalised facts that the fields above do
	// not cover, so that a new provider needs no change to this package.
	// In JSON they are flattened into the provider's object beside the
	// common fields (never under a key of their own), and UnmarshalJSON
	// reads every key it does not know back into Attrs. Values should be
	// JSON scalars, lists or maps (a struct comes back as a map). A key that
	// names a common field is dropped: the common field wins. Number reads
	// numeric and boolean attrs, so scoring rules can use them.
	Attrs map[string]any `json:"-"`
}

// FeedMatch says which local feed listed an indicator.
type FeedMatch struct {
	Feed     string `json:"feed"`               // the feed file's name
	Category string `json:"category,omitempty"` // what the listing means (FeedCategories); scoring weighs it
	Entry    string `json:"entry,omitempty"`    // the listed entry when it is not the value itself (a CIDR)
	Info     string `json:"info,omitempty"`     // threat or malware context the feed gave
}

// Feed categories (CONTRACT.md "Risk score"): what a listing in a local feed
// means, from the strongest signal to the weakest.
const (
	CategoryC2          = "c2"          // botnet command and control (Feodo Tracker, ThreatFox botnet_cc)
	CategoryMalware     = "malware"     // malware samples and distribution (MalwareBazaar, URLhaus)
	CategoryPhishing    = "phishing"    // phishing sites (OpenPhish, PhishTank)
	CategoryDrop        = "drop"        // hijacked or rogue netblocks (Spamhaus DROP, FireHOL level 1)
	CategoryCompromised = "compromised" // hosts seen attacking (ET compromised, blocklist.de, CINS)
	CategoryListed      = "listed"      // a feed of no known category
	CategoryAnonymizer  = "anonymizer"  // Tor exits and open proxies: who, not what
)

// FeedCategories lists every feed category, strongest first.
var FeedCategories = []string{
	CategoryC2, CategoryMalware, CategoryPhishing, CategoryDrop,
	CategoryCompromised, CategoryListed, CategoryAnonymizer,
}

// FeedCategoryRank orders categories by strength: c2 is 0; an unknown
// category is -1.
func FeedCategoryRank(c string) int {
	for i, k := range FeedCategories {
		if k == c {
			return i
		}
	}
	return -1
}

// Number returns a numeric field by its JSON name, for data-driven scoring
// rules. Booleans read as 0 or 1. ok is false when the field is absent.
func (r *Result) Number(field string) (v float64, ok bool) {
	pi := func(p *int) (float64, bool) {
		if p == nil {
			return 0, false
		}
		return float64(*p), true
	}
	pb := func(p *bool) (float64, bool) {
		if p == nil {
			return 0, false
		}
		if *p {
			return 1, true
		}
		return 0, true
	}
	switch field {
	case "malicious":
		return pi(r.Malicious)
	case "suspicious":
		return pi(r.Suspicious)
	case "harmless":
		return pi(r.Harmless)
	case "undetected":
		return pi(r.Undetected)
	case "reputation":
		return pi(r.Reputation)
	case "asn":
		return pi(r.ASN)
	case "abuse_confidence_score":
		return pi(r.AbuseConfidenceScore)
	case "total_reports":
		return pi(r.TotalReports)
	case "num_distinct_users":
		return pi(r.NumDistinctUsers)
	case "is_tor":
		return pb(r.IsTor)
	case "is_whitelisted":
		return pb(r.IsWhitelisted)
	case "matches":
		return float64(len(r.Matches)), true
	case "riot":
		return pb(r.RIOT)
	case "classification":
		// GreyNoise's label as a number rules can compare: malicious 1,
		// benign -1, anything else 0.
		switch strings.ToLower(r.Classification) {
		case "":
			return 0, false
		case "malicious":
			return 1, true
		case "benign":
			return -1, true
		}
		return 0, true
	}
	return r.attrNumber(field)
}

// NumberFields lists the names Number understands (for config validation).
var NumberFields = []string{
	"malicious", "suspicious", "harmless", "undetected", "reputation", "asn",
	"abuse_confidence_score", "total_reports", "num_distinct_users",
	"is_tor", "is_whitelisted", "matches", "riot", "classification",
}

// Int returns a pointer to v, for filling Result fields.
func Int(v int) *int { return &v }

// Bool returns a pointer to v, for filling Result fields.
func Bool(v bool) *bool { return &v }
