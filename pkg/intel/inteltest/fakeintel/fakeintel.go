// Package fakeintel is a third threat-intel provider that exists to prove
// the registry: everything about it is in this package and its one
// intel.Register call, and a test adds it to verdict with one blank import.
// It speaks a small REST API (GET {base}/lookup/{type}/{value} with the key
// in X-Fake-Key; 200 {"score":87,"label":"scanner","benign":false}, 404
// unknown, 401 bad key, 429 with Retry-After), served by NewServer.
package fakeintel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/score"
)

// Name is the provider id.
const Name = "fakeintel"

func minScore() *float64 { v := 50.0; return &v }

func init() {
	intel.Register(intel.Registration{
		Name:     Name,
		Title:    "FakeIntel",
		Order:    90,
		Types:    []ioc.Type{ioc.IPv4, ioc.IPv6, ioc.Domain},
		NeedsKey: true,
		KeyEnv:   []string{"FAKEINTEL_API_KEY"},
		KeyHelp:  "sent only in the X-Fake-Key header",
		Defaults: intel.Defaults{
			BaseURL:     "https://fakeintel.invalid/v1",
			Rate:        ratelimit.Rate{N: 10, Per: time.Second},
			DailyQuota:  100,
			Concurrency: 2,
			TTL:         12 * time.Hour,
		},
		Params: []intel.Param{
			{Name: "min_label_score", Default: 10, Help: "labels of answers scoring below this are dropped (0-100)", Check: func(v string) error {
				if n, _ := strconv.Atoi(v); n < 0 || n > 100 {
					return fmt.Errorf("must be 0-100, got %s", v)
				}
				return nil
			}},
		},
		Rules: []score.Rule{
			{Name: "fakeintel-score", Types: []string{"ip", "domain"}, Provider: Name, Field: "fake_score", Min: minScore(), Points: 35,
				Description: "FakeIntel score {n}"},
		},
		Fields: []string{"fake_score", "fake_benign"},
		New: func(s intel.Settings) (intel.Provider, error) {
			minLabel, _ := strconv.Atoi(s.Params["min_label_score"])
			hc := s.HTTPClient
			if hc == nil {
				hc = &http.Client{Timeout: 10 * time.Second}
			}
			return &Client{key: s.APIKey, base: strings.TrimRight(s.BaseURL, "/"), hc: hc, minLabel: minLabel}, nil
		},
	})
}

// Client looks indicators up in FakeIntel.
type Client struct {
	key, base string
	hc        *http.Client
	minLabel  int
}

var _ intel.Provider = (*Client)(nil)

// Name implements intel.Provider.
func (c *Client) Name() string { return Name }

// Supports implements intel.Provider.
func (c *Client) Supports(t ioc.Type) bool { return t == ioc.IPv4 || t == ioc.IPv6 || t == ioc.Domain }

// Answer is FakeIntel's documented answer.
type Answer struct {
	Score  int    `json:"score"`
	Label  string `json:"label"`
	Benign bool   `json:"benign"`
}

// Lookup implements intel.Provider.
func (c *Client) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	u := c.base + "/lookup/" + url.PathEscape(string(i.Type)) + "/" + url.PathEscape(i.Value)
	resp, err := httpapi.Get(ctx, c.hc, Name, u, map[string]string{"X-Fake-Key": c.key})
	if err != nil {
		return model.Result{}, err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusNotFound:
		return model.Result{}, intel.ErrNotFound
	case http.StatusUnauthorized:
		return model.Result{}, fmt.Errorf("HTTP 401: %w", intel.ErrUnauthorized)
	case http.StatusTooManyRequests:
		return model.Result{}, &intel.RateLimitError{Provider: Name, RetryAfter: httpapi.RetryAfter(resp.Header, time.Now())}
	default:
		return model.Result{}, httpapi.Unexpected(Name, resp)
	}
	if !resp.IsJSON() {
		return model.Result{}, httpapi.Unexpected(Name, resp)
	}
	var a Answer
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		return model.Result{}, fmt.Errorf("%s: decode answer: %v: %w", Name, err, intel.ErrBadResponse)
	}
	r := model.Result{Status: model.StatusFound, Attrs: map[string]any{"fake_score": a.Score, "fake_benign": a.Benign}}
	if a.Label != "" && a.Score >= c.minLabel {
		r.Attrs["fake_label"] = a.Label
	}
	return r, nil
}

// Server is FakeIntel's httptest server.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	answers  map[string]Answer
	requests []string
}

// NewServer starts a server that accepts key, answers what Set scripted
// and 404s the rest.
func NewServer(t testing.TB, key string) *Server {
	s := &Server{answers: map[string]Answer{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		value := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		s.mu.Lock()
		s.requests = append(s.requests, r.URL.Path)
		a, ok := s.answers[value]
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("X-Fake-Key") != key:
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"bad key"}`))
		case !ok:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"unknown"}`))
		default:
			_ = json.NewEncoder(w).Encode(a)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// Set scripts the answer about one value.
func (s *Server) Set(value string, a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[value] = a
}

// Requests lists the paths asked so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}
