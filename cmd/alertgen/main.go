//go:build unix

// Command alertgen supports `make bench`: it writes large, realistic alert
// exports and measures a command's wall time and peak memory.
//
//	alertgen gen -n 1000000 -o alerts.ndjson [-unique 50000] [-seed 1] [-feed feeds/verdict-demo-domains.txt]
//	alertgen measure -- verdict enrich --offline ...
//
// Generated alerts mix Suricata EVE and Elastic ECS shapes, private and
// public addresses, domains, URLs and hashes, drawn from a fixed pool of
// unique indicators so that memory can be checked to grow with unique IOCs
// and not with alerts.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "measure":
		err = measure(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "alertgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: alertgen gen -n N -o FILE [-unique U] [-seed S] | alertgen measure -- COMMAND...")
	os.Exit(2)
}

type pool struct {
	ips, domains, urls, hashes, internal []string
}

func newPool(r *rand.Rand, unique int, feedIPs []string) *pool {
	p := &pool{}
	// Internal hosts are a small, fixed population, as in a real network.
	for i := 0; i < 4000; i++ {
		if i%2 == 0 {
			p.internal = append(p.internal, fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), 1+r.IntN(254)))
		} else {
			p.internal = append(p.internal, fmt.Sprintf("192.168.%d.%d", r.IntN(16), 1+r.IntN(254)))
		}
	}
	nIP := unique * 6 / 10
	for i := 0; i < nIP; i++ {
		if i < len(feedIPs) && i%7 == 0 {
			p.ips = append(p.ips, feedIPs[i])
			continue
		}
		// Public-looking addresses outside the special ranges.
		p.ips = append(p.ips, fmt.Sprintf("%d.%d.%d.%d", 11+r.IntN(180), r.IntN(256), r.IntN(256), 1+r.IntN(254)))
	}
	words := []string{"cdn", "update", "api", "mail", "login", "files", "static", "sync", "telemetry", "portal"}
	tlds := []string{"com", "net", "org", "io", "info", "biz", "ru", "cn", "xyz", "top"}
	for i := 0; i < unique*2/10; i++ {
		p.domains = append(p.domains, fmt.Sprintf("%s-%d.%s%d.%s", words[r.IntN(len(words))], r.IntN(1000), words[r.IntN(len(words))], i, tlds[r.IntN(len(tlds))]))
	}
	for i := 0; i < unique/10; i++ {
		d := p.domains[r.IntN(len(p.domains))]
		p.urls = append(p.urls, fmt.Sprintf("https://%s/%s/%d/payload.bin?id=%d", d, words[r.IntN(len(words))], i, r.IntN(1<<20)))
	}
	for i := 0; i < unique/10; i++ {
		b := make([]byte, 32)
		for k := range b {
			b[k] = byte(r.IntN(256))
		}
		p.hashes = append(p.hashes, fmt.Sprintf("%x", b))
	}
	return p
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("n", 100000, "alerts to write")
	out := fs.String("o", "alerts.ndjson", "output file")
	unique := fs.Int("unique", 20000, "size of the indicator pool")
	seed := fs.Uint64("seed", 1, "random seed")
	feed := fs.String("feed-ips", "", "a plain IP list whose entries are mixed into the pool (feed hits)")
	fs.Parse(args)
	r := rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))
	var feedIPs []string
	if *feed != "" {
		b, err := os.ReadFile(*feed)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				feedIPs = append(feedIPs, l)
			}
		}
	}
	p := newPool(r, *unique, feedIPs)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	sigs := []string{"ET CNC Feodo Tracker Reported CnC Server", "ET POLICY curl User-Agent Outbound", "ET SCAN Potential SSH Scan", "ET TROJAN Possible Cobalt Strike Beacon", "ET INFO Observed DNS Query to .top TLD"}
	base := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for i := 0; i < *n; i++ {
		ts := base.Add(time.Duration(i) * 37 * time.Millisecond).Format("2006-01-02T15:04:05.000000-0700")
		var a any
		if i%3 == 0 {
			a = map[string]any{
				"@timestamp": ts,
				"event":      map[string]any{"id": fmt.Sprintf("evt-%d", i), "action": "network-connection", "category": []string{"network"}},
				"rule":       map[string]any{"name": pick(r, sigs)},
				"source":     map[string]any{"ip": pick(r, p.internal), "port": 1024 + r.IntN(60000)},
				"destination": map[string]any{
					"ip": pick(r, p.ips), "port": 443, "domain": pick(r, p.domains),
				},
				"url":     map[string]any{"full": pick(r, p.urls)},
				"file":    map[string]any{"name": "invoice.exe", "hash": map[string]any{"sha256": pick(r, p.hashes)}},
				"message": fmt.Sprintf("connection from host-%d to %s at 23:06:41", r.IntN(500), pick(r, p.ips)),
			}
		} else {
			a = map[string]any{
				"timestamp":  ts,
				"flow_id":    1000000000000000 + i,
				"event_type": "alert",
				"src_ip":     pick(r, p.internal),
				"src_port":   1024 + r.IntN(60000),
				"dest_ip":    pick(r, p.ips),
				"dest_port":  80,
				"proto":      "TCP",
				"alert":      map[string]any{"action": "allowed", "signature_id": 2000000 + r.IntN(1000), "signature": pick(r, sigs), "category": "A Network Trojan was detected", "severity": 1 + r.IntN(3)},
				"http":       map[string]any{"hostname": pick(r, p.domains), "url": "/index.php?q=" + fmt.Sprint(r.IntN(1e6)), "http_user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "status": 200},
			}
		}
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// measure runs a command and prints its wall time and peak RSS (from the
// kernel's rusage, so no GNU time is needed).
func measure(args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		usage()
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) // KiB on Linux and the BSDs
		if runtime.GOOS == "darwin" {
			rss /= 1024 // bytes on macOS
		}
	}
	fmt.Printf("wall_seconds=%.3f peak_rss_mib=%.1f exit=%d\n", wall.Seconds(), float64(rss)/1024, cmd.ProcessState.ExitCode())
	if err != nil {
		if _, ok := err.(*exec.ExitError); ok {
			return nil
		}
		return err
	}
	return nil
}
