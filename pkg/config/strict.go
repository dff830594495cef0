package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// ErrUnknownKey is matched (errors.Is) by every UnknownKeyError: a typo in
// the configuration is a usage error (exit 2), never silently ignored.
var ErrUnknownKey = errors.New("unknown configuration key")

// UnknownKeyError names a key of the config file, or a VERDICT_* variable,
// that verdict does not know, with the nearest valid one.
type UnknownKeyError struct {
	Name       string // the key (feeds.dir) or variable (VERDICT_VIRUSTOTAL_RAET)
	File       string // the config file, for a key
	Env        bool   // Name is an environment variable
	Suggestion string // the nearest valid key or variable, or ""
}

func (e *UnknownKeyError) Error() string {
	var msg string
	if e.Env {
		msg = "unknown environment variable " + e.Name
	} else {
		msg = fmt.Sprintf("unknown configuration key %q in %s", e.Name, e.File)
	}
	if e.Suggestion != "" {
		msg += "; did you mean " + e.Suggestion + "?"
	}
	return msg
}

// Is makes errors.Is(err, ErrUnknownKey) true.
func (e *UnknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// ExemptEnvPrefixes are VERDICT_* variables that are not configuration but
// switches of the test suite and CI, so the unknown-variable check leaves
// them alone: VERDICT_REQUIRE_BROWSER and VERDICT_REQUIRE_POSTGRES turn a
// skipped test into a failure in CI, VERDICT_TEST_* pass data to test
// helper processes, and VERDICT_SHARED_SAMPLES points tests at the shared
// sample corpus.
var ExemptEnvPrefixes = []string{"VERDICT_REQUIRE_", "VERDICT_TEST_", "VERDICT_SHARED_SAMPLES"}

// CheckUnknown reports every key of the config file read into v, and every
// VERDICT_* variable in environ ("NAME=value" pairs), that is not a known
// key, each with the nearest valid one. Free-form values (scoring,
// cache.ttl_by, feeds.categories) are left to their own parsers.
func CheckUnknown(v *viper.Viper, environ []string) error {
	keys := AllKeys()
	known := make(map[string]Key, len(keys))
	sections := map[string]bool{}
	names := make([]string, 0, len(keys))
	envKnown := map[string]bool{}
	envNames := make([]string, 0, len(keys))
	for _, k := range keys {
		known[k.Name] = k
		names = append(names, k.Name)
		for p := k.Name; strings.Contains(p, "."); {
			p = p[:strings.LastIndex(p, ".")]
			sections[p] = true
		}
		envKnown[EnvName(k.Name)] = true
		envNames = append(envNames, EnvName(k.Name))
	}
	var errs []error
	if file := v.ConfigFileUsed(); file != "" {
		doc, err := readRaw(file)
		if err != nil {
			return fmt.Errorf("%w %s: %w", ErrConfigFile, file, err)
		}
		var walk func(prefix string, m map[string]any)
		walk = func(prefix string, m map[string]any) {
			for _, k := range sortedKeys(m) {
				path := strings.ToLower(k)
				if prefix != "" {
					path = prefix + "." + path
				}
				val := m[k]
				if _, ok := known[path]; ok {
					continue // its value is checked when it is decoded
				}
				sub, isMap := toStringMap(val)
				if sections[path] {
					if isMap {
						walk(path, sub)
						continue
					}
					if val == nil {
						continue // an empty section
					}
					errs = append(errs, fmt.Errorf("%w: %s in %s is a section: give its keys (%s)", ErrUnknownKey, path, file, strings.Join(childKeys(path, names), ", ")))
					continue
				}
				if isMap && len(sub) > 0 {
					walk(path, sub) // an unknown section: name its leaves
					continue
				}
				errs = append(errs, &UnknownKeyError{Name: path, File: file, Suggestion: nearest(path, append(names, sectionNames(sections)...))})
			}
		}
		walk("", doc)
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "VERDICT_") || envKnown[name] || exemptEnv(name) {
			continue
		}
		errs = append(errs, &UnknownKeyError{Name: name, Env: true, Suggestion: nearest(name, envNames)})
	}
	return errors.Join(errs...)
}

func exemptEnv(name string) bool {
	for _, p := range ExemptEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// readRaw reads a config file with its keys as written: viper splits map
// keys that hold a dot ("feodo.csv"), which would turn a file name into a
// bogus nested key.
func readRaw(file string) (map[string]any, error) {
	switch strings.ToLower(filepath.Ext(file)) {
	case "", ".yaml", ".yml", ".json":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, err
		}
		return doc, nil
	}
	// Other formats viper reads (TOML, HCL, INI...): top-level keys from
	// viper, then each section's value as the parser gave it.
	fv := viper.New()
	fv.SetConfigFile(file)
	if err := fv.ReadInConfig(); err != nil {
		return nil, err
	}
	doc := map[string]any{}
	for k := range fv.AllSettings() {
		doc[k] = fv.Get(k)
	}
	return doc, nil
}

func toStringMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[fmt.Sprint(k)] = val
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sectionNames(s map[string]bool) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func childKeys(section string, names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, section+".") {
			out = append(out, n)
		}
	}
	return out
}

// suggest is ` (did you mean X?)` for the nearest candidate, or "".
func suggest(name string, candidates []string) string {
	if n := nearest(name, candidates); n != "" {
		return " (did you mean " + n + "?)"
	}
	return ""
}

// nearest returns the candidate closest to name by edit distance
// (insertions, deletions, substitutions and swaps of neighbours), or ""
// when none is close enough to be what was meant.
func nearest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := max(2, len([]rune(name))/3)
	if bestD >= 0 && bestD <= limit {
		return best
	}
	// A right key in the wrong section (virustotal.max_age_days): suggest
	// the key with the same last part.
	if j := strings.LastIndex(name, "."); j > 0 {
		leaf := strings.ToLower(name[j+1:])
		for _, c := range candidates {
			if strings.HasSuffix(strings.ToLower(c), "."+leaf) {
				return c
			}
		}
	}
	return ""
}

// editDistance is the optimal string alignment distance: Levenshtein plus
// transposition of two neighbours (RAET -> RATE is one edit).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
