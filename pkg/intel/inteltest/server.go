package inteltest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request a fake server received.
type Request struct {
	At     time.Time
	Method string
	Path   string
	Query  url.Values
	Header http.Header
}

// Fault is a scripted misbehaviour for one indicator.
type Fault string

// Faults every fake can play, per reference/apis.md section 6.
const (
	FaultNone            Fault = ""
	Fault401             Fault = "401"          // wrong key
	Fault429             Fault = "429"          // JSON 429 with Retry-After: 1
	Fault429NoRetryAfter Fault = "429-no-retry" // JSON 429 without Retry-After
	Fault429HTML         Fault = "429-html"     // an edge proxy's HTML 429
	Fault500             Fault = "500"          // JSON 500
	Fault503             Fault = "503"          // 503 TransientError / HTML
	FaultHTML502         Fault = "502-html"     // HTML error page from a proxy
	FaultGarbage         Fault = "garbage"      // 200 with a body that is not JSON
	FaultTruncated       Fault = "truncated"    // 200 with JSON cut in half
	FaultNullData        Fault = "null"         // 200 with every attribute null
	Fault422             Fault = "422"          // AbuseIPDB: parameter refused
	FaultSlow            Fault = "slow"         // answers after SlowDelay
	FaultFlaky           Fault = "flaky"        // 503 twice, then the normal answer
	Fault429Once         Fault = "429-once"     // one 429 with Retry-After: 1, then the normal answer
	// The key echoed back, as misbehaving proxies and APIs do: verdict must
	// scrub it before it reaches a report, a log line, an error or the cache.
	FaultEchoKeyJSON   Fault = "echo-json"   // 400 whose JSON error message quotes the key
	FaultEchoKeyHTML   Fault = "echo-html"   // 502 HTML error page that prints the key
	FaultEchoKeyHeader Fault = "echo-header" // 500 whose headers and body repeat the key
)

// Server is the common part of the fakes: it records requests and plays
// scripted faults.
type Server struct {
	*httptest.Server
	Key string
	// Latency is added to every answer (the bench uses 100 ms).
	Latency time.Duration
	// SlowDelay is how long FaultSlow waits.
	SlowDelay time.Duration

	mu       sync.Mutex
	requests []Request
	faults   map[string]Fault
	counts   map[string]int
}

func newServer(t testing.TB, key string, handler func(s *Server, w http.ResponseWriter, r *http.Request)) *Server {
	s := &Server{Key: key, faults: map[string]Fault{}, counts: map[string]int{}, SlowDelay: 3 * time.Second}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{At: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()})
		lat := s.Latency
		s.mu.Unlock()
		if lat > 0 {
			select {
			case <-time.After(lat):
			case <-r.Context().Done():
				return
			}
		}
		handler(s, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// SetFault scripts a fault for one indicator value.
func (s *Server) SetFault(value string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[value] = f
}

func (s *Server) fault(value string) (Fault, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[value]++
	return s.faults[value], s.counts[value]
}

func (s *Server) peek(value string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[value]
}

// Requests returns every request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is how many requests asked about value.
func (s *Server) Count(value string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[value]
}

// MaxInWindow is the largest number of requests the server saw in any
// window of length d: the rate-limit assertion, on the server's own clock.
func (s *Server) MaxInWindow(d time.Duration) int {
	reqs := s.Requests()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].At.Before(reqs[j].At) })
	most := 0
	for i := range reqs {
		n := 0
		for j := i; j < len(reqs) && reqs[j].At.Sub(reqs[i].At) < d; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

const htmlPage = `<!DOCTYPE html><html><head><title>%d</title></head><body><h1>%d %s</h1><p>cloudflare</p></body></html>`

func writeHTML(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, htmlPage, status, status, http.StatusText(status))
}

// common plays the faults shared by both fakes; it reports whether it
// answered. vtStyle picks VirusTotal's error body, else AbuseIPDB's.
func (s *Server) common(w http.ResponseWriter, r *http.Request, value string, vtStyle bool) bool {
	f, n := s.fault(value)
	errBody := func(status int, code, msg string) any {
		if vtStyle {
			return map[string]any{"error": map[string]any{"code": code, "message": msg}}
		}
		return map[string]any{"errors": []any{map[string]any{"detail": msg, "status": status}}}
	}
	switch f {
	case Fault401:
		writeJSON(w, 401, errBody(401, "WrongCredentialsError", "Wrong API key"))
	case Fault429:
		w.Header().Set("Retry-After", "1")
		w.Header().Set("X-RateLimit-Remaining", "0")
		writeJSON(w, 429, errBody(429, "QuotaExceededError", "Quota exceeded"))
	case Fault429NoRetryAfter:
		writeJSON(w, 429, errBody(429, "TooManyRequestsError", "Too many requests"))
	case Fault429HTML:
		writeHTML(w, 429)
	case Fault500:
		writeJSON(w, 500, errBody(500, "InternalError", "internal error"))
	case Fault503:
		writeJSON(w, 503, errBody(503, "TransientError", "try again"))
	case FaultHTML502:
		writeHTML(w, 502)
	case FaultGarbage:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "\x00\x01 this is not json at all <html>")
	case FaultTruncated:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data": {"attributes": {"last_analysis_stats": {"malicious": 3`)
	case Fault422:
		writeJSON(w, 422, errBody(422, "", "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888)."))
	case FaultSlow:
		select {
		case <-time.After(s.SlowDelay):
		case <-r.Context().Done():
		}
		return false
	case FaultEchoKeyJSON:
		writeJSON(w, 400, errBody(400, "BadRequestError", "request with key "+s.Key+" was refused"))
	case FaultEchoKeyHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(502)
		fmt.Fprintf(w, "<html><body><h1>502 Bad Gateway</h1><pre>upstream said: x-apikey=%s Key: %s</pre></body></html>", s.Key, s.Key)
	case FaultEchoKeyHeader:
		w.Header().Set("X-Debug-Api-Key", s.Key)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		fmt.Fprintf(w, `{"error":{"code":"InternalError","message":"see header"},"debug":%q}`, s.Key)
	case Fault429Once:
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, errBody(429, "QuotaExceededError", "Quota exceeded"))
			return true
		}
		return false
	case FaultFlaky:
		if n <= 2 {
			writeJSON(w, 503, errBody(503, "TransientError", "overloaded"))
			return true
		}
		return false
	default:
		return false
	}
	return true
}

// VTObject is what the VirusTotal fake knows about one indicator.
type VTObject struct {
	Malicious, Suspicious int
	Reputation            int
	Country, ASOwner      string
	Tags                  []string
	// SHA256 is the id answered for file lookups by md5 or sha1.
	SHA256 string
}

// VirusTotal is a fake of VirusTotal API v3 for the four lookups verdict makes.
type VirusTotal struct {
	*Server
	mu      sync.Mutex
	objects map[string]VTObject // by IP, domain, hash (any) or URL
}

// NewVirusTotal starts a fake that accepts only key. Unknown indicators get
// a 404 NotFoundError.
func NewVirusTotal(t testing.TB, key string) *VirusTotal {
	v := &VirusTotal{objects: map[string]VTObject{}}
	v.Server = newServer(t, key, v.handle)
	return v
}

// BaseURL is what virustotal.base_url should be set to.
func (v *VirusTotal) BaseURL() string { return v.URL + "/api/v3" }

// Set makes the fake know an indicator.
func (v *VirusTotal) Set(value string, o VTObject) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.objects[value] = o
}

func (v *VirusTotal) handle(s *Server, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeJSON(w, 405, map[string]any{"error": map[string]any{"code": "MethodNotAllowed"}})
		return
	}
	switch key := r.Header.Get("x-apikey"); {
	case key == "":
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "AuthenticationRequiredError", "message": "X-Apikey header is missing"}})
		return
	case key != s.Key:
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "WrongCredentialsError", "message": "Wrong API key"}})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v3/")
	if !ok {
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "NotFoundError", "message": "bad path"}})
		return
	}
	coll, id, _ := strings.Cut(rest, "/")
	id, _ = url.PathUnescape(id)
	value, typ, gui := id, "", ""
	switch coll {
	case "ip_addresses":
		typ, gui = "ip_address", "ip_addresses"
	case "domains":
		typ, gui = "domain", "domains"
	case "files":
		typ, gui = "file", "files"
	case "urls":
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || strings.ContainsAny(id, "=+/") {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "InvalidArgumentError", "message": "bad URL id"}})
			return
		}
		value, typ, gui = string(raw), "url", "urls"
	default:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "NotFoundError", "message": "unknown collection"}})
		return
	}
	if s.common(w, r, value, true) {
		return
	}
	if s.peek(value) == FaultNullData {
		writeJSON(w, 200, map[string]any{"data": map[string]any{"id": value, "type": typ, "attributes": map[string]any{
			"last_analysis_stats": nil, "reputation": nil, "tags": nil, "country": nil, "as_owner": nil, "categories": nil}}})
		return
	}
	v.mu.Lock()
	o, known := v.objects[value]
	v.mu.Unlock()
	if !known {
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "NotFoundError", "message": "Resource not found."}})
		return
	}
	dataID := value
	attrs := map[string]any{
		"last_analysis_stats":    map[string]any{"harmless": 60, "malicious": o.Malicious, "suspicious": o.Suspicious, "undetected": 10, "timeout": 0},
		"last_analysis_results":  map[string]any{"CRDF": map[string]any{"category": "malicious", "result": "malicious", "method": "blacklist", "engine_name": "CRDF"}},
		"reputation":             o.Reputation,
		"tags":                   o.Tags,
		"last_modification_date": 1732000000,
		"last_analysis_date":     1732000000,
		"total_votes":            map[string]any{"harmless": 1, "malicious": o.Malicious},
	}
	switch typ {
	case "ip_address":
		attrs["country"], attrs["as_owner"], attrs["asn"], attrs["network"] = o.Country, o.ASOwner, 64500, value+"/32"
	case "file":
		if o.SHA256 != "" {
			dataID = o.SHA256
		}
		attrs["sha256"], attrs["type_description"], attrs["meaningful_name"] = dataID, "Win32 EXE", "invoice.exe"
		attrs["popular_threat_classification"] = map[string]any{"suggested_threat_label": "trojan.evil/test"}
	case "url":
		dataID = "56d1680fa3fd70f79f02d8e3419846dd47efde4b2765d945c0076c8b2d08ee21"
		attrs["url"], attrs["last_final_url"] = value, value
	case "domain":
		attrs["categories"] = map[string]any{"Sophos": "malware", "Forcepoint ThreatSeeker": "malicious web sites"}
	}
	writeJSON(w, 200, map[string]any{"data": map[string]any{
		"id": dataID, "type": typ, "attributes": attrs,
		"links": map[string]any{"self": "https://www.virustotal.com/api/v3/" + gui + "/" + dataID},
	}})
}

// AbuseIPDBRecord is what the AbuseIPDB fake answers for one address.
type AbuseIPDBRecord struct {
	Score        int
	IsTor        bool
	UsageType    string
	TotalReports int
	Country      string
}

// AbuseIPDB is a fake of AbuseIPDB API v2's CHECK endpoint. Unknown public
// addresses get score 0, as the real service answers.
type AbuseIPDB struct {
	*Server
	mu      sync.Mutex
	records map[string]AbuseIPDBRecord
}

// NewAbuseIPDB starts a fake that accepts only key.
func NewAbuseIPDB(t testing.TB, key string) *AbuseIPDB {
	a := &AbuseIPDB{records: map[string]AbuseIPDBRecord{}}
	a.Server = newServer(t, key, a.handle)
	return a
}

// BaseURL is what abuseipdb.base_url should be set to.
func (a *AbuseIPDB) BaseURL() string { return a.URL + "/api/v2" }

// Set makes the fake know an address.
func (a *AbuseIPDB) Set(ip string, r AbuseIPDBRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records[ip] = r
}

func (a *AbuseIPDB) handle(s *Server, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-RateLimit-Limit", "1000")
	w.Header().Set("X-RateLimit-Remaining", "999")
	w.Header().Set("X-RateLimit-Reset", "1795305600")
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeHTML(w, 401) // without Accept, errors come back as an HTML page
		return
	}
	if r.Header.Get("Key") != s.Key {
		writeJSON(w, 401, map[string]any{"errors": []any{map[string]any{
			"detail": "Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.", "status": 401}}})
		return
	}
	if r.URL.Path != "/api/v2/check" {
		writeJSON(w, 404, map[string]any{"errors": []any{map[string]any{"detail": "not found", "status": 404}}})
		return
	}
	ip := r.URL.Query().Get("ipAddress")
	if r.URL.Query().Get("maxAgeInDays") == "" {
		writeJSON(w, 422, map[string]any{"errors": []any{map[string]any{"detail": "maxAgeInDays is required by this fake", "status": 422}}})
		return
	}
	if s.common(w, r, ip, false) {
		return
	}
	a.mu.Lock()
	rec := a.records[ip]
	a.mu.Unlock()
	var last any
	if rec.TotalReports > 0 {
		last = "2026-11-20T10:00:00+00:00"
	}
	ver := 4
	if strings.Contains(ip, ":") {
		ver = 6
	}
	writeJSON(w, 200, map[string]any{"data": map[string]any{
		"ipAddress": ip, "isPublic": true, "ipVersion": ver, "isWhitelisted": nil,
		"abuseConfidenceScore": rec.Score, "countryCode": nilIfEmpty(rec.Country), "usageType": nilIfEmpty(rec.UsageType),
		"isp": "Example Hosting", "domain": nil, "hostnames": []string{}, "isTor": rec.IsTor,
		"totalReports": rec.TotalReports, "numDistinctUsers": rec.TotalReports, "lastReportedAt": last,
	}})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
