package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/intel"
	_ "github.com/verdict-dev/verdict/pkg/intel/all" // the built-in providers
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
}

// Deps is everything a run needs to look indicators up.
type Deps struct {
	Engine *intel.Engine
	Cache  cache.Cache
	Quota  cache.Quota
	Store  *cache.SQLite // nil when the database could not be opened
	Feeds  *feed.Set
}

// Close flushes and closes the cache.
func (d *Deps) Close() error {
	if d.Store != nil {
		return d.Store.Close()
	}
	return nil
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
			return nil, cmdutil.InputError(fmt.Errorf("load feeds: %w", err))
		}
		d.Feeds = fs
		specs = append(specs, intel.Spec{Provider: fs})
	}

	store, err := cache.Open(cfg.Cache.Dir)
	if err != nil {
		log.Warn("cache unavailable: answers will not be reused and the daily quota is counted for this run only", "error", err.Error())
		mem := cache.NewMemory(nil)
		d.Quota = mem
		d.Cache = cache.Nop{}
	} else {
		d.Store = store
		d.Quota = store
		d.Cache = store
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
			return nil, errors.Join(fmt.Errorf("build provider %s: %w", reg.Name, err), d.Close())
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
