package safehttp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/verdict-dev/verdict/pkg/safehttp"
)

// answer is a VirusTotal-like JSON body of about n bytes: hex hashes and
// mixed-case text, the worst case for a case-insensitive search.
func answer(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"data":{"attributes":{"whois":"`)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "Registrar: MarkMonitor Inc. %064x Domain Name: GOOGLE.COM\\n", i)
	}
	b.WriteString(`"}}}`)
	return b.Bytes()
}

func BenchmarkScrubBytes(b *testing.B) {
	s := safehttp.NewScrubber(vtKey, abuseKey, geminiKey)
	for _, size := range []int{16 << 10, 1 << 20, 16 << 20} {
		body := answer(size)
		b.Run(safehttp.FormatSize(int64(size)), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				_ = s.ScrubBytes(body)
			}
		})
	}
}

// BenchmarkGet compares one small answer through a safehttp client (body
// buffered and scrubbed) with a plain client.
func BenchmarkGet(b *testing.B) {
	body := answer(16 << 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	clients := []struct {
		name string
		c    *http.Client
	}{
		{"plain", &http.Client{}},
		{"safehttp", safehttp.New(safehttp.Options{Secrets: []string{vtKey, abuseKey, geminiKey}})},
	}
	for _, tc := range clients {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
				req.Header.Set("x-apikey", vtKey)
				resp, err := tc.c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != int64(len(body)) {
					b.Fatal(n, err)
				}
			}
		})
	}
}
