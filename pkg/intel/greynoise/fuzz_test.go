package greynoise_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/verdict-dev/verdict/pkg/intel/greynoise"
	"github.com/verdict-dev/verdict/pkg/ioc"
)

// A GreyNoise answer is network input. Whatever it holds, parsing never
// panics, the label is one GreyNoise defines, the name is one printable
// line, and the link is GreyNoise's own visualizer.
func FuzzParse(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "community-1.1.1.1.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"ip":"1.1.1.1","noise":true,"classification":"MALICIOUS","name":"x\u202ey","link":"https://viz.greynoise.io@evil/"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := greynoise.Parse(data, ioc.IOC{Type: ioc.IPv4, Value: "1.1.1.1"})
		if err != nil {
			return
		}
		switch r.Classification {
		case "", "malicious", "benign", "unknown":
		default:
			t.Fatalf("classification %q", r.Classification)
		}
		if n, ok := r.Attrs[greynoise.AttrName].(string); ok {
			if len(n) > 100 || strings.ContainsFunc(n, func(c rune) bool { return unicode.IsControl(c) || unicode.Is(unicode.Cf, c) }) {
				t.Fatalf("unsafe name %q", n)
			}
		}
		if !strings.HasPrefix(r.Link, "https://viz.greynoise.io/") {
			t.Fatalf("link %q", r.Link)
		}
	})
}
