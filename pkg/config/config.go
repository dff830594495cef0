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

	"github.com/verdict-dev/verdict/pkg/intel"
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

// SecretValues returns every API key the configuration (file, environment)
// sets, before Load validates anything: stderr is scrubbed of them from the
// start, so a key a server echoes, or a typo that puts one in an error,
// never reaches the terminal or a log file.
func SecretValues(v *viper.Viper) []string {
	var out []string
	for _, k := range AllKeys() {
		if !strings.HasSuffix(k.Name, ".api_key") {
			continue
		}
		if s := strings.TrimSpace(v.GetString(k.Name)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Reveal returns the key itself, for the one place that puts it in a header.
func (s Secret) Reveal() string { return string(s) }

// Provider is one threat-intel provider's configuration: the keys every
// provider has (<name>.api_key, .base_url, .rate, .daily_quota,
// .concurrency, .ttl) and its own (Params), all generated from its
// registration in pkg/intel.
type Provider struct {
	Name string
	// Disabled is <name>.enabled set to false: the provider is left out of
	// the run (the zero value keeps a provider on).
	Disabled    bool
	APIKey      Secret
	BaseURL     string
	Rate        ratelimit.Rate
	DailyQuota  int
	Concurrency int
	// TTL is the provider's own freshness for found answers; 0 means
	// cache.ttl. See Config.TTLFor for how it combines with cache.ttl_by.
	TTL time.Duration
	// Params are the provider's own keys by name, canonical ("90", "true").
	Params map[string]string
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

// Feeds configures local blocklists.
type Feeds struct {
	Dirs []string `mapstructure:"dirs"`
	// Categories maps a feed file name or glob (lower case; matched
	// case-insensitively) to its category, one of FeedCategories. Use
	// CategoryFor rather than reading it directly.
	Categories map[string]string `mapstructure:"-"`
	// MaxAge is the age past which a feed file is stale.
	MaxAge time.Duration `mapstructure:"max_age"`
}

// Cache configures the lookup cache.
type Cache struct {
	Dir string `mapstructure:"dir"`
	// URL, when set, selects a PostgreSQL cache instead of SQLite in Dir.
	URL         DSN           `mapstructure:"url"`
	TTL         time.Duration `mapstructure:"ttl"`
	TTLNotFound time.Duration `mapstructure:"ttl_not_found"`
	// ClaimLease is how long a lookup in flight in one process keeps the
	// other processes sharing the cache from asking the same thing; live
	// processes renew it, so it only runs out when its process died.
	ClaimLease time.Duration `mapstructure:"claim_lease"`
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

// Input tunes alert loading.
type Input struct {
	// IDFields are the fields holding an alert's id, first match wins.
	IDFields []string `mapstructure:"id_fields"`
	// MaxBytes bounds standard input and pipes spooled to disk.
	MaxBytes ByteSize `mapstructure:"max_bytes"`
}

// IOC tunes extraction.
type IOC struct {
	// InternalDomains are the organisation's own domains (lower case,
	// without a leading dot): their names are skipped as internal.
	InternalDomains []string `mapstructure:"internal_domains"`
}

// Config is the whole validated configuration of one run.
type Config struct {
	// Providers are the registered threat-intel providers, in report order.
	Providers []Provider `mapstructure:"-"`
	Gemini    Gemini     `mapstructure:"gemini"`
	Input     Input      `mapstructure:"input"`
	IOC       IOC        `mapstructure:"ioc"`
	Feeds     Feeds      `mapstructure:"feeds"`
	Cache     Cache      `mapstructure:"cache"`
	HTTP      HTTP       `mapstructure:"http"`
	Report    Report     `mapstructure:"report"`
	Allowlist []string   `mapstructure:"allowlist"`
	// Scoring is the risk table: the registered providers' rules and the
	// local-feed rules, or the config's `scoring`.
	Scoring score.Rules `mapstructure:"-"`

	// File is the config file that was read, or "" if none.
	File string `mapstructure:"-"`
}

// Provider returns a provider's configuration, or nil when no provider of
// that name is registered.
func (c *Config) Provider(name string) *Provider {
	for i := range c.Providers {
		if c.Providers[i].Name == name {
			return &c.Providers[i]
		}
	}
	return nil
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

// reservedNames cannot be provider names: they are the configuration's
// own sections, or the local feeds' name in reports and rules.
func reservedNames() []string {
	names := []string{score.FeedProvider, "verdict"}
	for _, k := range Keys {
		sec, _, _ := strings.Cut(k.Name, ".")
		names = append(names, sec)
	}
	return names
}

var decodeHook = mapstructure.ComposeDecodeHookFunc(
	rateHook,
	durationHook,
	byteSizeHook,
	listHook,
	floatPtrHook,
)

// decodeValue decodes one raw value (file, environment, flag or default)
// into out with the same hooks as the whole configuration.
func decodeValue(raw, out any) error {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: out, WeaklyTypedInput: true, DecodeHook: decodeHook})
	if err != nil {
		return err
	}
	return dec.Decode(raw)
}

// Load checks for unknown keys and variables, then unmarshals and
// validates the configuration.
func Load(v *viper.Viper) (*Config, error) {
	if err := intel.CheckRegistrations(reservedNames()...); err != nil {
		return nil, err
	}
	if err := CheckUnknown(v, os.Environ()); err != nil {
		return nil, err
	}
	return decode(v)
}

// LoadIgnoringUnknown is Load without the unknown-key check: `verdict
// doctor` reports unknown keys and variables itself (CheckUnknown), as
// the refusal every other command would meet, and goes on to check what
// the rest of the configuration sets. Unknown keys are not read.
func LoadIgnoringUnknown(v *viper.Viper) (*Config, error) {
	if err := intel.CheckRegistrations(reservedNames()...); err != nil {
		return nil, err
	}
	return decode(v)
}

// decode unmarshals and validates the configuration.
func decode(v *viper.Viper) (*Config, error) {
	var c Config
	if err := v.Unmarshal(&c, viper.DecodeHook(decodeHook)); err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	c.File = v.ConfigFileUsed()
	var errs []error
	for _, r := range intel.Registrations() {
		p, err := loadProvider(v, r)
		errs = append(errs, err)
		c.Providers = append(c.Providers, p)
	}
	var err error
	if c.Cache.TTLBy, err = parseTTLBy(v.Get("cache.ttl_by")); err != nil {
		errs = append(errs, err)
	}
	if c.Feeds.Categories, err = parseCategories(v.Get("feeds.categories")); err != nil {
		errs = append(errs, err)
	}
	if c.Scoring, err = parseScoring(v.Get("scoring"), intel.DefaultScoring()); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.Cache.Dir == "" {
		c.Cache.Dir = DefaultCacheDir()
	}
	c.normalise()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// loadProvider reads one provider's keys, each decoded on its own so an
// error names the key and its variable.
func loadProvider(v *viper.Viper, r intel.Registration) (Provider, error) {
	p := Provider{Name: r.Name, Params: map[string]string{}}
	var errs []error
	get := func(key string, out any) {
		full := r.Name + "." + key
		if err := decodeValue(v.Get(full), out); err != nil {
			errs = append(errs, keyError(full, "%v", unwrapDecode(err)))
		}
	}
	var key string
	get("api_key", &key)
	p.APIKey = Secret(key)
	// enabled is true, false, or auto: on for the built-in sources, and for
	// opt-in ones only once a key is set (keyless ones need true).
	var enabled string
	get("enabled", &enabled)
	switch e := strings.ToLower(strings.TrimSpace(enabled)); e {
	case "true", "1", "yes", "on":
	case "false", "0", "no", "off":
		p.Disabled = true
	case "auto", "":
		p.Disabled = r.OptIn && (key == "" || !(r.NeedsKey || len(r.KeyEnv) > 0 || r.KeyHelp != ""))
	default:
		errs = append(errs, keyError(r.Name+".enabled", "want true, false or auto, got %q", enabled))
	}
	get("base_url", &p.BaseURL)
	get("rate", &p.Rate)
	get("daily_quota", &p.DailyQuota)
	get("concurrency", &p.Concurrency)
	get("ttl", &p.TTL)
	for _, prm := range r.Params {
		full := r.Name + "." + prm.Name
		canon, err := intel.CanonicalParam(prm, strings.TrimSpace(v.GetString(full)))
		if err != nil {
			errs = append(errs, keyError(full, "%v", err))
			continue
		}
		p.Params[prm.Name] = canon
	}
	return p, errors.Join(errs...)
}

// unwrapDecode drops mapstructure's "” expected type" preamble where the
// hook's own error says it better.
func unwrapDecode(err error) error {
	var de *mapstructure.DecodeError
	if errors.As(err, &de) {
		return de.Unwrap()
	}
	return err
}

func keyError(key, format string, args ...any) error {
	return fmt.Errorf("%s (%s): %s", key, EnvName(key), fmt.Sprintf(format, args...))
}

// normalise puts list values into the form consumers compare against.
func (c *Config) normalise() {
	for i, d := range c.IOC.InternalDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		d = strings.TrimPrefix(strings.TrimPrefix(d, "*."), ".")
		c.IOC.InternalDomains[i] = strings.TrimSuffix(d, ".")
	}
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
		errs = append(errs, keyError(key, format, args...))
	}
	for _, p := range c.Providers {
		if p.DailyQuota < 0 {
			bad(p.Name+".daily_quota", "must be 0 or more, got %d", p.DailyQuota)
		}
		if p.Concurrency < 1 {
			bad(p.Name+".concurrency", "must be at least 1, got %d", p.Concurrency)
		}
		if p.TTL < 0 {
			bad(p.Name+".ttl", "must not be negative")
		}
		if p.BaseURL == "" || !(strings.HasPrefix(p.BaseURL, "https://") || strings.HasPrefix(p.BaseURL, "http://")) {
			bad(p.Name+".base_url", "must be an http(s) URL, got %q", p.BaseURL)
		}
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
	if c.Gemini.Timeout <= 0 {
		bad("gemini.timeout", "must be positive")
	}
	if c.Gemini.MaxOutputTokens < 1 {
		bad("gemini.max_output_tokens", "must be at least 1")
	}
	for i, f := range c.Input.IDFields {
		if strings.TrimSpace(f) == "" {
			bad("input.id_fields", "entry %d is empty", i+1)
		}
	}
	if c.Input.MaxBytes <= 0 {
		bad("input.max_bytes", "must be positive")
	}
	for _, d := range c.IOC.InternalDomains {
		if !validDomainName(d) {
			bad("ioc.internal_domains", "%q is not a domain name", d)
		}
	}
	if c.Feeds.MaxAge <= 0 {
		bad("feeds.max_age", "must be positive")
	}
	if err := c.Cache.URL.Validate(); err != nil {
		bad("cache.url", "%v", err)
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
	if c.Cache.ClaimLease < time.Second {
		bad("cache.claim_lease", "must be at least 1s")
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
	known := append(intel.RegisteredNames(), score.FeedProvider)
	for i, r := range c.Scoring.Rules {
		if r.Provider != "" && !slices.Contains(known, r.Provider) {
			errs = append(errs, fmt.Errorf("scoring.rules[%d]: unknown provider %q%s", i, r.Provider, suggest(r.Provider, known)))
		}
	}
	for _, a := range c.Allowlist {
		if _, err := ioc.ParseAllowlist([]string{a}); err != nil {
			bad("allowlist", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// TTLFor returns the cache TTL of found answers for a provider and type:
// cache.ttl_by for the type, else cache.ttl_by for the provider, else
// cache.ttl. Config.TTLFor adds the provider's own <provider>.ttl.
func (c *Cache) TTLFor(provider string, t ioc.Type) time.Duration {
	if d, ok := c.ttlBy(provider, t); ok {
		return d
	}
	return c.TTL
}

func (c *Cache) ttlBy(provider string, t ioc.Type) (time.Duration, bool) {
	if m, ok := c.TTLBy[provider]; ok {
		if d, ok := m[string(t)]; ok {
			return d, true
		}
		if d, ok := m["*"]; ok {
			return d, true
		}
	}
	return 0, false
}

// TTLFor returns how long a provider's found answer about an indicator of
// type t stays fresh. The most specific setting wins:
//
//  1. cache.ttl_by.<provider>.<type>
//  2. cache.ttl_by.<provider> (every type)
//  3. <provider>.ttl (whose default is the provider's own, usually empty)
//  4. cache.ttl
//
// So cache.ttl_by stays the one place to override anything, and a provider
// whose data changes at its own pace (a domain's age) can default to its
// own TTL without the user repeating it.
func (c *Config) TTLFor(provider string, t ioc.Type) time.Duration {
	if d, ok := c.Cache.ttlBy(provider, t); ok {
		return d
	}
	if p := c.Provider(provider); p != nil && p.TTL > 0 {
		return p.TTL
	}
	return c.Cache.TTL
}

// CategoryFor returns the category feeds.categories gives a feed file: an
// exact file name first, then the longest matching glob (then the first
// in sort order). A pattern with a / is matched against the whole path,
// others against the file name; case does not matter.
func (f *Feeds) CategoryFor(path string) (string, bool) {
	if len(f.Categories) == 0 {
		return "", false
	}
	full := strings.ToLower(filepath.ToSlash(path))
	base := full[strings.LastIndex(full, "/")+1:]
	if c, ok := f.Categories[base]; ok {
		return c, true
	}
	best, cat := "", ""
	for pat, c := range f.Categories {
		target := base
		if strings.Contains(pat, "/") {
			target = full
		}
		if ok, _ := filepath.Match(pat, target); !ok {
			continue
		}
		if len(pat) > len(best) || (len(pat) == len(best) && pat < best) {
			best, cat = pat, c
		}
	}
	return cat, best != ""
}

var (
	rateType     = reflect.TypeOf(ratelimit.Rate{})
	floatPtrType = reflect.TypeOf((*float64)(nil))
	durationType = reflect.TypeOf(time.Duration(0))
	byteSizeType = reflect.TypeOf(ByteSize(0))
)

// durationHook reads Go durations ("90m", "24h") and days ("7d"); an
// empty string is 0 (unset).
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	if s, ok := data.(string); ok {
		return ParseDuration(s)
	}
	return data, nil
}

// byteSizeHook reads sizes like "512MiB".
func byteSizeHook(from, to reflect.Type, data any) (any, error) {
	if to != byteSizeType {
		return data, nil
	}
	switch d := data.(type) {
	case string:
		return ParseByteSize(d)
	case int:
		return ByteSize(d), nil
	case int64:
		return ByteSize(d), nil
	case float64:
		return ByteSize(d), nil
	}
	return data, nil
}

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
		d, err := ParseDuration(strings.TrimSpace(dur))
		if err != nil || d <= 0 {
			return fail("%q is not a positive duration", dur)
		}
		if typ != "*" {
			if _, err := ioc.ParseType(typ); err != nil {
				return fail("%v", err)
			}
		}
		p := strings.ToLower(strings.TrimSpace(provider))
		if known := intel.RegisteredNames(); !slices.Contains(known, p) {
			return fail("unknown provider %q%s", p, suggest(p, known))
		}
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
func parseScoring(raw any, def score.Rules) (score.Rules, error) {
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
	r.Fields = def.Fields
	return r, nil
}
