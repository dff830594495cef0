package attack

import (
	"slices"
	"strings"
	"testing"
)

// FuzzResolve checks that Resolve never panics, classifies every input, and
// is idempotent on its own output: resolving the canonical id gives the same
// answer, and the technique it hands out is itself valid.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"T1110", "t1059.001", " T1086 ", "T1073", "T1064", "T9999", "T12", "T1059.1", "X1059",
		"T1059.001.002", "", "T１０５９", "T1059\x00", "TA0006", strings.Repeat("T1059", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := Resolve(in)
		if !slices.Contains(AllStatuses, r.Status) {
			t.Fatalf("Resolve(%q): status %q", in, r.Status)
		}
		if r.Input != in {
			t.Fatalf("Resolve(%q): Input %q", in, r.Input)
		}
		if (r.Status == StatusValid || r.Status == StatusRevoked) != r.OK() {
			t.Fatalf("Resolve(%q): status %s but OK() %v", in, r.Status, r.OK())
		}
		if (r.Warning() == "") != (r.Status == StatusValid) {
			t.Fatalf("Resolve(%q): status %s with warning %q", in, r.Status, r.Warning())
		}
		if r.Status == StatusMalformed {
			if r.ID != "" || r.Name != "" || r.Technique.ID != "" {
				t.Fatalf("Resolve(%q): malformed but %+v", in, r)
			}
			return
		}
		if canon, ok := canonicalID(r.ID); !ok || canon != r.ID {
			t.Fatalf("Resolve(%q): ID %q is not canonical", in, r.ID)
		}
		again := Resolve(r.ID)
		if again.Status != r.Status || again.ID != r.ID || again.Name != r.Name || again.Technique.ID != r.Technique.ID {
			t.Fatalf("Resolve not idempotent: %q -> %+v, %q -> %+v", in, r, r.ID, again)
		}
		if r.OK() {
			final := Resolve(r.Technique.ID)
			if final.Status != StatusValid || final.Technique.Name != r.Technique.Name {
				t.Fatalf("Resolve(%q) hands out %s, which resolves to %+v", in, r.Technique.ID, final)
			}
		}
		if r.Status == StatusRevoked && r.ReplacedBy != r.Technique.ID || r.Status != StatusRevoked && r.ReplacedBy != "" {
			t.Fatalf("Resolve(%q): status %s, ReplacedBy %q, technique %q", in, r.Status, r.ReplacedBy, r.Technique.ID)
		}
	})
}

// FuzzSuggest checks that Suggest never panics on hostile text and only
// returns active techniques, once each, ordered by confidence, and that
// repeating a text or adding bytes past MaxScan changes nothing.
func FuzzSuggest(f *testing.F) {
	for _, s := range [][2]string{
		{"ET POLICY curl User-Agent Outbound", "Attempted Information Leak"},
		{"sshd: brute force trying to get access to the system. Non existent user.", "T1110"},
		{"SSL::Invalid_Server_Cert", "SSL certificate validation failed with (self signed certificate)"},
		{"MailItemsAccessed", "Add delegated permission grant."},
		{"powershell.exe -nop -enc SQBFAFgA", "T1086 T1059.1 CST0004"},
		{"Credential Access", "OS Credential Dumping"},
		{"C&C beacon over HTTPS", "tor\x00exit\xffnode"},
		{"SSLCertMIMIKATZWebShell", "ÄÖÜ T1055.013 Process Doppelgänging"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got := Suggestions(a, b)
		seen := map[string]bool{}
		for i, s := range got {
			if _, ok := Lookup(s.Technique.ID); !ok {
				t.Fatalf("Suggestions(%q, %q): %s is not active", a, b, s.Technique.ID)
			}
			if seen[s.Technique.ID] {
				t.Fatalf("Suggestions(%q, %q): %s twice", a, b, s.Technique.ID)
			}
			seen[s.Technique.ID] = true
			if s.Confidence < 1 || s.Confidence > 99 || s.Reason == "" {
				t.Fatalf("Suggestions(%q, %q): %+v", a, b, s)
			}
			if i > 0 && got[i-1].Confidence < s.Confidence {
				t.Fatalf("Suggestions(%q, %q): not ordered by confidence", a, b)
			}
		}
		sameSet := func(other []Technique) bool {
			o := ids(other)
			slices.Sort(o)
			g := slices.Sorted(func(yield func(string) bool) {
				for id := range seen {
					if !yield(id) {
						return
					}
				}
			})
			return slices.Equal(o, g)
		}
		if !sameSet(Suggest(a, b, a, b)) {
			t.Fatalf("repeating the texts changed the suggestions for %q, %q", a, b)
		}
		if !sameSet(Suggest(clip(a), clip(b))) {
			t.Fatalf("bytes past MaxScan changed the suggestions for %q, %q", a, b)
		}
	})
}
