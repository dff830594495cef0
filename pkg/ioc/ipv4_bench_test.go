package ioc

import (
	"net/netip"
	"testing"
)

// ipv4Inputs are what the scanner hands an IPv4 parser: addresses, and the
// runs of digits and dots that are not (versions, OIDs, clock fractions,
// ip.port, octal).
var ipv4Inputs = []string{"185.220.101.45", "10.3.251.22", "8.8.8.8", "255.255.255.255", "1.2.3.4.5", "10.0.0.256", "01.2.3.4", "00.037000", "1.3.6.1.4.1.311"}

// BenchmarkParseIPv4 is the decision behind ParseIPv4 (issue 13 item 5):
// netip.ParseAddr against the parser the extraction and the feed loaders
// share. netip takes about three times as long and allocates an error
// for every string it turns down.
func BenchmarkParseIPv4(b *testing.B) {
	b.Run("ParseIPv4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, s := range ipv4Inputs {
				_, _ = ParseIPv4(s)
			}
		}
	})
	b.Run("netip.ParseAddr", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, s := range ipv4Inputs {
				a, err := netip.ParseAddr(s)
				_ = err == nil && a.Is4()
			}
		}
	})
}

// FuzzParseIPv4 holds ParseIPv4 to netip: the shape check only saves
// work, it never decides.
func FuzzParseIPv4(f *testing.F) {
	for _, s := range append(ipv4Inputs, "", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4/24", "1.2.3.04", "0.0.0.0", "::ffff:1.2.3.4", "1.2.3.4%eth0", "1.2.3.2555", "a.b.c.d") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := netip.ParseAddr(s)
		wantOK := err == nil && want.Is4()
		got, ok := ParseIPv4(s)
		if ok != wantOK || (ok && got != want) {
			t.Fatalf("ParseIPv4(%q) = %v, %v; netip says %v, %v", s, got, ok, want, wantOK)
		}
		if gotB, okB := ParseIPv4([]byte(s)); okB != ok || gotB != got {
			t.Fatalf("ParseIPv4([]byte(%q)) = %v, %v; the string gives %v, %v", s, gotB, okB, got, ok)
		}
	})
}
