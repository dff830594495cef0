// Package inteltest provides a scriptable fake intel.Provider for tests of
// the engine and the pipeline.
package inteltest

import (
	"context"
	"sync"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// Call is one request the fake received.
type Call struct {
	IOC ioc.IOC
	At  time.Time
}

// Provider is a fake provider. Answer decides each reply; by default every
// indicator is found with Malicious = 1.
type Provider struct {
	ProviderName string
	Types        []ioc.Type
	Answer       func(i ioc.IOC, attempt int) (model.Result, error)
	Delay        time.Duration

	mu       sync.Mutex
	calls    []Call
	attempts map[ioc.IOC]int
}

var _ intel.Provider = (*Provider)(nil)

// Name implements intel.Provider.
func (p *Provider) Name() string { return p.ProviderName }

// Supports implements intel.Provider.
func (p *Provider) Supports(t ioc.Type) bool {
	if len(p.Types) == 0 {
		return true
	}
	for _, x := range p.Types {
		if x == t {
			return true
		}
	}
	return false
}

// Lookup implements intel.Provider.
func (p *Provider) Lookup(ctx context.Context, i ioc.IOC) (model.Result, error) {
	p.mu.Lock()
	if p.attempts == nil {
		p.attempts = map[ioc.IOC]int{}
	}
	p.attempts[i]++
	attempt := p.attempts[i]
	p.calls = append(p.calls, Call{IOC: i, At: time.Now()})
	p.mu.Unlock()
	if p.Delay > 0 {
		select {
		case <-ctx.Done():
			return model.Result{}, ctx.Err()
		case <-time.After(p.Delay):
		}
	}
	if p.Answer != nil {
		return p.Answer(i, attempt)
	}
	return model.Result{Status: model.StatusFound, Malicious: model.Int(1)}, nil
}

// Calls returns every request so far.
func (p *Provider) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Call(nil), p.calls...)
}

// CallsFor counts the requests about one indicator.
func (p *Provider) CallsFor(i ioc.IOC) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts[i]
}
