package threatfox

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

var fuzzIOCs = []ioc.IOC{
	{Type: ioc.IPv4, Value: "139.180.203.104"},
	{Type: ioc.IPv6, Value: "2001:db8:85a3::8a2e:370:7334"},
	{Type: ioc.Domain, Value: "ntpjson.monster"},
	{Type: ioc.URL, Value: "http://139.180.203.104/dl/beacon.exe"},
	{Type: ioc.MD5, Value: "5b7e82e051ade4b14d163eea2a17bf8b"},
	{Type: ioc.SHA256, Value: "b325c92fa540edeb89b95dbfd4400c1cb33599c66859a87aead820e568a2ebe7"},
}

// FuzzParse feeds hostile answers to the decoder: it never panics, fails
// only with the errors the engine understands, keeps only rows about the
// asked indicator, and what it keeps is safe to store and show.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for k, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for n := range fuzzIOCs {
			f.Add(uint8(k+n), b)
		}
	}
	f.Add(uint8(0), []byte(`{"query_status":"ok","data":[{"ioc":"139.180.203.104:x","confidence_level":"999","id":"1/../2"},{"ioc":"[139.180.203.104]:1"}]}`))
	f.Add(uint8(2), []byte(`{"query_status":"ok","data":[{"ioc":"NTPJSON.MONSTER.","threat_type":"\u202ebotnet_cc","tags":"a,,b","first_seen":"x"}]}`))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		i := fuzzIOCs[int(kind)%len(fuzzIOCs)]
		resp := &httpapi.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
		rows, err := rowsOf(resp, time.Unix(1795305600, 0))
		var r model.Result
		if err == nil {
			r, err = normalise(i, rows)
		}
		if err != nil {
			var he *intel.HTTPError
			if !errors.Is(err, intel.ErrNotFound) && !errors.Is(err, intel.ErrUnauthorized) && !errors.Is(err, intel.ErrBadResponse) && !errors.As(err, &he) {
				t.Fatalf("an error the engine does not understand: %v", err)
			}
			return
		}
		if r.Status != model.StatusFound || len(r.Matches) == 0 {
			t.Fatalf("found with %d listings", len(r.Matches))
		}
		if !i.Type.IsHash() {
			about := 0
			for _, x := range rows {
				if x.matches(i) {
					about++
				}
			}
			if r.Attrs["iocs"] != about {
				t.Fatalf("iocs %v, but %d rows are about %s", r.Attrs["iocs"], about, i.Value)
			}
		}
		for _, m := range r.Matches {
			if m.Feed != "ThreatFox" || !slices.Contains([]string{model.CategoryC2, model.CategoryMalware}, m.Category) {
				t.Fatalf("listing %+v", m)
			}
			if i.Type.IsHash() && m.Category != model.CategoryMalware {
				t.Fatalf("a file is malware, not %s", m.Category)
			}
			clean(t, m.Info)
			clean(t, m.Entry)
		}
		if r.Link != "" && !strings.HasPrefix(r.Link, "https://threatfox.abuse.ch/ioc/") {
			t.Fatalf("link %q", r.Link)
		}
		if c, ok := r.Attrs["confidence"].(int); ok && (c < 0 || c > 100) {
			t.Fatalf("confidence %d", c)
		}
		for typ, h := range map[ioc.Type]string{ioc.MD5: r.MD5, ioc.SHA256: r.SHA256} {
			if h == "" {
				continue
			}
			if got, ok := ioc.HashType(h); !ok || got != typ {
				t.Fatalf("%s %q", typ, h)
			}
			if typ == i.Type && h != i.Value {
				t.Fatalf("the answer contradicts the asked %s", typ)
			}
		}
		for _, s := range r.Tags {
			clean(t, s)
		}
		for _, k := range []string{"threat_types", "malware"} {
			if l, ok := r.Attrs[k].([]string); ok {
				for _, s := range l {
					clean(t, s)
				}
			}
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}

func clean(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(c rune) bool { return unicode.IsControl(c) || unicode.Is(unicode.Cf, c) }) {
		t.Fatalf("unsafe text %q", s)
	}
}
