package cmdutil

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/classify/gemini"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/feed"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// EngineOptions are the run flags that shape the lookup engine.
type EngineOptions struct {
	Offline  bool
	NoCache  bool
	Refresh  bool
	Logger   *slog.Logger
	Progress intel.Progress
	// Store is the on-disk cache and quota store; nil when it could not be
	// opened (answers are then not reused and the quota is counted for
	// this run only).
	Store *cache.SQLite
}

// Deps is everything a run needs to look indicators up. The store it uses
// belongs to whoever opened it (the Factory), which closes it.
type Deps struct {
	Engine *intel.Engine
	Cache  cache.Cache
	Quota  cache.Quota
	Feeds  *feed.Set
}

// NewHTTPClient is the client every REST provider uses: an explicit timeout,
// HTTPS_PROXY/HTTP_PROXY/NO_PROXY honoured, and Go's own gzip handling (a
// hand-set Accept-Encoding is how vt-go once turned a 429 into "gzip:
// invalid header").
func NewHTTPClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Timeout: timeout, Transport: tr}
}

// BuildEngine assembles feeds, cache, quota and providers from the config.
func BuildEngine(ctx context.Context, cfg *config.Config, o EngineOptions) (*Deps, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Deps{}
	var specs []intel.Spec
	if len(cfg.Feeds.Dirs) > 0 {
		fs, err := feed.Load(cfg.Feeds.Dirs, feed.WithLogger(log))
		if err != nil {
			return nil, InputError(fmt.Errorf("load feeds: %w", err))
		}
		d.Feeds = fs
		specs = append(specs, intel.Spec{Provider: fs})
	}

	if o.Store == nil {
		d.Quota = cache.NewMemory(nil)
		d.Cache = cache.Nop{}
	} else {
		d.Quota = o.Store
		d.Cache = o.Store
	}
	if o.NoCache {
		d.Cache = cache.Nop{}
	}

	client := NewHTTPClient(cfg.HTTP.Timeout)
	for _, reg := range intel.Registrations() {
		pc := cfg.Provider(reg.Name)
		if pc == nil {
			continue // registered after the configuration was loaded
		}
		p, err := reg.New(intel.Settings{APIKey: pc.APIKey.Reveal(), BaseURL: pc.BaseURL, HTTPClient: client, Params: pc.Params, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("build provider %s: %w", reg.Name, err)
		}
		name := reg.Name
		spec := intel.Spec{
			Provider:    p,
			Rate:        pc.Rate,
			DailyQuota:  pc.DailyQuota,
			Concurrency: pc.Concurrency,
			TTL:         func(t ioc.Type) time.Duration { return cfg.TTLFor(name, t) },
			TTLNotFound: cfg.Cache.TTLNotFound,
			MaxRetries:  cfg.HTTP.MaxRetries,
			KeyHint:     fmt.Sprintf("%s.api_key (%s)", name, config.EnvName(name+".api_key")),
		}
		switch {
		case o.Offline:
			spec.Disabled = model.ReasonOffline
		case reg.NeedsKey && pc.APIKey == "":
			spec.Disabled = model.ReasonNoAPIKey
			log.Info("no API key: provider answers only from the cache", "provider", name, "key", spec.KeyHint)
		}
		specs = append(specs, spec)
	}
	d.Engine = intel.NewEngine(specs, intel.Options{
		Cache: d.Cache, Quota: d.Quota, Refresh: o.Refresh, Logger: log, Progress: o.Progress,
		BackoffBase: cfg.HTTP.RetryBackoff,
	})
	return d, nil
}

// ClassifierOptions are the run flags that shape the classifier.
type ClassifierOptions struct {
	Offline bool
	NoCache bool
	Logger  *slog.Logger
	// Store caches classifications; nil when it could not be opened.
	Store *cache.SQLite
}

// BuildClassifier builds the classification runner from the config:
// Gemini when a key is set and the run is online, the heuristic otherwise.
func BuildClassifier(ctx context.Context, cfg *config.Config, o ClassifierOptions) (*classify.Runner, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	var c cache.Cache = cache.Nop{}
	if o.Store != nil && !o.NoCache {
		c = o.Store
	}
	g := cfg.Gemini
	keyHint := "gemini.api_key (" + config.EnvName("gemini.api_key") + ", GEMINI_API_KEY or GOOGLE_API_KEY)"
	ro := classify.Options{
		Prompt: gemini.PromptFunc, PromptVersion: gemini.PromptVersion, Cache: c, Rate: g.Rate,
		Concurrency: g.Concurrency, MaxCostUSD: g.MaxCostUSD, Redact: g.Redact, MaxRetries: cfg.HTTP.MaxRetries,
		BackoffBase: cfg.HTTP.RetryBackoff, Logger: log, KeyHint: keyHint,
	}
	price, known := classify.ListPrices[g.Model]
	if g.PriceInput != nil {
		price.InputPerMTok, known = *g.PriceInput, known || g.PriceOutput != nil
	}
	if g.PriceOutput != nil {
		price.OutputPerMTok = *g.PriceOutput
	}
	ro.Price = price
	switch {
	case o.Offline:
		ro.Why = classify.WhyOffline
	case g.APIKey == "":
		ro.Why = classify.WhyNoKey
		log.Info("no Gemini API key: classifications come from the heuristic", "key", keyHint)
	default:
		if !known {
			log.Warn("no price for this model: costs are reported as 0; set gemini.price_input_per_mtok and gemini.price_output_per_mtok", "model", g.Model)
		}
		gen, err := gemini.New(ctx, gemini.Options{APIKey: g.APIKey.Reveal(), BaseURL: g.BaseURL, Model: g.Model,
			Timeout: g.Timeout, ThinkingBudget: g.ThinkingBudget, MaxOutputTokens: g.MaxOutputTokens})
		if err != nil {
			return nil, fmt.Errorf("build gemini client: %w", err)
		}
		ro.Generator = gen
	}
	return classify.NewRunner(ro), nil
}
