package alert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchAlert returns a realistic alert of about 600 bytes: nested ECS-style
// fields, IPs, a URL, hashes, an escaped command line and a JSON-in-string
// field, varied by i.
func benchAlert(i int) []byte {
	return fmt.Appendf(nil, `{"@timestamp":"2026-01-05T10:%02d:%02d.123Z","alert_id":"ALT-%06d","rule":{"name":"Outbound connection to known C2","severity":"high","id":"R-%d"},`+
		`"source":{"ip":"10.1.%d.%d","port":%d},"destination":{"ip":"185.220.%d.%d","port":443,"domain":"c2-%d.evil.example"},`+
		`"url":{"full":"https://c2-%d.evil.example/gate.php?id=%d"},"file":{"name":"payload.exe","hash":{"md5":"44d88612fea8a8f36de82e1278abb02f",`+
		`"sha256":"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"}},"process":{"command_line":"C:\\Windows\\System32\\cmd.exe /c \"whoami\""},`+
		`"tags":["c2","tor","exfil"],"risk_score":87.5,"acknowledged":false,"details":"{\"user\":\"alice@corp.example\",\"bytes\":%d}"}`,
		i%60, i%60, i, i%97, i%200, i%251, 40000+i%20000, i%200, i%250, i%13, i%13, i, i*31)
}

func BenchmarkReadNDJSON(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.ndjson")
	var buf bytes.Buffer
	const n = 20_000
	for i := 0; i < n; i++ {
		buf.Write(benchAlert(i))
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := Open(path, "bench.ndjson", Options{})
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || rec.Err != nil {
				b.Fatal(err, rec.Err)
			}
			count++
		}
		r.Close()
		if count != n {
			b.Fatalf("read %d records, want %d", count, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

func BenchmarkReadJSONHits(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.json")
	var buf bytes.Buffer
	const n = 20_000
	buf.WriteString(`{"took":1,"hits":{"hits":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"_index":"alerts","_id":"h%d","_source":%s}`, i, benchAlert(i))
	}
	buf.WriteString(`]}}`)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(path, "bench.json", Options{})
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || rec.Err != nil {
				b.Fatal(err, rec.Err)
			}
			count++
		}
		r.Close()
		if count != n {
			b.Fatalf("read %d records, want %d", count, n)
		}
	}
}

func BenchmarkWalk(b *testing.B) {
	raw := benchAlert(42)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var sink int
	for b.Loop() {
		err := Walk(raw, func(p *Path, _ Kind, v string) {
			sink += len(p.Normalized()) + len(v)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	_ = sink
}

func BenchmarkValidate(b *testing.B) {
	raw := benchAlert(42)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := validate(raw); err != nil {
			b.Fatal(err)
		}
	}
}
