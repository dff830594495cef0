package enrich

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

// progress shows lookup progress: a bar on a terminal, an slog line every
// LogEvery without one (cron, CI), nothing with --quiet. Its ETA comes from
// the rate limits, which dominate any real run, not from the first few
// (cached or fast) answers.
type progress struct {
	ios      *iostreams.IOStreams
	log      *slog.Logger
	logEvery time.Duration

	mu     sync.Mutex
	totals map[string]*providerProgress
	order  []string
	bar    *progressbar.ProgressBar
	stop   chan struct{}
	done   chan struct{}
}

type providerProgress struct {
	total, done int
	interval    time.Duration
}

func newProgress(ios *iostreams.IOStreams, log *slog.Logger) *progress {
	return &progress{ios: ios, log: log, logEvery: 30 * time.Second}
}

// Start implements intel.Progress.
func (p *progress) Start(totals []intel.ProgressTotal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.totals = map[string]*providerProgress{}
	sum := 0
	for _, t := range totals {
		p.totals[t.Provider] = &providerProgress{total: t.Total, interval: t.Interval}
		p.order = append(p.order, t.Provider)
		sum += t.Total
	}
	sort.Strings(p.order)
	if p.ios.Quiet() || sum == 0 {
		return
	}
	if p.ios.ProgressEnabled() {
		p.bar = p.ios.NewProgress(sum, p.describe())
		return
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.logLoop(p.logEvery, p.stop, p.done)
}

func (p *progress) logLoop(every time.Duration, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			msg := p.describe()
			p.mu.Unlock()
			p.log.Info("lookup progress", "status", msg)
		}
	}
}

// describe is "virustotal 12/40 · abuseipdb 30/30 · eta 7m0s"; mu held.
func (p *progress) describe() string {
	parts := make([]string, 0, len(p.order)+1)
	var eta time.Duration
	for _, name := range p.order {
		t := p.totals[name]
		parts = append(parts, fmt.Sprintf("%s %d/%d", name, t.done, t.total))
		eta = max(eta, time.Duration(t.total-t.done)*t.interval)
	}
	if eta > 0 {
		parts = append(parts, "eta "+eta.Round(time.Second).String())
	}
	return strings.Join(parts, " · ")
}

// Done implements intel.Progress.
func (p *progress) Done(provider string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.totals[provider]; t != nil {
		t.done++
	}
	if p.bar != nil {
		p.bar.Describe(p.describe())
		_ = p.bar.Add(1)
	}
}

// Finish implements intel.Progress.
func (p *progress) Finish() {
	p.mu.Lock()
	bar, stop, done := p.bar, p.stop, p.done
	p.bar, p.stop = nil, nil
	p.mu.Unlock()
	if bar != nil {
		_ = bar.Finish()
	}
	if stop != nil {
		close(stop)
		<-done
	}
}
