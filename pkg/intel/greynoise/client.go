// Package greynoise looks IPv4 addresses up in the GreyNoise Community API
// (GET /v3/community/{ip}): whether an address is internet background noise
// (a mass scanner), a known common business service (RIOT: 8.8.8.8, Office
// 365), and GreyNoise's label for it (malicious, benign, unknown).
//
// It works without a key, on a handful of lookups a day; a free Community
// key, sent in the `key` header, raises the allowance. A benign or RIOT
// answer keeps an address off every blocklist export, and the heuristic
// classifier cites it as a reason to call an alert a false positive.
package greynoise

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
	"github.com/verdict-dev/verdict/pkg/internal/oneline"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/safehttp"
	"github.com/verdict-dev/verdict/pkg/score"
)

// Name is the provider id in config, cache keys and reports (the blocklist
// export and the heuristic know it by this name).
const Name = "greynoise"

// DefaultBaseURL is the public API, without a version.
const DefaultBaseURL = "https://api.greynoise.io"

// DefaultKeylessQuota is the daily quota without a key. GreyNoise's own
// figure is unconfirmed (its OpenAPI example says 100 lookups a day
// unauthenticated, a 2026 description 25 a week): 3 a day stays inside
// either.
const DefaultKeylessQuota = 3

// Attrs of a found answer besides the common classification and riot.
const (
	AttrNoise    = "noise"     // seen mass-scanning the internet
	AttrName     = "name"      // the RIOT service's or actor's name
	AttrLastSeen = "last_seen" // YYYY-MM-DD
)

// Client is a GreyNoise Community API client.
type Client struct {
	key          string
	base         string
	hc           *http.Client
	keylessQuota int
	now          func() time.Time
}

var (
	_ intel.Provider      = (*Client)(nil)
	_ intel.QuotaOverride = (*Client)(nil)
	_ intel.HealthChecker = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (timeouts, proxy).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithBaseURL points the client at a proxy, a mirror or a test server.
func WithBaseURL(u string) Option { return func(c *Client) { c.base = strings.TrimRight(u, "/") } }

// WithKeylessQuota sets the daily quota used without a key.
func WithKeylessQuota(n int) Option { return func(c *Client) { c.keylessQuota = n } }

// New returns a client; key may be empty (the keyless Community API).
func New(key string, opts ...Option) *Client {
	c := &Client{key: key, base: DefaultBaseURL, hc: safehttp.New(safehttp.Options{Secrets: []string{key}}), keylessQuota: DefaultKeylessQuota, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Registration is GreyNoise's entry in the provider registry: IPv4 only
// (the API refuses anything else), an optional key users already have as
// GREYNOISE_API_KEY, small quotas, and rules worth 0 points that users may
// raise.
var Registration = intel.Registration{
	Name:    Name,
	Title:   "GreyNoise",
	OptIn:   true, // a third party: off until asked for (a key set, or enabled: true)
	Order:   30,
	Types:   []ioc.Type{ioc.IPv4},
	KeyEnv:  []string{"GREYNOISE_API_KEY"},
	KeyHelp: "sent only in the key header",
	Defaults: intel.Defaults{
		BaseURL:     DefaultBaseURL,
		Rate:        ratelimit.Rate{N: 1, Per: time.Second},
		DailyQuota:  50,
		Concurrency: 2,
	},
	Params: []intel.Param{
		{Name: "keyless_daily_quota", Default: DefaultKeylessQuota,
			Help: "requests per UTC day without an api_key (the keyless Community API allows only a few); daily_quota applies with a key",
			Check: func(v string) error {
				if n, err := strconv.Atoi(v); err != nil || n < 0 {
					return fmt.Errorf("must be 0 or more, got %s", v)
				}
				return nil
			}},
	},
	// Worth 0 points, so switched off: GreyNoise says who scans, not who
	// attacks. Raise them in `scoring` to use GreyNoise's word.
	Rules: []score.Rule{
		{Name: "greynoise-malicious", Types: []string{"ipv4"}, Provider: Name, Field: "classification", Min: num(1), Points: 0,
			Description: "GreyNoise classifies it malicious"},
		{Name: "greynoise-benign", Types: []string{"ipv4"}, Provider: Name, Field: "classification", Max: num(-1), Points: 0,
			Description: "GreyNoise classifies it benign ({attr:name})"},
	},
	Fields: []string{AttrNoise},
	New: func(s intel.Settings) (intel.Provider, error) {
		opts := []Option{}
		if s.HTTPClient != nil {
			opts = append(opts, WithHTTPClient(s.HTTPClient))
		}
		if s.BaseURL != "" {
			opts = append(opts, WithBaseURL(s.BaseURL))
		}
		if v := s.Params["keyless_daily_quota"]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("keyless_daily_quota must be 0 or more, got %q", v)
			}
			opts = append(opts, WithKeylessQuota(n))
		}
		return New(s.APIKey, opts...), nil
	},
}

func num(v float64) *float64 { return &v }

func init() { intel.Register(Registration) }

// Name implements intel.Provider.
func (c *Client) Name() string { return Name }

// Supports implements intel.Provider: IPv4 only ("Request is not a valid
// routable IPv4 address" for anything else).
func (c *Client) Supports(t ioc.Type) bool { return t == ioc.IPv4 }

// DailyQuota implements intel.QuotaOverride: without a key, the keyless
// quota, however high daily_quota is.
func (c *Client) DailyQuota(configured int) int {
	if c.key != "" {
		return configured
	}
	if configured <= 0 || c.keylessQuota < configured {
		return c.keylessQuota
	}
	return configured
}

// headers sends the key only when there is one: an empty key header is not
// the keyless API, it is a wrong key.
func (c *Client) headers() map[string]string {
	if c.key == "" {
		return nil
	}
	return map[string]string{"key": c.key}
}

// answer is the Community API's body, 200 and 404 alike.
type answer struct {
	IP             *string `json:"ip"`
	Noise          *bool   `json:"noise"`
	RIOT           *bool   `json:"riot"`
	Classification *string `json:"classification"`
	Name           *string `json:"name"`
	Link           *string `json:"link"`
	LastSeen       *string `json:"last_seen"`
	Message        *string `json:"message"`
	// 429 only
	Plan      *string `json:"plan"`
	RateLimit *string `json:"rate-limit"`
}

// Lookup implements intel.Provider with GET /v3/community/{ip}.
func (c *Client) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	if !c.Supports(i.Type) {
		return model.Result{}, fmt.Errorf("%s: %s: %w", Name, i.Type, intel.ErrUnsupported)
	}
	resp, err := httpapi.Get(ctx, c.hc, Name, c.base+"/v3/community/"+url.PathEscape(i.Value), c.headers())
	if err != nil {
		return model.Result{}, err
	}
	var a answer
	decoded := resp.IsJSON() && json.Unmarshal(resp.Body, &a) == nil
	if resp.Status != http.StatusOK {
		return model.Result{}, c.errorFor(resp, a, decoded)
	}
	if !resp.IsJSON() {
		return model.Result{}, httpapi.Unexpected(Name, resp)
	}
	return Parse(resp.Body, i)
}

// Parse reads a 200 Community API answer about i into a found Result. An
// answer about another address, or one that says nothing (no
// classification, riot or noise), is refused.
func Parse(data []byte, i ioc.IOC) (model.Result, error) {
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		return model.Result{}, fmt.Errorf("%s: decode answer: %v: %w", Name, err, intel.ErrBadResponse)
	}
	if a.IP != nil && *a.IP != i.Value {
		return model.Result{}, fmt.Errorf("%s: answer is about %q, not %s: %w", Name, oneline.Cut(*a.IP, 64), i.Value, intel.ErrBadResponse)
	}
	if a.Classification == nil && a.RIOT == nil && a.Noise == nil {
		return model.Result{}, fmt.Errorf("%s: answer has no classification, riot or noise: %w", Name, intel.ErrBadResponse)
	}
	return a.normalise(i), nil
}

// normalise keeps what verdict shows and scores; every string is the
// server's, so it is clipped to one line.
func (a *answer) normalise(i ioc.IOC) model.Result {
	r := model.Result{Status: model.StatusFound, Attrs: map[string]any{}}
	if a.Classification != nil {
		switch cl := strings.ToLower(strings.TrimSpace(*a.Classification)); cl {
		case "malicious", "benign", "unknown":
			r.Classification = cl
		case "":
		default:
			r.Classification = "unknown" // a label this version does not know claims nothing
		}
	}
	r.RIOT = a.RIOT
	if a.Noise != nil {
		r.Attrs[AttrNoise] = *a.Noise
	}
	if a.Name != nil {
		if n := oneline.Cut(*a.Name, 100); n != "" && !strings.EqualFold(n, "unknown") {
			r.Attrs[AttrName] = n
		}
	}
	if a.LastSeen != nil {
		if t, err := time.Parse("2006-01-02", strings.TrimSpace(*a.LastSeen)); err == nil {
			r.Attrs[AttrLastSeen] = t.Format("2006-01-02")
		}
	}
	// The visualizer page, as GreyNoise links it when the link is its own;
	// a link elsewhere is not taken.
	r.Link = "https://viz.greynoise.io/ip/" + url.PathEscape(i.Value)
	if a.Link != nil {
		if u, err := url.Parse(*a.Link); err == nil && u.Scheme == "https" && u.Host == "viz.greynoise.io" && u.User == nil &&
			strings.HasPrefix(u.Path, "/") && len(*a.Link) < 200 {
			r.Link = u.String()
		}
	}
	return r
}

// errorFor maps an error answer by status: 404 is the documented "not
// observed" answer (a normal not-found), 400 an address GreyNoise refuses,
// 401 a rejected key, 429 the rate or the daily/weekly allowance.
func (c *Client) errorFor(r *httpapi.Response, a answer, decoded bool) error {
	detail := ""
	if decoded && a.Message != nil {
		detail = oneline.Cut(*a.Message, 200)
	}
	switch r.Status {
	case http.StatusNotFound:
		if decoded {
			return intel.ErrNotFound
		}
		// An HTML 404 is a wrong base_url, not an unknown address.
		return httpapi.Unexpected(Name, r)
	case http.StatusUnauthorized, http.StatusForbidden:
		why := detail
		if c.key == "" {
			why = strings.TrimSpace(why + " (no key was sent: the keyless API refused)")
		}
		return fmt.Errorf("HTTP %d (%s): %w", r.Status, why, intel.ErrUnauthorized)
	case http.StatusTooManyRequests:
		rl := &intel.RateLimitError{Provider: Name, RetryAfter: httpapi.RetryAfter(r.Header, c.now()), Detail: detail}
		if decoded && a.RateLimit != nil {
			// "100-lookups/day": the allowance, not the pace, is spent; it
			// comes back tomorrow at the earliest, so stop for this run
			// rather than ask again.
			limit := oneline.Cut(*a.RateLimit, 64)
			rl.Quota = true
			rl.Detail = strings.TrimSpace(limit + " " + rl.Detail)
			if rl.RetryAfter == 0 {
				now := c.now().UTC()
				rl.RetryAfter = time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC).Sub(now)
			}
		}
		return rl
	case http.StatusBadRequest:
		return &intel.HTTPError{Provider: Name, Status: r.Status, Code: "bad_request", Detail: detail}
	}
	if detail != "" {
		return &intel.HTTPError{Provider: Name, Status: r.Status, Detail: detail, Retryable: r.Status >= 500}
	}
	return httpapi.Unexpected(Name, r)
}

// Check implements intel.HealthChecker with GET /ping, which tests the key
// and spends no lookup. Without a key there is nothing to check.
func (c *Client) Check(ctx context.Context) (intel.Health, error) {
	if c.key == "" {
		return intel.Health{Detail: fmt.Sprintf("no API key: the keyless Community API, %d lookups a day (greynoise.keyless_daily_quota)", c.keylessQuota)}, nil
	}
	resp, err := httpapi.Get(ctx, c.hc, Name, c.base+"/ping", c.headers())
	if err != nil {
		return intel.Health{}, err
	}
	var ping struct {
		Expiration *string `json:"expiration"`
		Message    *string `json:"message"`
		Offering   *string `json:"offering"`
	}
	decoded := resp.IsJSON() && json.Unmarshal(resp.Body, &ping) == nil
	switch {
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		return intel.Health{}, fmt.Errorf("HTTP %d: %w", resp.Status, intel.ErrUnauthorized)
	case resp.Status != http.StatusOK || !decoded:
		return intel.Health{}, httpapi.Unexpected(Name, resp)
	}
	d := "key accepted"
	if ping.Offering != nil && *ping.Offering != "" {
		d += ", plan " + oneline.Cut(*ping.Offering, 32)
	}
	if ping.Expiration != nil && *ping.Expiration != "" {
		d += ", expires " + oneline.Cut(*ping.Expiration, 32)
	}
	return intel.Health{KeyAccepted: true, Detail: d}, nil
}
