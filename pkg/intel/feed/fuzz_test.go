package feed

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// fuzzNames are the file names FuzzLoad writes its input under, so the
// extension hints get exercised too.
var fuzzNames = []string{"feed.txt", "feed.csv", "feed.json", "feed.intel", "hosts", "feed.netset", "feed.txt.gz"}

func FuzzLoad(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "feeds", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 4096 {
			b = b[:4096]
		}
		f.Add(b, uint8(i))
	}
	// One directory per process: inputs run one at a time, and a fresh
	// t.TempDir per input would cost more than the Load under test.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, name uint8) {
		path := filepath.Join(dir, fuzzNames[int(name)%len(fuzzNames)])
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Load([]string{path}, quiet())
		if err != nil {
			if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
				return // a damaged gzip stream is a read error, by design
			}
			t.Fatalf("Load: %v", err)
		}
		checkSelfConsistent(t, s)
		for _, fi := range s.Feeds() {
			// A feed's stated date never makes it look newer than the file.
			if fi.Updated.IsZero() || fi.Updated.After(fi.ModTime.Add(maxSkew)) {
				t.Fatalf("feed %s: updated %v (%s), file time %v", fi.Name, fi.Updated, fi.UpdatedFrom, fi.ModTime)
			}
		}
	})
}

// checkSelfConsistent checks the invariants of a loaded Set: every stored
// value is in normalised form and is found by Lookup for every feed that
// lists it, and every feed's CIDR spans are sorted, disjoint and found at
// both ends.
func checkSelfConsistent(t *testing.T, s *Set) {
	t.Helper()
	ctx := context.Background()
	feedsOf := func(r ref) []string {
		var names []string
		for {
			names = append(names, s.feeds[r.feed].info.Name)
			if r.next == 0 {
				return names
			}
			r = s.chain[r.next-1]
		}
	}
	check := func(i ioc.IOC, r ref, entries ...string) {
		t.Helper()
		n, err := ioc.Normalize(i)
		if err != nil || n != i {
			t.Fatalf("stored value %v does not normalise to itself: %v, %v", i, n, err)
		}
		res, err := s.Lookup(ctx, i)
		if err != nil {
			t.Fatalf("stored value %v not found: %v", i, err)
		}
		for _, name := range feedsOf(r) {
			m, ok := matchFor(res, name)
			if !ok {
				t.Fatalf("stored value %v: feed %s missing from %+v", i, name, res.Matches)
			}
			if !slices.Contains(entries, m.Entry) {
				t.Fatalf("stored value %v: entry %q, want one of %q", i, m.Entry, entries)
			}
			if len([]rune(m.Info)) >= 120 || bytes.ContainsAny([]byte(m.Info), "\r\n\t") {
				t.Fatalf("info %q is not short and single-line", m.Info)
			}
			if model.FeedCategoryRank(m.Category) < 0 {
				t.Fatalf("stored value %v: feed %s has no valid category: %q", i, name, m.Category)
			}
		}
		// A file link names the asked hash itself, and only well-formed hashes.
		if i.Type.IsHash() && res.MD5+res.SHA1+res.SHA256 != "" {
			own := map[ioc.Type]string{ioc.MD5: res.MD5, ioc.SHA1: res.SHA1, ioc.SHA256: res.SHA256}
			if own[i.Type] != i.Value {
				t.Fatalf("hash %v links to a file named %+v", i, own)
			}
			for typ, h := range own {
				if got, ok := ioc.HashType(h); h != "" && (!ok || got != typ) {
					t.Fatalf("hash %v: linked %s %q is not one", i, typ, h)
				}
			}
		}
	}
	for k, r := range s.ip4 {
		check(ioc.IPIOC(netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})), r, "")
	}
	for k, r := range s.ip6 {
		a := netip.AddrFrom16(k)
		if a.Is4In6() {
			t.Fatalf("IPv4-mapped address %v stored as IPv6", a)
		}
		check(ioc.IPIOC(a), r, "")
	}
	for k, r := range s.domains {
		check(ioc.IOC{Type: ioc.Domain, Value: k}, r, "")
	}
	for k, r := range s.urls {
		check(ioc.IOC{Type: ioc.URL, Value: k}, r, "")
	}
	for k, r := range s.noScheme {
		// "" when the same feed also lists the URL with its scheme.
		check(ioc.IOC{Type: ioc.URL, Value: "http://" + k}, r, k, "")
		check(ioc.IOC{Type: ioc.URL, Value: "https://" + k}, r, k, "")
	}
	for k, r := range s.md5 {
		check(ioc.IOC{Type: ioc.MD5, Value: hex.EncodeToString(k[:])}, r, "")
	}
	for k, r := range s.sha1 {
		check(ioc.IOC{Type: ioc.SHA1, Value: hex.EncodeToString(k[:])}, r, "")
	}
	for k, r := range s.sha256 {
		check(ioc.IOC{Type: ioc.SHA256, Value: hex.EncodeToString(k[:])}, r, "")
	}
	for _, f := range s.feeds {
		for _, spans := range [][]span{f.spans4, f.spans6} {
			for i, sp := range spans {
				p := netip.PrefixFrom(sp.lo, int(sp.bits))
				if p.Masked() != p || lastAddr(p) != sp.hi || p.IsSingleIP() || p.Bits() == 0 {
					t.Fatalf("feed %s: bad span %v-%v /%d", f.info.Name, sp.lo, sp.hi, sp.bits)
				}
				if i > 0 && spans[i-1].hi.Compare(sp.lo) >= 0 {
					t.Fatalf("feed %s: spans overlap or are unsorted: %v, %v", f.info.Name, spans[i-1].lo, sp.lo)
				}
				for _, a := range []netip.Addr{sp.lo, sp.hi} {
					res, err := s.Lookup(ctx, ioc.IPIOC(a))
					if err != nil {
						t.Fatalf("feed %s: %v in span %v not found: %v", f.info.Name, a, p, err)
					}
					if _, ok := matchFor(res, f.info.Name); !ok {
						t.Fatalf("feed %s: %v in span %v not matched: %+v", f.info.Name, a, p, res.Matches)
					}
				}
			}
		}
	}
}

// FuzzDownloadChecks feeds a downloaded body, which comes from the network,
// to the completeness checks of feeds update and the header-date reader:
// no panic; a body a check accepts still passes once its own trailing
// white space is trimmed (the checks read lines, not bytes); and no stated
// date outside [minDate, file time + maxSkew] is believed.
func FuzzDownloadChecks(f *testing.F) {
	for _, s := range []string{
		"# abuse.ch Feodo Tracker\n" + `"first_seen_utc","dst_ip"` + "\n" + `"2024-01-01","1.2.3.4"` + "\n# END 1 entries",
		`{"cidr":"1.10.16.0/20","sblid":"SBL1"}` + "\n" + `{"type":"metadata","timestamp":1744682874,"records":1}` + "\n",
		"# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\"1\",\"2\",\"http://a/b\",\"online\",\"x\",\"m\",\"t\",\"l\",\"r\"\n",
		"# Last updated: 2024-04-04 07:03:03 UTC #\n# This File Date : Wed Aug 27 22:01:31 UTC 2025\n",
		"# END 99999999999999999999 entries",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, check := range []func([]byte) error{checkFeodo, checkSpamhaus, checkLastRow} {
			if check(body) == nil && check(bytes.TrimRight(body, " \t\r\n")) != nil {
				t.Fatalf("accepted only with its trailing white space: %q", body)
			}
		}
		// A stated date is only ever believed within the file's own time.
		mtime := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
		if d, ok := headerDate(leadingComments(body)); ok && believable(d, mtime) && (d.After(mtime.Add(maxSkew)) || d.Before(minDate)) {
			t.Fatalf("believed %v for a file of %v", d, mtime)
		}
	})
}
