package inteltest

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// FaultQuota is a 429 that says an allowance, not the pace, is spent
// (GreyNoise: "You have hit your daily rate limit of 100 requests per
// day"), without Retry-After.
const FaultQuota Fault = "quota"

// GreyNoiseRecord is what the GreyNoise fake knows about one address.
type GreyNoiseRecord struct {
	Noise          bool
	RIOT           bool
	Classification string // malicious, benign, unknown
	Name           string
	LastSeen       string // YYYY-MM-DD
}

// GreyNoise is a fake of the GreyNoise Community API (reference/apis.md
// section 5.1): GET /v3/community/{ip} with an optional key header, and
// GET /ping. Unknown addresses get the documented 404 "not observed".
type GreyNoise struct {
	*Server
	mu      sync.Mutex
	records map[string]GreyNoiseRecord
}

// NewGreyNoise starts a fake that accepts requests without a key header
// (the keyless API) and with key; any other key is a 401.
func NewGreyNoise(t testing.TB, key string) *GreyNoise {
	g := &GreyNoise{records: map[string]GreyNoiseRecord{}}
	g.Server = newServer(t, key, g.handle)
	return g
}

// BaseURL is what greynoise.base_url should be set to.
func (g *GreyNoise) BaseURL() string { return g.URL }

// Set makes the fake know an address.
func (g *GreyNoise) Set(ip string, r GreyNoiseRecord) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.records[ip] = r
}

func greyNoiseError(_ int, msg string) any { return map[string]any{"message": msg} }

func (g *GreyNoise) handle(s *Server, w http.ResponseWriter, r *http.Request) {
	if vals, sent := r.Header["Key"]; sent && (len(vals) != 1 || vals[0] != s.Key) {
		writeJSON(w, 401, map[string]any{"message": "Authentication failed: invalid API key"})
		return
	}
	if r.URL.Path == "/ping" {
		if _, sent := r.Header["Key"]; !sent {
			writeJSON(w, 401, map[string]any{"message": "Authentication required"})
			return
		}
		writeJSON(w, 200, map[string]any{"expiration": "2027-12-31", "message": "pong", "offering": "community"})
		return
	}
	ip, ok := strings.CutPrefix(r.URL.Path, "/v3/community/")
	if !ok || r.Method != http.MethodGet {
		writeHTML(w, 404)
		return
	}
	if s.peek(ip) == FaultQuota {
		s.fault(ip)
		writeJSON(w, 429, map[string]any{"plan": "unauthenticated", "rate-limit": "100-lookups/day", "plan_url": "https://greynoise.io/pricing",
			"message": "You have hit your daily rate limit of 100 requests per day. Please create a free account or upgrade your plan at https://greynoise.io/pricing."})
		return
	}
	if s.play(w, r, ip, greyNoiseError) {
		return
	}
	if a := net.ParseIP(ip); a == nil || a.To4() == nil {
		writeJSON(w, 400, map[string]any{"message": "Request is not a valid routable IPv4 address"})
		return
	}
	g.mu.Lock()
	rec, known := g.records[ip]
	g.mu.Unlock()
	if s.peek(ip) == FaultNullData {
		writeJSON(w, 200, map[string]any{"ip": ip, "noise": nil, "riot": nil, "classification": nil, "name": nil, "link": nil, "last_seen": nil, "message": "Success"})
		return
	}
	if !known {
		writeJSON(w, 404, map[string]any{"ip": ip, "noise": false, "riot": false, "message": "IP not observed scanning the internet or contained in RIOT data set."})
		return
	}
	kind := "ip"
	if rec.RIOT {
		kind = "riot"
	}
	writeJSON(w, 200, map[string]any{"ip": ip, "noise": rec.Noise, "riot": rec.RIOT, "classification": rec.Classification,
		"name": rec.Name, "link": "https://viz.greynoise.io/" + kind + "/" + ip, "last_seen": rec.LastSeen, "message": "Success"})
}
