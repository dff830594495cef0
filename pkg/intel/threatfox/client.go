// Package threatfox looks indicators up in abuse.ch ThreatFox, a database
// of indicators of malware infrastructure: IP addresses, domains and URLs
// with search_ioc, file hashes with search_hash (both POST /api/v1/ with a
// JSON query). Wire-format notes and their sources are in README.md.
package threatfox

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/abusech"
	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/safehttp"
	"github.com/verdict-dev/verdict/pkg/score"
)

// Name is the provider id in config, cache keys and reports.
const Name = "threatfox"

// Title is how reports and factors name the source.
const Title = "ThreatFox"

// DefaultBaseURL is the public API; queries are POSTed to it with a
// trailing slash.
const DefaultBaseURL = "https://threatfox-api.abuse.ch/api/v1"

// Client is a ThreatFox API client.
type Client struct {
	key  string
	base string
	hc   *http.Client
	now  func() time.Time
}

var (
	_ intel.Provider      = (*Client)(nil)
	_ intel.HealthChecker = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (timeouts, proxy).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithBaseURL points the client at a proxy, a mirror or a test server.
func WithBaseURL(u string) Option { return func(c *Client) { c.base = strings.TrimRight(u, "/") } }

// New returns a client that sends key in the Auth-Key header.
func New(key string, opts ...Option) *Client {
	c := &Client{key: key, base: DefaultBaseURL, hc: safehttp.New(safehttp.Options{Secrets: []string{key}}), now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Registration is ThreatFox's entry in the provider registry. abuse.ch
// publishes no numeric limits (README.md): the rate and quota are verdict's
// courtesy defaults. A listing scores as a local feed of its category
// (CategoryOf), in the same "feeds" group, so an artifact a local feed
// lists too counts once.
var Registration = intel.Registration{
	Name:     Name,
	Title:    Title,
	OptIn:    true, // a third party: off until asked for (a key set, or enabled: true)
	Order:    65,
	Types:    []ioc.Type{ioc.IPv4, ioc.IPv6, ioc.Domain, ioc.URL, ioc.MD5, ioc.SHA256},
	NeedsKey: true,
	KeyEnv:   []string{"THREATFOX_API_KEY", "ABUSECH_API_KEY"},
	KeyHelp:  "sent only in the Auth-Key header (free at auth.abuse.ch; one key serves every abuse.ch API)",
	Defaults: intel.Defaults{
		BaseURL:     DefaultBaseURL,
		Rate:        ratelimit.Rate{N: 2, Per: time.Second},
		DailyQuota:  5000,
		Concurrency: 2,
		TTL:         12 * time.Hour,
	},
	Rules:  score.ListingRules(Name, model.CategoryC2, model.CategoryMalware),
	Fields: []string{"confidence", "iocs"},
	New: func(s intel.Settings) (intel.Provider, error) {
		opts := []Option{}
		if s.HTTPClient != nil {
			opts = append(opts, WithHTTPClient(s.HTTPClient))
		}
		if s.BaseURL != "" {
			if _, err := url.Parse(s.BaseURL); err != nil {
				return nil, fmt.Errorf("parse base_url: %w", err)
			}
			opts = append(opts, WithBaseURL(s.BaseURL))
		}
		return New(s.APIKey, opts...), nil
	},
}

func init() { intel.Register(Registration) }

// CategoryOf maps a ThreatFox threat type to the feed category a listing
// counts as, as the local ThreatFox feeds do (pkg/intel/feed): botnet_cc
// (a botnet's command and control) is c2; payload_delivery (where malware
// is downloaded from), payload (a malware sample), cc_skimming (a card
// skimmer's host) and any other type are malware, since ThreatFox lists
// only malware infrastructure.
func CategoryOf(threatType string) string {
	if strings.EqualFold(strings.TrimSpace(threatType), "botnet_cc") {
		return model.CategoryC2
	}
	return model.CategoryMalware
}

// Name implements intel.Provider.
func (c *Client) Name() string { return Name }

// Supports implements intel.Provider: IPv4 and IPv6 addresses, domains and
// URLs (search_ioc), MD5 and SHA-256 hashes (search_hash). ThreatFox
// documents no SHA-1 search.
func (c *Client) Supports(t ioc.Type) bool {
	switch t {
	case ioc.IPv4, ioc.IPv6, ioc.Domain, ioc.URL, ioc.MD5, ioc.SHA256:
		return true
	}
	return false
}

// query is the JSON body of a search.
type query struct {
	Query      string `json:"query"`
	SearchTerm string `json:"search_term,omitempty"`
	Hash       string `json:"hash,omitempty"`
	// ExactMatch asks for the term itself rather than every IOC that
	// contains it. Addresses are searched without it: ThreatFox stores C2
	// addresses as ip:port, which an exact search for the bare address
	// would miss.
	ExactMatch bool `json:"exact_match,omitempty"`
}

// Lookup implements intel.Provider with one JSON POST.
func (c *Client) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	var q query
	switch i.Type {
	case ioc.IPv4, ioc.IPv6:
		q = query{Query: "search_ioc", SearchTerm: i.Value}
	case ioc.Domain, ioc.URL:
		q = query{Query: "search_ioc", SearchTerm: i.Value, ExactMatch: true}
	case ioc.MD5, ioc.SHA256:
		q = query{Query: "search_hash", Hash: i.Value}
	default:
		return model.Result{}, fmt.Errorf("%s: %s: %w", Name, i.Type, intel.ErrUnsupported)
	}
	rows, err := c.search(ctx, q)
	if err != nil {
		return model.Result{}, err
	}
	return normalise(i, rows)
}

// search sends one query and returns its rows; a miss is ErrNotFound.
func (c *Client) search(ctx context.Context, q query) ([]row, error) {
	resp, err := abusech.PostJSON(ctx, c.hc, Name, c.base+"/", c.key, q)
	if err != nil {
		return nil, err
	}
	return rowsOf(resp, c.now())
}

// rowsOf reads the rows of an answer; a miss is ErrNotFound. The answer is
// untrusted input (FuzzParse).
func rowsOf(resp *httpapi.Response, now time.Time) ([]row, error) {
	if _, err := abusech.Status(Name, resp, now); err != nil {
		return nil, err
	}
	var a struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		return nil, fmt.Errorf("%s: decode answer: %v: %w", Name, err, intel.ErrBadResponse)
	}
	// No result is data as a string ("Your search did not yield any
	// results"), even under query_status ok; some answers use [] or null.
	d := strings.TrimSpace(string(a.Data))
	if !strings.HasPrefix(d, "[") {
		return nil, intel.ErrNotFound
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(a.Data, &raw); err != nil {
		return nil, fmt.Errorf("%s: decode data: %v: %w", Name, err, intel.ErrBadResponse)
	}
	rows := make([]row, 0, len(raw))
	for _, m := range raw {
		var r row
		if json.Unmarshal(m, &r) == nil && r.IOC != "" {
			rows = append(rows, r) // a row that is not an object is skipped, not fatal
		}
	}
	if len(rows) == 0 {
		return nil, intel.ErrNotFound
	}
	return rows, nil
}

// Check implements intel.HealthChecker with one exact search: any answer
// but a rejected key (ok or no_result) proves the Auth-Key. abuse.ch counts
// no quota of its own; verdict's daily quota is not touched either.
func (c *Client) Check(ctx context.Context) (intel.Health, error) {
	_, err := c.search(ctx, query{Query: "search_ioc", SearchTerm: "example.com", ExactMatch: true})
	if err != nil && !abusech.IsNotFound(err) {
		return intel.Health{}, err
	}
	return intel.Health{KeyAccepted: true, Detail: "Auth-Key accepted (an exact search)"}, nil
}

// row is one IOC of an answer. Every field may be missing, null or of
// another type than documented (confidence_level arrives as a number or a
// string; tags as null, a list or a comma-separated string).
type row struct {
	ID         abusech.Str  `json:"id"`
	IOC        abusech.Str  `json:"ioc"`
	ThreatType abusech.Str  `json:"threat_type"`
	IOCType    abusech.Str  `json:"ioc_type"`
	Malware    abusech.Str  `json:"malware_printable"`
	Confidence abusech.Int  `json:"confidence_level"`
	FirstSeen  abusech.Str  `json:"first_seen"`
	LastSeen   abusech.Str  `json:"last_seen"`
	Tags       abusech.Strs `json:"tags"`
	Samples    []struct {
		MD5    abusech.Str `json:"md5_hash"`
		SHA256 abusech.Str `json:"sha256_hash"`
	} `json:"malware_samples"`
}

// matches reports whether a search_ioc row is about the indicator itself.
// The search matches substrings (18.8.8.80:443 for 8.8.8.8), so each row is
// checked: an address as itself or as ip:port ([v6]:port), a domain as
// itself or domain:port, a URL as itself once both are normalised.
func (r *row) matches(i ioc.IOC) bool {
	v := strings.TrimSpace(string(r.IOC))
	switch i.Type {
	case ioc.IPv4, ioc.IPv6:
		if h, _, err := net.SplitHostPort(v); err == nil {
			v = h
		}
		a, err := netip.ParseAddr(v)
		return err == nil && a.WithZone("").Unmap().String() == i.Value
	case ioc.Domain:
		if h, _, err := net.SplitHostPort(v); err == nil {
			v = h
		}
		d, err := ioc.NormalizeDomain(v)
		return err == nil && d == i.Value
	case ioc.URL:
		u, err := ioc.NormalizeURL(v)
		return err == nil && u == i.Value
	}
	return false
}

// Facts that pass through a model.Result are capped, so an address with a
// thousand rows stays one small answer.
const (
	maxTags  = 10
	maxNames = 5
)

var digits = regexp.MustCompile(`^[0-9]{1,12}$`)

// normalise keeps what verdict shows and scores. For an address, domain or
// URL only the rows about the indicator itself count, each by its threat
// type (CategoryOf). For a hash every row is an IOC of the malware the file
// is a sample of: the file is malware whatever those IOCs are, and the
// sample entry holding the hash names the file's other hash, which makes
// an alert's MD5 and SHA-256 of the file one artifact.
func normalise(i ioc.IOC, rows []row) (model.Result, error) {
	hash := i.Type.IsHash()
	if !hash {
		rows = slices.DeleteFunc(rows, func(r row) bool { return !r.matches(i) })
		if len(rows) == 0 {
			return model.Result{}, intel.ErrNotFound
		}
	}
	r := model.Result{Status: model.StatusFound, Attrs: map[string]any{}}
	type listing struct {
		entry   string
		malware []string
	}
	byCat := map[string]*listing{}
	var threats, malware []string
	confidence, first, last := -1, "", ""
	for _, x := range rows {
		cat := model.CategoryMalware
		if !hash {
			cat = CategoryOf(string(x.ThreatType))
		}
		l := byCat[cat]
		if l == nil {
			l = &listing{}
			if e := abusech.Text(string(x.IOC), 200); !hash && !strings.EqualFold(e, i.Value) {
				l.entry = e // the listed form: 1.2.3.4:443
			}
			byCat[cat] = l
		}
		l.malware = abusech.Unique(l.malware, 3, string(x.Malware))
		threats = abusech.Unique(threats, maxNames, string(x.ThreatType))
		malware = abusech.Unique(malware, maxNames, string(x.Malware))
		r.Tags = abusech.Unique(r.Tags, maxTags, x.Tags...)
		if x.Confidence.Valid {
			confidence = max(confidence, min(max(x.Confidence.N, 0), 100))
		}
		if d := abusech.Date(string(x.FirstSeen)); d != "" && (first == "" || d < first) {
			first = d
		}
		if d := abusech.Date(string(x.LastSeen)); d != "" && d > last {
			last = d
		}
		if hash {
			for _, s := range x.Samples {
				md5, sha := hashOf(string(s.MD5), ioc.MD5), hashOf(string(s.SHA256), ioc.SHA256)
				if (i.Type == ioc.MD5 && md5 == i.Value) || (i.Type == ioc.SHA256 && sha == i.Value) {
					r.MD5, r.SHA256 = md5, sha
				}
			}
		}
		if id := strings.TrimSpace(string(x.ID)); r.Link == "" && digits.MatchString(id) {
			r.Link = "https://threatfox.abuse.ch/ioc/" + id + "/"
		}
	}
	for _, cat := range model.FeedCategories { // strongest first
		if l := byCat[cat]; l != nil {
			r.Matches = append(r.Matches, model.FeedMatch{Feed: Title, Category: cat, Entry: l.entry, Info: strings.Join(l.malware, ", ")})
		}
	}
	r.Attrs["iocs"] = len(rows)
	if len(threats) > 0 {
		r.Attrs["threat_types"] = threats
	}
	if len(malware) > 0 {
		r.Attrs["malware"] = malware
	}
	if confidence >= 0 {
		r.Attrs["confidence"] = confidence
	}
	if first != "" {
		r.Attrs["first_seen"] = first
	}
	if last != "" {
		r.Attrs["last_seen"] = last
	}
	return r, nil
}

// hashOf returns h lower-cased when it is a hash of type t, else "".
func hashOf(h string, t ioc.Type) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if got, ok := ioc.HashType(h); !ok || got != t {
		return ""
	}
	return h
}
