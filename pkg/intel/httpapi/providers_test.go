package httpapi_test

// The REST providers on a safehttp client, against servers that echo the
// key every way they can or redirect elsewhere: the key reaches neither the
// lookup result (what the report and the cache store) nor the error (what
// the report and the log print), and never another host.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/abuseipdb"
	"github.com/verdict-dev/verdict/pkg/intel/virustotal"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

const (
	vtKey    = "5f2b1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
	abuseKey = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607182"
)

type provider struct {
	name      string
	keyHeader string
	key       string
	new       func(hc *http.Client, base string) intel.Provider
	// ok is a 200 answer that carries the key in its text fields.
	ok func(key string) string
}

var providers = []provider{
	{
		name: "virustotal", keyHeader: "x-apikey", key: vtKey,
		new: func(hc *http.Client, base string) intel.Provider {
			return virustotal.New(vtKey, virustotal.WithHTTPClient(hc), virustotal.WithBaseURL(base))
		},
		ok: func(key string) string {
			return fmt.Sprintf(`{"data":{"id":"185.220.101.45","type":"ip_address","attributes":{"as_owner":"owner %s","network":"%s",`+
				`"last_analysis_stats":{"malicious":1,"suspicious":0,"harmless":0,"undetected":0},"tags":["%s"],"whois":"key: %s"}}}`, key, key, key, key)
		},
	},
	{
		name: "abuseipdb", keyHeader: "Key", key: abuseKey,
		new: func(hc *http.Client, base string) intel.Provider {
			return abuseipdb.New(abuseKey, abuseipdb.WithHTTPClient(hc), abuseipdb.WithBaseURL(base))
		},
		ok: func(key string) string {
			// str() in the client cuts at 200 bytes: a key echoed at byte
			// 150 would be cut in half, beyond any later scrubber.
			pad := fmt.Sprintf("%0150d", 0)
			return fmt.Sprintf(`{"data":{"ipAddress":"185.220.101.45","abuseConfidenceScore":100,"isp":"%s %s","domain":"%s","hostnames":["%s"],"usageType":"%s"}}`,
				pad, key, key, key, key)
		},
	},
}

var target = ioc.IOC{Type: ioc.IPv4, Value: "185.220.101.45"}

func dump(t *testing.T, r model.Result, err error) string {
	t.Helper()
	b, jerr := json.Marshal(r)
	require.NoError(t, jerr)
	s := string(b)
	if err != nil {
		s += " | " + err.Error() + fmt.Sprintf(" | %+v", err)
	}
	return s
}

func TestProvidersNeverSurfaceAnEchoedKey(t *testing.T) {
	t.Parallel()
	answers := map[string]func(p provider, w http.ResponseWriter, key string){
		"200 with the key in its fields": func(p provider, w http.ResponseWriter, key string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, p.ok(key))
		},
		"401 JSON error": func(_ provider, w http.ResponseWriter, key string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":{"code":"WrongCredentialsError","message":"Wrong API key %s"},"errors":[{"detail":"Authentication failed: %s","status":401}]}`, key, key)
		},
		"429 with the key in a header": func(_ provider, w http.ResponseWriter, key string) {
			w.Header().Set("X-Debug-Key", key)
			w.Header().Set("Retry-After", "5")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"error":{"code":"QuotaExceededError","message":"quota for %s"},"errors":[{"detail":"Daily rate limit of 1000 requests exceeded for key %s","status":429}]}`, key, key)
		},
		"502 HTML page": func(_ provider, w http.ResponseWriter, key string) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<html><body><h1>502</h1><p>upstream rejected %s</p></body></html>", key)
		},
		"500 JSON with an escaped key": func(_ provider, w http.ResponseWriter, key string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"error":{"code":"TransientError","message":"key=%s"},"errors":[{"detail":"key=%s","status":500}]}`, url.QueryEscape(key), key)
		},
	}
	for _, p := range providers {
		for name, answer := range answers {
			t.Run(p.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					answer(p, w, r.Header.Get(p.keyHeader))
				}))
				defer srv.Close()
				hc := safehttp.New(safehttp.Options{Secrets: []string{vtKey, abuseKey}})
				res, err := p.new(hc, srv.URL).Lookup(context.Background(), target)
				out := dump(t, res, err)
				assert.NotContains(t, out, p.key)
				assert.NotContains(t, out, p.key[:40], "not even a part of it")
				assert.NotContains(t, out, url.QueryEscape(p.key))
				if err == nil {
					assert.Equal(t, model.StatusFound, res.Status)
					assert.Contains(t, out, safehttp.Redacted)
				}
			})
		}
	}
}

// The same servers through a plain client: proof that the test above can
// fail.
func TestProvidersLeakAnEchoedKeyWithoutSafehttp(t *testing.T) {
	t.Parallel()
	for _, p := range providers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, p.ok(r.Header.Get(p.keyHeader)))
		}))
		res, err := p.new(&http.Client{}, srv.URL).Lookup(context.Background(), target)
		srv.Close()
		assert.Contains(t, dump(t, res, err), p.key[:40], p.name)
	}
}

func TestProvidersNeverFollowARedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	for _, p := range providers {
		for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			t.Run(fmt.Sprintf("%s/%d", p.name, status), func(t *testing.T) {
				t.Parallel()
				var reached atomic.Int32
				other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
				defer other.Close()
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, other.URL+r.URL.RequestURI(), status)
				}))
				defer srv.Close()
				hc := safehttp.New(safehttp.Options{Secrets: []string{vtKey, abuseKey}})
				res, err := p.new(hc, srv.URL).Lookup(context.Background(), target)
				require.ErrorIs(t, err, safehttp.ErrRedirectRefused)
				assert.NotContains(t, dump(t, res, err), p.key)
				assert.Zero(t, reached.Load(), "the other host was never contacted")
			})
		}
	}
}
