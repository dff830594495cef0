// Package config turns the config file, VERDICT_* environment variables and
// flags (through one viper instance per run) into a typed, validated Config.
// Only this package and pkg/cmd import viper; everything downstream receives
// plain structs.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/score"
)

// Secret is an API key. It prints, logs and marshals as "[redacted]" so a
// key can never leak through a log line, an error or a report by accident.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return s.String() }

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON hides the value from JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText hides the value from text encoders (YAML, TOML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the key itself, for the one place that puts it in a header.
func (s Secret) Reveal() string { return string(s) }

// Provider is the configuration shared by the REST threat-intel providers.
type Provider struct {
	APIKey      Secret         `mapstructure:"api_key"`
	BaseURL     string         `mapstructure:"base_url"`
	Rate        ratelimit.Rate `mapstructure:"rate"`
	DailyQuota  int            `mapstructure:"daily_quota"`
	Concurrency int            `mapstructure:"concurrency"`
}

// AbuseIPDB adds the parameters that change AbuseIPDB's answers.
type AbuseIPDB struct {
	Provider   `mapstructure:",squash"`
	MaxAgeDays int  `mapstructure:"max_age_days"`
	Verbose    bool `mapstructure:"verbose"`
}

// Gemini configures the classifier.
type Gemini struct {
	APIKey          Secret         `mapstructure:"api_key"`
	BaseURL         string         `mapstructure:"base_url"`
	Model           string         `mapstructure:"model"`
	Rate            ratelimit.Rate `mapstructure:"rate"`
	PriceInput      *float64       `mapstructure:"price_input_per_mtok"`
	PriceOutput     *float64       `mapstructure:"price_output_per_mtok"`
	MaxCostUSD      float64        `mapstructure:"max_cost_usd"`
	ThinkingLevel   string         `mapstructure:"thinking_level"`  // minimal, low, medium or high
	ThinkingBudget  int            `mapstructure:"thinking_budget"` // 0 off, -1 dynamic
	ServiceTier     string         `mapstructure:"service_tier"`    // standard or flex
	Timeout         time.Duration  `mapstructure:"timeout"`
	Redact          bool           `mapstructure:"redact"`
	Concurrency     int            `mapstructure:"concurrency"`
	MaxOutputTokens int            `mapstructure:"max_output_tokens"`
}

// Feeds lists local blocklist locations.
type Feeds struct {
	Dirs []string `mapstructure:"dirs"`
}

// Cache configures the on-disk lookup cache.
type Cache struct {
	Dir         string        `mapstructure:"dir"`
	TTL         time.Duration `mapstructure:"ttl"`
	TTLNotFound time.Duration `mapstructure:"ttl_not_found"`
	// TTLBy overrides TTL per provider and IOC type. In the file it is a map
	// (provider: duration, or provider: {type: duration}); in an environment
	// variable "virustotal.sha256=720h,abuseipdb=12h".
	TTLBy map[string]map[string]time.Duration `mapstructure:"-"`
}

// Report tunes the human-facing reports.
type Report struct {
	MaxDetails int `mapstructure:"max_details"` // alerts with a full detail section (the most severe)
	MaxRows    int `mapstructure:"max_rows"`    // rows in the HTML alert table
}

// HTTP tunes the clients of every REST provider.
type HTTP struct {
	Timeout      time.Duration `mapstructure:"timeout"`
	MaxRetries   int           `mapstructure:"max_retries"`
	RetryBackoff time.Duration `mapstructure:"retry_backoff"`
}

// Config is the whole validated configuration of one run.
type Config struct {
	VirusTotal Provider    `mapstructure:"virustotal"`
	AbuseIPDB  AbuseIPDB   `mapstructure:"abuseipdb"`
	Gemini     Gemini      `mapstructure:"gemini"`
	Feeds      Feeds       `mapstructure:"feeds"`
	Cache      Cache       `mapstructure:"cache"`
	HTTP       HTTP        `mapstructure:"http"`
	Report     Report      `mapstructure:"report"`
	Allowlist  []string    `mapstructure:"allowlist"`
	Scoring    score.Rules `mapstructure:"-"`

	// File is the config file that was read, or "" if none.
	File string `mapstructure:"-"`
}

// ThinkingLevels are the values of gemini.thinking_level.
var ThinkingLevels = []string{"minimal", "low", "medium", "high"}

// ServiceTiers are the values of gemini.service_tier.
var ServiceTiers = []string{"standard", "flex"}

// Key describes one configuration key: its default, extra environment
// variable names, and the help line written into verdict.example.yaml.
type Key struct {
	Name    string
	Default any
	Env     []string // accepted besides VERDICT_<NAME>
	Help    string
}

// Keys is every configuration key; the single source for defaults, env
// bindings and the documented example config.
var Keys = []Key{
	{"virustotal.api_key", "", []string{"VIRUSTOTAL_API_KEY"}, "VirusTotal API key (sent only in the x-apikey header)"},
	{"virustotal.base_url", "https://www.virustotal.com/api/v3", nil, "VirusTotal API base URL (a proxy, mirror or test server)"},
	{"virustotal.rate", "4/m", nil, "at most N requests per s, m, h or d; 0 = no limit"},
	{"virustotal.daily_quota", 500, nil, "requests per UTC day, counted across runs and processes; 0 = no quota"},
	{"virustotal.concurrency", 4, nil, "lookups in flight at once"},
	{"abuseipdb.api_key", "", []string{"ABUSEIPDB_API_KEY"}, "AbuseIPDB API key (sent only in the Key header)"},
	{"abuseipdb.base_url", "https://api.abuseipdb.com/api/v2", nil, "AbuseIPDB API base URL"},
	{"abuseipdb.rate", "1/s", nil, "at most N requests per s, m, h or d; 0 = no limit"},
	{"abuseipdb.daily_quota", 1000, nil, "requests per UTC day; 0 = no quota"},
	{"abuseipdb.max_age_days", 90, nil, "only reports newer than this count (1-365)"},
	{"abuseipdb.verbose", false, nil, "ask for the verbose answer (country name, individual reports): larger answers"},
	{"abuseipdb.concurrency", 4, nil, "lookups in flight at once"},
	{"gemini.api_key", "", []string{"GEMINI_API_KEY", "GOOGLE_API_KEY"}, "Gemini API key"},
	{"gemini.base_url", "", nil, "Gemini API base URL without the API version (empty: the SDK's own)"},
	{"gemini.model", "gemini-3.5-flash-lite", nil, "model id"},
	{"gemini.rate", "10/m", nil, "at most N requests per s, m, h or d; 0 = no limit"},
	{"gemini.price_input_per_mtok", nil, nil, "USD per million prompt tokens (empty: the model's list price)"},
	{"gemini.price_output_per_mtok", nil, nil, "USD per million output tokens, thinking included (empty: the model's list price)"},
	{"gemini.max_cost_usd", 0.0, nil, "stop asking the model past this spend per run; 0 = no cap"},
	{"gemini.thinking_level", "low", nil, "thinking of models that take a level (every 3.x and later): " + strings.Join(ThinkingLevels, ", ") + "; never sent with a budget"},
	{"gemini.thinking_budget", 0, nil, "thinking tokens per request of models that take a budget (2.5): 0 = off, -1 = dynamic; never sent with a level"},
	{"gemini.service_tier", "standard", nil, "standard, or flex: half price and may be slower (fine for nightly cron runs)"},
	{"gemini.timeout", "120s", nil, "HTTP timeout of one Gemini request"},
	{"gemini.redact", false, nil, "replace user names, internal hosts, e-mail local parts and non-global IPs before prompting"},
	{"gemini.concurrency", 2, nil, "requests in flight at once"},
	{"gemini.max_output_tokens", 2048, nil, "output token cap per request (thinking shares it)"},
	{"feeds.dirs", []string{}, nil, "local blocklist directories or files (also --feeds)"},
	{"cache.dir", "", nil, "cache directory (default $XDG_CACHE_HOME/verdict; also --cache-dir)"},
	{"cache.ttl", "24h", nil, "how long a found answer stays fresh"},
	{"cache.ttl_not_found", "6h", nil, "how long a not-found answer stays fresh (errors and 429s are never cached)"},
	{"cache.ttl_by", map[string]any{}, nil, "per provider and IOC type TTLs, e.g. {virustotal: {sha256: 720h}, abuseipdb: 12h}"},
	{"http.timeout", "30s", nil, "HTTP timeout of one provider request"},
	{"http.max_retries", 3, nil, "retries of a 5xx, timeout or garbage answer before status error"},
	{"http.retry_backoff", "1s", nil, "first retry delay; doubled per retry, plus random jitter"},
	{"report.max_details", 200, nil, "alerts (most severe first) with a detail section in txt/html/md"},
	{"report.max_rows", 2000, nil, "rows in the HTML alert table (the JSON report always has every alert)"},
	{"allowlist", []string{}, nil, "IPs, CIDRs and domains (with their subdomains) never looked up: skipped: allowlisted"},
	{"scoring", map[string]any{}, nil, "replacement risk rules (rules, bands, cap); empty = the built-in table"},
}

// Defaults registers every key's default, so that environment variables
// are seen by Unmarshal even for keys absent from the file (spf13/viper#761),
// and binds the VERDICT_* and alias environment variables.
func Defaults(v *viper.Viper) {
	v.SetEnvPrefix("VERDICT")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	for _, k := range Keys {
		if k.Default != nil {
			v.SetDefault(k.Name, k.Default)
		}
		names := append([]string{EnvName(k.Name)}, k.Env...)
		_ = v.BindEnv(append([]string{k.Name}, names...)...)
	}
}

// EnvName is the VERDICT_* variable of a key.
func EnvName(key string) string {
	return "VERDICT_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// ErrConfigFile wraps problems reading the config file.
var ErrConfigFile = errors.New("config file")

// ReadFile reads the config file: explicit (must exist), else ./verdict.yaml,
// else $XDG_CONFIG_HOME/verdict/config.yaml; none at all is fine.
func ReadFile(v *viper.Viper, explicit string) (string, error) {
	path := explicit
	if path == "" {
		candidates := []string{"verdict.yaml"}
		if dir, err := os.UserConfigDir(); err == nil {
			candidates = append(candidates, filepath.Join(dir, "verdict", "config.yaml"))
		}
		for _, c := range candidates {
			if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
				path = c
				break
			}
		}
	}
	if path == "" {
		return "", nil
	}
	v.SetConfigFile(path)
	if filepath.Ext(path) == "" {
		v.SetConfigType("yaml")
	}
	if err := v.ReadInConfig(); err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrConfigFile, path, err)
	}
	return path, nil
}

// Load unmarshals and validates the configuration.
func Load(v *viper.Viper) (*Config, error) {
	var c Config
	hook := mapstructure.ComposeDecodeHookFunc(
		rateHook,
		mapstructure.StringToTimeDurationHookFunc(),
		listHook,
		floatPtrHook,
	)
	if err := v.Unmarshal(&c, viper.DecodeHook(hook)); err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	c.File = v.ConfigFileUsed()
	ttlBy, err := parseTTLBy(v.Get("cache.ttl_by"))
	if err != nil {
		return nil, err
	}
	c.Cache.TTLBy = ttlBy
	rules, err := parseScoring(v.Get("scoring"))
	if err != nil {
		return nil, err
	}
	c.Scoring = rules
	if c.Cache.Dir == "" {
		c.Cache.Dir = DefaultCacheDir()
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// DefaultCacheDir is $XDG_CACHE_HOME/verdict (os.UserCacheDir honours XDG).
func DefaultCacheDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "verdict")
	}
	return filepath.Join(os.TempDir(), "verdict-cache")
}

// Validate checks ranges and says which key is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", key, EnvName(key), fmt.Sprintf(format, args...)))
	}
	for _, p := range []struct {
		name string
		cfg  Provider
	}{{"virustotal", c.VirusTotal}, {"abuseipdb", c.AbuseIPDB.Provider}} {
		if p.cfg.DailyQuota < 0 {
			bad(p.name+".daily_quota", "must be 0 or more, got %d", p.cfg.DailyQuota)
		}
		if p.cfg.Concurrency < 1 {
			bad(p.name+".concurrency", "must be at least 1, got %d", p.cfg.Concurrency)
		}
		if p.cfg.BaseURL == "" || !(strings.HasPrefix(p.cfg.BaseURL, "https://") || strings.HasPrefix(p.cfg.BaseURL, "http://")) {
			bad(p.name+".base_url", "must be an http(s) URL, got %q", p.cfg.BaseURL)
		}
	}
	if d := c.AbuseIPDB.MaxAgeDays; d < 1 || d > 365 {
		bad("abuseipdb.max_age_days", "must be 1-365, got %d", d)
	}
	if c.Gemini.MaxCostUSD < 0 {
		bad("gemini.max_cost_usd", "must be 0 or more")
	}
	if c.Gemini.Concurrency < 1 {
		bad("gemini.concurrency", "must be at least 1")
	}
	if c.Gemini.Model == "" {
		bad("gemini.model", "must not be empty")
	}
	if !slices.Contains(ThinkingLevels, c.Gemini.ThinkingLevel) {
		bad("gemini.thinking_level", "must be one of %s, got %q", strings.Join(ThinkingLevels, ", "), c.Gemini.ThinkingLevel)
	}
	if c.Gemini.ThinkingBudget < -1 {
		bad("gemini.thinking_budget", "must be -1 (dynamic), 0 (off) or a number of tokens, got %d", c.Gemini.ThinkingBudget)
	}
	if !slices.Contains(ServiceTiers, c.Gemini.ServiceTier) {
		bad("gemini.service_tier", "must be one of %s, got %q", strings.Join(ServiceTiers, ", "), c.Gemini.ServiceTier)
	}
	for _, p := range []struct {
		key string
		v   *float64
	}{{"gemini.price_input_per_mtok", c.Gemini.PriceInput}, {"gemini.price_output_per_mtok", c.Gemini.PriceOutput}} {
		if p.v != nil && *p.v < 0 {
			bad(p.key, "must be 0 or more")
		}
	}
	if c.Cache.TTL <= 0 {
		bad("cache.ttl", "must be positive")
	}
	if c.Cache.TTLNotFound <= 0 {
		bad("cache.ttl_not_found", "must be positive")
	}
	if c.HTTP.Timeout <= 0 {
		bad("http.timeout", "must be positive")
	}
	if c.HTTP.RetryBackoff <= 0 {
		bad("http.retry_backoff", "must be positive")
	}
	if c.HTTP.MaxRetries < 0 {
		bad("http.max_retries", "must be 0 or more")
	}
	if c.Report.MaxDetails < 0 || c.Report.MaxRows < 0 {
		bad("report", "max_details and max_rows must be 0 or more")
	}
	if err := c.Scoring.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, a := range c.Allowlist {
		if _, err := ioc.ParseAllowlist([]string{a}); err != nil {
			bad("allowlist", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// TTLFor returns the cache TTL of found answers for a provider and type.
func (c *Cache) TTLFor(provider string, t ioc.Type) time.Duration {
	if m, ok := c.TTLBy[provider]; ok {
		if d, ok := m[string(t)]; ok {
			return d
		}
		if d, ok := m["*"]; ok {
			return d
		}
	}
	return c.TTL
}

var (
	rateType     = reflect.TypeOf(ratelimit.Rate{})
	floatPtrType = reflect.TypeOf((*float64)(nil))
)

// rateHook decodes "4/m" into a ratelimit.Rate.
func rateHook(from, to reflect.Type, data any) (any, error) {
	if to != rateType {
		return data, nil
	}
	switch d := data.(type) {
	case string:
		return ratelimit.Parse(d)
	case int, int64, float64:
		return ratelimit.Parse(fmt.Sprint(d))
	}
	return data, nil
}

// listHook splits "a,b" (env, flags) into a list; os.PathListSeparator too.
func listHook(from, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok || to.Kind() != reflect.Slice || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	return SplitList(s), nil
}

// SplitList splits on commas and the OS path-list separator, dropping blanks.
func SplitList(s string) []string {
	out := []string{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == os.PathListSeparator }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// floatPtrHook lets an empty string mean "unset" for optional prices.
func floatPtrHook(from, to reflect.Type, data any) (any, error) {
	if to != floatPtrType {
		return data, nil
	}
	if s, ok := data.(string); ok && strings.TrimSpace(s) == "" {
		return (*float64)(nil), nil
	}
	return data, nil
}

// parseTTLBy reads cache.ttl_by from a map (file) or a string (env).
func parseTTLBy(raw any) (map[string]map[string]time.Duration, error) {
	out := map[string]map[string]time.Duration{}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("cache.ttl_by (%s): %s", EnvName("cache.ttl_by"), fmt.Sprintf(format, args...))
	}
	set := func(provider, typ, dur string) error {
		d, err := time.ParseDuration(strings.TrimSpace(dur))
		if err != nil || d <= 0 {
			return fail("%q is not a positive duration", dur)
		}
		if typ != "*" {
			if _, err := ioc.ParseType(typ); err != nil {
				return fail("%v", err)
			}
		}
		p := strings.ToLower(strings.TrimSpace(provider))
		if out[p] == nil {
			out[p] = map[string]time.Duration{}
		}
		out[p][typ] = d
		return nil
	}
	switch r := raw.(type) {
	case nil:
		return out, nil
	case string:
		for _, item := range SplitList(r) {
			k, dur, ok := strings.Cut(item, "=")
			if !ok {
				return nil, fail("%q: want provider[.type]=duration", item)
			}
			provider, typ, _ := strings.Cut(strings.TrimSpace(k), ".")
			if typ == "" {
				typ = "*"
			}
			if err := set(provider, typ, dur); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for provider, val := range r {
			switch pv := val.(type) {
			case string:
				if err := set(provider, "*", pv); err != nil {
					return nil, err
				}
			case map[string]any:
				for typ, dur := range pv {
					if err := set(provider, strings.ToLower(typ), fmt.Sprint(dur)); err != nil {
						return nil, err
					}
				}
			default:
				return nil, fail("%s: want a duration or a map of type: duration", provider)
			}
		}
	default:
		return nil, fail("want a map")
	}
	return out, nil
}

// parseScoring reads `scoring` from a map (file) or a YAML/JSON string
// (env). An empty value means the built-in CONTRACT.md table; a partial one
// keeps the defaults for the parts it leaves out (rules, bands, cap).
func parseScoring(raw any) (score.Rules, error) {
	def := score.Default()
	if s, ok := raw.(string); ok {
		if strings.TrimSpace(s) == "" {
			return def, nil
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			return score.Rules{}, fmt.Errorf("scoring (%s): %w", EnvName("scoring"), err)
		}
		raw = m
	}
	m, ok := raw.(map[string]any)
	if !ok || len(m) == 0 {
		return def, nil
	}
	var r score.Rules
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result: &r, ErrorUnused: true, WeaklyTypedInput: true,
	})
	if err != nil {
		return score.Rules{}, err
	}
	if err := dec.Decode(m); err != nil {
		return score.Rules{}, fmt.Errorf("scoring: %w", err)
	}
	if _, ok := m["rules"]; !ok {
		r.Rules = def.Rules
	}
	if _, ok := m["bands"]; !ok {
		r.Bands = def.Bands
	}
	if _, ok := m["cap"]; !ok {
		r.Cap = def.Cap
	}
	return r, nil
}
