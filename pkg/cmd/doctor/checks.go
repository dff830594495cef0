package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/viper"

	"github.com/verdict-dev/verdict/pkg/attack"
	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/classify/gemini"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/feed"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

// Free disk where the SQLite cache lives: below minFreeFail a night's
// answers may not fit (SQLite fails writes with SQLITE_FULL, and the run
// goes on without caching, spending quota twice); below minFreeWarn it is
// getting close.
const (
	minFreeFail uint64 = 100 << 20
	minFreeWarn uint64 = 1 << 30
)

// diskFree is freeBytes, or a test's stand-in: a full disk is hard to come by.
var diskFree = freeBytes

// runner holds what the checks share.
type runner struct {
	o     *Options
	log   *slog.Logger
	now   time.Time
	cfg   *config.Config // nil when the configuration does not load
	store cache.Store    // nil when there is none to open (or it failed)
	// cacheAbsent says the SQLite file does not exist yet: nothing counted.
	cacheAbsent bool
	res         *Result
}

func ptr[T any](v T) *T { return &v }

func latency(start time.Time) *int64 { return ptr(time.Since(start).Milliseconds()) }

// environ returns the environment as a map, from Options.Environ.
func (r *runner) environ() map[string]string {
	out := map[string]string{}
	for _, kv := range r.o.environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// checkConfig reports which file was read, what set values (names only),
// the unknown keys that make every other command refuse to run, and
// whether the values are valid. It returns the configuration the other
// checks use, or nil.
func (r *runner) checkConfig(v *viper.Viper) []Check {
	env := r.environ()
	facts := &ConfigFacts{File: v.ConfigFileUsed(), KeysInFile: []string{}, Environment: []string{},
		Flags: append([]string{}, r.o.FlagsSet...), Unknown: []string{}}
	file := Check{ID: "config.file", Section: SectionConfig, Name: "config file", Status: StatusOK, Config: facts}
	switch {
	case r.o.FileErr != nil:
		file.Status, file.Message = StatusFail, r.o.FileErr.Error()
		file.Fix = "fix the file, or name another with --config; the checks below use defaults, environment variables and flags"
	case facts.File == "":
		file.Message = "none: defaults, environment variables and flags only"
		file.Details = []string{"looked for --config FILE, ./verdict.yaml, then $XDG_CONFIG_HOME/verdict/config.yaml"}
	default:
		file.Message = facts.File
	}
	for _, k := range config.AllKeys() {
		if r.o.FileErr == nil && facts.File != "" && v.InConfig(k.Name) {
			facts.KeysInFile = append(facts.KeysInFile, k.Name)
		}
		for _, name := range append([]string{config.EnvName(k.Name)}, k.Env...) {
			if env[name] != "" {
				facts.Environment = append(facts.Environment, name+" ("+k.Name+")")
			}
		}
	}
	sets := Check{ID: "config.settings", Section: SectionConfig, Name: "settings", Status: StatusOK,
		Message: fmt.Sprintf("%d keys set by the file, %d by environment variables, %d by flags (names only; values are never shown)",
			len(facts.KeysInFile), len(facts.Environment), len(facts.Flags))}
	for _, l := range []struct {
		what  string
		names []string
	}{{"file", facts.KeysInFile}, {"environment", facts.Environment}, {"flags", facts.Flags}} {
		if len(l.names) > 0 {
			sets.Details = append(sets.Details, l.what+": "+strings.Join(l.names, ", "))
		}
	}

	// Strictness refuses unknown keys in every other command (exit 2);
	// doctor says so and checks on. With an unreadable file, only the
	// environment can be checked.
	uv := v
	if r.o.FileErr != nil {
		uv = viper.New()
	}
	unknown := Check{ID: "config.unknown", Section: SectionConfig, Name: "unknown keys", Status: StatusOK, Message: "none"}
	if err := config.CheckUnknown(uv, r.o.environ()); err != nil {
		unknown.Status = StatusFail
		for _, e := range unjoin(err) {
			unknown.Details = append(unknown.Details, e.Error())
			var uk *config.UnknownKeyError
			if errors.As(e, &uk) {
				facts.Unknown = append(facts.Unknown, uk.Name)
			}
		}
		unknown.Message = fmt.Sprintf("%d unknown: every other command refuses this configuration (exit 2)", len(unknown.Details))
		unknown.Fix = "correct or remove them (the nearest valid name is suggested)"
	}

	values := Check{ID: "config.values", Section: SectionConfig, Name: "values", Status: StatusOK, Message: "valid"}
	cfg, err := config.LoadIgnoringUnknown(v)
	if err != nil {
		values.Status, values.Message = StatusFail, "invalid: every other command refuses this configuration (exit 2)"
		for _, e := range unjoin(err) {
			values.Details = append(values.Details, e.Error())
		}
		values.Fix = "correct the values named; the checks that need the configuration are skipped"
		cfg = nil
	}
	r.cfg = cfg
	return []Check{file, sets, unknown, values}
}

// unjoin splits errors.Join's errors.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// skipAll is the check of a section that needs a configuration that does
// not load.
func skipAll(id, section, name string) Check {
	return Check{ID: id, Section: section, Name: name, Status: StatusSkip, Message: "not checked: the configuration does not load (see above)"}
}

// checkCache opens the store as a run would, except that a corrupt SQLite
// file is reported rather than moved aside, and an absent one is not
// created. It leaves r.store open for the quota figures.
func (r *runner) checkCache(ctx context.Context) []Check {
	c := Check{ID: "cache.database", Section: SectionCache, Name: "database", Status: StatusOK}
	cc := r.cfg.Cache
	facts := &CacheFacts{}
	c.Cache = facts
	var checks []Check
	if url := strings.TrimSpace(cc.URL.Reveal()); url != "" {
		facts.Backend = "postgres"
		s, err := cache.OpenStore(ctx, cache.StoreOptions{URL: url, Logger: r.log})
		if err != nil {
			// OpenStore's errors never hold the password (cache scrubs them).
			c.Status, c.Message = StatusFail, "cannot open the PostgreSQL cache: "+err.Error()
			c.Fix = "check cache.url (" + config.EnvName("cache.url") + "), the server and its credentials (PGPASSWORD, ~/.pgpass)"
			facts.Location = "PostgreSQL (cache.url)"
			return []Check{c}
		}
		r.store = s
		facts.Location, facts.Exists = s.Describe(), true
		c.Message = "PostgreSQL " + s.Describe() + "; integrity is the server's to keep; free disk is on the server"
		if pg, ok := s.(*cache.Postgres); ok {
			if in, err := pg.Info(ctx); err != nil {
				c.Status, c.Message = StatusFail, "connected, but cannot read the server's facts: "+err.Error()
			} else {
				connectionFacts(&c, facts, in)
			}
		}
	} else {
		facts.Backend = "sqlite"
		path := filepath.Join(cc.Dir, cache.FileName)
		facts.Location = path
		err := cache.CheckFile(ctx, path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.cacheAbsent = true
			c.Message = "not created yet: the first run creates " + path
		case errors.Is(err, cache.ErrCorrupt):
			facts.Exists = true
			c.Status, c.Message = StatusFail, "corrupt: "+err.Error()
			c.Fix = "the next run moves it aside as " + filepath.Base(path) + ".corrupt-<time> and starts an empty cache (cached answers are lost, today's quota counts are kept); or run verdict cache clear"
		case err != nil:
			facts.Exists = true
			c.Status, c.Message = StatusFail, "cannot be checked: "+err.Error()
		default:
			facts.Exists = true
			s, err := cache.OpenStore(ctx, cache.StoreOptions{File: path, Logger: r.log, QuickCheckLimit: -1}) // just checked
			if err != nil {
				c.Status, c.Message = StatusFail, "cannot open: "+err.Error()
				break
			}
			r.store = s
			c.Message = path + ": integrity ok (PRAGMA quick_check)"
		}
		checks = append(checks, r.checkDisk(cc.Dir, facts))
	}
	if r.store != nil {
		st, err := r.store.Stats(ctx)
		if err != nil {
			c.Status, c.Message = StatusFail, "cannot read its statistics: "+err.Error()
		} else {
			facts.Entries, facts.SizeBytes, facts.ReadOnly = st.Entries, st.SizeBytes, st.ReadOnly
			c.Details = append(c.Details, fmt.Sprintf("%d entries (%d expired), %s", st.Entries, st.Expired, cmdutil.HumanBytes(st.SizeBytes)))
			if st.ReadOnly {
				c.Status = StatusWarn
				c.Details = append(c.Details, "read-only: answers are read but not stored, and the daily quota is counted per run only")
				c.Fix = "make the cache file and its directory writable by the user the batch runs as"
			}
		}
	}
	return append([]Check{c}, checks...)
}

// connectionFacts adds what the server says of a PostgreSQL cache's
// connection to c: its version, database and user, whether it is
// encrypted, and the schema version. An unencrypted connection to another
// machine is a warning: the password and every cached answer cross the
// network in clear.
func connectionFacts(c *Check, facts *CacheFacts, in cache.PostgresInfo) {
	facts.Connection = &ConnectionFacts{SSLMode: in.SSLMode, TLS: in.TLS, Local: in.Local, ServerVersion: in.ServerVersion,
		Database: in.Database, User: in.User, SchemaVersion: in.SchemaVersion, SchemaLatest: in.LatestSchema}
	c.Details = append(c.Details, fmt.Sprintf("server PostgreSQL %s; database %s, user %s", in.ServerVersion, in.Database, in.User))
	mode := in.SSLMode
	if mode == "" {
		mode = "not set (prefer)"
	}
	switch {
	case in.TLS:
		c.Details = append(c.Details, "sslmode "+mode+": encrypted (TLS)")
		if in.SSLMode != "verify-full" && !in.Local {
			c.Details = append(c.Details, "the server's certificate is not checked against its name: sslmode=verify-full does")
		}
	case in.Local:
		c.Details = append(c.Details, "sslmode "+mode+": not encrypted, on this machine")
	default:
		c.Details = append(c.Details, "sslmode "+mode+": not encrypted")
		c.Status = worse(c.Status, StatusWarn)
		c.Fix = "the password and every cached answer cross the network in clear: enable TLS on the server and add sslmode=verify-full to cache.url (" +
			config.EnvName("cache.url") + ")"
	}
	c.Details = append(c.Details, fmt.Sprintf("schema version %d (this verdict's: %d)", in.SchemaVersion, in.LatestSchema))
}

// checkDisk reports the free space where the SQLite cache lives (the
// nearest directory that exists: the first run creates the rest).
func (r *runner) checkDisk(dir string, facts *CacheFacts) Check {
	c := Check{ID: "cache.disk", Section: SectionCache, Name: "free disk", Status: StatusOK}
	at := dir
	for {
		if _, err := os.Stat(at); err == nil {
			break
		}
		parent := filepath.Dir(at)
		if parent == at {
			break
		}
		at = parent
	}
	free, err := diskFree(at)
	if err != nil {
		c.Status, c.Message = StatusSkip, "cannot tell on this system: "+err.Error()
		return c
	}
	facts.FreeBytes = ptr(free)
	c.Message = fmt.Sprintf("%s free at %s", cmdutil.HumanBytes(int64(min(free, 1<<62))), at)
	switch {
	case free < minFreeFail:
		c.Status = StatusFail
		c.Fix = fmt.Sprintf("free some space (under %s the cache cannot store a night's answers and quota is spent twice)", cmdutil.HumanBytes(int64(minFreeFail)))
	case free < minFreeWarn:
		c.Status = StatusWarn
		c.Fix = "free some space, or move cache.dir"
	}
	return c
}

// providerChecks checks every registered provider at once; each check is
// one request at most, so they run concurrently.
func (r *runner) providerChecks(ctx context.Context) []Check {
	regs := intel.Registrations()
	out := make([]Check, len(regs))
	client := cmdutil.NewHTTPClient(r.cfg.HTTP.Timeout, cmdutil.Secrets(r.cfg))
	var wg sync.WaitGroup
	for i, reg := range regs {
		wg.Go(func() { out[i] = r.checkProvider(ctx, reg, client) })
	}
	wg.Wait()
	return out
}

func (r *runner) checkProvider(ctx context.Context, reg intel.Registration, client *http.Client) Check {
	name := reg.Name
	c := Check{ID: "provider." + name, Section: SectionProviders, Name: reg.Title, Status: StatusOK}
	pc := r.cfg.Provider(name)
	if pc == nil {
		c.Status, c.Message = StatusSkip, "registered after the configuration was loaded"
		return c
	}
	keyHint := fmt.Sprintf("%s.api_key (%s)", name, strings.Join(append([]string{config.EnvName(name + ".api_key")}, reg.KeyEnv...), ", "))
	c.Key = &KeyFacts{Present: pc.APIKey != ""}
	if pc.Disabled {
		// Opt-in sources stay off until asked for; a switched-off one is
		// neither contacted nor a problem.
		c.Status, c.Message = StatusSkip, "switched off: not used in runs"
		c.Fix = fmt.Sprintf("set %s.enabled: true (%s) to use it", name, config.EnvName(name+".enabled"))
		return c
	}
	c.Quota = &QuotaFacts{DailyQuota: pc.DailyQuota}
	var notes []string
	if r.store != nil {
		used, err := r.store.Used(ctx, name)
		if err == nil {
			c.Quota.UsedToday = used
			if pc.DailyQuota > 0 {
				notes = append(notes, fmt.Sprintf("verdict counted %d of %d requests today (UTC)", used, pc.DailyQuota))
			} else {
				notes = append(notes, fmt.Sprintf("verdict counted %d requests today (UTC), no daily quota set", used))
			}
		}
	} else if r.cacheAbsent {
		notes = append(notes, "verdict counted no requests today (no cache yet)")
	} else {
		notes = append(notes, "today's count is unknown: the cache did not open (see Cache)")
	}
	quotaSpent := pc.DailyQuota > 0 && c.Quota.UsedToday >= pc.DailyQuota
	finish := func() Check {
		c.Details = append(c.Details, notes...)
		if quotaSpent && c.Status != StatusFail {
			c.Status = StatusWarn
			c.Details = append(c.Details, "today's quota is spent: its lookups are skipped (quota_exhausted) until 00:00 UTC")
			if c.Fix == "" {
				c.Fix = fmt.Sprintf("wait for 00:00 UTC, or raise %s.daily_quota if your plan allows more", name)
			}
		}
		return c
	}
	if warning, err := safehttp.CheckBaseURL(name, pc.BaseURL); err != nil {
		c.Status, c.Message = StatusFail, err.Error()
		return finish()
	} else if warning != "" {
		c.Status = StatusWarn
		notes = append(notes, warning)
	}
	if reg.NeedsKey && pc.APIKey == "" {
		c.Status = StatusWarn
		c.Message = "no API key: its lookups are skipped (no_api_key) and answered from the cache only"
		c.Fix = "set " + keyHint
		return finish()
	}
	if r.o.Offline {
		c.Status, c.Message = StatusSkip, "not contacted (--offline)"
		if c.Key.Present {
			c.Message += "; API key present"
		}
		return finish()
	}
	p, err := reg.New(intel.Settings{APIKey: pc.APIKey.Reveal(), BaseURL: pc.BaseURL, HTTPClient: client, Params: pc.Params, Logger: r.log})
	if err != nil {
		c.Status, c.Message = StatusFail, "cannot be built: "+err.Error()
		return finish()
	}
	hc, ok := p.(intel.HealthChecker)
	if !ok {
		c.Status = worse(c.Status, StatusSkip)
		c.Message = "not contacted: it offers no check that spends no quota"
		if c.Key.Present {
			c.Message += "; API key present"
		}
		return finish()
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.HTTP.Timeout)
	defer cancel()
	start := time.Now()
	h, err := hc.Check(ctx)
	c.LatencyMS = latency(start)
	var rl *intel.RateLimitError
	switch {
	case errors.Is(err, intel.ErrUnauthorized):
		c.Status, c.Key.Accepted = StatusFail, ptr(false)
		c.Message = "API key rejected: " + err.Error()
		c.Fix = "check " + keyHint
	case errors.As(err, &rl):
		c.Status = StatusWarn
		c.Message = "rate limited: " + err.Error()
		if rl.Quota {
			c.Message = "its quota is spent at the provider: " + err.Error()
		}
		c.Fix = "the batch waits for the limit; check the plan's quota if this lasts"
	case err != nil:
		c.Status, c.Message = StatusFail, "check failed: "+err.Error()
		c.Fix = "check the network, the proxy (HTTPS_PROXY) and " + name + ".base_url"
	default:
		if h.KeyAccepted {
			c.Key.Accepted = ptr(true)
		}
		c.Message = h.Detail
		if h.SpentQuota {
			notes = append(notes, "this check counted against the daily quota")
			if r.store != nil {
				// Keep verdict's own count exact: the request was spent,
				// whatever the limit (a limit of 0 would count nothing).
				if _, err := r.store.Take(context.WithoutCancel(ctx), name, math.MaxInt32); err == nil {
					c.Quota.UsedToday++
				}
			}
		}
	}
	return finish()
}

// checkGemini checks the classifier's setup: key, the model in verdict's
// table, thinking and tier settings (as classify would refuse them), the
// price, and, online with a key, models.get through the classifier's own
// Check, sent every time (the run's day-long cache of it is bypassed).
func (r *runner) checkGemini(ctx context.Context) []Check {
	g := r.cfg.Gemini
	keyHint := config.EnvName("gemini.api_key") + ", GEMINI_API_KEY or GOOGLE_API_KEY"
	key := Check{ID: "gemini.key", Section: SectionGemini, Name: "API key", Status: StatusOK, Key: &KeyFacts{Present: g.APIKey != ""}}
	if g.APIKey == "" {
		key.Status, key.Message = StatusWarn, "no API key: classify answers with the heuristic (source: heuristic)"
		key.Fix = "set gemini.api_key (" + keyHint + ") to classify with Gemini"
	} else {
		key.Message = "present"
	}

	m := Check{ID: "gemini.model", Section: SectionGemini, Name: g.Model, Status: StatusOK}
	tier, _ := gemini.ParseTier(g.ServiceTier)
	facts := &ModelFacts{ID: g.Model, Tier: string(tier)}
	m.Model = facts
	row, known := gemini.LookupModel(g.Model)
	facts.Known = known
	serving := row.Serving()
	if known {
		facts.Status, facts.Serving = string(row.Status), serving.ID
	}
	// The classifier validates thinking and tier exactly as classify does.
	// Without a key it is built with a placeholder one, only to validate:
	// nothing is sent without a key.
	apiKey := g.APIKey.Reveal()
	if apiKey == "" {
		apiKey = "doctor-validates-settings-only"
	}
	if g.BaseURL != "" {
		if warning, err := safehttp.CheckBaseURL("gemini", g.BaseURL); err != nil {
			m.Status, m.Message = StatusFail, err.Error()
			return []Check{key, m}
		} else if warning != "" {
			m.Details = append(m.Details, warning)
			m.Status = StatusWarn
		}
	}
	cl, err := gemini.New(ctx, gemini.Options{APIKey: apiKey, BaseURL: g.BaseURL, Model: g.Model,
		ThinkingLevel: g.ThinkingLevel, ThinkingBudget: g.ThinkingBudget, ServiceTier: g.ServiceTier,
		PriceInput: g.PriceInput, PriceOutput: g.PriceOutput, Timeout: min(g.Timeout, r.cfg.HTTP.Timeout),
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return r.now },
		HTTPClient: cmdutil.NewHTTPClient(min(g.Timeout, r.cfg.HTTP.Timeout), cmdutil.Secrets(r.cfg))})
	var se *gemini.SettingError
	switch {
	case errors.As(err, &se):
		m.Status, m.Message = StatusFail, err.Error()
		m.Fix = "change " + se.Key + " (" + config.EnvName(se.Key) + "): classify refuses to start with it (exit 2)"
		return []Check{key, m}
	case err != nil:
		m.Status, m.Message = StatusFail, err.Error()
		return []Check{key, m}
	}
	facts.Thinking = cl.Thinking()
	m.Details = append(m.Details, "thinking: "+cl.Thinking(), "tier: "+string(tier))
	in, out, priced := r.price(g, serving, known, tier)
	if priced {
		facts.PriceInput, facts.PriceOutput = ptr(in), ptr(out)
		m.Details = append(m.Details, fmt.Sprintf("price: $%.2f input / $%.2f output per million tokens at the %s tier, thinking billed as output", in, out, tier))
	} else {
		m.Details = append(m.Details, "price: unknown (not in verdict's table): costs show as 0")
	}
	var notes []string
	switch {
	case !known:
		m.Status = StatusWarn
		notes = append(notes, "not in verdict's model table: no thinking setting is sent and its price is unknown unless gemini.price_input_per_mtok and gemini.price_output_per_mtok are set; current models: "+strings.Join(gemini.CurrentModels(), ", "))
		m.Fix = "set gemini.model to a current model: " + gemini.DefaultModel + " (the default)"
	case row.Status == gemini.StatusRetired:
		m.Status = StatusWarn
		n := fmt.Sprintf("shut down on %s", row.Shutdown)
		if row.RoutedTo != "" {
			n += fmt.Sprintf(": Google answers its requests with %s, under that model's rules and at its price", row.RoutedTo)
		}
		notes = append(notes, n)
		m.Fix = "set gemini.model to " + gemini.DefaultModel
	case row.Shutdown != "":
		notes = append(notes, "Google has announced its shutdown on "+row.Shutdown)
	}

	switch {
	case r.o.Offline:
		m.Message = "models.get not asked (--offline)"
		m.Status = worse(m.Status, StatusSkip)
	case g.APIKey == "":
		m.Message = "models.get not asked (no API key)"
		m.Status = worse(m.Status, StatusSkip)
	default:
		start := time.Now()
		err := cl.Check(ctx)
		m.LatencyMS = latency(start)
		switch {
		case err == nil:
			facts.Exists = ptr(true)
			m.Message = "exists (models.get; no tokens billed)"
		case errors.Is(err, classify.ErrModelNotFound):
			facts.Exists = ptr(false)
			m.Status, m.Message = StatusFail, err.Error()
			m.Fix = "set gemini.model to a current model: " + strings.Join(gemini.CurrentModels(), ", ")
		case errors.Is(err, classify.ErrKeyRejected):
			key.Status, key.Key.Accepted = StatusFail, ptr(false)
			key.Message = "rejected: " + err.Error()
			key.Fix = "check gemini.api_key (" + keyHint + ")"
			m.Status, m.Message = StatusSkip, "models.get not answered: the key was rejected"
		default:
			m.Status, m.Message = StatusFail, "models.get failed: "+err.Error()
			m.Fix = "check the network, the proxy (HTTPS_PROXY) and gemini.base_url"
		}
		if err == nil || errors.Is(err, classify.ErrModelNotFound) {
			key.Key.Accepted = ptr(true)
			key.Message = "accepted"
		}
	}
	m.Details = append(m.Details, notes...)
	return []Check{key, m}
}

// price is the configured tier's price per million tokens: the overrides,
// else the serving model's list price on today's date.
func (r *runner) price(g config.Gemini, serving gemini.Model, known bool, tier gemini.Tier) (in, out float64, ok bool) {
	rate := serving.RateAt(r.now)
	in, out = rate.Input, rate.Output
	if g.PriceInput != nil {
		in = *g.PriceInput
	}
	if g.PriceOutput != nil {
		out = *g.PriceOutput
	}
	if !known && (g.PriceInput == nil || g.PriceOutput == nil) {
		return 0, 0, false
	}
	return in * tier.Discount(), out * tier.Discount(), true
}

// checkFeeds loads the feeds as a run does and reports each file: entries,
// category, format and age, warning past feeds.max_age.
func (r *runner) checkFeeds() []Check {
	fc := r.cfg.Feeds
	if len(fc.Dirs) == 0 {
		return []Check{{ID: "feeds.dirs", Section: SectionFeeds, Name: "feeds.dirs", Status: StatusWarn,
			Message: "no local feeds: only the online providers can check indicators",
			Fix:     "download the free feeds with verdict feeds update --dir DIR and set feeds.dirs (" + config.EnvName("feeds.dirs") + ") to DIR"}}
	}
	set, err := feed.Load(fc.Dirs, feed.WithLogger(slog.New(slog.DiscardHandler)), feed.WithCategories(fc.Categories))
	if err != nil {
		return []Check{{ID: "feeds.dirs", Section: SectionFeeds, Name: "feeds.dirs", Status: StatusFail,
			Message: "cannot be loaded: " + err.Error() + " (enrich and classify stop with exit 2)",
			Fix:     "correct feeds.dirs or --feeds"}}
	}
	infos := set.Feeds()
	if len(infos) == 0 {
		return []Check{{ID: "feeds.dirs", Section: SectionFeeds, Name: "feeds.dirs", Status: StatusWarn,
			Message: "no feed files in " + strings.Join(fc.Dirs, ", "),
			Fix:     "verdict feeds update --dir " + fc.Dirs[0]}}
	}
	statuses, _ := feed.Summarise(infos, r.now, fc.MaxAge)
	var out []Check
	for i, f := range infos {
		st := statuses[i]
		c := Check{ID: "feed." + f.Name, Section: SectionFeeds, Name: f.Name, Status: StatusOK,
			Feed: &FeedFacts{Path: f.Path, Format: f.Format, Category: f.Category, Entries: f.Total(),
				Updated: st.Updated, UpdatedFrom: st.UpdatedFrom, AgeSeconds: st.AgeSeconds, Stale: st.Stale}}
		age := model.FormatAge(f.Age(r.now))
		c.Message = fmt.Sprintf("%s, %d entries (%s), updated %s, %s ago (%s)", f.Category, f.Total(), f.Format,
			f.Updated.UTC().Format("2006-01-02 15:04 UTC"), age, f.UpdatedFrom)
		if f.KnownAs != "" {
			c.Details = append(c.Details, "recognised as "+f.KnownAs)
		}
		switch {
		case f.Format == feed.FormatUnknown:
			c.Status = StatusWarn
			c.Details = append(c.Details, "format not recognised: it lists nothing")
			c.Fix = "remove it from the feeds directory, or convert it to one indicator per line"
		case f.Total() == 0:
			c.Status = StatusWarn
			c.Details = append(c.Details, "lists no indicators")
		}
		if f.Skipped > 0 {
			c.Details = append(c.Details, fmt.Sprintf("%d lines skipped (not indicators)", f.Skipped))
		}
		if st.Stale {
			c.Status = StatusWarn
			c.Details = append(c.Details, fmt.Sprintf("older than feeds.max_age (%s): its listings may name addresses that have long changed hands", model.FormatAge(fc.MaxAge)))
			c.Fix = "refresh it: verdict feeds update (or raise feeds.max_age if the publisher updates it less often)"
		}
		if rec := f.Fetch; rec != nil && rec.LastError != "" {
			c.Status = StatusWarn
			c.Details = append(c.Details, fmt.Sprintf("the last feeds update failed at %s: %s (this file is the one before)",
				rec.LastErrorAt.UTC().Format(time.RFC3339), rec.LastError))
		}
		out = append(out, c)
	}
	// A failed update of a feed whose file was never downloaded is not in
	// Feeds(): say so from the state of the first directory.
	if st, err := feed.ReadState(fc.Dirs[0]); err == nil {
		for file, rec := range st.Feeds {
			if rec.LastError == "" || slices.ContainsFunc(infos, func(i feed.Info) bool { return filepath.Base(i.Path) == file }) {
				continue
			}
			out = append(out, Check{ID: "feed." + file, Section: SectionFeeds, Name: file, Status: StatusWarn,
				Message: "never downloaded: " + rec.LastError, Fix: "verdict feeds update --dir " + fc.Dirs[0]})
		}
	}
	slices.SortStableFunc(out, func(a, b Check) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// checkAttack self-tests the embedded ATT&CK tables.
func checkAttack() Check {
	c := Check{ID: "attack.matrix", Section: SectionAttack, Name: "ATT&CK Enterprise " + attack.Version(), Status: StatusOK}
	if err := attack.Check(); err != nil {
		c.Status, c.Message = StatusFail, "the embedded tables do not parse: "+err.Error()
		c.Fix = "reinstall verdict: this build is damaged"
		return c
	}
	c.Message = fmt.Sprintf("%d techniques and sub-techniques in %d tactics", len(attack.Techniques()), len(attack.Tactics()))
	return c
}
