package urlhaus

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
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
	{Type: ioc.URL, Value: "http://evil.example-bad.com/x.exe"},
	{Type: ioc.Domain, Value: "gist.github.com"},
	{Type: ioc.IPv4, Value: "185.172.128.11"},
	{Type: ioc.MD5, Value: "1585ad28f7d1e0ca696e6c6c2f1d008a"},
	{Type: ioc.SHA256, Value: "35e304d10d53834e3e41035d12122773c9a4d183a24e03f980ad3e6b2ecde7fa"},
}

// FuzzParse feeds hostile answers to the decoder: it never panics, fails
// only with the errors the engine understands, and what it keeps is safe
// to store and show (valid UTF-8 on one line, links only to URLhaus,
// hashes only of the right type, the asked hash never contradicted).
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
	f.Add(uint8(2), []byte(`{"query_status":"ok","url_count":"-5","urls":[null,3,{"url_status":"online","tags":"a,b"}]}`))
	f.Add(uint8(0), []byte(`{"query_status":"ok","urlhaus_reference":"javascript:alert(1)","tags":["\u001b]52;c;x\u0007"],"payloads":[{}]}`))
	f.Add(uint8(4), []byte(`{"query_status":"ok","md5_hash":"XYZ","sha256_hash":"35E304D10D53834E3E41035D12122773C9A4D183A24E03F980AD3E6B2ECDE7FA","file_size":1e999}`))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		i := fuzzIOCs[int(kind)%len(fuzzIOCs)]
		resp := &httpapi.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
		r, err := parse(i, resp, time.Unix(1795305600, 0))
		if err != nil {
			var he *intel.HTTPError
			if !errors.Is(err, intel.ErrNotFound) && !errors.Is(err, intel.ErrUnauthorized) && !errors.Is(err, intel.ErrBadResponse) && !errors.As(err, &he) {
				t.Fatalf("an error the engine does not understand: %v", err)
			}
			return
		}
		if r.Status != model.StatusFound {
			t.Fatalf("status %q", r.Status)
		}
		for _, m := range r.Matches {
			if m.Feed != "URLhaus" || m.Category != model.CategoryMalware {
				t.Fatalf("listing %+v", m)
			}
			clean(t, m.Info)
		}
		if r.Link != "" && !strings.HasPrefix(r.Link, "https://urlhaus.abuse.ch/") {
			t.Fatalf("link %q", r.Link)
		}
		for typ, h := range map[ioc.Type]string{ioc.MD5: r.MD5, ioc.SHA256: r.SHA256} {
			if h == "" {
				continue
			}
			if got, ok := ioc.HashType(h); !ok || got != typ || h != strings.ToLower(h) {
				t.Fatalf("%s %q", typ, h)
			}
			if typ == i.Type && h != i.Value {
				t.Fatalf("the answer contradicts the asked %s", typ)
			}
		}
		for _, s := range r.Tags {
			clean(t, s)
		}
		for k, v := range r.Attrs {
			switch x := v.(type) {
			case string:
				clean(t, x)
			case []string:
				for _, s := range x {
					clean(t, s)
				}
			case int:
				if x < 0 {
					t.Fatalf("%s %d", k, x)
				}
			}
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back model.Result
		if err := json.Unmarshal(b, &back); err != nil || back.Status != r.Status || len(back.Matches) != len(r.Matches) {
			t.Fatalf("cache round trip: %v", err)
		}
	})
}

func clean(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(c rune) bool { return unicode.IsControl(c) || unicode.Is(unicode.Cf, c) }) {
		t.Fatalf("unsafe text %q", s)
	}
}
