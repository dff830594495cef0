package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is what one attempt's outcome means for the source as a whole.
type Kind int

// The kinds a Classifier sorts an attempt's error into.
const (
	// Answered: the server answered and the answer is final: a success, a
	// "not found", or a failure that sending again cannot fix (a 400, a body
	// over the size limit). The error, if any, is returned to the caller.
	Answered Kind = iota
	// RateLimited: a 429. The whole source pauses, then the request is sent
	// again; it does not use up a retry.
	RateLimited
	// Transient: the server failed in a way that may pass (5xx, a timeout,
	// a reset connection, a garbled answer): sent again after a backoff, up
	// to MaxRetries times.
	Transient
	// Unreachable: the request never reached the server (the name did not
	// resolve, the connection was refused, TLS failed). It costs neither a
	// rate slot nor quota; UnavailableAfter of them in a row make the source
	// unavailable for the run.
	Unreachable
	// Rejected: the server refused the credentials; no request can succeed
	// this run.
	Rejected
	// NotSent: send decided not to send after all (the answer arrived in
	// the cache while the request waited for its turn). The rate slot and
	// the quota unit are given back, and Do returns send's error.
	NotSent
)

// Outcome is how a Classifier reads one attempt's error.
type Outcome struct {
	Kind Kind
	// RetryAfter is how long a 429 asked to wait (Retry-After, RetryInfo);
	// 0 when it did not say.
	RetryAfter time.Duration
}

// Quota counts a source's requests per UTC day, across runs and processes
// (cache.Quota).
type Quota interface {
	// Take reserves one request of the daily limit; false when it is spent.
	Take(ctx context.Context, provider string, limit int) (bool, error)
}

// Refunder is a Quota that can give a unit back, for a request that never
// reached the server (cache.Quota's Refund).
type Refunder interface {
	Refund(ctx context.Context, provider string) error
}

// Errors a stopped source returns; a *StopError matches one of them with
// errors.Is.
var (
	// ErrExhausted: the source is out of quota for the run (the daily
	// quota is spent, three 429s in a row, or a 429 asked for too long).
	ErrExhausted = errors.New("out of quota for this run")
	// ErrUnavailable: the source could not be reached several times in a
	// row.
	ErrUnavailable = errors.New("unavailable for this run")
	// ErrRejected: the source rejected the credentials.
	ErrRejected = errors.New("credentials rejected")
)

// StopError is why a source takes no more requests this run. Every request
// after the stop, and every one waiting when it happened, returns the same
// *StopError.
type StopError struct {
	Source string
	// Reason is ErrExhausted, ErrUnavailable or ErrRejected.
	Reason error
	// Detail says what happened, for people ("three 429 answers in a row
	// despite waiting").
	Detail string
	// Cause is the error that stopped the source, if one did (the rejected
	// key's answer, the last dial error).
	Cause error
}

func (e *StopError) Error() string {
	msg := e.Source + ": " + e.Reason.Error()
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Is matches the Reason sentinel.
func (e *StopError) Is(target error) bool { return target == e.Reason }

// Unwrap returns the Cause.
func (e *StopError) Unwrap() error { return e.Cause }

// Config is one remote source's policy.
type Config struct {
	// Name is the provider or model, in logs, errors and the quota table.
	Name string
	Rate Rate
	// DailyQuota is the requests allowed per UTC day (0: none), counted in
	// Quota (nil: not counted).
	DailyQuota int
	Quota      Quota
	// Shared, when set, keeps the rate's window (and 429 pauses) where
	// every process using the same store sees it, under Name: the rate
	// then holds across processes and hosts, as the quota does. Nil: the
	// rate holds for this process's requests.
	Shared Shared
	// MaxRetries is how often a Transient or Unreachable failure is sent
	// again.
	MaxRetries int
	// BackoffBase is the first retry's delay (default 1s), doubled per
	// retry up to BackoffMax (default 30s), with jitter.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxPause is the longest 429 pause waited out (default 10m); a source
	// that asks for longer is out of quota for the run.
	MaxPause time.Duration
	// UnavailableAfter is how many Unreachable failures in a row make the
	// source unavailable (default 3).
	UnavailableAfter int
	// Classify reads an attempt's error (never nil, never the context's
	// own). Nil means ClassifyNetwork.
	Classify func(error) Outcome
	Logger   *slog.Logger
}

// Policy applies Config to every request to one source, for one run. It is
// safe for concurrent use; one Policy per source is what makes its rate,
// pauses and counters hold across all of the run's requests.
type Policy struct {
	cfg Config
	lim *Limiter
	log *slog.Logger

	mu          sync.Mutex
	consec429   int
	unreachable int
	stop        *StopError
	stopped     chan struct{}
	warnedQuota bool

	sent, unreached, limited atomic.Int64
}

// New returns the policy for one source.
func New(c Config) *Policy {
	if c.BackoffBase <= 0 {
		c.BackoffBase = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 30 * time.Second
	}
	c.BackoffMax = max(c.BackoffMax, c.BackoffBase)
	if c.MaxPause <= 0 {
		c.MaxPause = 10 * time.Minute
	}
	if c.UnavailableAfter <= 0 {
		c.UnavailableAfter = 3
	}
	if c.Classify == nil {
		c.Classify = ClassifyNetwork
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	lim := NewLimiter(c.Rate)
	if c.Shared != nil {
		lim = NewSharedLimiter(c.Rate, c.Name, c.Shared, log)
	}
	return &Policy{cfg: c, lim: lim, log: log.With("provider", c.Name), stopped: make(chan struct{})}
}

// Limiter is the source's limiter (for tests and estimates).
func (p *Policy) Limiter() *Limiter { return p.lim }

// Attempts counts what one Do sent.
type Attempts struct {
	// Sent is the requests that reached, or may have reached, the server
	// (each one counted against the daily quota).
	Sent int
	// Unreachable is the requests that never reached it (given back).
	Unreachable int
}

// Counts are a Policy's totals for the run.
type Counts struct {
	Sent, Unreachable, RateLimited int
}

// Counts returns the run's totals so far.
func (p *Policy) Counts() Counts {
	return Counts{Sent: int(p.sent.Load()), Unreachable: int(p.unreached.Load()), RateLimited: int(p.limited.Load())}
}

// Err returns the *StopError once the source is out for the run, else nil.
func (p *Policy) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop == nil {
		return nil
	}
	return p.stop
}

// Stopped is closed when the source stops taking requests.
func (p *Policy) Stopped() <-chan struct{} { return p.stopped }

// Do sends one logical request (a lookup, a prompt) under the policy. Each
// attempt waits for the source (pauses, the rate), takes a unit of the daily
// quota, and calls send, whose error the Classifier reads:
//
//   - Answered: Do returns send's error (nil on success);
//   - RateLimited: the source pauses and the request is sent again;
//   - Transient, Unreachable: sent again after a backoff, MaxRetries
//     times, then Do returns the error;
//   - Rejected, or a stop for any reason (quota, 429s, unavailable): Do
//     returns the *StopError, and so does every later Do.
//
// A cancelled ctx ends Do with ctx's error; a request that was never sent
// gives its quota unit back.
func (p *Policy) Do(ctx context.Context, send func(ctx context.Context) error) (Attempts, error) {
	var a Attempts
	retries := 0
	for {
		if err := p.Err(); err != nil {
			return a, err
		}
		took, err := p.takeQuota(ctx)
		if err != nil {
			return a, err
		}
		tok, err := p.lim.Wait(ctx)
		if err != nil {
			p.refundQuota(ctx, took)
			if stop := p.Err(); stop != nil {
				return a, stop
			}
			return a, err
		}
		err = send(p.trace(ctx, tok))
		o := Outcome{Kind: Answered}
		if err != nil {
			o = p.cfg.Classify(err)
		}
		switch {
		case o.Kind == NotSent:
			p.lim.Refund(tok)
			p.refundQuota(ctx, took)
			return a, err
		case err != nil && ctx.Err() != nil:
			// Cancelled in flight: the request may have reached the
			// server, so its quota unit stays spent.
			a.Sent++
			p.sent.Add(1)
			return a, ctx.Err()
		}
		if o.Kind == Unreachable {
			a.Unreachable++
			p.unreached.Add(1)
			p.lim.Refund(tok)
			p.refundQuota(ctx, took)
			if stop := p.onUnreachable(err); stop != nil {
				return a, stop
			}
		} else {
			a.Sent++
			p.sent.Add(1)
			p.answered(tok, o.Kind)
		}
		switch o.Kind {
		case Answered:
			return a, err
		case Rejected:
			return a, p.halt(ErrRejected, "the server rejected the credentials", err)
		case RateLimited:
			p.limited.Add(1)
			if stop := p.on429(tok, o.RetryAfter); stop != nil {
				return a, stop
			}
			continue // waited out by the next Wait; not a retry
		}
		// Transient or Unreachable.
		if retries >= p.cfg.MaxRetries {
			return a, err
		}
		retries++
		d := Backoff(p.cfg.BackoffBase, p.cfg.BackoffMax, retries)
		p.log.Debug("retrying", "attempt", retries, "wait", d, "error", err.Error())
		if err := p.sleep(ctx, d); err != nil {
			return a, err
		}
	}
}

// newConnAllowance is how much later than its headers left a request on a
// fresh connection may reach the server's handler: the server has yet to
// accept the connection and start reading it, which on a busy machine takes
// tens of milliseconds, while a request on a kept-alive connection is read
// at once. Measured: 15-20 ms under the race detector on a loaded 2-core
// machine, so that the first request of a run, on a new connection, was
// seen 20 requests before the 21st in one second of a 20/s limit.
const newConnAllowance = 50 * time.Millisecond

// trace returns send's context: it tells the limiter when the request
// really left (its headers were written), so that the window counts from
// then; a request on a new connection counts from a little later still.
func (p *Policy) trace(ctx context.Context, tok Token) context.Context {
	var fresh atomic.Bool
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { fresh.Store(!info.Reused) },
		WroteHeaders: func() {
			at := time.Now()
			if fresh.Load() {
				at = at.Add(newConnAllowance)
			}
			p.lim.Sent(tok, at)
		},
	})
}

// takeQuota takes one unit of the daily quota before the request is
// scheduled: taking it after the limiter admitted the request would put a
// database write, of varying length, between the admission and the send.
func (p *Policy) takeQuota(ctx context.Context) (bool, error) {
	q := p.cfg.Quota
	if q == nil || p.cfg.DailyQuota <= 0 {
		return false, nil
	}
	ok, err := q.Take(ctx, p.cfg.Name, p.cfg.DailyQuota)
	switch {
	case err != nil && ctx.Err() != nil:
		return false, ctx.Err()
	case err != nil:
		p.mu.Lock()
		warn := !p.warnedQuota
		p.warnedQuota = true
		p.mu.Unlock()
		if warn {
			p.log.Warn("cannot count the daily quota; continuing without it", "error", err.Error())
		}
		return false, nil
	case !ok:
		// Requests that already hold a unit still go: only new ones stop.
		return false, p.stopWith(ErrExhausted, fmt.Sprintf("daily quota of %d requests is spent for today (UTC)", p.cfg.DailyQuota), nil, false)
	}
	return true, nil
}

// refundQuota gives back the unit of a request that never reached the
// server. A quota without Refund keeps it: over-counting is the safe side.
func (p *Policy) refundQuota(ctx context.Context, took bool) {
	if !took {
		return
	}
	r, ok := p.cfg.Quota.(Refunder)
	if !ok {
		return
	}
	// The unit was not spent even if the run is being cancelled.
	if err := r.Refund(context.WithoutCancel(ctx), p.cfg.Name); err != nil {
		p.log.Warn("cannot give back a daily quota unit", "error", err.Error())
	}
}

// answered resets the counters of failures "in a row": the server answered
// (kind is not Unreachable). A 429 or a reply to a request sent before the
// latest pause began says nothing about the source since then, so only
// requests sent under the current pause generation reset the 429 count.
func (p *Policy) answered(tok Token, kind Kind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unreachable = 0
	if kind != RateLimited && tok.Gen == p.lim.Gen() {
		p.consec429 = 0
	}
}

// on429 pauses the whole source. A 429 to a request sent after the latest
// pause began starts a new pause and counts towards "three in a row
// despite waiting"; one to a request that was already in flight when the
// pause began only lengthens the pause if it asks for longer.
func (p *Policy) on429(tok Token, retryAfter time.Duration) error {
	wait := retryAfter
	if wait <= 0 {
		wait = p.cfg.Rate.Window()
	}
	wait = max(wait, time.Second) // honoured, never hammered
	if wait > p.cfg.MaxPause {
		return p.halt(ErrExhausted, fmt.Sprintf("a 429 asked to wait %s", wait.Round(time.Second)), nil)
	}
	until := time.Now().Add(wait)
	p.mu.Lock()
	if tok.Gen != p.lim.Gen() {
		p.lim.Extend(until)
		p.mu.Unlock()
		return nil
	}
	p.consec429++
	n := p.consec429
	if n < 3 {
		p.lim.Pause(until)
	}
	p.mu.Unlock()
	if n >= 3 {
		return p.halt(ErrExhausted, "three 429 answers in a row despite waiting", nil)
	}
	p.log.Info("rate limited (429): pausing every request to this source", "wait", wait, "in_a_row", n)
	return nil
}

// onUnreachable counts a request that never reached the server, and stops
// the source after UnavailableAfter in a row.
func (p *Policy) onUnreachable(err error) error {
	p.mu.Lock()
	p.unreachable++
	n := p.unreachable
	p.mu.Unlock()
	if n < p.cfg.UnavailableAfter {
		p.log.Debug("source not reached", "in_a_row", n, "error", err.Error())
		return nil
	}
	return p.halt(ErrUnavailable, fmt.Sprintf("not reached %d times in a row: %v", n, err), err)
}

// halt stops the source for the run (the first reason wins), wakes every
// request waiting for its turn with the *StopError, and returns it.
func (p *Policy) halt(reason error, detail string, cause error) error {
	return p.stopWith(reason, detail, cause, true)
}

// stopWith is halt; with wake false, requests already waiting for their
// turn are still sent (they hold a unit of the daily quota that ran out).
func (p *Policy) stopWith(reason error, detail string, cause error, wake bool) error {
	p.mu.Lock()
	first := p.stop == nil
	if first {
		p.stop = &StopError{Source: p.cfg.Name, Reason: reason, Detail: detail, Cause: cause}
		close(p.stopped)
	}
	if wake {
		p.lim.Close(p.stop)
	}
	stop := p.stop
	p.mu.Unlock()
	if first {
		p.log.Warn("source stopped for this run", "reason", reason.Error(), "detail", detail)
	}
	return stop
}

// sleep waits d for a retry; it ends early with the *StopError when the
// source stops meanwhile (no point retrying then), or with ctx's error.
func (p *Policy) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.stopped:
		return p.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is the wait before retry n (from 1): base doubled per retry up to
// ceiling, then "equal jitter" (between half of that and all of it), so the
// retries of many workers spread out and no wait exceeds the ceiling.
func Backoff(base, ceiling time.Duration, n int) time.Duration {
	if base <= 0 {
		return 0
	}
	ceiling = max(ceiling, base)
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		if d > ceiling/2 {
			d = ceiling // doubling would pass the ceiling (or overflow)
			break
		}
		d *= 2
	}
	return d/2 + rand.N(d/2+1)
}
