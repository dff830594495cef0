package rdap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
	"github.com/verdict-dev/verdict/pkg/internal/oneline"
)

// BootstrapTTL is how long the IANA bootstrap file is kept: IANA changes it
// when a registry moves its RDAP service, a few times a year, and RFC 9224
// asks clients to cache it rather than fetch it per query.
const BootstrapTTL = 7 * 24 * time.Hour

// BootstrapFile is the name of the DNS bootstrap file under the base URL.
const BootstrapFile = "dns.json"

// Bootstrap is the DNS part of the IANA RDAP bootstrap registry (RFC 9224):
// which RDAP service answers for which top-level domain.
type Bootstrap struct {
	// Publication is when IANA published the file (RFC 3339), as it says.
	Publication string
	// services maps a lower-case label sequence ("com", "co.uk") to the
	// service URL chosen for it (https preferred), ending in "/".
	services map[string]string
	// origins are the scheme://host[:port] of every service URL the file
	// lists: the only places a redirect may lead.
	origins map[string]bool
}

// bootstrapFile is RFC 9224 section 3: {"version", "publication",
// "services": [[[entries...], [urls...]], ...]}.
type bootstrapFile struct {
	Version     string              `json:"version"`
	Publication string              `json:"publication"`
	Services    [][]json.RawMessage `json:"services"`
}

// maxServices bounds what a hostile or broken file can make verdict hold:
// IANA's lists a few hundred services for about 1,200 TLDs.
const maxServices = 10000

// ParseBootstrap reads a DNS bootstrap file. Entries and URLs it cannot use
// are skipped; a file with no usable service is an error.
func ParseBootstrap(data []byte) (*Bootstrap, error) {
	var f bootstrapFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode bootstrap: %w", err)
	}
	if f.Version != "1.0" {
		return nil, fmt.Errorf("bootstrap version %q: want 1.0", oneline.Clip(f.Version, 16))
	}
	b := &Bootstrap{Publication: oneline.Cut(f.Publication, 40), services: map[string]string{}, origins: map[string]bool{}}
	for _, svc := range f.Services[:min(len(f.Services), maxServices)] {
		if len(svc) < 2 {
			continue
		}
		var entries, urls []string
		if json.Unmarshal(svc[0], &entries) != nil || json.Unmarshal(svc[1], &urls) != nil {
			continue
		}
		base := pickURL(urls)
		if base == "" {
			continue
		}
		for _, u := range urls {
			if pu, err := url.Parse(u); err == nil && (pu.Scheme == "https" || pu.Scheme == "http") && pu.Host != "" {
				b.origins[origin(pu)] = true
			}
		}
		for _, e := range entries[:min(len(entries), maxServices)] {
			e = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(e)), ".")
			if e != "" && len(e) <= 253 {
				b.services[e] = base
			}
		}
	}
	if len(b.services) == 0 {
		return nil, errors.New("bootstrap lists no usable service")
	}
	return b, nil
}

// pickURL chooses a service's base URL: https over http (RFC 9224 section
// 3: clients should prefer https), always ending in "/".
func pickURL(urls []string) string {
	best := ""
	for _, u := range urls {
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || pu.Host == "" || pu.User != nil || pu.RawQuery != "" || pu.Fragment != "" {
			continue
		}
		switch {
		case pu.Scheme == "https" && !strings.HasPrefix(best, "https:"):
			best = pu.String()
		case pu.Scheme == "http" && best == "":
			best = pu.String()
		}
	}
	if best != "" && !strings.HasSuffix(best, "/") {
		best += "/"
	}
	return best
}

// Service returns the RDAP base URL for a domain: the service whose entry
// is the longest label sequence ending the name (RFC 9224 section 4), and
// the entry it matched. ok is false when no service is listed.
func (b *Bootstrap) Service(domain string) (base, entry string, ok bool) {
	d := strings.TrimSuffix(strings.ToLower(domain), ".")
	for {
		if base, ok := b.services[d]; ok {
			return base, d, true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return "", "", false
		}
		d = d[i+1:]
	}
}

// Listed reports whether u's scheme, host and port belong to a service the
// bootstrap lists: where a redirect may lead.
func (b *Bootstrap) Listed(u *url.URL) bool { return b.origins[origin(u)] }

// Len is the number of label sequences (mostly TLDs) with a service.
func (b *Bootstrap) Len() int { return len(b.services) }

// Origins lists the servers the bootstrap names, sorted.
func (b *Bootstrap) Origins() []string {
	out := make([]string, 0, len(b.origins))
	for o := range b.origins {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

func origin(u *url.URL) string {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	scheme := strings.ToLower(u.Scheme)
	if port == "" || (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

// bootstrapKey is where the bootstrap file lives in the cache: beside the
// answers, under a type of its own, so `cache stats` shows it and `cache
// clear` drops it.
func bootstrapKey(fileURL string) cache.Key {
	return cache.Key{Provider: Name, Params: "bootstrap", Type: "bootstrap", Value: fileURL}
}

// bootstrap returns the bootstrap, from memory, the cache, or IANA, in
// that order. Concurrent lookups wait for one fetch.
func (c *Client) bootstrap(ctx context.Context) (*Bootstrap, error) {
	if b := c.boot.Load(); b != nil {
		return b, nil
	}
	c.bootMu.Lock()
	defer c.bootMu.Unlock()
	if b := c.boot.Load(); b != nil {
		return b, nil
	}
	fileURL := c.base + "/" + BootstrapFile
	if c.cache != nil {
		if e, ok, err := c.cache.Get(ctx, bootstrapKey(fileURL)); err == nil && ok {
			if b, err := ParseBootstrap(e.Data); err == nil {
				c.boot.Store(b)
				return b, nil
			}
		}
	}
	resp, err := httpapi.Get(ctx, c.hc, Name, fileURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch bootstrap: %w", err)
	}
	switch {
	case resp.Status == http.StatusTooManyRequests:
		return nil, &intel.RateLimitError{Provider: Name, RetryAfter: httpapi.RetryAfter(resp.Header, c.now()), Detail: "bootstrap file"}
	case resp.Status != http.StatusOK || !resp.IsJSON():
		return nil, fmt.Errorf("fetch bootstrap: %w", httpapi.Unexpected(Name, resp))
	}
	b, err := ParseBootstrap(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", Name, err, intel.ErrBadResponse)
	}
	if c.cache != nil {
		// The file as IANA sent it: it is parsed again on the next run, so a
		// newer verdict reads it with its own rules.
		if err := c.cache.Put(context.WithoutCancel(ctx), bootstrapKey(fileURL), cache.Entry{Status: "found", Data: resp.Body}, BootstrapTTL); err != nil {
			c.log.Warn("cannot cache the RDAP bootstrap file", "provider", Name, "error", err.Error())
		}
	}
	c.boot.Store(b)
	return b, nil
}
