package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

// EngineOptions are the run flags that shape the lookup engine.
type EngineOptions struct {
	Offline  bool
	NoCache  bool
	Refresh  bool
	Logger   *slog.Logger
	Progress intel.Progress
	// Store is the cache, quota and claims store (SQLite, or PostgreSQL
	// with cache.url); nil when it could not be opened (answers are then not
	// reused and the quota is counted for this run only).
	Store cache.Store
	// Now is the run's clock, for answers whose meaning depends on it (a
	// domain's age); nil means time.Now.
	Now func() time.Time
}

// Deps is everything a run needs to look indicators up. The store it uses
// belongs to whoever opened it (the Factory), which closes it.
type Deps struct {
	Engine *intel.Engine
	Cache  cache.Cache
	Quota  cache.Quota
	Feeds  *feed.Set
}

// Secrets are every API key the configuration holds: the HTTP clients
// scrub them out of whatever a server sends back, and stderr is scrubbed
// with them too, so an echoed key reaches no report, log line or error.
func Secrets(cfg *config.Config) []string {
	var keys []string
	for _, p := range cfg.Providers {
		if k := p.APIKey.Reveal(); k != "" {
			keys = append(keys, k)
		}
	}
	if k := cfg.Gemini.APIKey.Reveal(); k != "" {
		keys = append(keys, k)
	}
	return keys
}

// NewHTTPClient is the client every REST provider uses (pkg/safehttp): an
// explicit timeout, the proxy environment honoured, Go's own gzip handling,
// redirects only within one host (keys never travel to another), every
// body capped, and every configured key scrubbed from what comes back.
func NewHTTPClient(timeout time.Duration, secrets []string) *http.Client {
	return safehttp.New(safehttp.Options{Timeout: timeout, Secrets: secrets})
}

// CheckBaseURLs refuses a base_url that is not an absolute http(s) URL
// (exit 2, naming the key) and warns once about plain http to a host that is
// not this machine: keys would cross the network in clear text.
func CheckBaseURLs(cfg *config.Config, log *slog.Logger) error {
	check := func(name, raw string) error {
		warning, err := safehttp.CheckBaseURL(name, raw)
		if err != nil {
			return InputError(fmt.Errorf("%s.base_url (%s): %w", name, config.EnvName(name+".base_url"), err))
		}
		if warning != "" {
			log.Warn(warning)
		}
		return nil
	}
	for _, p := range cfg.Providers {
		if err := check(p.Name, p.BaseURL); err != nil {
			return err
		}
	}
	if cfg.Gemini.BaseURL != "" {
		return check("gemini", cfg.Gemini.BaseURL)
	}
	return nil
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
		fs, err := feed.Load(cfg.Feeds.Dirs, feed.WithLogger(log), feed.WithCategories(cfg.Feeds.Categories))
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

	if err := CheckBaseURLs(cfg, log); err != nil {
		return nil, err
	}
	client := NewHTTPClient(cfg.HTTP.Timeout, Secrets(cfg))
	for _, reg := range intel.Registrations() {
		pc := cfg.Provider(reg.Name)
		if pc == nil {
			continue // registered after the configuration was loaded
		}
		if pc.Disabled {
			log.Debug("provider switched off", "provider", reg.Name, "key", reg.Name+".enabled")
			continue
		}
		p, err := reg.New(intel.Settings{APIKey: pc.APIKey.Reveal(), BaseURL: pc.BaseURL, HTTPClient: client, Params: pc.Params, Logger: log, Cache: d.Cache})
		if err != nil {
			return nil, fmt.Errorf("build provider %s: %w", reg.Name, err)
		}
		name := reg.Name
		quota := pc.DailyQuota
		if qo, ok := p.(intel.QuotaOverride); ok {
			quota = qo.DailyQuota(quota)
		}
		spec := intel.Spec{
			Provider:    p,
			Rate:        pc.Rate,
			DailyQuota:  quota,
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
	eo := intel.Options{
		Cache: d.Cache, Quota: d.Quota, Refresh: o.Refresh, Logger: log, Progress: o.Progress,
		BackoffBase: cfg.HTTP.RetryBackoff, Now: o.Now,
	}
	if o.Store != nil && !o.NoCache {
		// The store's claims: no two processes sharing it ask about one
		// indicator at once (its Put releases them, so only with its cache).
		eo.Claims = o.Store
		eo.ClaimLease = cfg.Cache.ClaimLease
		// And its rate windows: a provider's rate belongs to its key, so
		// every process using the store keeps one rate between them.
		eo.Rates = SharedRates(o.Store)
	}
	d.Engine = intel.NewEngine(specs, eo)
	return d, nil
}

// SharedRates is the store's rate windows, for a rate kept by every process
// using the store: SQLite's and PostgreSQL's (not a read-only SQLite file,
// which cannot record anything); nil for any other store.
func SharedRates(s cache.Store) ratelimit.Shared {
	if ro, ok := s.(interface{ ReadOnly() bool }); ok && ro.ReadOnly() {
		return nil
	}
	if r, ok := s.(cache.Rates); ok {
		return r
	}
	return nil
}

// ClassifierOptions are the run flags that shape the classifier.
type ClassifierOptions struct {
	Offline bool
	NoCache bool
	// Batch sends the model requests as one Gemini Batch API job.
	Batch  bool
	Logger *slog.Logger
	// Store caches classifications; nil when it could not be opened.
	Store cache.Store
}

// BuildClassifier builds the classification runner from the config:
// Gemini when a key is set and the run is online, the heuristic otherwise.
// A thinking or tier value the model does not take is an input error
// naming the key.
func BuildClassifier(ctx context.Context, cfg *config.Config, o ClassifierOptions) (*classify.Runner, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	var c cache.Cache = cache.Nop{}
	var rates ratelimit.Shared
	if o.Store != nil && !o.NoCache {
		c = o.Store
		rates = SharedRates(o.Store)
	}
	g := cfg.Gemini
	keyHint := "gemini.api_key (" + config.EnvName("gemini.api_key") + ", GEMINI_API_KEY or GOOGLE_API_KEY)"
	ro := classify.Options{
		Cache: c, Rate: g.Rate, Concurrency: g.Concurrency, MaxCostUSD: g.MaxCostUSD, MaxRetries: cfg.HTTP.MaxRetries,
		BackoffBase: cfg.HTTP.RetryBackoff, Logger: log, KeyHint: keyHint, Batch: o.Batch, Rates: rates,
	}
	switch {
	case o.Offline:
		ro.Why = classify.WhyOffline
	case g.APIKey == "":
		ro.Why = classify.WhyNoKey
		log.Info("no Gemini API key: classifications come from the heuristic", "key", keyHint)
	default:
		if g.BaseURL != "" {
			if err := CheckBaseURLs(&config.Config{Gemini: g}, log); err != nil {
				return nil, err
			}
		}
		gen, err := gemini.New(ctx, gemini.Options{APIKey: g.APIKey.Reveal(), BaseURL: g.BaseURL, Model: g.Model,
			ThinkingLevel: g.ThinkingLevel, ThinkingBudget: g.ThinkingBudget, ServiceTier: g.ServiceTier,
			PriceInput: g.PriceInput, PriceOutput: g.PriceOutput, Timeout: g.Timeout, MaxOutputTokens: g.MaxOutputTokens,
			Redact: g.Redact, InternalDomains: cfg.IOC.InternalDomains, Cache: c, Logger: log,
			HTTPClient: NewHTTPClient(g.Timeout, Secrets(cfg))})
		if err != nil {
			var se *gemini.SettingError
			if errors.As(err, &se) {
				return nil, InputError(fmt.Errorf("%w (%s)", err, config.EnvName(se.Key)))
			}
			return nil, fmt.Errorf("build gemini client: %w", err)
		}
		ro.Classifier = gen
	}
	return classify.NewRunner(ro), nil
}
