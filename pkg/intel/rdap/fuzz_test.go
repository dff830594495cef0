package rdap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/verdict-dev/verdict/pkg/intel/rdap"
	"github.com/verdict-dev/verdict/pkg/model"
)

// RDAP answers come from whatever server a bootstrap or a redirect names:
// hostile input. Whatever they hold, parsing never panics, every string
// kept is one printable line, and every date kept is RFC 3339 in UTC.
func FuzzParseDomain(f *testing.F) {
	for _, name := range []string{"domain-google.com.json", "domain-no-registration.json", "domain-hostile.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"events":[{"eventAction":"registration","eventDate":"2026-11-30"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := rdap.ParseDomain(data)
		if err != nil {
			return
		}
		if r.Status != model.StatusFound || r.Attrs == nil {
			t.Fatalf("a parsed answer is found with attrs: %+v", r)
		}
		for _, k := range []string{rdap.AttrRegistered, rdap.AttrExpires} {
			if v, ok := r.Attrs[k]; ok {
				s, _ := v.(string)
				ts, err := time.Parse(time.RFC3339, s)
				if err != nil || ts.Location() != time.UTC || ts.Year() < 1985 {
					t.Fatalf("%s = %q is not an RFC 3339 UTC date", k, s)
				}
			}
		}
		check := func(s string) {
			if strings.ContainsFunc(s, func(c rune) bool { return unicode.IsControl(c) || unicode.Is(unicode.Cf, c) }) || len(s) > 128 {
				t.Fatalf("unsafe string kept: %q", s)
			}
		}
		if s, ok := r.Attrs[rdap.AttrRegistrar].(string); ok {
			check(s)
		}
		if ss, ok := r.Attrs[rdap.AttrStatus].([]string); ok {
			for _, s := range ss {
				check(s)
			}
		}
	})
}

// The bootstrap decides where verdict sends questions and which redirects
// it follows: whatever it holds, every service URL is http(s), ends in "/",
// and is a server the bootstrap itself lists.
func FuzzParseBootstrap(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "dns.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, "evil.co.uk")
	f.Add([]byte(`{"version":"1.0","services":[[["top"],["https://a.example/x"]]]}`), "www.evil.top")
	f.Fuzz(func(t *testing.T, data []byte, domain string) {
		bs, err := rdap.ParseBootstrap(data)
		if err != nil {
			return
		}
		base, _, ok := bs.Service(domain)
		if !ok {
			return
		}
		if !strings.HasSuffix(base, "/") || !(strings.HasPrefix(base, "https://") || strings.HasPrefix(base, "http://")) {
			t.Fatalf("service URL %q", base)
		}
	})
}
