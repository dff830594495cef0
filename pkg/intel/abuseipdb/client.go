// Package abuseipdb looks IP addresses up with AbuseIPDB API v2's CHECK
// endpoint.
package abuseipdb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/safehttp"
	"github.com/verdict-dev/verdict/pkg/score"
)

// Name is the provider id in config, cache keys and reports.
const Name = "abuseipdb"

// DefaultBaseURL is the public API.
const DefaultBaseURL = "https://api.abuseipdb.com/api/v2"

// Client is an AbuseIPDB v2 client.
type Client struct {
	key        string
	base       string
	hc         *http.Client
	maxAgeDays int
	verbose    bool
	now        func() time.Time
}

var (
	_ intel.Provider    = (*Client)(nil)
	_ intel.CacheParams = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (timeouts, proxy).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithBaseURL points the client at a proxy, a mirror or a test server.
func WithBaseURL(u string) Option { return func(c *Client) { c.base = strings.TrimRight(u, "/") } }

// WithMaxAgeDays sets maxAgeInDays (1-365): only reports newer than this count.
func WithMaxAgeDays(d int) Option { return func(c *Client) { c.maxAgeDays = d } }

// WithVerbose asks for the verbose answer (country name and the reports).
func WithVerbose(v bool) Option { return func(c *Client) { c.verbose = v } }

// New returns a client that sends key in the Key header.
func New(key string, opts ...Option) *Client {
	c := &Client{key: key, base: DefaultBaseURL, hc: safehttp.New(safehttp.Options{Secrets: []string{key}}), maxAgeDays: 90, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Registration is AbuseIPDB's entry in the provider registry: IP
// addresses, a key users already have as ABUSEIPDB_API_KEY, the free plan's
// 1000 checks a day, the two parameters that change its answers, and the
// CONTRACT.md rules.
var Registration = intel.Registration{
	Name:     Name,
	Title:    "AbuseIPDB",
	Order:    20,
	Types:    []ioc.Type{ioc.IPv4, ioc.IPv6},
	NeedsKey: true,
	KeyEnv:   []string{"ABUSEIPDB_API_KEY"},
	KeyHelp:  "sent only in the Key header",
	Defaults: intel.Defaults{
		BaseURL:     DefaultBaseURL,
		Rate:        ratelimit.Rate{N: 1, Per: time.Second},
		DailyQuota:  1000,
		Concurrency: 4,
	},
	Params: []intel.Param{
		{Name: "max_age_days", Default: 90, Help: "only reports newer than this count (1-365)", Check: func(v string) error {
			if d, _ := strconv.Atoi(v); d < 1 || d > 365 {
				return fmt.Errorf("must be 1-365, got %s", v)
			}
			return nil
		}},
		{Name: "verbose", Default: false, Help: "ask for the verbose answer (country name, individual reports): larger answers"},
	},
	Rules: []score.Rule{
		{Name: "abuseipdb-high", Types: []string{"ip"}, Provider: Name, Field: "abuse_confidence_score", Min: num(75), Points: 30,
			Description: "AbuseIPDB confidence {n}"},
		{Name: "abuseipdb-medium", Types: []string{"ip"}, Provider: Name, Field: "abuse_confidence_score", Min: num(25), Max: num(74), Points: 15,
			Description: "AbuseIPDB confidence {n}"},
	},
	Fields: []string{"abuse_confidence_score", "total_reports", "num_distinct_users", "is_tor", "is_whitelisted"},
	New: func(s intel.Settings) (intel.Provider, error) {
		opts := []Option{}
		if s.HTTPClient != nil {
			opts = append(opts, WithHTTPClient(s.HTTPClient))
		}
		if s.BaseURL != "" {
			opts = append(opts, WithBaseURL(s.BaseURL))
		}
		if v := s.Params["max_age_days"]; v != "" {
			d, err := strconv.Atoi(v)
			if err != nil || d < 1 || d > 365 {
				return nil, fmt.Errorf("max_age_days must be 1-365, got %q", v)
			}
			opts = append(opts, WithMaxAgeDays(d))
		}
		if s.Params["verbose"] == "true" {
			opts = append(opts, WithVerbose(true))
		}
		return New(s.APIKey, opts...), nil
	},
}

func num(v float64) *float64 { return &v }

func init() { intel.Register(Registration) }

// Name implements intel.Provider.
func (c *Client) Name() string { return Name }

// Supports implements intel.Provider: IPv4 and IPv6.
func (c *Client) Supports(t ioc.Type) bool { return t == ioc.IPv4 || t == ioc.IPv6 }

// CacheParams implements intel.CacheParams: the parameters that change the
// answer are part of the cache key.
func (c *Client) CacheParams() string {
	p := "maxAgeInDays=" + strconv.Itoa(c.maxAgeDays)
	if c.verbose {
		p += "&verbose"
	}
	return p
}

// Lookup implements intel.Provider with GET /check.
func (c *Client) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	if !c.Supports(i.Type) {
		return model.Result{}, fmt.Errorf("%s: %s: %w", Name, i.Type, intel.ErrUnsupported)
	}
	q := url.Values{}
	q.Set("ipAddress", i.Value)
	q.Set("maxAgeInDays", strconv.Itoa(c.maxAgeDays))
	u := c.base + "/check?" + q.Encode()
	if c.verbose {
		u += "&verbose"
	}
	resp, err := httpapi.Get(ctx, c.hc, Name, u, map[string]string{"Key": c.key})
	if err != nil {
		return model.Result{}, err
	}
	if resp.Status != http.StatusOK {
		return model.Result{}, c.errorFor(resp)
	}
	if !resp.IsJSON() {
		return model.Result{}, httpapi.Unexpected(Name, resp)
	}
	var body struct {
		Data *data `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return model.Result{}, fmt.Errorf("%s: decode answer: %v: %w", Name, err, intel.ErrBadResponse)
	}
	if body.Data == nil {
		return model.Result{}, fmt.Errorf("%s: answer has no data object: %w", Name, intel.ErrBadResponse)
	}
	return body.Data.normalise(i), nil
}

// data is the CHECK answer; countryCode, usageType, domain, isWhitelisted
// and lastReportedAt may be null.
type data struct {
	AbuseConfidenceScore *int     `json:"abuseConfidenceScore"`
	CountryCode          *string  `json:"countryCode"`
	UsageType            *string  `json:"usageType"`
	ISP                  *string  `json:"isp"`
	Domain               *string  `json:"domain"`
	Hostnames            []string `json:"hostnames"`
	IsTor                *bool    `json:"isTor"`
	IsWhitelisted        *bool    `json:"isWhitelisted"`
	TotalReports         *int     `json:"totalReports"`
	NumDistinctUsers     *int     `json:"numDistinctUsers"`
	LastReportedAt       *string  `json:"lastReportedAt"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	s := strings.Join(strings.Fields(*p), " ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// normalise keeps what verdict scores and shows. AbuseIPDB answers for
// every public address, so the status is always found (score 0 when nobody
// reported it).
func (d *data) normalise(i ioc.IOC) model.Result {
	r := model.Result{Status: model.StatusFound}
	r.AbuseConfidenceScore = d.AbuseConfidenceScore
	if r.AbuseConfidenceScore == nil {
		r.AbuseConfidenceScore = model.Int(0)
	}
	r.Country, r.UsageType, r.ISP, r.Domain = str(d.CountryCode), str(d.UsageType), str(d.ISP), str(d.Domain)
	r.IsTor, r.IsWhitelisted = d.IsTor, d.IsWhitelisted
	r.TotalReports, r.NumDistinctUsers = d.TotalReports, d.NumDistinctUsers
	r.LastReportedAt = str(d.LastReportedAt)
	for _, h := range d.Hostnames[:min(len(d.Hostnames), 10)] {
		if h = str(&h); h != "" {
			r.Hostnames = append(r.Hostnames, h)
		}
	}
	r.Link = "https://www.abuseipdb.com/check/" + url.PathEscape(i.Value)
	return r
}

// errorFor maps an error answer by status: 401 is a rejected key, 422 a
// refused parameter, 429 the daily limit (Retry-After says until when).
func (c *Client) errorFor(r *httpapi.Response) error {
	detail := ""
	if r.IsJSON() {
		var body struct {
			Errors []struct {
				Detail string `json:"detail"`
			} `json:"errors"`
		}
		if json.Unmarshal(r.Body, &body) == nil && len(body.Errors) > 0 {
			detail = strings.Join(strings.Fields(body.Errors[0].Detail), " ")
		}
	}
	switch r.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("HTTP %d (%s): %w", r.Status, detail, intel.ErrUnauthorized)
	case http.StatusTooManyRequests:
		return &intel.RateLimitError{Provider: Name, RetryAfter: httpapi.RetryAfter(r.Header, c.now()),
			Quota: r.Header.Get("X-RateLimit-Remaining") == "0", Detail: detail}
	case http.StatusUnprocessableEntity:
		return &intel.HTTPError{Provider: Name, Status: r.Status, Code: "unprocessable", Detail: detail}
	}
	if detail != "" {
		return &intel.HTTPError{Provider: Name, Status: r.Status, Detail: detail, Retryable: r.Status >= 500}
	}
	return httpapi.Unexpected(Name, r)
}

var _ intel.HealthChecker = (*Client)(nil)

// Check implements intel.HealthChecker as honestly as AbuseIPDB allows.
// AbuseIPDB has no endpoint that checks a key for free: every v2 endpoint
// counts each request made with a key against that endpoint's daily limit
// (reference/apis.md 2.5; the free plan has 1,000 checks a day). So Check
// never sends the key. It sends one request without it (GET /check, no Key
// header), which no account is charged for: the 401 that comes back says
// the API is reachable through this machine's network and proxy, and how
// fast. Health.KeyAccepted stays false: the key is not checked, and a
// rejected one shows up as status error (401) in the next run's report.
func (c *Client) Check(ctx context.Context) (intel.Health, error) {
	q := url.Values{}
	q.Set("ipAddress", "192.0.2.1") // documentation address: nothing to look up
	q.Set("maxAgeInDays", "1")
	resp, err := httpapi.Get(ctx, c.hc, Name, c.base+"/check?"+q.Encode(), nil)
	if err != nil {
		return intel.Health{}, err
	}
	const why = "key not checked: AbuseIPDB counts every request made with a key against its daily quota and has no free endpoint to check one, so doctor sends it nowhere (a rejected key shows as status error, 401, in the next report)"
	switch resp.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		if !resp.IsJSON() {
			// Not AbuseIPDB's answer (a proxy's login page): no key was
			// sent, so it says nothing of the key either.
			return intel.Health{}, httpapi.Unexpected(Name, resp)
		}
		return intel.Health{Detail: "API reachable; " + why}, nil
	case http.StatusOK:
		if !resp.IsJSON() {
			return intel.Health{}, httpapi.Unexpected(Name, resp)
		}
		// Something between here and AbuseIPDB added a key: whose quota it
		// spent is unknown.
		return intel.Health{SpentQuota: true, Detail: "API reachable and answered without a key (does a proxy add one?); " + why}, nil
	}
	return intel.Health{}, c.errorFor(resp)
}
