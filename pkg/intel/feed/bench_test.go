package feed

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// genPlain writes a plain list of n lines: 70% IPv4 addresses, 10% CIDRs,
// 10% domains, 10% SHA-256 hashes, with a comment every 1000 lines.
func genPlain(tb testing.TB, path string, n int, rng *rand.Rand) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		switch r := rng.IntN(10); {
		case i%1000 == 0:
			fmt.Fprintf(w, "# block %d\n", i/1000)
		case r < 7:
			v := rng.Uint32()
			fmt.Fprintf(w, "%d.%d.%d.%d\n", byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		case r < 8:
			v := rng.Uint32()
			fmt.Fprintf(w, "%d.%d.%d.0/%d ; SBL%d\n", byte(v>>24), byte(v>>16), byte(v>>8), 16+rng.IntN(9), rng.IntN(1000))
		case r < 9:
			fmt.Fprintf(w, "h%d.evil-%d.example.com\n", rng.IntN(1<<20), rng.IntN(1<<16))
		default:
			fmt.Fprintf(w, "%016x%016x%016x%016x\n", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// genBazaar writes a MalwareBazaar-style CSV export with n rows.
func genBazaar(tb testing.TB, path string, n int, rng *rand.Rand) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "# MalwareBazaar recent malware samples (CSV)")
	fmt.Fprintln(w, `# "first_seen_utc","sha256_hash","md5_hash","sha1_hash","reporter","file_name","file_type_guess","mime_type","signature","clamav","vtpercent","imphash","ssdeep","tlsh"`)
	sigs := []string{"Mirai", "n/a", "AgentTesla", "RedLineStealer", "Formbook", "CoinMiner"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, `"2026-07-22 22:38:50", "%016x%016x%016x%016x", "%016x%016x", "%016x%016x%08x", "abuse_ch", "sample%d.exe", "exe", "application/x-dosexec", "%s", "n/a", "n/a", "%016x%016x", "1536:abc:def", "T1ABCDEF"`+"\n",
			rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(),
			rng.Uint64(), rng.Uint64(), rng.Uint32(), i, sigs[rng.IntN(len(sigs))], rng.Uint64(), rng.Uint64())
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkLoad loads a generated 1M-line plain list and a 200k-row CSV and
// reports, besides time and allocations, the heap the loaded Set keeps.
func BenchmarkLoad(b *testing.B) {
	for _, bc := range []struct {
		name string
		file string
		gen  func(testing.TB, string, int, *rand.Rand)
		n    int
	}{
		{name: "plain-1M", file: "big.txt", gen: genPlain, n: 1_000_000},
		{name: "csv-200k", file: "bazaar.csv", gen: genBazaar, n: 200_000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), bc.file)
			bc.gen(b, path, bc.n, rand.New(rand.NewPCG(1, 2)))
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			var heap uint64
			for b.Loop() {
				var before, after runtime.MemStats
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				s, err := Load([]string{path}, quiet())
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap = after.HeapAlloc - before.HeapAlloc
				runtime.KeepAlive(s)
				b.StartTimer()
			}
			b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
		})
	}
}

// BenchmarkLookup measures hits and misses of each lookup path on a Set of
// 200k addresses, 20k CIDRs, 200k domains and 100k hashes.
func BenchmarkLookup(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "lookup.txt"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	var exact, inCIDR []ioc.IOC
	for i := 0; i < 200_000; i++ {
		v := rng.Uint32() | 1<<24 // avoid 0.0.0.0/8
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		fmt.Fprintln(w, a)
		if i < 1000 {
			exact = append(exact, ioc.IPIOC(a))
		}
	}
	for i := 0; i < 20_000; i++ {
		v := rng.Uint32() &^ 0xff
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0})
		fmt.Fprintf(w, "%s/24\n", a)
		if i < 1000 {
			inCIDR = append(inCIDR, ioc.IPIOC(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 77})))
		}
	}
	for i := 0; i < 200_000; i++ {
		fmt.Fprintf(w, "evil-%d.example.com\n", i)
	}
	for i := 0; i < 100_000; i++ {
		fmt.Fprintf(w, "%016x%016x%016x%016x\n", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
	}
	fmt.Fprintln(w, "2a06:e480::/29")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	s, err := Load([]string{dir}, quiet())
	if err != nil {
		b.Fatal(err)
	}
	var missIP []ioc.IOC
	for len(missIP) < 1000 {
		v := rng.Uint32()
		q := ioc.IPIOC(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
		if _, err := s.Lookup(context.Background(), q); err != nil {
			missIP = append(missIP, q)
		}
	}
	var subdomains, missDomains []ioc.IOC
	for i := 0; i < 1000; i++ {
		subdomains = append(subdomains, dom(fmt.Sprintf("www.cdn.evil-%d.example.com", i*100)))
		missDomains = append(missDomains, dom(fmt.Sprintf("www.cdn.good-%d.example.org", i)))
	}
	cases := []struct {
		name string
		q    []ioc.IOC
		hit  bool
	}{
		{"ipv4-hit-exact", exact, true},
		{"ipv4-hit-cidr", inCIDR, true},
		{"ipv4-miss", missIP, false},
		{"ipv6-hit-cidr", []ioc.IOC{ip("2a06:e481::1")}, true},
		{"ipv6-miss", []ioc.IOC{ip("2001:4860:4860::8888")}, false},
		{"domain-hit-parent", subdomains, true},
		{"domain-miss", missDomains, false},
		{"sha256-miss", []ioc.IOC{sha256("0000000000000000000000000000000000000000000000000000000000000001")}, false},
	}
	ctx := context.Background()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, err := s.Lookup(ctx, c.q[i%len(c.q)])
				if (err == nil) != c.hit {
					b.Fatalf("%s: %v", c.q[i%len(c.q)], err)
				}
				i++
			}
		})
	}
}
