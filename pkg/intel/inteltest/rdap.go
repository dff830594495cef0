package inteltest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// RDAPDomain is what a registry's RDAP fake knows about one domain.
type RDAPDomain struct {
	// Registered is the registration event's date; zero leaves the event
	// out (the answer then has only "last update of RDAP database").
	Registered time.Time
	Expires    time.Time
	Registrar  string
	Status     []string
	// LDHName overrides the answer's ldhName (the name, upper-cased): an
	// answer about another domain.
	LDHName string
}

// RDAPServer is a fake of one registry's RDAP service (RFC 9082, 9083;
// reference/apis.md section 5.5): GET {BaseURL}domain/{name}, answered
// only when the request accepts application/rdap+json. Unknown domains get
// an RFC 9083 error body with a 404.
type RDAPServer struct {
	*Server
	mu        sync.Mutex
	domains   map[string]RDAPDomain
	redirects map[string]string // domain -> base URL of the server it is sent to
}

// NewRDAPServer starts a registry fake.
func NewRDAPServer(t testing.TB) *RDAPServer {
	r := &RDAPServer{domains: map[string]RDAPDomain{}, redirects: map[string]string{}}
	r.Server = newServer(t, "", r.handle)
	return r
}

// BaseURL is the service URL a bootstrap file lists, ending in "/".
func (r *RDAPServer) BaseURL() string { return r.URL + "/rdap/" }

// Set makes the fake know a domain (lower case, A-labels).
func (r *RDAPServer) Set(domain string, d RDAPDomain) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.domains[domain] = d
}

// Redirect answers questions about domain with a 301 to the same question
// at another service (RDAP servers send clients on to each other).
func (r *RDAPServer) Redirect(domain, toBaseURL string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.redirects[domain] = toBaseURL
}

// Domains lists the domains asked about, in order.
func (r *RDAPServer) Domains() []string {
	var out []string
	for _, q := range r.Requests() {
		if d, ok := strings.CutPrefix(q.Path, "/rdap/domain/"); ok {
			out = append(out, d)
		}
	}
	return out
}

func rdapError(status int, msg string) any {
	return map[string]any{"errorCode": status, "title": http.StatusText(status), "description": []string{msg},
		"rdapConformance": []string{"rdap_level_0"}}
}

func (r *RDAPServer) handle(s *Server, w http.ResponseWriter, req *http.Request) {
	name, ok := strings.CutPrefix(req.URL.Path, "/rdap/domain/")
	if !ok || req.Method != http.MethodGet {
		writeJSON(w, 400, rdapError(400, "unsupported query"))
		return
	}
	if !strings.Contains(req.Header.Get("Accept"), "application/rdap+json") {
		writeHTML(w, 406)
		return
	}
	if s.play(w, req, name, rdapError) {
		return
	}
	r.mu.Lock()
	d, known := r.domains[name]
	to, moved := r.redirects[name]
	r.mu.Unlock()
	if moved {
		http.Redirect(w, req, to+"domain/"+name, http.StatusMovedPermanently)
		return
	}
	if s.peek(name) == FaultNullData {
		writeJSON(w, 200, map[string]any{"objectClassName": "domain", "ldhName": strings.ToUpper(name), "events": nil, "entities": nil, "status": nil})
		return
	}
	if !known {
		writeJSON(w, 404, rdapError(404, "The domain "+name+" was not found in this registry"))
		return
	}
	events := []any{}
	if !d.Registered.IsZero() {
		events = append(events, map[string]any{"eventAction": "registration", "eventDate": d.Registered.UTC().Format(time.RFC3339)})
	}
	if !d.Expires.IsZero() {
		events = append(events, map[string]any{"eventAction": "expiration", "eventDate": d.Expires.UTC().Format(time.RFC3339)})
	}
	events = append(events, map[string]any{"eventAction": "last update of RDAP database", "eventDate": "2026-12-03T08:00:00Z"})
	var entities []any
	if d.Registrar != "" {
		entities = append(entities, map[string]any{
			"objectClassName": "entity", "handle": "1068", "roles": []string{"registrar"},
			"publicIds":  []any{map[string]any{"type": "IANA Registrar ID", "identifier": "1068"}},
			"vcardArray": []any{"vcard", []any{[]any{"version", map[string]any{}, "text", "4.0"}, []any{"fn", map[string]any{}, "text", d.Registrar}}},
		})
	}
	ldh := strings.ToUpper(name)
	if d.LDHName != "" {
		ldh = d.LDHName
	}
	status := d.Status
	if status == nil {
		status = []string{"client transfer prohibited"}
	}
	w.Header().Set("Content-Type", "application/rdap+json")
	writeJSONNoType(w, 200, map[string]any{
		"objectClassName": "domain", "handle": "D1-" + strings.ToUpper(name), "ldhName": ldh,
		"status": status, "events": events, "entities": entities,
		"nameservers":     []any{map[string]any{"objectClassName": "nameserver", "ldhName": "NS1." + strings.ToUpper(name)}},
		"secureDNS":       map[string]any{"delegationSigned": false},
		"rdapConformance": []string{"rdap_level_0"},
	})
}

// RDAPBootstrap is a fake of IANA's RDAP bootstrap registry (RFC 9224):
// GET {BaseURL}/dns.json lists the registry fakes, by TLD.
type RDAPBootstrap struct {
	*Server
	mu       sync.Mutex
	services map[string][]string // TLD -> service URLs
}

// NewRDAPBootstrap starts a bootstrap fake.
func NewRDAPBootstrap(t testing.TB) *RDAPBootstrap {
	b := &RDAPBootstrap{services: map[string][]string{}}
	b.Server = newServer(t, "", b.handle)
	return b
}

// BaseURL is what rdap.base_url should be set to.
func (b *RDAPBootstrap) BaseURL() string { return b.URL + "/rdap" }

// Add lists a service for the given TLDs.
func (b *RDAPBootstrap) Add(serviceURL string, tlds ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range tlds {
		b.services[t] = append(b.services[t], serviceURL)
	}
}

func (b *RDAPBootstrap) handle(s *Server, w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/rdap/dns.json" {
		writeHTML(w, 404)
		return
	}
	if s.play(w, r, "dns.json", func(status int, msg string) any { return map[string]any{"error": msg} }) {
		return
	}
	b.mu.Lock()
	byURLs := map[string][]string{}
	for tld, urls := range b.services {
		k := strings.Join(urls, " ")
		byURLs[k] = append(byURLs[k], tld)
	}
	b.mu.Unlock()
	keys := make([]string, 0, len(byURLs))
	for k := range byURLs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	services := []any{}
	for _, k := range keys {
		tlds := byURLs[k]
		sort.Strings(tlds)
		services = append(services, []any{tlds, strings.Fields(k)})
	}
	writeJSON(w, 200, map[string]any{
		"version": "1.0", "publication": "2026-11-30T19:00:01Z",
		"description": "RDAP bootstrap file for Domain Name System registrations",
		"services":    services,
	})
}

// writeJSONNoType writes JSON under the Content-Type already set
// (application/rdap+json).
func writeJSONNoType(w http.ResponseWriter, status int, body any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
