// Package virustotal looks indicators up in VirusTotal API v3: IP
// addresses, domains, file hashes and URLs (looked up by their unpadded
// base64url id, never submitted for scanning).
package virustotal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
	"github.com/verdict-dev/verdict/pkg/internal/oneline"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/safehttp"
	"github.com/verdict-dev/verdict/pkg/score"
)

// Name is the provider id in config, cache keys and reports.
const Name = "virustotal"

// DefaultBaseURL is the public API.
const DefaultBaseURL = "https://www.virustotal.com/api/v3"

// Client is a VirusTotal v3 client.
type Client struct {
	key  string
	base string
	hc   *http.Client
	now  func() time.Time
}

var _ intel.Provider = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (timeouts, proxy).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithBaseURL points the client at a proxy, a mirror or a test server.
func WithBaseURL(u string) Option { return func(c *Client) { c.base = strings.TrimRight(u, "/") } }

// New returns a client that sends key in the x-apikey header.
func New(key string, opts ...Option) *Client {
	c := &Client{key: key, base: DefaultBaseURL, hc: safehttp.New(safehttp.Options{Secrets: []string{key}}), now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Registration is VirusTotal's entry in the provider registry: every
// indicator type, a key users already have as VIRUSTOTAL_API_KEY, the public
// API's limits (4 requests a minute, 500 a day) and the CONTRACT.md rules.
var Registration = intel.Registration{
	Name:     Name,
	Title:    "VirusTotal",
	Order:    10,
	Types:    []ioc.Type{ioc.IPv4, ioc.IPv6, ioc.Domain, ioc.URL, ioc.MD5, ioc.SHA1, ioc.SHA256},
	NeedsKey: true,
	KeyEnv:   []string{"VIRUSTOTAL_API_KEY"},
	KeyHelp:  "sent only in the x-apikey header",
	Defaults: intel.Defaults{
		BaseURL:     DefaultBaseURL,
		Rate:        ratelimit.Rate{N: 4, Per: time.Minute},
		DailyQuota:  500,
		Concurrency: 4,
	},
	Rules: []score.Rule{
		{Name: "virustotal-ip", Types: []string{"ip"}, Provider: Name, Field: "malicious", Min: one(), Points: 40,
			Description: "{n} VirusTotal malicious detection{s}"},
		{Name: "virustotal-hash", Types: []string{"hash"}, Provider: Name, Field: "malicious", Min: one(), Points: 40,
			Description: "{n} VirusTotal malicious detection{s}"},
		{Name: "virustotal-domain", Types: []string{"domain"}, Provider: Name, Field: "malicious", Min: one(), Points: 25,
			Description: "{n} VirusTotal malicious detection{s}"},
		{Name: "virustotal-url", Types: []string{"url"}, Provider: Name, Field: "malicious", Min: one(), Points: 25,
			Description: "{n} VirusTotal malicious detection{s}"},
	},
	Fields: []string{"malicious", "suspicious", "harmless", "undetected", "reputation", "asn"},
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

func one() *float64 { v := 1.0; return &v }

func init() { intel.Register(Registration) }

// Name implements intel.Provider.
func (c *Client) Name() string { return Name }

// Supports implements intel.Provider: every indicator type.
func (c *Client) Supports(t ioc.Type) bool {
	switch t {
	case ioc.IPv4, ioc.IPv6, ioc.Domain, ioc.URL, ioc.MD5, ioc.SHA1, ioc.SHA256:
		return true
	}
	return false
}

// URLID is VirusTotal's identifier for a URL lookup: the URL in unpadded
// base64url (RFC 4648 section 5). Standard base64 would put a '/' in the path.
func URLID(u string) string { return base64.RawURLEncoding.EncodeToString([]byte(u)) }

// objectPath returns the API path and the GUI collection of an indicator.
func objectPath(i ioc.IOC) (path, gui string, err error) {
	switch i.Type {
	case ioc.IPv4, ioc.IPv6:
		return "/ip_addresses/" + url.PathEscape(i.Value), "ip-address", nil
	case ioc.Domain:
		return "/domains/" + url.PathEscape(i.Value), "domain", nil
	case ioc.MD5, ioc.SHA1, ioc.SHA256:
		return "/files/" + url.PathEscape(i.Value), "file", nil
	case ioc.URL:
		return "/urls/" + URLID(i.Value), "url", nil
	}
	return "", "", fmt.Errorf("%s: %s: %w", Name, i.Type, intel.ErrUnsupported)
}

// Lookup implements intel.Provider with one GET of the object.
func (c *Client) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	path, gui, err := objectPath(i)
	if err != nil {
		return model.Result{}, err
	}
	resp, err := httpapi.Get(ctx, c.hc, Name, c.base+path, map[string]string{"x-apikey": c.key})
	if err != nil {
		return model.Result{}, err
	}
	if resp.Status != http.StatusOK {
		return model.Result{}, c.errorFor(resp)
	}
	if !resp.IsJSON() {
		return model.Result{}, httpapi.Unexpected(Name, resp)
	}
	var env envelope
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		return model.Result{}, fmt.Errorf("%s: decode answer: %v: %w", Name, err, intel.ErrBadResponse)
	}
	if env.Data == nil {
		return model.Result{}, fmt.Errorf("%s: answer has no data object: %w", Name, intel.ErrBadResponse)
	}
	return normalise(env.Data, i, gui), nil
}

// apiError is the body of every non-2xx answer.
type apiError struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// errorFor maps an error answer by HTTP status first, then by VirusTotal's
// error code, never by the message text.
func (c *Client) errorFor(r *httpapi.Response) error {
	var ae apiError
	code, msg := "", ""
	if r.IsJSON() && json.Unmarshal(r.Body, &ae) == nil && ae.Error != nil {
		code, msg = ae.Error.Code, oneline.Cut(ae.Error.Message, 200)
	}
	switch {
	case r.Status == http.StatusNotFound && (code == "NotFoundError" || code == ""):
		return intel.ErrNotFound
	case r.Status == http.StatusUnauthorized:
		if code == "" {
			code = "HTTP 401"
		}
		return fmt.Errorf("%s (%s): %w", code, msg, intel.ErrUnauthorized)
	case r.Status == http.StatusTooManyRequests:
		// A 429 may come from VirusTotal (QuotaExceededError,
		// TooManyRequestsError) or from an edge proxy as an HTML page with
		// no Retry-After; all are waited out, never hammered.
		return &intel.RateLimitError{Provider: Name, RetryAfter: httpapi.RetryAfter(r.Header, c.now()),
			Quota: code == "QuotaExceededError", Detail: strings.TrimSpace(code + " " + msg)}
	case code != "":
		return &intel.HTTPError{Provider: Name, Status: r.Status, Code: code, Detail: msg,
			Retryable: r.Status >= 500 || code == "TransientError" || code == "DeadlineExceededError"}
	}
	return httpapi.Unexpected(Name, r)
}

// envelope is {"data": {...}}; every attribute may be missing or null.
type envelope struct {
	Data *object `json:"data"`
}

type object struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Attributes attributes `json:"attributes"`
}

type attributes struct {
	Stats                *stats            `json:"last_analysis_stats"`
	Reputation           *int              `json:"reputation"`
	Tags                 []string          `json:"tags"`
	Country              *string           `json:"country"`
	ASOwner              *string           `json:"as_owner"`
	ASN                  *int              `json:"asn"`
	Network              *string           `json:"network"`
	Categories           map[string]string `json:"categories"`
	TypeDescription      *string           `json:"type_description"`
	MeaningfulName       *string           `json:"meaningful_name"`
	MD5                  *string           `json:"md5"`
	SHA1                 *string           `json:"sha1"`
	SHA256               *string           `json:"sha256"`
	LastAnalysisDate     *int64            `json:"last_analysis_date"`
	PopularThreatClasses *struct {
		SuggestedThreatLabel *string `json:"suggested_threat_label"`
	} `json:"popular_threat_classification"`
}

type stats struct {
	Harmless   *int `json:"harmless"`
	Malicious  *int `json:"malicious"`
	Suspicious *int `json:"suspicious"`
	Undetected *int `json:"undetected"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return oneline.Cut(*p, 200)
}

// fileHash returns a file object's hash of type t, lower-cased, or "" when
// it is absent or not a hash of that type (an answer is untrusted input).
func fileHash(p *string, t ioc.Type) string {
	if p == nil {
		return ""
	}
	h := strings.ToLower(strings.TrimSpace(*p))
	if got, ok := ioc.HashType(h); !ok || got != t {
		return ""
	}
	return h
}

// normalise keeps the fields verdict scores and shows.
func normalise(o *object, i ioc.IOC, gui string) model.Result {
	a := o.Attributes
	r := model.Result{Status: model.StatusFound}
	if a.Stats != nil {
		r.Malicious, r.Suspicious, r.Harmless, r.Undetected = a.Stats.Malicious, a.Stats.Suspicious, a.Stats.Harmless, a.Stats.Undetected
	}
	if r.Malicious == nil {
		r.Malicious = model.Int(0) // "no verdicts yet" scores like zero detections
	}
	r.Reputation = a.Reputation
	for _, t := range a.Tags {
		if t = oneline.Cut(t, 200); t != "" {
			r.Tags = append(r.Tags, t)
		}
	}
	r.Country, r.ASOwner, r.ASN, r.Network = str(a.Country), str(a.ASOwner), a.ASN, str(a.Network)
	r.TypeDescription, r.MeaningfulName = str(a.TypeDescription), str(a.MeaningfulName)
	if a.PopularThreatClasses != nil {
		r.ThreatLabel = str(a.PopularThreatClasses.SuggestedThreatLabel)
	}
	seen := map[string]bool{}
	for _, c := range a.Categories {
		if c = oneline.Cut(c, 200); c != "" && !seen[c] {
			seen[c] = true
			r.Categories = append(r.Categories, c)
		}
	}
	sort.Strings(r.Categories)
	if a.LastAnalysisDate != nil && *a.LastAnalysisDate > 0 {
		r.LastAnalysis = time.Unix(*a.LastAnalysisDate, 0).UTC().Format(time.RFC3339)
	}
	id := o.ID
	if i.Type.IsHash() {
		// Asked by MD5 or SHA-1, VirusTotal answers with the SHA-256 as id.
		if sha := str(a.SHA256); sha != "" {
			id = sha
		}
		// The file's three hashes, as the file object names them: they make
		// the hashes of one file one artifact when an alert carries several.
		r.MD5, r.SHA1, r.SHA256 = fileHash(a.MD5, ioc.MD5), fileHash(a.SHA1, ioc.SHA1), fileHash(&id, ioc.SHA256)
	}
	if id == "" {
		id = i.Value
	}
	r.Link = "https://www.virustotal.com/gui/" + gui + "/" + url.PathEscape(id)
	return r
}

var _ intel.HealthChecker = (*Client)(nil)

// Check implements intel.HealthChecker with GET /users/{key}/overall_quotas,
// VirusTotal's quota summary of the key's own account (the API takes the
// key where the user id goes). It is an account endpoint, not a lookup:
// it is not one of the object GETs VirusTotal counts as lookups (vt-py#71),
// so doctor does not count it against virustotal.daily_quota. VirusTotal's
// documentation does not say outright whether it is metered; its API-key
// page marks, per day, which endpoints consumed quota. A 401 wraps
// intel.ErrUnauthorized.
//
// The key travels in the path here, so every error is scrubbed of it:
// net/http quotes the request URL in its errors.
func (c *Client) Check(ctx context.Context) (intel.Health, error) {
	if c.key == "" {
		return intel.Health{}, fmt.Errorf("%s: no API key: %w", Name, intel.ErrUnauthorized)
	}
	resp, err := httpapi.Get(ctx, c.hc, Name, c.base+"/users/"+url.PathEscape(c.key)+"/overall_quotas", map[string]string{"x-apikey": c.key})
	if err != nil {
		return intel.Health{}, scrubKey(err, c.key)
	}
	if resp.Status != http.StatusOK {
		err := c.errorFor(resp)
		if errors.Is(err, intel.ErrNotFound) {
			// No account behind the key that authenticated: not an answer
			// this endpoint gives, so not a verdict on the key.
			err = fmt.Errorf("%s: quota summary: HTTP 404: %w", Name, intel.ErrBadResponse)
		}
		return intel.Health{}, scrubKey(err, c.key)
	}
	if !resp.IsJSON() {
		return intel.Health{}, scrubKey(httpapi.Unexpected(Name, resp), c.key)
	}
	var body struct {
		Data *struct {
			Daily   *quota `json:"api_requests_daily"`
			Hourly  *quota `json:"api_requests_hourly"`
			Monthly *quota `json:"api_requests_monthly"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || body.Data == nil {
		return intel.Health{}, fmt.Errorf("%s: decode quota summary: %w", Name, intel.ErrBadResponse)
	}
	h := intel.Health{KeyAccepted: true, Detail: "key accepted"}
	var parts []string
	for _, q := range []struct {
		name string
		q    *quota
	}{{"today", body.Data.Daily}, {"this hour", body.Data.Hourly}, {"this month", body.Data.Monthly}} {
		if s := q.q.String(); s != "" {
			parts = append(parts, s+" "+q.name)
		}
	}
	if len(parts) > 0 {
		h.Detail += "; VirusTotal counts " + strings.Join(parts, ", ")
	}
	return h, nil
}

// quota is one of VirusTotal's quota counters: the user's own, and the
// group's when the key belongs to one.
type quota struct {
	User *struct {
		Used    *int64 `json:"used"`
		Allowed *int64 `json:"allowed"`
	} `json:"user"`
}

// String is "37 of 500 requests", or "" when the answer lacks the figures.
func (q *quota) String() string {
	if q == nil || q.User == nil || q.User.Used == nil || q.User.Allowed == nil {
		return ""
	}
	return fmt.Sprintf("%d of %d requests", *q.User.Used, *q.User.Allowed)
}

// scrubKey hides the key in an error whose text may quote the request URL.
// The replacement keeps errors.Is (context errors, intel sentinels) but
// not errors.As, which would hand out the *url.Error that holds the key.
func scrubKey(err error, key string) error {
	s := safehttp.NewScrubber(key)
	if !s.Contains(err.Error()) {
		return err
	}
	return &scrubbedError{msg: s.Scrub(err.Error()), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string        { return e.msg }
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }
func (e *scrubbedError) As(target any) bool   { return errors.As(e.err, target) }
