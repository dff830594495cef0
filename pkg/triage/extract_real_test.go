package triage

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/ioc"
)

// The -update flag is registered in init, after every package-level variable
// of the package's test files is set, and only if no other test file of the
// package has registered it: two files declaring it would panic at start-up.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// realExports are the files of ../shared/samples-real/alerts. The copied ones
// live in testdata/real (see its README for sources and licences); the others
// carry copyleft terms (GPL-2.0, CC BY-SA 4.0) and are read from ../shared
// only, so their subtests skip where that corpus is absent (CI, a clone).
var realExports = []struct {
	name   string
	copied bool
}{
	{"m365defender-events.otrf-goldensaml.json", true},
	{"sentinel-asim-crowdstrike-alertevent.head.csv", true},
	{"suricata-eve-alerts.elastic-beats.head.ndjson", true},
	{"wazuh-alerts.wazuh-qa.ndjson", false},
	{"zeek-notice.otrf-apt29.ndjson", true},
	{"zeek-notice.wrccdc2018.ndjson", false},
}

// realPolicyInternal are the organisations' own domains in the exports: the
// SimuLand lab of the Golden SAML data set is simulandlabs.com, and its
// Microsoft 365 tenant simulandlabs.onmicrosoft.com.
var realPolicyInternal = []string{"simulandlabs.com", "simulandlabs.onmicrosoft.com"}

// TestExtractRealExports lists what pass 1 takes from every real export, as
// the pipeline does (alert.Open, then the pooled extractor), with the skip
// reason the policy gives each indicator. The goldens were reviewed by hand:
// a change in them is a change in what verdict looks up.
func TestExtractRealExports(t *testing.T) {
	t.Parallel()
	policy, err := ioc.NewPolicy(nil, realPolicyInternal)
	require.NoError(t, err)
	for _, f := range realExports {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", "real", f.name)
			if !f.copied {
				path = filepath.Join(testutil.SharedSamples(t, "alerts"), f.name)
			}
			testutil.Golden(t, updateGolden(), dumpExport(t, path, f.name, policy))
		})
	}
}

// TestRealExportsListed fails when ../shared gains an export the golden test
// does not cover, or a copy in testdata/real drifts from its source.
func TestRealExportsListed(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedSamples(t, "alerts")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var shared, listed []string
	for _, e := range entries {
		shared = append(shared, e.Name())
	}
	for _, f := range realExports {
		listed = append(listed, f.name)
		if f.copied {
			want, err := os.ReadFile(filepath.Join(dir, f.name))
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join("testdata", "real", f.name))
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), "testdata/real/%s differs from the shared sample", f.name)
		}
	}
	slices.Sort(shared)
	require.Equal(t, shared, listed)
}

// dumpExport renders what each record of an export yields, one block per
// record.
func dumpExport(t *testing.T, path, name string, policy *ioc.Policy) []byte {
	t.Helper()
	r, err := alert.Open(path, name, alert.Options{})
	require.NoError(t, err)
	defer r.Close()
	ex := newExtractor(nil)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s (format %s)\n", name, r.Format())
	fmt.Fprintf(&b, "# policy: internal_domains=%s\n", strings.Join(realPolicyInternal, ","))
	counts := map[string]int{}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		fmt.Fprintf(&b, "\nrecord %d (line %d)", rec.Index, rec.Line)
		if rec.Err != nil {
			fmt.Fprintf(&b, ": malformed: %s\n", rec.Err.Reason)
			continue
		}
		id, found, err := ex.alert(rec)
		require.NoError(t, err)
		if id == "" {
			b.WriteString(": no id field (#N by position)\n")
		} else {
			fmt.Fprintf(&b, ": id %s\n", quoteIfNeeded(id))
		}
		for _, f := range found {
			reason := policy.Classify(f.ioc)
			skip := "lookup"
			if reason != ioc.NotSkipped {
				skip = "skipped:" + string(reason)
			}
			counts[skip]++
			fmt.Fprintf(&b, "  %-6s %s\n", f.ioc.Type, quoteIfNeeded(f.ioc.Value))
			fmt.Fprintf(&b, "         %s; fields: %s\n", skip, strings.Join(f.fields, ", "))
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteString("\n# totals (per record, not unique):")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, counts[k])
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// quoteIfNeeded quotes values that hold spaces or invisible characters, so a
// reviewer sees exactly what the extractor kept.
func quoteIfNeeded(s string) string {
	for _, r := range s {
		if r == ' ' || !unicode.IsGraphic(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
