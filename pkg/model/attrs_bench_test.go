package model

import (
	"encoding/json"
	"testing"
)

var benchResult = []byte(`{"status":"found","malicious":15,"suspicious":4,"harmless":60,"undetected":10,"reputation":-20,"threat_label":"trojan.x","categories":["malware"],"country":"NL","as_owner":"Example BV","asn":64500,"link":"https://www.virustotal.com/gui/ip-address/185.220.101.45"}`)

// BenchmarkResultUnmarshal is the cost of reading one provider answer back
// (verdict report, classify REPORT.json, the cache): with no attrs, one pass.
func BenchmarkResultUnmarshal(b *testing.B) {
	b.Run("Result", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r Result
			if err := json.Unmarshal(benchResult, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain struct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r resultFields
			if err := json.Unmarshal(benchResult, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkResultMarshal is the cost of writing one answer (each distinct
// enrichment map is encoded once per report).
func BenchmarkResultMarshal(b *testing.B) {
	var r Result
	if err := json.Unmarshal(benchResult, &r); err != nil {
		b.Fatal(err)
	}
	b.Run("Result", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain struct", func(b *testing.B) {
		b.ReportAllocs()
		f := resultFields(r)
		for b.Loop() {
			if _, err := json.Marshal(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
