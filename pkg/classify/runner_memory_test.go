package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/model"
)

// bigCase is a distinct alert of about 20 kB.
func bigCase(i int) Case {
	return Case{AlertID: fmt.Sprint(i), Pos: fmt.Sprintf("f#%d", i),
		Raw: json.RawMessage(fmt.Sprintf(`{"rule":"r%d","blob":%q}`, i, strings.Repeat("x", 20<<10))), Risk: model.Risk{Verdict: model.Clean}}
}

// TestRunnerKeepsRecordsNotCases is issue 13's item 7: the runner keeps a
// small record per group, so memory does not grow with distinct alerts by
// whole alerts.
func TestRunnerKeepsRecordsNotCases(t *testing.T) {
	r := NewRunner(Options{Why: WhyNoKey})
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	const n = 2000
	before := heap()
	for i := range n {
		r.Add(bigCase(i)) // each case is garbage once added
	}
	grown := heap() - before
	assert.Equal(t, n, r.Groups())
	// Kept cases would be 40 MB; records are a few hundred bytes each.
	assert.Less(t, grown, int64(2<<20), "the runner holds on to the cases")
	runtime.KeepAlive(r)
}

// recording is a Classifier that records the alert each request was for.
type recording struct {
	mu  sync.Mutex
	ids []string
}

func (c *recording) Name() string        { return "recording" }
func (c *recording) Model() string       { return "rec-1" }
func (c *recording) CacheParams() string { return "" }
func (c *recording) Classify(_ context.Context, cs Case) (model.Classification, error) {
	c.mu.Lock()
	c.ids = append(c.ids, cs.AlertID)
	c.mu.Unlock()
	return good(1), nil
}

func TestRunnerReplay(t *testing.T) {
	t.Parallel()
	dup := func(id, pos, rule string) Case {
		return Case{AlertID: id, Pos: pos, Raw: json.RawMessage(`{"rule":"` + rule + `"}`), Risk: model.Risk{Verdict: model.Clean}}
	}
	tests := []struct {
		name    string
		cases   []Case
		replay  func([]Case) Cases
		wantIDs []string // the alerts the classifier was asked about, sorted
		wantErr string
	}{
		{name: "happy path: each group asked about its first alert",
			cases:   []Case{dup("a1", "f#1", "x"), dup("a2", "f#2", "x"), dup("b1", "f#3", "y")},
			wantIDs: []string{"a1", "b1"}},
		{name: "a file given twice: two alerts at one position, both groups found",
			cases:   []Case{dup("a", "f#1", "x"), dup("b", "f#1", "y")},
			wantIDs: []string{"a", "b"}},
		{name: "sad path: the replay fails",
			cases:   []Case{dup("a", "f#1", "x"), dup("b", "f#2", "y")},
			replay:  func([]Case) Cases { return func(func(Case) error) error { return errors.New("spool gone") } },
			wantErr: "replay alerts: spool gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cl := &recording{}
			r := NewRunner(Options{Classifier: cl, Cache: cache.Nop{}, Concurrency: 2})
			for _, c := range tt.cases {
				r.Add(c)
			}
			replay := CasesOf(tt.cases...)
			if tt.replay != nil {
				replay = tt.replay(tt.cases)
			}
			err := r.Run(context.Background(), replay)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.ElementsMatch(t, tt.wantIDs, cl.ids)
			for _, c := range tt.cases {
				assert.NotEqual(t, SourceHeuristic, r.Result(c).Source, "alert %s got the model's answer", c.AlertID)
			}
		})
	}
}
