// Package urlhaus looks indicators up in abuse.ch URLhaus, the database of
// URLs that distribute malware: a URL (POST /v1/url/), a host, domain or
// IPv4 address (POST /v1/host/), and a payload by its MD5 or SHA-256
// (POST /v1/payload/). Wire-format notes and their sources are in
// README.md.
package urlhaus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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
const Name = "urlhaus"

// Title is how reports and factors name the source.
const Title = "URLhaus"

// DefaultBaseURL is the public API.
const DefaultBaseURL = "https://urlhaus-api.abuse.ch/v1"

// Client is a URLhaus API client.
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

// Registration is URLhaus's entry in the provider registry. abuse.ch
// publishes no numeric limits (README.md): the rate and quota are verdict's
// courtesy defaults. A listed URL goes offline within hours, so answers
// stay fresh for 6 hours rather than a day. A listing scores as a local
// feed of category malware, in the same "feeds" group, so an artifact a
// local feed lists too counts once.
var Registration = intel.Registration{
	Name:     Name,
	Title:    Title,
	OptIn:    true, // a third party: off until asked for (a key set, or enabled: true)
	Order:    60,
	Types:    []ioc.Type{ioc.IPv4, ioc.Domain, ioc.URL, ioc.MD5, ioc.SHA256},
	NeedsKey: true,
	KeyEnv:   []string{"URLHAUS_API_KEY", "ABUSECH_API_KEY"},
	KeyHelp:  "sent only in the Auth-Key header (free at auth.abuse.ch; one key serves every abuse.ch API)",
	Defaults: intel.Defaults{
		BaseURL:     DefaultBaseURL,
		Rate:        ratelimit.Rate{N: 2, Per: time.Second},
		DailyQuota:  5000,
		Concurrency: 2,
		TTL:         6 * time.Hour,
	},
	Rules:  score.ListingRules(Name, model.CategoryMalware),
	Fields: []string{"url_count", "urls_online", "payloads", "file_size", "abused_legit"},
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

// Name implements intel.Provider.
func (c *Client) Name() string { return Name }

// Supports implements intel.Provider: IPv4 addresses and domains (as
// hosts), URLs, and MD5 and SHA-256 payload hashes. URLhaus documents no
// IPv6 hosts and no SHA-1 payload lookup.
func (c *Client) Supports(t ioc.Type) bool {
	switch t {
	case ioc.IPv4, ioc.Domain, ioc.URL, ioc.MD5, ioc.SHA256:
		return true
	}
	return false
}

// Lookup implements intel.Provider with one form POST.
func (c *Client) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	var path string
	form := url.Values{}
	switch i.Type {
	case ioc.URL:
		path = "/url/"
		form.Set("url", i.Value)
	case ioc.IPv4, ioc.Domain:
		path = "/host/"
		form.Set("host", i.Value)
	case ioc.MD5:
		path = "/payload/"
		form.Set("md5_hash", i.Value)
	case ioc.SHA256:
		path = "/payload/"
		form.Set("sha256_hash", i.Value)
	default:
		return model.Result{}, fmt.Errorf("%s: %s: %w", Name, i.Type, intel.ErrUnsupported)
	}
	resp, err := abusech.PostForm(ctx, c.hc, Name, c.base+path, c.key, form)
	if err != nil {
		return model.Result{}, err
	}
	return parse(i, resp, c.now())
}

// parse turns an answer about i into a result or the error the engine
// understands. The answer is untrusted input (FuzzParse).
func parse(i ioc.IOC, resp *httpapi.Response, now time.Time) (model.Result, error) {
	if _, err := abusech.Status(Name, resp, now); err != nil {
		return model.Result{}, err
	}
	switch i.Type {
	case ioc.URL:
		var a urlAnswer
		if err := json.Unmarshal(resp.Body, &a); err != nil {
			return model.Result{}, decodeError(err)
		}
		return a.normalise(), nil
	case ioc.MD5, ioc.SHA256:
		var a payloadAnswer
		if err := json.Unmarshal(resp.Body, &a); err != nil {
			return model.Result{}, decodeError(err)
		}
		return a.normalise(i)
	}
	var a hostAnswer
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		return model.Result{}, decodeError(err)
	}
	return a.normalise()
}

func decodeError(err error) error {
	return fmt.Errorf("%s: decode answer: %v: %w", Name, err, intel.ErrBadResponse)
}

// Check implements intel.HealthChecker with a host query, the cheapest
// call there is: any answer but a rejected key (ok or no_results) proves
// the Auth-Key. abuse.ch counts no quota of its own; verdict's daily quota
// is not touched either.
func (c *Client) Check(ctx context.Context) (intel.Health, error) {
	resp, err := abusech.PostForm(ctx, c.hc, Name, c.base+"/host/", c.key, url.Values{"host": {"example.com"}})
	if err != nil {
		return intel.Health{}, err
	}
	if _, err := abusech.Status(Name, resp, c.now()); err != nil && !abusech.IsNotFound(err) {
		return intel.Health{}, err
	}
	return intel.Health{KeyAccepted: true, Detail: "Auth-Key accepted (a host query)"}, nil
}

// Facts that pass through a model.Result are cut to these sizes; lists are
// capped so a host with ten thousand URLs stays one small answer.
const (
	maxTags     = 10
	maxNames    = 5
	maxTextLen  = 200
	feedMatchOf = Title
)

// blacklists is the answer's Spamhaus DBL and SURBL status of the host.
type blacklists struct {
	SpamhausDBL abusech.Str `json:"spamhaus_dbl"`
	SURBL       abusech.Str `json:"surbl"`
}

// abusedLegit reports whether Spamhaus DBL calls the host a legitimate
// service that is being abused (abused_legit_malware, abused_redirector,
// ...): a file-sharing or code-hosting site, not an attacker's own host.
func (b *blacklists) abusedLegit() bool {
	if b == nil {
		return false
	}
	v := strings.ToLower(string(b.SpamhausDBL))
	return strings.HasPrefix(v, "abused_legit") || v == "abused_redirector"
}

// attrs adds the listings that say something ("not listed" does not).
func (b *blacklists) attrs(m map[string]any) {
	if b == nil {
		return
	}
	for k, v := range map[string]abusech.Str{"spamhaus_dbl": b.SpamhausDBL, "surbl": b.SURBL} {
		if s := abusech.Text(string(v), 64); s != "" && !strings.EqualFold(s, "not listed") {
			m[k] = s
		}
	}
}

// urlAnswer is POST /v1/url/ (query_status ok).
type urlAnswer struct {
	Reference  abusech.Str  `json:"urlhaus_reference"`
	URLStatus  abusech.Str  `json:"url_status"`
	DateAdded  abusech.Str  `json:"date_added"`
	LastOnline abusech.Str  `json:"last_online"`
	Threat     abusech.Str  `json:"threat"`
	Blacklists *blacklists  `json:"blacklists"`
	Larted     abusech.Bool `json:"larted"`
	Tags       abusech.Strs `json:"tags"`
	Payloads   []struct {
		Signature abusech.Str `json:"signature"`
		FileType  abusech.Str `json:"file_type"`
	} `json:"payloads"`
}

func (a *urlAnswer) normalise() model.Result {
	r := model.Result{Status: model.StatusFound, Attrs: map[string]any{}}
	r.Tags = abusech.Unique(nil, maxTags, a.Tags...)
	r.Link = reference(string(a.Reference))
	if s := abusech.Text(string(a.URLStatus), 32); s != "" {
		r.Attrs["url_status"] = s
	}
	if s := abusech.Text(string(a.Threat), 64); s != "" {
		r.Attrs["threat"] = s
	}
	if d := abusech.Date(string(a.DateAdded)); d != "" {
		r.Attrs["date_added"] = d
	}
	if d := abusech.Date(string(a.LastOnline)); d != "" {
		r.Attrs["last_online"] = d
	}
	var sigs []string
	for _, p := range a.Payloads {
		sigs = abusech.Unique(sigs, maxNames, string(p.Signature))
	}
	if len(a.Payloads) > 0 {
		r.Attrs["payloads"] = len(a.Payloads)
	}
	if len(sigs) > 0 {
		r.Attrs["signatures"] = sigs
	}
	a.Blacklists.attrs(r.Attrs)
	var info []string
	for _, k := range []string{"threat", "url_status"} {
		if v, ok := r.Attrs[k].(string); ok {
			info = append(info, v)
		}
	}
	info = append(info, sigs...)
	r.Matches = []model.FeedMatch{{Feed: feedMatchOf, Category: model.CategoryMalware, Info: abusech.Text(strings.Join(info, ", "), maxTextLen)}}
	return r
}

// hostAnswer is POST /v1/host/ (query_status ok).
type hostAnswer struct {
	Reference  abusech.Str `json:"urlhaus_reference"`
	FirstSeen  abusech.Str `json:"firstseen"`
	URLCount   abusech.Int `json:"url_count"`
	Blacklists *blacklists `json:"blacklists"`
	URLs       []struct {
		URLStatus abusech.Str  `json:"url_status"`
		Threat    abusech.Str  `json:"threat"`
		Tags      abusech.Strs `json:"tags"`
	} `json:"urls"`
}

// normalise keeps what verdict shows and scores. A host is a listing of
// category malware, except a legitimate service that Spamhaus DBL says is
// abused (a file-sharing or code-hosting site): its URLs are listed one by
// one, the host itself is not the attacker's, and a +70 for every alert
// that mentions it would be wrong. Its facts are kept, and say so.
func (a *hostAnswer) normalise() (model.Result, error) {
	if (!a.URLCount.Valid || a.URLCount.N == 0) && len(a.URLs) == 0 {
		return model.Result{}, intel.ErrNotFound // "ok" with nothing listed
	}
	r := model.Result{Status: model.StatusFound, Attrs: map[string]any{}}
	r.Link = reference(string(a.Reference))
	count := len(a.URLs)
	if a.URLCount.Valid {
		count = max(a.URLCount.N, 0)
	}
	r.Attrs["url_count"] = count
	online := 0
	var threats []string
	for _, u := range a.URLs {
		if strings.EqualFold(strings.TrimSpace(string(u.URLStatus)), "online") {
			online++
		}
		r.Tags = abusech.Unique(r.Tags, maxTags, u.Tags...)
		threats = abusech.Unique(threats, maxNames, string(u.Threat))
	}
	r.Attrs["urls_online"] = online
	if d := abusech.Date(string(a.FirstSeen)); d != "" {
		r.Attrs["first_seen"] = d
	}
	a.Blacklists.attrs(r.Attrs)
	if a.Blacklists.abusedLegit() {
		r.Attrs["abused_legit"] = true
		return r, nil
	}
	info := fmt.Sprintf("%d malware URL%s, %d online", count, plural(count), online)
	if len(threats) > 0 {
		info += "; " + strings.Join(threats, ", ")
	}
	r.Matches = []model.FeedMatch{{Feed: feedMatchOf, Category: model.CategoryMalware, Info: abusech.Text(info, maxTextLen)}}
	return r, nil
}

// payloadAnswer is POST /v1/payload/ (query_status ok).
type payloadAnswer struct {
	MD5       abusech.Str `json:"md5_hash"`
	SHA256    abusech.Str `json:"sha256_hash"`
	FileType  abusech.Str `json:"file_type"`
	FileSize  abusech.Int `json:"file_size"`
	Signature abusech.Str `json:"signature"`
	FirstSeen abusech.Str `json:"firstseen"`
	LastSeen  abusech.Str `json:"lastseen"`
	URLCount  abusech.Int `json:"url_count"`
}

// normalise keeps the payload's facts and both of its hashes, which make
// an alert's MD5 and SHA-256 of the file one artifact. An answer about
// another file than the one asked for is not taken.
func (a *payloadAnswer) normalise(i ioc.IOC) (model.Result, error) {
	md5, sha := hashOf(string(a.MD5), ioc.MD5), hashOf(string(a.SHA256), ioc.SHA256)
	asked := map[ioc.Type]string{ioc.MD5: md5, ioc.SHA256: sha}[i.Type]
	if asked != "" && asked != i.Value {
		return model.Result{}, fmt.Errorf("%s: asked about %s, answered about %s: %w", Name, i.Value, asked, intel.ErrBadResponse)
	}
	r := model.Result{Status: model.StatusFound, Attrs: map[string]any{}, MD5: md5, SHA256: sha}
	if s := abusech.Text(string(a.FileType), 32); s != "" {
		r.Attrs["file_type"] = s
	}
	if a.FileSize.Valid && a.FileSize.N >= 0 {
		r.Attrs["file_size"] = a.FileSize.N
	}
	sig := abusech.Text(string(a.Signature), 80)
	if sig != "" {
		r.Attrs["signature"] = sig
	}
	if d := abusech.Date(string(a.FirstSeen)); d != "" {
		r.Attrs["first_seen"] = d
	}
	if d := abusech.Date(string(a.LastSeen)); d != "" {
		r.Attrs["last_seen"] = d
	}
	if a.URLCount.Valid {
		r.Attrs["url_count"] = max(a.URLCount.N, 0)
	}
	info := sig
	if info == "" {
		info = "payload"
		if ft := r.Attrs["file_type"]; ft != nil {
			info = fmt.Sprint(ft, " payload")
		}
	}
	r.Matches = []model.FeedMatch{{Feed: feedMatchOf, Category: model.CategoryMalware, Info: info}}
	return r, nil
}

// hashOf returns h lower-cased when it is a hash of type t, else "": an
// answer is untrusted input.
func hashOf(h string, t ioc.Type) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if got, ok := ioc.HashType(h); !ok || got != t {
		return ""
	}
	return h
}

// reference keeps a URLhaus page link only when it is one: an answer could
// carry any URL, and reports make links clickable.
func reference(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host != "urlhaus.abuse.ch" || u.User != nil || len(s) > 200 {
		return ""
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
