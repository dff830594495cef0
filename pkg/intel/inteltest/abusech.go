package inteltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Faults only the abuse.ch fakes play: the query status, not the HTTP
// status, says how a query went.
const (
	// FaultUnknownKeyStatus is a 200 whose query_status is unknown_auth_key.
	FaultUnknownKeyStatus Fault = "unknown_auth_key"
	// FaultRefused is a 200 whose query_status says the query was invalid
	// (invalid_url, invalid_host, illegal_search_term...).
	FaultRefused Fault = "refused"
)

// abusech is what the URLhaus and ThreatFox fakes share: the Auth-Key
// check, the faults in abuse.ch's shapes, and a record of the bodies.
type abusech struct {
	*Server
	mu     sync.Mutex
	bodies []string
}

// Bodies returns the body of every request so far, in order.
func (a *abusech) Bodies() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.bodies...)
}

func (a *abusech) record(r *http.Request) string {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	a.mu.Lock()
	a.bodies = append(a.bodies, string(b))
	a.mu.Unlock()
	return string(b)
}

// authorised answers a missing or wrong Auth-Key as abuse.ch does since
// keys became mandatory: HTTP 401.
func (a *abusech) authorised(w http.ResponseWriter, r *http.Request) bool {
	if k := r.Header.Get("Auth-Key"); k == "" || k != a.Key {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"query_status": "unknown_auth_key"})
		return false
	}
	return true
}

// fault plays the scripted fault for value; it reports whether it answered.
func (a *abusech) fault(w http.ResponseWriter, r *http.Request, value, refused string) bool {
	f, n := a.Server.fault(value)
	switch f {
	case FaultNone, FaultNullData:
		return false
	case Fault401:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"query_status": "unknown_auth_key"})
	case FaultUnknownKeyStatus:
		writeJSON(w, http.StatusOK, map[string]any{"query_status": "unknown_auth_key"})
	case FaultRefused:
		writeJSON(w, http.StatusOK, map[string]any{"query_status": refused})
	case Fault429:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"query_status": "rate_limited"})
	case Fault429NoRetryAfter:
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"query_status": "rate_limited"})
	case Fault429HTML:
		writeHTML(w, http.StatusTooManyRequests)
	case Fault500:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"query_status": "internal_error"})
	case Fault503:
		writeHTML(w, http.StatusServiceUnavailable)
	case FaultHTML502:
		writeHTML(w, http.StatusBadGateway)
	case FaultGarbage:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "\x00\x01 this is not json at all <html>")
	case FaultTruncated:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"query_status": "ok", "data": [{"id": "1`)
	case FaultSlow:
		select {
		case <-time.After(a.SlowDelay):
		case <-r.Context().Done():
		}
		return false
	case Fault429Once:
		if n > 1 {
			return false
		}
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"query_status": "rate_limited"})
	case FaultFlaky:
		if n > 2 {
			return false
		}
		writeHTML(w, http.StatusServiceUnavailable)
	default:
		return false
	}
	return true
}

// URLhausURL is what the URLhaus fake knows about one URL.
type URLhausURL struct {
	Status    string // online, offline
	Threat    string // malware_download
	Tags      []string
	Signature string // of its payload
}

// URLhausHost is what the URLhaus fake knows about one host.
type URLhausHost struct {
	URLs, Online int
	SpamhausDBL  string // "not listed", "abused_legit_malware", ...
	Tags         []string
}

// URLhausPayload is one payload the URLhaus fake knows, by both hashes.
type URLhausPayload struct {
	MD5, SHA256, Signature, FileType string
	Size                             int
}

// URLhaus is a fake of the URLhaus API (POST /v1/url/, /v1/host/,
// /v1/payload/, form bodies, Auth-Key). It answers in the shapes of the
// URLhaus documentation, numbers as strings; what it does not know is
// {"query_status": "no_results"}.
type URLhaus struct {
	abusech
	data     sync.Mutex
	urls     map[string]URLhausURL
	hosts    map[string]URLhausHost
	payloads []URLhausPayload
}

// NewURLhaus starts a fake that accepts only key.
func NewURLhaus(t testing.TB, key string) *URLhaus {
	u := &URLhaus{urls: map[string]URLhausURL{}, hosts: map[string]URLhausHost{}}
	u.Server = newServer(t, key, u.handle)
	return u
}

// BaseURL is what urlhaus.base_url should be set to.
func (u *URLhaus) BaseURL() string { return u.URL + "/v1" }

// SetURL makes the fake list a URL.
func (u *URLhaus) SetURL(v string, e URLhausURL) {
	u.data.Lock()
	defer u.data.Unlock()
	u.urls[v] = e
}

// SetHost makes the fake list a host (a domain or an IPv4 address).
func (u *URLhaus) SetHost(h string, e URLhausHost) {
	u.data.Lock()
	defer u.data.Unlock()
	u.hosts[h] = e
}

// AddPayload makes the fake know a payload.
func (u *URLhaus) AddPayload(p URLhausPayload) {
	u.data.Lock()
	defer u.data.Unlock()
	u.payloads = append(u.payloads, p)
}

func (u *URLhaus) handle(s *Server, w http.ResponseWriter, r *http.Request) {
	body := u.record(r)
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"query_status": "http_post_expected"})
		return
	}
	if !u.authorised(w, r) {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeJSON(w, http.StatusOK, map[string]any{"query_status": "invalid_content_type"})
		return
	}
	form, err := url.ParseQuery(body)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"query_status": "invalid_body"})
		return
	}
	switch r.URL.Path {
	case "/v1/url/":
		v := form.Get("url")
		if u.fault(w, r, v, "invalid_url") {
			return
		}
		u.data.Lock()
		e, ok := u.urls[v]
		u.data.Unlock()
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"query_status": "no_results"})
			return
		}
		host := ""
		if p, err := url.Parse(v); err == nil {
			host = p.Hostname()
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"query_status": "ok", "id": "105821", "urlhaus_reference": "https://urlhaus.abuse.ch/url/105821/",
			"url": v, "url_status": e.Status, "host": host, "date_added": "2026-11-19 01:33:26 UTC", "last_online": nil,
			"threat": e.Threat, "blacklists": map[string]any{"spamhaus_dbl": "not listed", "surbl": "listed"},
			"reporter": "abuse_ch", "larted": "true", "takedown_time_seconds": nil, "tags": e.Tags,
			"payloads": []any{map[string]any{"firstseen": "2026-11-19", "filename": "invoice.doc", "file_type": "doc",
				"response_size": "179664", "response_md5": "fedfa8ad9ee7846b88c5da79b32f6551",
				"response_sha256":  "dc9f3b226bccb2f1fd4810cde541e5a10d59a1fe683f4a9462293b6ade8d8403",
				"urlhaus_download": "https://urlhaus-api.abuse.ch/v1/download/dc9f3b226bccb2f1fd4810cde541e5a10d59a1fe683f4a9462293b6ade8d8403/",
				"signature":        e.Signature, "virustotal": nil, "imphash": nil, "ssdeep": nil, "tlsh": nil}},
		})
	case "/v1/host/":
		v := form.Get("host")
		if u.fault(w, r, v, "invalid_host") {
			return
		}
		u.data.Lock()
		e, ok := u.hosts[v]
		u.data.Unlock()
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"query_status": "no_results"})
			return
		}
		urls := make([]any, 0, e.URLs)
		for i := range min(e.URLs, 100) {
			status := "offline"
			if i < e.Online {
				status = "online"
			}
			urls = append(urls, map[string]any{"id": fmt.Sprint(2000000 + i), "urlhaus_reference": fmt.Sprintf("https://urlhaus.abuse.ch/url/%d/", 2000000+i),
				"url": fmt.Sprintf("http://%s/bins/%d.sh", v, i), "url_status": status, "date_added": "2026-11-20 13:37:56 UTC",
				"threat": "malware_download", "reporter": "abuse_ch", "larted": "false", "takedown_time_seconds": nil, "tags": e.Tags})
		}
		dbl := e.SpamhausDBL
		if dbl == "" {
			dbl = "not listed"
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"query_status": "ok", "urlhaus_reference": "https://urlhaus.abuse.ch/host/" + v + "/", "host": v,
			"firstseen": "2026-11-09 13:37:11 UTC", "url_count": fmt.Sprint(e.URLs),
			"blacklists": map[string]any{"spamhaus_dbl": dbl, "surbl": "not listed"}, "urls": urls,
		})
	case "/v1/payload/":
		v, field := form.Get("md5_hash"), "md5_hash"
		if v == "" {
			v, field = form.Get("sha256_hash"), "sha256_hash"
		}
		if u.fault(w, r, v, "invalid_"+strings.TrimSuffix(field, "_hash")) {
			return
		}
		u.data.Lock()
		payloads := append([]URLhausPayload(nil), u.payloads...)
		u.data.Unlock()
		for _, p := range payloads {
			if (field == "md5_hash" && p.MD5 == v) || (field == "sha256_hash" && p.SHA256 == v) {
				writeJSON(w, http.StatusOK, map[string]any{
					"query_status": "ok", "md5_hash": p.MD5, "sha256_hash": p.SHA256, "file_type": p.FileType,
					"file_size": fmt.Sprint(p.Size), "signature": p.Signature, "firstseen": "2026-11-19 13:59:06",
					"lastseen": nil, "url_count": "1", "urlhaus_download": "https://urlhaus-api.abuse.ch/v1/download/" + p.SHA256 + "/",
					"virustotal": nil, "imphash": nil, "ssdeep": nil, "tlsh": nil, "urls": []any{},
				})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"query_status": "no_results"})
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"query_status": "unknown_endpoint"})
	}
}

// ThreatFoxIOC is one IOC the ThreatFox fake knows.
type ThreatFoxIOC struct {
	IOC        string // as ThreatFox stores it: "1.2.3.4:443", "evil.com", a URL, a hash
	ThreatType string // botnet_cc, payload_delivery, payload
	Malware    string // malware_printable
	Confidence int
	// Samples are the MD5 and SHA-256 of files associated with the IOC,
	// which search_hash finds it by.
	Samples [][2]string
}

// ThreatFox is a fake of the ThreatFox API (POST /api/v1/ with a JSON
// query, Auth-Key). search_ioc matches by substring, as the real one does
// unless exact_match is set; search_hash finds the IOCs associated with a
// sample. A miss is {"query_status": "no_result", "data": "..."}: data is a
// string then.
type ThreatFox struct {
	abusech
	data sync.Mutex
	iocs []ThreatFoxIOC
}

// NewThreatFox starts a fake that accepts only key.
func NewThreatFox(t testing.TB, key string) *ThreatFox {
	f := &ThreatFox{}
	f.Server = newServer(t, key, f.handle)
	return f
}

// BaseURL is what threatfox.base_url should be set to.
func (f *ThreatFox) BaseURL() string { return f.URL + "/api/v1" }

// Add makes the fake know an IOC.
func (f *ThreatFox) Add(i ThreatFoxIOC) {
	f.data.Lock()
	defer f.data.Unlock()
	f.iocs = append(f.iocs, i)
}

func (f *ThreatFox) handle(s *Server, w http.ResponseWriter, r *http.Request) {
	body := f.record(r)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/" {
		writeJSON(w, http.StatusNotFound, map[string]any{"query_status": "unknown_endpoint"})
		return
	}
	if !f.authorised(w, r) {
		return
	}
	var q struct {
		Query      string `json:"query"`
		SearchTerm string `json:"search_term"`
		Hash       string `json:"hash"`
		ExactMatch bool   `json:"exact_match"`
	}
	if err := json.Unmarshal([]byte(body), &q); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"query_status": "illegal_json"})
		return
	}
	value := q.SearchTerm + q.Hash
	if f.fault(w, r, value, "illegal_search_term") {
		return
	}
	f.data.Lock()
	iocs := append([]ThreatFoxIOC(nil), f.iocs...)
	f.data.Unlock()
	var rows []any
	for n, i := range iocs {
		var hit bool
		switch q.Query {
		case "search_ioc":
			hit = i.IOC == q.SearchTerm || (!q.ExactMatch && strings.Contains(i.IOC, q.SearchTerm))
		case "search_hash":
			for _, sm := range i.Samples {
				hit = hit || sm[0] == q.Hash || sm[1] == q.Hash
			}
		default:
			writeJSON(w, http.StatusOK, map[string]any{"query_status": "unknown_query"})
			return
		}
		if hit {
			rows = append(rows, threatFoxRow(n, i))
		}
	}
	if len(rows) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"query_status": "no_result", "data": "Your search did not yield any results"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"query_status": "ok", "data": rows})
}

func threatFoxRow(n int, i ThreatFoxIOC) map[string]any {
	typ := "domain"
	switch {
	case strings.Contains(i.IOC, "://"):
		typ = "url"
	case len(i.IOC) == 32:
		typ = "md5_hash"
	case len(i.IOC) == 64:
		typ = "sha256_hash"
	case strings.Count(i.IOC, ".") == 3 && strings.Contains(i.IOC, ":"), strings.HasPrefix(i.IOC, "["):
		typ = "ip:port"
	}
	samples := make([]any, 0, len(i.Samples))
	for _, s := range i.Samples {
		samples = append(samples, map[string]any{"time_stamp": "2026-11-20 08:18:06 UTC", "md5_hash": s[0], "sha256_hash": s[1],
			"malware_bazaar": "https://bazaar.abuse.ch/sample/" + s[1] + "/"})
	}
	return map[string]any{
		"id": fmt.Sprint(1000 + n), "ioc": i.IOC, "threat_type": i.ThreatType, "threat_type_desc": "",
		"ioc_type": typ, "ioc_type_desc": "", "malware": "win." + strings.ToLower(strings.ReplaceAll(i.Malware, " ", "_")),
		"malware_printable": i.Malware, "malware_alias": nil, "malware_malpedia": nil,
		"confidence_level": i.Confidence, "first_seen": "2026-11-18 09:10:23 UTC", "last_seen": nil,
		"reference": nil, "reporter": "abuse_ch", "tags": nil, "malware_samples": samples,
	}
}
