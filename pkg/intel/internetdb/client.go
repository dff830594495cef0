// Package internetdb looks IPv4 addresses up in Shodan InternetDB
// (GET https://internetdb.shodan.io/{ip}): keyless, the open ports Shodan
// saw, the host names, Shodan's tags (cdn, vpn, tor, honeypot,
// compromised...), the CPEs and the CVE ids of known vulnerabilities.
//
// It adds no points by default: an open port is context, not guilt. Its
// facts are shown in every report and given to the classifier.
package internetdb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
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
)

// Name is the provider id in config, cache keys and reports.
const Name = "internetdb"

// DefaultBaseURL is the public service.
const DefaultBaseURL = "https://internetdb.shodan.io"

// Attrs of a found answer besides the common hostnames and tags.
const (
	AttrPorts = "ports" // open ports, ascending
	AttrVulns = "vulns" // CVE ids
	AttrCPEs  = "cpes"  // CPE 2.2 names of the software seen
)

// Bounds on what one answer may put in a report.
const (
	maxPorts = 100
	maxVulns = 50
	maxCPEs  = 20
	maxNames = 10
	maxTags  = 20
)

// Client is a Shodan InternetDB client.
type Client struct {
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

// New returns a client.
func New(opts ...Option) *Client {
	c := &Client{base: DefaultBaseURL, hc: safehttp.New(safehttp.Options{}), now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Registration is InternetDB's entry in the provider registry: IPv4, no
// key, a courtesy pace (Shodan publishes no limit and asks heavy users to
// talk to it), a three-day TTL (the data is refreshed about weekly), and no
// scoring rules.
var Registration = intel.Registration{
	Name:  Name,
	Title: "Shodan InternetDB",
	OptIn: true, // a third party: off until asked for (a key set, or enabled: true)
	Order: 40,
	Types: []ioc.Type{ioc.IPv4},
	Defaults: intel.Defaults{
		BaseURL:     DefaultBaseURL,
		Rate:        ratelimit.Rate{N: 1, Per: time.Second},
		DailyQuota:  5000,
		Concurrency: 2,
		TTL:         72 * time.Hour,
	},
	New: func(s intel.Settings) (intel.Provider, error) {
		opts := []Option{}
		if s.HTTPClient != nil {
			opts = append(opts, WithHTTPClient(s.HTTPClient))
		}
		if s.BaseURL != "" {
			opts = append(opts, WithBaseURL(s.BaseURL))
		}
		return New(opts...), nil
	},
}

func init() { intel.Register(Registration) }

// Name implements intel.Provider.
func (c *Client) Name() string { return Name }

// Supports implements intel.Provider: IPv4 (IPv6 is unconfirmed).
func (c *Client) Supports(t ioc.Type) bool { return t == ioc.IPv4 }

// host is the 200 answer.
type host struct {
	IP        *string           `json:"ip"`
	Ports     []json.RawMessage `json:"ports"`
	Hostnames []json.RawMessage `json:"hostnames"`
	Tags      []json.RawMessage `json:"tags"`
	Vulns     []json.RawMessage `json:"vulns"`
	CPEs      []json.RawMessage `json:"cpes"`
}

// Lookup implements intel.Provider with GET /{ip}.
func (c *Client) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	if !c.Supports(i.Type) {
		return model.Result{}, fmt.Errorf("%s: %s: %w", Name, i.Type, intel.ErrUnsupported)
	}
	resp, err := httpapi.Get(ctx, c.hc, Name, c.base+"/"+url.PathEscape(i.Value), nil)
	if err != nil {
		return model.Result{}, err
	}
	if resp.Status != http.StatusOK {
		return model.Result{}, c.errorFor(resp)
	}
	if !resp.IsJSON() {
		return model.Result{}, httpapi.Unexpected(Name, resp)
	}
	return Parse(resp.Body, i)
}

// Parse reads an InternetDB answer about i into a found Result. It refuses
// an answer about another address.
func Parse(data []byte, i ioc.IOC) (model.Result, error) {
	var h host
	if err := json.Unmarshal(data, &h); err != nil {
		return model.Result{}, fmt.Errorf("%s: decode answer: %v: %w", Name, err, intel.ErrBadResponse)
	}
	if h.IP == nil || *h.IP != i.Value {
		got := "none"
		if h.IP != nil {
			got = fmt.Sprintf("%q", oneline.Cut(*h.IP, 64))
		}
		return model.Result{}, fmt.Errorf("%s: answer is about %s, not %s: %w", Name, got, i.Value, intel.ErrBadResponse)
	}
	r := model.Result{Status: model.StatusFound, Attrs: map[string]any{}}
	var ports []int
	seen := map[int]bool{}
	for _, raw := range h.Ports {
		var p int
		if json.Unmarshal(raw, &p) == nil && p > 0 && p < 65536 && !seen[p] && len(ports) < maxPorts {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	sort.Ints(ports)
	if len(ports) > 0 {
		r.Attrs[AttrPorts] = ports
	}
	r.Hostnames = strs(h.Hostnames, maxNames, 253, nil)
	r.Tags = strs(h.Tags, maxTags, 32, nil)
	if v := strs(h.Vulns, maxVulns, 32, cveRE); len(v) > 0 {
		sort.Strings(v)
		r.Attrs[AttrVulns] = v
	}
	if v := strs(h.CPEs, maxCPEs, 128, nil); len(v) > 0 {
		r.Attrs[AttrCPEs] = v
	}
	r.Link = DefaultBaseURL + "/" + url.PathEscape(i.Value)
	return r, nil
}

// cveRE is a CVE id (the vulns Shodan lists); anything else is dropped.
var cveRE = regexp.MustCompile(`^CVE-\d{4}-\d{4,7}$`)

// strs keeps at most n distinct strings of a list, each one line of at most
// size bytes, and matching re when given.
func strs(raw []json.RawMessage, n, size int, re *regexp.Regexp) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) != nil {
			continue
		}
		s = oneline.Cut(s, size)
		if re != nil {
			s = strings.ToUpper(s)
			if !re.MatchString(s) {
				continue
			}
		}
		if s != "" && !seen[s] && len(out) < n {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// errorFor maps an error answer: 404 {"detail": "No information
// available"} is the documented not-found; the service takes no key, so a
// 401 or 403 is a refusal, not a key problem.
func (c *Client) errorFor(r *httpapi.Response) error {
	detail := ""
	var body struct {
		Detail json.RawMessage `json:"detail"`
	}
	decoded := r.IsJSON() && json.Unmarshal(r.Body, &body) == nil && body.Detail != nil
	if decoded {
		var s string
		if json.Unmarshal(body.Detail, &s) == nil {
			detail = oneline.Cut(s, 200)
		}
	}
	switch r.Status {
	case http.StatusNotFound:
		if decoded {
			return intel.ErrNotFound
		}
		return httpapi.Unexpected(Name, r) // an HTML 404 is a wrong base_url
	case http.StatusTooManyRequests:
		return &intel.RateLimitError{Provider: Name, RetryAfter: httpapi.RetryAfter(r.Header, c.now()), Detail: detail}
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity:
		return &intel.HTTPError{Provider: Name, Status: r.Status, Code: strings.ReplaceAll(strings.ToLower(http.StatusText(r.Status)), " ", "_"), Detail: detail}
	}
	if detail != "" {
		return &intel.HTTPError{Provider: Name, Status: r.Status, Detail: detail, Retryable: r.Status >= 500}
	}
	return httpapi.Unexpected(Name, r)
}

// healthIP is what the health check asks about: the address of the
// documented example answer.
const healthIP = "8.8.8.8"

// Check implements intel.HealthChecker with one keyless lookup of 8.8.8.8:
// InternetDB has no cheaper call and no quota of its own to spend.
func (c *Client) Check(ctx context.Context) (intel.Health, error) {
	r, err := c.Lookup(ctx, ioc.IOC{Type: ioc.IPv4, Value: healthIP})
	if err != nil {
		return intel.Health{}, err
	}
	d := "reachable: " + healthIP
	if p, ok := r.Attrs[AttrPorts].([]int); ok && len(p) > 0 {
		d += fmt.Sprintf(" has %d open ports", len(p))
	}
	return intel.Health{Detail: d}, nil
}
