package triage

import (
	"testing"

	"github.com/verdict-dev/verdict/pkg/alert"
)

// FuzzArtifactLinks checks, on hostile alerts, that extraction links only
// hashes, never two of one type into one artifact, and names every
// artifact by one of its own members.
func FuzzArtifactLinks(f *testing.F) {
	for _, s := range []string{
		`{"file":{"hash":{"md5":"0123456789abcdef0123456789abcde1","sha1":"0123456789abcdef0123456789abcdef0123456a","sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde1"}}}`,
		`{"Hashes":"SHA1=0123456789abcdef0123456789abcdef0123456a,MD5=0123456789abcdef0123456789abcde1"}`,
		`{"files":[{"md5":"0123456789abcdef0123456789abcde1","sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde1"},{"md5":"0123456789abcdef0123456789abcde2"}]}`,
		`{"InitiatingProcessMD5":"0123456789abcdef0123456789abcde1","MD5":"0123456789abcdef0123456789abcde2","SHA256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde1","ip":"8.8.8.8"}`,
		`{"a":"{\"md5\":\"0123456789abcdef0123456789abcde1\",\"sha1\":\"0123456789abcdef0123456789abcdef0123456a\"}"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		e := newExtractor(nil)
		_, found, err := e.alert(alert.Record{Raw: raw})
		if err != nil {
			return
		}
		types := map[int]uint8{}
		for i, x := range found {
			if x.art == 0 {
				continue
			}
			if x.art < 1 || x.art > len(found) {
				t.Fatalf("indicator %d names artifact %d of %d", i, x.art, len(found))
			}
			bit := hashBit(x.ioc.Type)
			if bit == 0 {
				t.Fatalf("%v is linked but is not a hash", x.ioc)
			}
			if types[x.art]&bit != 0 {
				t.Fatalf("artifact %d holds two %s hashes", x.art, x.ioc.Type)
			}
			types[x.art] |= bit
			if found[x.art-1].art != x.art {
				t.Fatalf("artifact %d is not named by its own first member", x.art)
			}
		}
	})
}
