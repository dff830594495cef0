package intel

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/score"
)

// Settings is what a remote provider is built from: plain values, no config
// or viper types, so providers stay usable as a library.
type Settings struct {
	APIKey     string // empty when none is configured
	BaseURL    string
	HTTPClient *http.Client
	// Params holds the provider's own keys (Registration.Params) by name,
	// canonical and validated: "90", "true".
	Params map[string]string
	Logger *slog.Logger
	// Cache is the run's cache (cache.Nop under --no-cache), for a provider
	// that keeps data of its own besides its answers (RDAP keeps the IANA
	// bootstrap file for a week); nil means none. Answers themselves are
	// the engine's business.
	Cache cache.Cache
}

// Defaults are a provider's values for the generic configuration keys
// every provider has: <name>.base_url, .rate, .daily_quota, .concurrency
// and .ttl (and <name>.enabled, true for every provider).
type Defaults struct {
	BaseURL     string
	Rate        ratelimit.Rate // the zero Rate means no limit
	DailyQuota  int            // requests per UTC day; 0 = none
	Concurrency int            // lookups in flight; 0 means 4
	// TTL is how long the provider's found answers stay fresh. Zero means
	// cache.ttl: set it only when the provider's data changes at its own
	// pace (a domain's registration date, say).
	TTL time.Duration
}

// Param is a provider-specific configuration key, <provider>.<name>. Its
// value reaches the provider in Settings.Params as a canonical string.
type Param struct {
	Name string
	// Default is a string, int, bool or float64; its type is the key's type
	// (an int key refuses "ten", a bool key reads "TRUE" as "true").
	Default any
	Help    string
	// Check validates the canonical value; nil accepts any value of the type.
	Check func(value string) error
}

// Registration makes a provider known to verdict. Everything about a
// provider lives in its own package, in one Register call: adding one is
// that package plus one import line in pkg/intel/all. Configuration keys,
// environment variables, the documented example config, the default
// scoring table and the engine are all generated from the registrations.
type Registration struct {
	// Name is the stable id in config keys, cache keys, logs and reports:
	// lower case letters, digits and underscores, starting with a letter.
	Name string
	// Title is how people call the provider ("VirusTotal").
	Title string
	// Order places the provider in the engine, the config file and the
	// default scoring table: lower first, then by name.
	Order int
	// Types are the indicator types the provider takes.
	Types []ioc.Type
	// NeedsKey says the provider cannot answer without <name>.api_key:
	// without one its lookups are skipped as no_api_key.
	NeedsKey bool
	// OptIn keeps the provider out of runs until the user asks for it:
	// <name>.enabled true, or (for a provider that takes a key) a key set.
	// The sources beyond CONTRACT.md's VirusTotal and AbuseIPDB are opt-in:
	// a SOC's indicators must not go to a new third party because verdict
	// was upgraded.
	OptIn bool
	// KeyEnv are environment variables users already have for the key
	// (VIRUSTOTAL_API_KEY), read after VERDICT_<NAME>_API_KEY.
	KeyEnv []string
	// KeyHelp says how the key is sent, for the config documentation.
	KeyHelp string
	// Defaults are the provider's generic settings.
	Defaults Defaults
	// Params are the provider's own configuration keys.
	Params []Param
	// Rules are the provider's default scoring rules (data; config key
	// `scoring` replaces the whole table).
	Rules []score.Rule
	// Fields are the numeric or boolean result fields the provider fills
	// and rules may read: common model.Result fields (malicious) or keys of
	// its Result.Attrs.
	Fields []string
	// New builds the provider.
	New func(Settings) (Provider, error)
}

// Supports reports whether the registration lists type t.
func (r Registration) Supports(t ioc.Type) bool { return slices.Contains(r.Types, t) }

var (
	regMu    sync.Mutex
	registry = map[string]Registration{}
)

// Register adds a provider, normally from its package's init. A second
// registration under a name replaces the first. Registrations are checked
// by CheckRegistrations when the configuration is loaded, so a broken one
// is a clear error rather than a panic at start-up.
func Register(r Registration) {
	regMu.Lock()
	defer regMu.Unlock()
	registry[r.Name] = r
}

// Unregister removes a provider (tests that register their own).
func Unregister(name string) {
	regMu.Lock()
	defer regMu.Unlock()
	delete(registry, name)
}

// Registered returns a provider's registration.
func Registered(name string) (Registration, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	r, ok := registry[name]
	return r, ok
}

// Registrations returns every registered provider in report order: by
// Order, then by name.
func Registrations() []Registration {
	regMu.Lock()
	out := make([]Registration, 0, len(registry))
	for _, r := range registry {
		out = append(out, r)
	}
	regMu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// RegisteredNames lists every registered provider, sorted.
func RegisteredNames() []string {
	regs := Registrations()
	n := make([]string, len(regs))
	for i, r := range regs {
		n[i] = r.Name
	}
	sort.Strings(n)
	return n
}

// GenericKeys are the configuration keys every provider has, under its name.
var GenericKeys = []string{"enabled", "api_key", "base_url", "rate", "daily_quota", "concurrency", "ttl"}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ErrRegistration is wrapped by every problem CheckRegistrations finds.
var ErrRegistration = errors.New("invalid provider registration")

// CheckRegistrations validates every registration: names usable as config
// keys and environment variables, no clash with reserved names (the
// configuration's own sections, the local feeds), a constructor, known
// types, parameters with defaults, and rules that validate.
func CheckRegistrations(reserved ...string) error {
	var errs []error
	for _, r := range Registrations() {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%w %q: %s", ErrRegistration, r.Name, fmt.Sprintf(format, args...)))
		}
		if !nameRE.MatchString(r.Name) {
			bad("the name must be lower case letters, digits and underscores, starting with a letter")
		}
		if slices.Contains(reserved, r.Name) {
			bad("the name is reserved")
		}
		if r.New == nil {
			bad("no constructor (New)")
		}
		if len(r.Types) == 0 {
			bad("no indicator types")
		}
		if r.Defaults.DailyQuota < 0 || r.Defaults.Concurrency < 0 {
			bad("negative default daily_quota or concurrency")
		}
		seen := map[string]bool{}
		for _, k := range GenericKeys {
			seen[k] = true
		}
		for _, p := range r.Params {
			if !nameRE.MatchString(p.Name) || seen[p.Name] {
				bad("parameter %q: invalid or duplicate name", p.Name)
			}
			seen[p.Name] = true
			if _, err := CanonicalParam(p, fmt.Sprint(p.Default)); err != nil {
				bad("parameter %q: default: %v", p.Name, err)
			}
		}
		for i, rule := range r.Rules {
			if rule.Provider != r.Name {
				bad("rule %d (%s) is for provider %q", i, rule.Name, rule.Provider)
			}
		}
		rules := score.Default(r.Rules...)
		rules.Fields = Fields()
		if err := rules.Validate(); err != nil {
			bad("default rules: %v", err)
		}
	}
	return errors.Join(errs...)
}

// CanonicalParam parses a parameter value by the type of its default and
// runs its Check: the provider always sees "90", "true", "0.5".
func CanonicalParam(p Param, value string) (string, error) {
	var canon string
	switch p.Default.(type) {
	case int:
		n, err := strconv.Atoi(value)
		if err != nil {
			return "", fmt.Errorf("%q is not a whole number", value)
		}
		canon = strconv.Itoa(n)
	case bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", fmt.Errorf("%q is not true or false", value)
		}
		canon = strconv.FormatBool(b)
	case float64:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not a number", value)
		}
		canon = strconv.FormatFloat(f, 'g', -1, 64)
	case string:
		canon = value
	default:
		return "", fmt.Errorf("default of type %T: want string, int, bool or float64", p.Default)
	}
	if p.Check != nil {
		if err := p.Check(canon); err != nil {
			return "", err
		}
	}
	return canon, nil
}

// Fields lists every result field a scoring rule may read: the common
// fields of model.Result and every registered provider's own.
func Fields() []string {
	out := append([]string(nil), model.NumberFields...)
	for _, r := range Registrations() {
		for _, f := range r.Fields {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// DefaultScoring is the built-in risk table: every registered provider's
// rules in report order, then the local-feed rules, with the default bands
// and cap. Config key `scoring` replaces it.
func DefaultScoring() score.Rules {
	var rules []score.Rule
	for _, r := range Registrations() {
		rules = append(rules, r.Rules...)
	}
	s := score.Default(rules...)
	s.Fields = Fields()
	return s
}
