// Package rdap looks up when a domain was registered, and by which
// registrar, over RDAP (RFC 9082, 9083): keyless, straight from the
// registry's own RDAP server, found through the IANA bootstrap file (RFC
// 9224). A domain registered last week is one of the strongest phishing and
// C2 signals; verdict scores it by the domain's age on the run's clock.
//
// Only the registrable domain is asked about (the ICANN public suffix plus
// one label), so www.evil.top and mail.evil.top cost one request, and the
// answer is cached under it. Redirects are followed only to RDAP servers the
// bootstrap lists, and each server gets at most server_rate requests.
package rdap

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verdict-dev/verdict/pkg/cache"
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
const Name = "rdap"

// DefaultBaseURL is IANA's directory of bootstrap files; the DNS one is
// DefaultBaseURL + "/dns.json".
const DefaultBaseURL = "https://data.iana.org/rdap"

// DefaultServerRate is the most requests one RDAP server gets: registries
// throttle (RFC 7480 section 5.5) and publish no figures, so verdict stays
// at one a second per server.
var DefaultServerRate = ratelimit.Rate{N: 1, Per: time.Second}

// Attrs of a found answer (model.Result.Attrs).
const (
	// AttrDomain is the registrable domain that was asked about.
	AttrDomain = "registered_domain"
	// AttrRegistered is the registration event's date, RFC 3339 in UTC;
	// absent when the registry gave none ("found, age unknown").
	AttrRegistered = "registered"
	// AttrAgeDays is whole UTC calendar days from AttrRegistered to the
	// run's clock: filled by Age on every run, never cached.
	AttrAgeDays = "domain_age_days"
	// AttrRegistrar is the fn of the entity with role registrar.
	AttrRegistrar = "registrar"
	// AttrExpires is the expiration event's date, RFC 3339 in UTC.
	AttrExpires = "expires"
	// AttrStatus is the domain's EPP status values ("client hold").
	AttrStatus = "domain_status"
)

// Client is an RDAP client for domains.
type Client struct {
	base       string
	hc         *http.Client
	cache      cache.Cache
	log        *slog.Logger
	now        func() time.Time
	serverRate ratelimit.Rate

	bootMu sync.Mutex // one bootstrap fetch at a time
	boot   atomic.Pointer[Bootstrap]

	limMu    sync.Mutex
	limiters map[string]*ratelimit.Limiter // by server origin
}

var (
	_ intel.Provider      = (*Client)(nil)
	_ intel.CacheKeyer    = (*Client)(nil)
	_ intel.Ager          = (*Client)(nil)
	_ intel.HealthChecker = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client)

// WithBaseURL sets where the bootstrap file is (a mirror, a test server).
func WithBaseURL(u string) Option { return func(c *Client) { c.base = strings.TrimRight(u, "/") } }

// WithTimeout bounds one request, redirects included.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.hc = safehttp.New(safehttp.Options{Timeout: d, AllowRedirect: c.mayRedirect}) }
}

// WithCache keeps the bootstrap file in c for BootstrapTTL.
func WithCache(cc cache.Cache) Option { return func(c *Client) { c.cache = cc } }

// WithServerRate sets the most requests one RDAP server gets.
func WithServerRate(r ratelimit.Rate) Option { return func(c *Client) { c.serverRate = r } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// New returns a client. Its HTTP client is always its own (pkg/safehttp):
// the redirect policy, RDAP servers listed in the bootstrap and nowhere
// else, is part of the provider.
func New(opts ...Option) *Client {
	c := &Client{base: DefaultBaseURL, now: time.Now, serverRate: DefaultServerRate, limiters: map[string]*ratelimit.Limiter{}, log: slog.Default()}
	c.hc = safehttp.New(safehttp.Options{AllowRedirect: c.mayRedirect})
	for _, o := range opts {
		o(c)
	}
	return c
}

// Registration is RDAP's entry in the provider registry: domains, no key,
// a long TTL (a registration date does not change; a re-registration after
// a drop is what the TTL bounds), and the domain-age rules.
var Registration = intel.Registration{
	Name:  Name,
	Title: "RDAP",
	OptIn: true, // a third party: off until asked for (a key set, or enabled: true)
	Order: 25,
	Types: []ioc.Type{ioc.Domain},
	Defaults: intel.Defaults{
		BaseURL: DefaultBaseURL,
		// The engine's rate is for all servers together; server_rate
		// paces each registry.
		Rate:        ratelimit.Rate{N: 10, Per: time.Second},
		DailyQuota:  5000,
		Concurrency: 4,
		TTL:         7 * 24 * time.Hour,
	},
	Params: []intel.Param{
		{Name: "server_rate", Default: DefaultServerRate.String(), Help: "at most N requests per s, m, h or d to any one RDAP server (registries throttle); 0 = no limit",
			Check: func(v string) error { _, err := ratelimit.Parse(v); return err }},
	},
	Rules: []score.Rule{
		{Name: "rdap-registered-7d", Types: []string{"domain"}, Provider: Name, Field: AttrAgeDays, Max: num(7), Points: 40, Group: "domain-age",
			Description: "registered {date:" + AttrRegistered + "} ({n} day{s} ago)"},
		{Name: "rdap-registered-30d", Types: []string{"domain"}, Provider: Name, Field: AttrAgeDays, Max: num(30), Points: 25, Group: "domain-age",
			Description: "registered {date:" + AttrRegistered + "} ({n} day{s} ago)"},
	},
	Fields: []string{AttrAgeDays},
	New: func(s intel.Settings) (intel.Provider, error) {
		opts := []Option{WithCache(s.Cache)}
		if s.Logger != nil {
			opts = append(opts, WithLogger(s.Logger))
		}
		if s.BaseURL != "" {
			opts = append(opts, WithBaseURL(s.BaseURL))
		}
		if s.HTTPClient != nil && s.HTTPClient.Timeout > 0 {
			opts = append(opts, WithTimeout(s.HTTPClient.Timeout))
		}
		if v := s.Params["server_rate"]; v != "" {
			r, err := ratelimit.Parse(v)
			if err != nil {
				return nil, fmt.Errorf("server_rate: %w", err)
			}
			opts = append(opts, WithServerRate(r))
		}
		return New(opts...), nil
	},
}

func num(v float64) *float64 { return &v }

func init() { intel.Register(Registration) }

// Name implements intel.Provider.
func (c *Client) Name() string { return Name }

// Supports implements intel.Provider: domains.
func (c *Client) Supports(t ioc.Type) bool { return t == ioc.Domain }

// CacheKey implements intel.CacheKeyer: the registrable domain.
func (c *Client) CacheKey(i ioc.IOC) string {
	if d, err := Registrable(i.Value); err == nil {
		return d
	}
	return i.Value
}

// mayRedirect is the HTTP client's policy for a redirect to another server:
// only to one the bootstrap lists (RDAP servers send clients on to each
// other; nothing else has a reason to).
func (c *Client) mayRedirect(_, to *url.URL) bool {
	b := c.boot.Load()
	return b != nil && b.Listed(to)
}

// limiter returns the pacing of one RDAP server.
func (c *Client) limiter(server string) *ratelimit.Limiter {
	c.limMu.Lock()
	defer c.limMu.Unlock()
	l := c.limiters[server]
	if l == nil {
		l = ratelimit.NewLimiter(c.serverRate)
		c.limiters[server] = l
	}
	return l
}

// Lookup implements intel.Provider: GET {service}domain/{registrable}.
func (c *Client) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	if !c.Supports(i.Type) {
		return model.Result{}, fmt.Errorf("%s: %s: %w", Name, i.Type, intel.ErrUnsupported)
	}
	domain, err := Registrable(i.Value)
	if err != nil {
		// A public suffix is nobody's registration: nothing to know.
		return model.Result{}, fmt.Errorf("%s: %w: %w", Name, err, intel.ErrNotFound)
	}
	b, err := c.bootstrap(ctx)
	if err != nil {
		return model.Result{}, err
	}
	base, _, ok := b.Service(domain)
	if !ok {
		// IANA lists no RDAP service for the TLD (some ccTLDs): RDAP has
		// nothing to say about it.
		return model.Result{}, fmt.Errorf("%s: no RDAP service for %s in the IANA bootstrap: %w", Name, domain, intel.ErrNotFound)
	}
	u, err := url.Parse(base)
	if err != nil {
		return model.Result{}, fmt.Errorf("%s: parse service URL: %w", Name, err)
	}
	if _, err := c.limiter(origin(u)).Wait(ctx); err != nil {
		return model.Result{}, err
	}
	link := base + "domain/" + url.PathEscape(domain)
	resp, err := httpapi.Get(ctx, c.hc, Name, link, map[string]string{"Accept": "application/rdap+json, application/json"})
	if err != nil {
		return model.Result{}, err
	}
	if resp.Status != http.StatusOK {
		return model.Result{}, c.errorFor(resp)
	}
	if !resp.IsJSON() {
		return model.Result{}, httpapi.Unexpected(Name, resp)
	}
	r, ldh, err := parseDomain(resp.Body)
	if err != nil {
		return model.Result{}, fmt.Errorf("%s: %w: %w", Name, err, intel.ErrBadResponse)
	}
	if ldh != "" && !strings.EqualFold(strings.TrimSuffix(ldh, "."), domain) {
		// An answer about another domain (a misrouted redirect, a hostile
		// server) says nothing about this one.
		return model.Result{}, fmt.Errorf("%s: answer is about %q, not %s: %w", Name, oneline.Cut(ldh, 64), domain, intel.ErrBadResponse)
	}
	r.Attrs[AttrDomain] = domain
	r.Link = link
	return r, nil
}

// errorFor maps an error answer by status (RFC 7480 section 5, RFC 9083
// section 6). RDAP takes no key, so a 401 or 403 is the server refusing
// this client, not a key problem.
func (c *Client) errorFor(r *httpapi.Response) error {
	detail := ""
	if r.IsJSON() {
		var body struct {
			ErrorCode   int      `json:"errorCode"`
			Title       string   `json:"title"`
			Description []string `json:"description"`
		}
		if json.Unmarshal(r.Body, &body) == nil {
			detail = oneline.Cut(strings.TrimSpace(body.Title+" "+strings.Join(body.Description, " ")), 200)
		}
	}
	switch r.Status {
	case http.StatusNotFound:
		return intel.ErrNotFound // the registry has no such domain
	case http.StatusTooManyRequests:
		return &intel.RateLimitError{Provider: Name, RetryAfter: httpapi.RetryAfter(r.Header, c.now()), Detail: detail}
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotImplemented:
		return &intel.HTTPError{Provider: Name, Status: r.Status, Code: strings.ReplaceAll(strings.ToLower(http.StatusText(r.Status)), " ", "_"), Detail: detail}
	}
	if detail != "" {
		return &intel.HTTPError{Provider: Name, Status: r.Status, Detail: detail, Retryable: r.Status >= 500}
	}
	return httpapi.Unexpected(Name, r)
}

// domainObject is the part of an RFC 9083 domain object verdict reads.
// Every member may be missing or of the wrong type: an answer is untrusted.
type domainObject struct {
	ObjectClassName string            `json:"objectClassName"`
	LDHName         string            `json:"ldhName"`
	Status          []json.RawMessage `json:"status"`
	Events          []event           `json:"events"`
	Entities        []entity          `json:"entities"`
}

type event struct {
	Action string `json:"eventAction"`
	Date   string `json:"eventDate"`
}

type entity struct {
	Roles     []string        `json:"roles"`
	VCard     json.RawMessage `json:"vcardArray"`
	PublicIDs []struct {
		Type       string `json:"type"`
		Identifier string `json:"identifier"`
	} `json:"publicIds"`
}

// lenient decodes what it can: a member of the wrong type is dropped, not
// a reason to refuse the whole answer.
func (o *domainObject) lenient(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	_ = json.Unmarshal(raw["objectClassName"], &o.ObjectClassName)
	_ = json.Unmarshal(raw["ldhName"], &o.LDHName)
	_ = json.Unmarshal(raw["status"], &o.Status)
	var evs []json.RawMessage
	_ = json.Unmarshal(raw["events"], &evs)
	for _, e := range evs {
		var ev event
		if json.Unmarshal(e, &ev) == nil {
			o.Events = append(o.Events, ev)
		}
	}
	var ents []json.RawMessage
	_ = json.Unmarshal(raw["entities"], &ents)
	for _, e := range ents {
		var en entity
		if json.Unmarshal(e, &en) == nil {
			o.Entities = append(o.Entities, en)
		}
	}
	return nil
}

// ParseDomain reads an RDAP domain answer into a found Result: the
// registration and expiration dates, the registrar and the status values.
// An answer without a registration event is still found, with its age
// unknown. The result has non-nil Attrs.
func ParseDomain(data []byte) (model.Result, error) {
	r, _, err := parseDomain(data)
	return r, err
}

// parseDomain is ParseDomain, and the object's ldhName.
func parseDomain(data []byte) (model.Result, string, error) {
	var o domainObject
	if err := o.lenient(data); err != nil {
		return model.Result{}, "", fmt.Errorf("decode answer: %w", err)
	}
	if o.ObjectClassName != "" && !strings.EqualFold(o.ObjectClassName, "domain") {
		return model.Result{}, "", fmt.Errorf("answer is a %q object, not a domain", oneline.Cut(o.ObjectClassName, 32))
	}
	r := model.Result{Status: model.StatusFound, Attrs: map[string]any{}}
	var registered, expires time.Time
	for _, e := range o.Events {
		t, ok := parseDate(e.Date)
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(e.Action)) {
		case "registration":
			// After a drop and a re-registration the latest one is the
			// domain's age as a phishing signal.
			if t.After(registered) {
				registered = t
			}
		case "expiration":
			if t.After(expires) {
				expires = t
			}
		}
	}
	if !registered.IsZero() {
		r.Attrs[AttrRegistered] = registered.Format(time.RFC3339)
	}
	if !expires.IsZero() {
		r.Attrs[AttrExpires] = expires.Format(time.RFC3339)
	}
	if reg := registrar(o.Entities); reg != "" {
		r.Attrs[AttrRegistrar] = reg
	}
	var status []string
	for _, raw := range o.Status {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s = oneline.Cut(s, 64); s != "" && len(status) < 10 {
				status = append(status, s)
			}
		}
	}
	if len(status) > 0 {
		r.Attrs[AttrStatus] = status
	}
	return r, o.LDHName, nil
}

// registrar is the fn of the first entity with role registrar (RFC 9083
// section 5.1 vcardArray: ["vcard", [[name, params, type, value], ...]]).
func registrar(ents []entity) string {
	for _, e := range ents {
		isRegistrar := false
		for _, role := range e.Roles {
			isRegistrar = isRegistrar || strings.EqualFold(strings.TrimSpace(role), "registrar")
		}
		if !isRegistrar {
			continue
		}
		var card []json.RawMessage
		if json.Unmarshal(e.VCard, &card) != nil || len(card) < 2 {
			continue
		}
		var props [][]json.RawMessage
		if json.Unmarshal(card[1], &props) != nil {
			continue
		}
		for _, p := range props {
			if len(p) < 4 {
				continue
			}
			var name, value string
			if json.Unmarshal(p[0], &name) != nil || !strings.EqualFold(name, "fn") || json.Unmarshal(p[3], &value) != nil {
				continue
			}
			if v := oneline.Cut(value, 128); v != "" {
				return v
			}
		}
	}
	return ""
}

// dateLayouts are RFC 3339 (what RFC 9083 asks for) and the forms some
// servers send instead.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05Z0700", "2006-01-02"}

// parseDate reads an event date; dates before 1985 (the first .com) or
// unreadable ones are not dates verdict trusts.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return time.Time{}, false
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			t = t.UTC().Truncate(time.Second)
			return t, t.Year() >= 1985
		}
	}
	return time.Time{}, false
}

// Age implements intel.Ager: days from the registration date to now, in
// whole UTC calendar days (the date the report shows). A registration more
// than a day in the future (a broken clock, a broken server) has no age.
func (c *Client) Age(r *model.Result, now time.Time) {
	delete(r.Attrs, AttrAgeDays)
	s, _ := r.Attrs[AttrRegistered].(string)
	reg, ok := parseDate(s)
	if !ok {
		return
	}
	days, ok := AgeDays(reg, now)
	if ok {
		r.Attrs[AttrAgeDays] = days
	}
}

// AgeDays is the number of UTC calendar days from registered to now: 0 on
// the day of registration. ok is false for a registration more than a day
// after now.
func AgeDays(registered, now time.Time) (int, bool) {
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	n := int(day(now).Sub(day(registered)) / (24 * time.Hour))
	if n < -1 {
		return 0, false
	}
	return max(n, 0), true
}

// Check implements intel.HealthChecker: the bootstrap file, which costs no
// registry anything.
func (c *Client) Check(ctx context.Context) (intel.Health, error) {
	b, err := c.bootstrap(ctx)
	if err != nil {
		return intel.Health{}, err
	}
	d := fmt.Sprintf("bootstrap %s: %d TLDs on %d RDAP servers", c.base+"/"+BootstrapFile, b.Len(), len(b.Origins()))
	if b.Publication != "" {
		d += ", published " + b.Publication
	}
	return intel.Health{Detail: d}, nil
}
