package inteltest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// InternetDBHost is what the Shodan InternetDB fake knows about one address.
type InternetDBHost struct {
	Ports     []int
	Hostnames []string
	Tags      []string
	Vulns     []string
	CPEs      []string
}

// InternetDB is a fake of Shodan InternetDB (reference/apis.md section
// 5.2): GET /{ip}, no key. Unknown addresses get the documented 404
// {"detail": "No information available"}.
type InternetDB struct {
	*Server
	mu    sync.Mutex
	hosts map[string]InternetDBHost
}

// NewInternetDB starts the fake.
func NewInternetDB(t testing.TB) *InternetDB {
	d := &InternetDB{hosts: map[string]InternetDBHost{}}
	d.Server = newServer(t, "", d.handle)
	return d
}

// BaseURL is what internetdb.base_url should be set to.
func (d *InternetDB) BaseURL() string { return d.URL }

// Set makes the fake know an address.
func (d *InternetDB) Set(ip string, h InternetDBHost) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hosts[ip] = h
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (d *InternetDB) handle(s *Server, w http.ResponseWriter, r *http.Request) {
	ip := strings.TrimPrefix(r.URL.Path, "/")
	if r.Method != http.MethodGet || ip == "" || strings.Contains(ip, "/") {
		writeJSON(w, 404, map[string]any{"detail": "Not Found"})
		return
	}
	if s.play(w, r, ip, func(_ int, msg string) any { return map[string]any{"detail": msg} }) {
		return
	}
	d.mu.Lock()
	h, known := d.hosts[ip]
	d.mu.Unlock()
	if s.peek(ip) == FaultNullData {
		writeJSON(w, 200, map[string]any{"ip": ip, "ports": nil, "hostnames": nil, "tags": nil, "vulns": nil, "cpes": nil})
		return
	}
	if !known {
		writeJSON(w, 404, map[string]any{"detail": "No information available"})
		return
	}
	ports := h.Ports
	if ports == nil {
		ports = []int{}
	}
	writeJSON(w, 200, map[string]any{"cpes": nonNil(h.CPEs), "hostnames": nonNil(h.Hostnames), "ip": ip, "ports": ports,
		"tags": nonNil(h.Tags), "vulns": nonNil(h.Vulns)})
}
