package internetdb_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/verdict-dev/verdict/pkg/intel/internetdb"
	"github.com/verdict-dev/verdict/pkg/ioc"
)

var cve = regexp.MustCompile(`^CVE-\d{4}-\d{4,7}$`)

// An InternetDB answer is network input. Whatever it holds, parsing never
// panics, ports are real port numbers, vulns are CVE ids, and every string
// kept is one printable line.
func FuzzParse(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "host-8.8.8.8.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"ip":"8.8.8.8","ports":[1,65535,65536],"vulns":["CVE-2024-3094","x"],"hostnames":["\u0000"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := internetdb.Parse(data, ioc.IOC{Type: ioc.IPv4, Value: "8.8.8.8"})
		if err != nil {
			return
		}
		if ps, ok := r.Attrs[internetdb.AttrPorts].([]int); ok {
			for _, p := range ps {
				if p < 1 || p > 65535 {
					t.Fatalf("port %d", p)
				}
			}
		}
		if vs, ok := r.Attrs[internetdb.AttrVulns].([]string); ok {
			for _, v := range vs {
				if !cve.MatchString(v) {
					t.Fatalf("vuln %q", v)
				}
			}
		}
		for _, s := range append(append([]string{}, r.Hostnames...), r.Tags...) {
			if s == "" || strings.ContainsFunc(s, func(c rune) bool { return unicode.IsControl(c) || unicode.Is(unicode.Cf, c) }) {
				t.Fatalf("unsafe string %q", s)
			}
		}
	})
}
