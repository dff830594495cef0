package intel

import (
	"log/slog"
	"net/http"
	"sort"
	"sync"
)

// Settings is what a remote provider is built from: plain values, no config
// or viper types, so providers stay usable as a library.
type Settings struct {
	APIKey     string // empty when none is configured
	BaseURL    string
	HTTPClient *http.Client
	Params     map[string]string // provider-specific ("max_age_days": "90")
	Logger     *slog.Logger
}

// Registration makes a provider known to verdict: adding one is a package
// with an init() that calls Register, plus its config section.
type Registration struct {
	Name string
	New  func(Settings) (Provider, error)
}

var (
	regMu    sync.Mutex
	registry = map[string]Registration{}
)

// Register adds a provider; a second registration under a name replaces the
// first.
func Register(r Registration) {
	regMu.Lock()
	defer regMu.Unlock()
	registry[r.Name] = r
}

// Registered returns a provider's registration.
func Registered(name string) (Registration, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	r, ok := registry[name]
	return r, ok
}

// RegisteredNames lists every registered provider, sorted.
func RegisteredNames() []string {
	regMu.Lock()
	defer regMu.Unlock()
	n := make([]string, 0, len(registry))
	for k := range registry {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
