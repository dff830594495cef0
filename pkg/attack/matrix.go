package attack

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// The tables are MITRE ATT&CK Enterprise v18.1 as tab-separated text; see
// data/README.md for how they were derived and data/NOTICE for the licence.
var (
	//go:embed data/tactics.tsv
	tacticsTSV string
	//go:embed data/enterprise-techniques.tsv
	techniquesTSV string
	//go:embed data/retired-techniques.tsv
	retiredTSV string
	//go:embed data/README.md
	readme string
	//go:embed data/NOTICE
	notice string
)

// Attribution returns the copyright designation MITRE's terms require next
// to any copy of ATT&CK, on one line, prefixed with the release:
// "MITRE ATT&CK® Enterprise v18.1. © 2025 The MITRE Corporation. …".
// Print it in `verdict version` and in the footer of every report that
// names techniques.
func Attribution() string {
	head, _, _ := strings.Cut(notice, "\n\n")
	return strings.Join(strings.Fields(strings.Replace(head, "\n", ". ", 1)), " ")
}

// License returns the full notice shipped with the embedded tables: the
// copyright designation, where the data comes from, the Terms of Use and the
// licence text MITRE requires to be reproduced in any copy.
func License() string { return notice }

// retired is one revoked or deprecated technique id.
type retired struct {
	name       string
	status     Status // StatusRevoked or StatusDeprecated
	replacedBy string // direct replacement, revoked only
	final      string // active id at the end of the replaced-by chain, revoked only
}

// matrix is the parsed form of the embedded tables.
type matrix struct {
	tactics    []Tactic
	techniques []Technique // sorted by id
	active     map[string]Technique
	retired    map[string]retired
	err        error
}

var (
	loadOnce sync.Once
	loaded   *matrix
)

// load parses the embedded tables on first use. A parse failure is kept in
// matrix.err (reported by Check, and by a test that fails the build) rather
// than panicking inside an analyst's run; the matrix is then empty.
func load() *matrix {
	loadOnce.Do(func() {
		m, err := parse(tacticsTSV, techniquesTSV, retiredTSV)
		if err != nil {
			m = &matrix{active: map[string]Technique{}, retired: map[string]retired{}, err: err}
		}
		loaded = m
	})
	return loaded
}

var (
	tacticIDPattern  = regexp.MustCompile(`^TA[0-9]{4}$`)
	shortNamePattern = regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
)

// techniqueIDFormat describes a well-formed id in parse errors.
const techniqueIDFormat = "T1234 or T1234.567"

// parse builds a matrix from the three tables and checks them for
// consistency: column counts, id forms, duplicates, known tactics, parents
// of sub-techniques, and that every revoked id's replaced-by chain ends at an
// active technique.
func parse(tactics, techniques, retiredTable string) (*matrix, error) {
	m := &matrix{active: map[string]Technique{}, retired: map[string]retired{}}
	tacticIndex := map[string]int{}

	err := eachRow("tactics.tsv", tactics, []string{"id", "shortname", "name"}, func(f []string) error {
		id, short, name := f[0], f[1], f[2]
		if !tacticIDPattern.MatchString(id) {
			return fmt.Errorf("tactic id %q is not of the form TA1234", id)
		}
		if !shortNamePattern.MatchString(short) {
			return fmt.Errorf("tactic %s: short name %q is not lower-case-with-hyphens", id, short)
		}
		if err := checkName(name); err != nil {
			return fmt.Errorf("tactic %s: %w", id, err)
		}
		for _, t := range m.tactics {
			if t.ID == id || t.ShortName == short || t.Name == name {
				return fmt.Errorf("tactic %s %q duplicates %s", id, short, t.ID)
			}
		}
		tacticIndex[short] = len(m.tactics)
		m.tactics = append(m.tactics, Tactic{ID: id, ShortName: short, Name: name})
		return nil
	})
	if err != nil {
		return nil, err
	}

	err = eachRow("enterprise-techniques.tsv", techniques, []string{"id", "name", "tactics", "platforms"}, func(f []string) error {
		id, name := f[0], f[1]
		if canon, ok := canonicalID(id); !ok || canon != id {
			return fmt.Errorf("technique id %q is not of the form %s", id, techniqueIDFormat)
		}
		if _, dup := m.active[id]; dup {
			return fmt.Errorf("technique %s listed twice", id)
		}
		if err := checkName(name); err != nil {
			return fmt.Errorf("technique %s: %w", id, err)
		}
		shorts, err := splitList(f[2])
		if err != nil {
			return fmt.Errorf("technique %s tactics: %w", id, err)
		}
		t := Technique{ID: id, Name: name}
		for _, s := range shorts {
			i, ok := tacticIndex[s]
			if !ok {
				return fmt.Errorf("technique %s: unknown tactic %q", id, s)
			}
			t.Tactics = append(t.Tactics, m.tactics[i])
		}
		// MITRE lists them in kill-chain order already; sorting makes that
		// an invariant rather than an assumption.
		slices.SortStableFunc(t.Tactics, func(a, b Tactic) int { return tacticIndex[a.ShortName] - tacticIndex[b.ShortName] })
		if t.Platforms, err = splitList(f[3]); err != nil {
			return fmt.Errorf("technique %s platforms: %w", id, err)
		}
		slices.Sort(t.Platforms)
		m.active[id] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id, t := range m.active {
		if !t.IsSubtechnique() {
			continue
		}
		parent, ok := m.active[t.ParentID()]
		if !ok {
			return nil, fmt.Errorf("parse enterprise-techniques.tsv: sub-technique %s has no active parent %s", id, t.ParentID())
		}
		if !strings.HasPrefix(t.Name, parent.Name+": ") || len(t.Name) == len(parent.Name)+2 {
			return nil, fmt.Errorf("parse enterprise-techniques.tsv: sub-technique %s name %q does not read %q", id, t.Name, parent.Name+": Sub")
		}
	}

	err = eachRow("retired-techniques.tsv", retiredTable, []string{"id", "name", "status", "replaced_by"}, func(f []string) error {
		id, name, status, by := f[0], f[1], Status(f[2]), f[3]
		if canon, ok := canonicalID(id); !ok || canon != id {
			return fmt.Errorf("retired id %q is not of the form %s", id, techniqueIDFormat)
		}
		if _, dup := m.retired[id]; dup {
			return fmt.Errorf("retired id %s listed twice", id)
		}
		if _, dup := m.active[id]; dup {
			return fmt.Errorf("retired id %s is also an active technique", id)
		}
		if err := checkName(name); err != nil {
			return fmt.Errorf("retired id %s: %w", id, err)
		}
		switch status {
		case StatusRevoked:
			if canon, ok := canonicalID(by); !ok || canon != by || by == id {
				return fmt.Errorf("revoked id %s: replaced_by %q is not another technique id", id, by)
			}
		case StatusDeprecated:
			if by != "" {
				return fmt.Errorf("deprecated id %s has a replaced_by %q", id, by)
			}
		default:
			return fmt.Errorf("retired id %s: status %q is neither revoked nor deprecated", id, status)
		}
		m.retired[id] = retired{name: name, status: status, replacedBy: by}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id, rt := range m.retired {
		if rt.status != StatusRevoked {
			continue
		}
		final, err := m.follow(id)
		if err != nil {
			return nil, fmt.Errorf("parse retired-techniques.tsv: %w", err)
		}
		rt.final = final
		m.retired[id] = rt
	}

	m.techniques = make([]Technique, 0, len(m.active))
	for _, t := range m.active {
		m.techniques = append(m.techniques, t)
	}
	slices.SortFunc(m.techniques, func(a, b Technique) int { return strings.Compare(a.ID, b.ID) })
	return m, nil
}

// follow walks a revoked id's replaced-by chain to an active technique.
// MITRE revokes in place, so a replacement may itself have been revoked
// later (T1073 → T1574.002 → T1574.001); the walk is bounded by the number
// of retired ids, which also catches cycles.
func (m *matrix) follow(id string) (string, error) {
	cur := id
	for range len(m.retired) + 1 {
		if _, ok := m.active[cur]; ok {
			return cur, nil
		}
		rt, ok := m.retired[cur]
		switch {
		case !ok:
			return "", fmt.Errorf("revoked id %s: chain reaches %s, which is in neither table", id, cur)
		case rt.status != StatusRevoked:
			return "", fmt.Errorf("revoked id %s: chain reaches %s, which is %s", id, cur, rt.status)
		}
		cur = rt.replacedBy
	}
	return "", fmt.Errorf("revoked id %s: replaced_by chain has a cycle", id)
}

// eachRow checks a table's header and calls fn with the fields of each data
// row, wrapping its error with the file and line.
func eachRow(file, table string, header []string, fn func([]string) error) error {
	if table == "" {
		return fmt.Errorf("parse %s: empty table", file)
	}
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	for i, line := range lines {
		// A Windows checkout with core.autocrlf rewrites the embedded
		// files with CRLF; the data is the same.
		line = strings.TrimSuffix(line, "\r")
		f := strings.Split(line, "\t")
		if len(f) != len(header) {
			return fmt.Errorf("parse %s line %d: %d fields, want %d", file, i+1, len(f), len(header))
		}
		if i == 0 {
			if !slices.Equal(f, header) {
				return fmt.Errorf("parse %s line 1: header %q, want %q", file, f, header)
			}
			continue
		}
		if err := fn(f); err != nil {
			return fmt.Errorf("parse %s line %d: %w", file, i+1, err)
		}
	}
	if len(lines) < 2 {
		return fmt.Errorf("parse %s: no rows", file)
	}
	return nil
}

// checkName rejects empty names, stray spaces and control characters, which
// would break the one-line report and log formats.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("name %q has surrounding spaces", name)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return fmt.Errorf("name %q has a control character", name)
	}
	return nil
}

// splitList splits a comma-separated cell, rejecting empty and repeated
// items.
func splitList(cell string) ([]string, error) {
	items := strings.Split(cell, ",")
	for i, it := range items {
		if it == "" || strings.TrimSpace(it) != it {
			return nil, fmt.Errorf("item %d of %q is empty or padded", i+1, cell)
		}
		if slices.Contains(items[:i], it) {
			return nil, fmt.Errorf("%q listed twice in %q", it, cell)
		}
	}
	return items, nil
}
