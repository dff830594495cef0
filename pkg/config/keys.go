package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/verdict-dev/verdict/pkg/intel"
)

// Key describes one configuration key: its default, extra environment
// variable names, and the help written into verdict.example.yaml.
type Key struct {
	Name    string
	Default any
	Env     []string // accepted besides VERDICT_<NAME>
	Help    string
	// Free marks a free-form value (a map or rule table) that its own
	// parser validates: the unknown-key check does not look inside it.
	Free bool
	// Example lines are written commented out under the key in the
	// example config.
	Example []string
}

// DefaultIDFields are the alert id fields of CONTRACT.md, in order.
var DefaultIDFields = []string{"alert_id", "id", "event.id", "_id", "SystemAlertId"}

// ThinkingLevels are the values of gemini.thinking_level.
var ThinkingLevels = []string{"minimal", "low", "medium", "high"}

// ServiceTiers are the values of gemini.service_tier.
var ServiceTiers = []string{"standard", "flex"}

// FeedCategories are the categories a local feed can have (CONTRACT.md
// "Risk score"), the values of feeds.categories.
var FeedCategories = []string{"c2", "malware", "phishing", "drop", "compromised", "anonymizer", "listed"}

// Keys is every configuration key that is not a provider's; the single
// source, with ProviderKeys, for defaults, environment bindings, strictness
// and the documented example config.
var Keys = []Key{
	{Name: "gemini.api_key", Default: "", Env: []string{"GEMINI_API_KEY", "GOOGLE_API_KEY"}, Help: "Gemini API key (sent only in a request header)"},
	{Name: "gemini.base_url", Default: "", Help: "Gemini API base URL without the API version, which the SDK appends (empty: the SDK's own)"},
	{Name: "gemini.model", Default: "gemini-3.5-flash-lite", Help: "model id"},
	{Name: "gemini.rate", Default: "10/m", Help: "at most N requests per s, m, h or d; 0 = no limit"},
	{Name: "gemini.price_input_per_mtok", Default: nil, Help: "USD per million prompt tokens (empty: the model's list price)"},
	{Name: "gemini.price_output_per_mtok", Default: nil, Help: "USD per million output tokens, thinking included (empty: the model's list price)"},
	{Name: "gemini.max_cost_usd", Default: 0.0, Help: "stop asking the model past this spend per run; 0 = no cap"},
	{Name: "gemini.thinking_level", Default: "low", Help: "thinking of models that take a level (every 3.x and later): " + strings.Join(ThinkingLevels, ", ") + "; never sent with a budget"},
	{Name: "gemini.thinking_budget", Default: 0, Help: "thinking tokens per request of models that take a budget (2.5): 0 = off, -1 = dynamic; never sent with a level"},
	{Name: "gemini.service_tier", Default: "standard", Help: "standard, or flex: half price and may be slower (fine for nightly cron runs)"},
	{Name: "gemini.timeout", Default: "120s", Help: "HTTP timeout of one Gemini request"},
	{Name: "gemini.redact", Default: false, Help: "replace user names, internal hosts, e-mail local parts and non-global IPs before prompting"},
	{Name: "gemini.concurrency", Default: 2, Help: "requests in flight at once"},
	{Name: "gemini.max_output_tokens", Default: 2048, Help: "output token cap per request (thinking shares it)"},

	{Name: "input.id_fields", Default: DefaultIDFields, Help: "fields holding an alert's id, first match wins (case-insensitive, . _ - alike); none: #N, its position in the batch"},
	{Name: "input.max_bytes", Default: "4GiB", Help: "largest standard input or pipe spooled to disk (B, KiB, MiB, GiB, TiB; KB, MB, GB, TB)"},

	{Name: "ioc.internal_domains", Default: []string{}, Help: "the organisation's own domains: their names (subdomains too) are skipped as internal",
		Example: []string{"- corp.example.com"}},

	{Name: "feeds.dirs", Default: []string{}, Help: "local blocklist directories (read recursively) or files; also --feeds"},
	{Name: "feeds.categories", Default: map[string]any{}, Free: true,
		Help:    "a feed file name or glob -> category (" + strings.Join(FeedCategories, ", ") + "); in the environment \"feodo*.csv=c2,tor-*.txt=anonymizer\"",
		Example: []string{`"my-c2-list.txt": c2`, `"tor-*.txt": anonymizer`}},
	{Name: "feeds.max_age", Default: "7d", Help: "a feed file older than this is stale (doctor warns); Go durations or days (7d)"},

	{Name: "cache.dir", Default: "", Help: "cache directory (default $XDG_CACHE_HOME/verdict); also --cache-dir"},
	{Name: "cache.url", Default: "", Help: "a PostgreSQL cache shared by several hosts: postgres://..., postgresql://... or a libpq keyword string; empty: SQLite in cache.dir"},
	{Name: "cache.ttl", Default: "24h", Help: "how long a found answer stays fresh (a provider's own <provider>.ttl and cache.ttl_by win)"},
	{Name: "cache.ttl_not_found", Default: "6h", Help: "how long a not-found answer stays fresh (errors and 429s are never cached)"},
	{Name: "cache.claim_lease", Default: "30s", Help: "processes sharing the cache never ask about one indicator at once; when one dies mid-lookup, the others wait this long before asking (live ones renew their claims)"},
	{Name: "cache.ttl_by", Default: map[string]any{}, Free: true,
		Help:    "TTLs per provider and IOC type, winning over <provider>.ttl and cache.ttl; in the environment \"virustotal.sha256=720h,abuseipdb=12h\"",
		Example: []string{"virustotal:", "  sha256: 720h   # file verdicts change slowly", "abuseipdb: 12h"}},

	{Name: "http.timeout", Default: "30s", Help: "HTTP timeout of one provider request"},
	{Name: "http.max_retries", Default: 3, Help: "retries of a 5xx, timeout or garbage answer before status error"},
	{Name: "http.retry_backoff", Default: "1s", Help: "first retry delay; doubled per retry, plus random jitter"},

	{Name: "report.max_details", Default: 200, Help: "alerts (most severe first) with a detail section in txt/html/md"},
	{Name: "report.max_rows", Default: 2000, Help: "rows in the HTML alert table (the JSON report always has every alert)"},

	{Name: "allowlist", Default: []string{}, Help: "IPs, CIDRs, domains (with their subdomains), URLs and hashes never looked up: skipped: allowlisted",
		Example: []string{"- 8.8.8.8", "- 203.0.113.0/24", "- corp.example.com"}},
	{Name: "scoring", Default: map[string]any{}, Free: true,
		Help: "replacement risk rules (rules, bands, cap); empty = the built-in table below"},
}

// ProviderKeys are a registered provider's keys: the generic ones every
// provider has, then its own.
func ProviderKeys(r intel.Registration) []Key {
	n := r.Name
	keyHelp := r.Title + " API key"
	if r.KeyHelp != "" {
		keyHelp += ", " + r.KeyHelp
	}
	switch {
	case !r.NeedsKey && len(r.KeyEnv) == 0 && r.KeyHelp == "":
		keyHelp = "not used: " + r.Title + " takes no key"
	case !r.NeedsKey:
		keyHelp += " (optional: it answers without one)"
	}
	conc := r.Defaults.Concurrency
	if conc == 0 {
		conc = 4
	}
	ttl := ""
	if r.Defaults.TTL > 0 {
		ttl = FormatDuration(r.Defaults.TTL)
	}
	enabledHelp := "look indicators up in " + r.Title + "; false leaves it out of every run and report"
	var enabled any = true
	if r.OptIn {
		enabled = "auto"
		enabledHelp = "look indicators up in " + r.Title + ": true, false, or auto"
		switch {
		case r.NeedsKey:
			enabledHelp += " (on once its api_key is set)"
		case len(r.KeyEnv) > 0 || r.KeyHelp != "":
			enabledHelp += " (on once its api_key is set; true uses it without a key)"
		default:
			enabledHelp += " (off: it needs no key, but sends indicators to a third party; true switches it on)"
		}
	}
	keys := []Key{
		{Name: n + ".enabled", Default: enabled, Help: enabledHelp},
		{Name: n + ".api_key", Default: "", Env: r.KeyEnv, Help: keyHelp},
		{Name: n + ".base_url", Default: r.Defaults.BaseURL, Help: r.Title + " API base URL (a proxy, a mirror or a test server)"},
		{Name: n + ".rate", Default: r.Defaults.Rate.String(), Help: "at most N requests per s, m, h or d; 0 = no limit"},
		{Name: n + ".daily_quota", Default: r.Defaults.DailyQuota, Help: "requests per UTC day, counted across runs and processes; 0 = no quota"},
		{Name: n + ".concurrency", Default: conc, Help: "lookups in flight at once (the rate still applies)"},
		{Name: n + ".ttl", Default: ttl, Help: "how long its found answers stay fresh (empty: cache.ttl; cache.ttl_by wins)"},
	}
	for _, p := range r.Params {
		keys = append(keys, Key{Name: n + "." + p.Name, Default: p.Default, Help: p.Help})
	}
	return keys
}

// AllKeys is every key: the registered providers' (in report order), then
// Keys.
func AllKeys() []Key {
	var all []Key
	for _, r := range intel.Registrations() {
		all = append(all, ProviderKeys(r)...)
	}
	return append(all, Keys...)
}

// Defaults registers every key's default, so that environment variables
// are seen by Unmarshal even for keys absent from the file (spf13/viper#761),
// and binds the VERDICT_* and alias environment variables.
func Defaults(v *viper.Viper) {
	v.SetEnvPrefix("VERDICT")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	for _, k := range AllKeys() {
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

// FormatDuration writes a duration the way people write it in config:
// "7d", "24h", "90m", "1h30m", "500ms".
func FormatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
