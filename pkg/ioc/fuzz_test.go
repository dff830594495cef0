package ioc_test

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// fuzzSeeds are the table cases plus a few shapes the tables do not cover.
func fuzzSeeds(f *testing.F) {
	for _, tt := range extractCases {
		f.Add(tt.in)
	}
	for _, tt := range refangCases {
		f.Add(tt.in)
	}
	for _, tt := range precisionCases {
		f.Add(tt.in)
	}
	for _, s := range []string{
		"see hxxp://bad[.]example/x from 10.0.0.1",
		"http://[::ffff:1.2.3.4]:80/a http://[fe80::1%25eth0]/ http://u%zz@evil.com/",
		"a[[[.]]]b hxxp[[:]]//x evil\\[.]com x [ [.] ] y",
		"user@[10.0.0.5] root@192.168.1.1 \\\\10.1.1.1\\c$",
		"%2F%2Fevil.com %40evil.com %20" + hashSHA1,
		// Unicode: mixed scripts, IDN TLDs, ignorables, joiners, bidi
		// controls, combining marks, full-width forms, scripts without
		// spaces next to ASCII, and URLs that carry them.
		"hxxps://pаypal-secure[.]com/вход?q=ü#ä user@bücher-shop.de пример\\.рф",
		"访问例子.中国。然后 http://例子.中国/下载/文件.exe然后 evil.com에서 サイトevil.comにアクセス",
		"ev\u00adil.com pay\u200dpal.com e\u0301vil.com \u202eevil.com\u202c ｅｖｉｌ。ｃｏｍ xn--bcher-kva.de XN--ZZ.com",
		"क्\u200dष.भारत ٧٨٩.com a١.com 🍕.com www.\ufeffevil.com BÜCHER.de İstanbul.com straße.de",
		"http://BÜCHER-shop.de.:8080/ü%zz http://[::1]/ü http://ü@evil.com/ http://evil.com/\u00a0x",
	} {
		f.Add(s)
	}
}

// fuzzOptions are the option sets every fuzz input is scanned with.
var fuzzOptions = []ioc.Options{{}, {NoEmailDomains: true}, {NoDomains: true}, {Hosts: true}, {NoHashes: true, Hosts: true}}

func FuzzExtract(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		r := ioc.Refang(s)
		for _, opts := range fuzzOptions {
			var scanned []ioc.IOC
			last, urlEnd := 0, 0
			ioc.Scan(r, opts, func(m ioc.Match) {
				if m.Start < last || m.Start >= m.End || m.End > len(r) {
					t.Fatalf("span [%d:%d] after %d in %d bytes", m.Start, m.End, last, len(r))
				}
				last = m.Start
				checkSpan(t, r[m.Start:m.End], m.IOC)
				if m.Type == ioc.URL {
					urlEnd = m.End
				} else if m.Type == ioc.Domain && opts.NoDomains && m.Start >= urlEnd {
					t.Fatalf("domain %q outside a URL with NoDomains", m.Value)
				}
				scanned = append(scanned, m.IOC)
			})
			got := ioc.Extract(s, opts)
			for _, i := range got {
				if n, err := ioc.Normalize(i); err != nil || n != i {
					t.Fatalf("Normalize(%v) = %v, %v", i, n, err)
				}
				// Every value is in the refanged input modulo
				// normalisation: Scan found it at a span that
				// normalises to it (checkSpan).
				if !slices.Contains(scanned, i) {
					t.Fatalf("Extract gave %v, Scan did not", i)
				}
				if i.Type.IsHash() && !strings.Contains(strings.ToLower(r), i.Value) {
					t.Fatalf("%v not in refanged input", i)
				}
				checkSkipped(t, i)
			}
			for _, i := range scanned {
				if !slices.Contains(got, i) {
					t.Fatalf("Scan gave %v, Extract did not", i)
				}
			}
		}
	})
}

// checkSpan verifies that text, the span of a match, is the indicator.
func checkSpan(t *testing.T, text string, i ioc.IOC) {
	t.Helper()
	switch i.Type {
	case ioc.IPv4, ioc.IPv6:
		a, err := ioc.ParseIP(text)
		if err != nil || ioc.IPIOC(a) != i {
			t.Fatalf("span %q is not %v", text, i)
		}
	case ioc.URL:
		if u, err := ioc.NormalizeURL(text); err != nil || u != i.Value {
			t.Fatalf("span %q is not %v (%v)", text, i, err)
		}
	case ioc.Domain:
		if d, err := ioc.NormalizeDomain(text); err != nil || d != i.Value {
			t.Fatalf("span %q is not %v (%v)", text, i, err)
		}
	default:
		if !strings.EqualFold(text, i.Value) {
			t.Fatalf("span %q is not %v", text, i)
		}
	}
}

// fuzzPolicy has an internal domain that the seeds use.
var fuzzPolicy, _ = ioc.NewPolicy(nil, []string{"corp.com"})

// checkSkipped verifies that Classify never lets a non-global address reach
// a provider, and that the Policy skips at least what Classify does, and
// every reserved name.
func checkSkipped(t *testing.T, i ioc.IOC) {
	t.Helper()
	pr := fuzzPolicy.Classify(i)
	if r := ioc.Classify(i); r != ioc.NotSkipped {
		if pr != r {
			t.Fatalf("Policy gives %q where Classify gives %q for %v", pr, r, i)
		}
		return
	}
	if i.Type == ioc.Domain && ioc.ReservedName(i.Value) && pr != ioc.Reserved {
		t.Fatalf("reserved %v classified %q", i, pr)
	}
	host := i
	if i.Type == ioc.URL {
		h, err := ioc.URLHost(i.Value)
		if err != nil {
			t.Fatalf("URLHost(%q): %v", i.Value, err)
		}
		host = h
	}
	if !host.Type.IsIP() {
		return
	}
	a, err := ioc.ParseIP(host.Value)
	if err != nil || !a.IsGlobalUnicast() || a.IsPrivate() {
		t.Fatalf("%v not skipped", i)
	}
}

// FuzzNormalize checks Normalize on arbitrary values of every type: it never
// panics, what it accepts is in canonical form (ASCII host names, lower
// case) and idempotent, and a URL's host is itself a valid indicator.
func FuzzNormalize(f *testing.F) {
	fuzzSeeds(f)
	for _, s := range []string{"bücher-shop.de", "XN--BCHER-KVA.DE.", "xn--zz.com", "http://例子.中国/ü", "HTTP://Evil.COM:80/A", hashMD5} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range ioc.AllTypes {
			n, err := ioc.Normalize(ioc.IOC{Type: typ, Value: s})
			if err != nil {
				continue
			}
			again, err := ioc.Normalize(n)
			if err != nil || again != n {
				t.Fatalf("Normalize(%v) = %v, then %v, %v", s, n, again, err)
			}
			switch n.Type {
			case ioc.Domain:
				for i := 0; i < len(n.Value); i++ {
					if c := n.Value[i]; c >= 0x80 || c >= 'A' && c <= 'Z' {
						t.Fatalf("domain %q is not lower-case ASCII", n.Value)
					}
				}
			case ioc.URL:
				h, err := ioc.URLHost(n.Value)
				if err != nil {
					t.Fatalf("URLHost(%q): %v", n.Value, err)
				}
				if hn, err := ioc.Normalize(h); err != nil || hn != h {
					t.Fatalf("host %v of %q not canonical: %v, %v", h, n.Value, hn, err)
				}
			}
		}
	})
}

func FuzzRefang(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		r := ioc.Refang(s)
		if again := ioc.Refang(r); again != r {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, r, again)
		}
		if len(r) > len(s) {
			t.Fatalf("grew: %q -> %q", s, r)
		}
		if r == s && unsafe.StringData(r) != unsafe.StringData(s) {
			t.Fatalf("copied %q although nothing changed", s)
		}
	})
}

func FuzzDefangText(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		d := ioc.DefangText(s)
		if again := ioc.DefangText(d); again != d {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, d, again)
		}
		if r := ioc.Refang(d); r != ioc.Refang(s) {
			t.Fatalf("Refang does not undo DefangText: %q -> %q -> %q", s, d, r)
		}
		if a, b := ioc.Extract(s, ioc.Options{}), ioc.Extract(d, ioc.Options{}); !slices.Equal(a, b) {
			t.Fatalf("defanging changed the IOCs of %q: %v -> %v", s, a, b)
		}
	})
}
