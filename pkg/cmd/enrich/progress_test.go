package enrich

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func totals() []intel.ProgressTotal {
	return []intel.ProgressTotal{
		{Provider: "virustotal", Total: 4, Interval: 15 * time.Second},
		{Provider: "abuseipdb", Total: 2, Interval: time.Second},
	}
}

func TestProgressBarOnATerminal(t *testing.T) {
	ios, _, _, errOut := iostreams.Test()
	ios.SetStderrTTY(true)
	p := newProgress(ios, slog.New(slog.NewTextHandler(errOut, nil)))
	p.Start(totals())
	p.Done("virustotal")
	p.Done("abuseipdb")
	assert.Equal(t, "abuseipdb 1/2 · virustotal 1/4 · eta 45s", p.describe(), "the ETA follows the slowest rate limit")
	p.Finish()
	assert.Contains(t, errOut.String(), "virustotal 1/4")
}

func TestProgressLogLinesWithoutATerminal(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var logs syncBuf
	p := newProgress(ios, slog.New(slog.NewTextHandler(&logs, nil)))
	p.logEvery = 20 * time.Millisecond
	p.Start(totals())
	p.Done("virustotal")
	time.Sleep(70 * time.Millisecond)
	p.Finish()
	assert.Contains(t, logs.String(), "lookup progress")
	assert.Contains(t, logs.String(), "virustotal 1/4")
}

func TestProgressQuiet(t *testing.T) {
	ios, _, _, errOut := iostreams.Test()
	ios.SetStderrTTY(true)
	ios.SetQuiet(true)
	var logs syncBuf
	p := newProgress(ios, slog.New(slog.NewTextHandler(&logs, nil)))
	p.logEvery = 10 * time.Millisecond
	p.Start(totals())
	p.Done("virustotal")
	time.Sleep(30 * time.Millisecond)
	p.Finish()
	assert.Empty(t, errOut.String())
	assert.Empty(t, logs.String())
}
