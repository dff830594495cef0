package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Limiter admits requests to one remote source so that at most N of them are
// sent in any window of the rate's length, whatever the number of
// goroutines asking (CONTRACT.md: "at most N requests in any window").
//
// Three rules decide when the next request may go:
//
//   - the window: a log of the admissions of the last window, which must
//     hold fewer than N. This alone guarantees the contract; it is kept
//     on the times requests really left (Sent), so a goroutine that wakes
//     or sends late can never squeeze two requests closer than the log
//     allows. The window is the rate's plus 1% (at least 2 ms), and a
//     request on a new connection, or sent while this process runs late,
//     counts from a little later: the server reads such requests late.
//   - the schedule: slots one even interval apart (window/N), so a run is
//     paced evenly rather than sent in bursts of N. A request that misses
//     its slot (every worker was busy) keeps the slot's place on the
//     schedule, up to half a window behind, so lost slots are caught up
//     instead of adding up to a slower run.
//   - the spacing: two admissions are at least half an interval apart, so
//     catching up never becomes a burst.
//
// A whole-source pause (a 429) stops every admission until it ends and
// restarts the schedule from there, without catching up. A request that
// never reached the server gives its admission back (Refund), and a closed
// limiter (the source is out for the run) wakes every waiter with the
// reason.
//
// golang.org/x/time/rate cannot do the last three: a reservation cannot be
// given back once others are queued behind it, a token bucket with burst 1
// loses every slot a busy worker misses, and a pause cannot move the
// waiters that are already asleep.
type Limiter struct {
	n       int           // 0: no limit (pauses and Close still apply)
	window  time.Duration // the rate's window plus a margin for network jitter
	iv      time.Duration // window / n
	spacing time.Duration // iv / 2
	credit  time.Duration // how far behind the schedule a request may keep its slot
	maxLate time.Duration // the most a request's time is moved for a late-running process

	mu     sync.Mutex
	next   time.Time   // the schedule's next slot; zero before the first admission
	sent   []admission // admissions inside the window, in the order they left
	last   time.Time   // the latest admission in sent
	seq    uint64
	paused time.Time // no admission before this
	gen    int       // bumped by each new pause
	err    error     // set by Close
	wake   chan struct{}
	// late is how late this process's timers have been firing lately (a
	// decaying maximum): the scheduling delay of a starved process, by which
	// each request counts later in the window.
	late time.Duration
}

type admission struct {
	at       time.Time // when it left (Sent), for the window
	admitted time.Time // for the spacing
	seq      uint64
}

// Token is one admission: what Refund needs, and the pause generation the
// request was sent under.
type Token struct {
	// At is when the request was admitted (and so sent).
	At time.Time
	// Gen is the limiter's pause generation at admission: a 429 to a
	// request whose Gen is older than the current one was in flight before
	// the latest pause began.
	Gen int
	seq uint64
}

// windowMargin is added to the rate's window: requests leave on schedule
// but reach the server a little later, each by a different amount, and the
// margin keeps the server's own count of any window within the limit.
func windowMargin(per time.Duration) time.Duration {
	return max(per/100, 2*time.Millisecond)
}

// NewLimiter returns a limiter for r; an unlimited r admits at once (but
// still honours pauses and Close).
func NewLimiter(r Rate) *Limiter {
	l := &Limiter{wake: make(chan struct{})}
	if r.Unlimited() {
		return l
	}
	l.n = r.N
	l.window = r.Per + windowMargin(r.Per)
	l.iv = l.window / time.Duration(r.N)
	l.spacing = l.iv / 2
	l.credit = r.Per / 2
	l.maxLate = r.Per / 10
	return l
}

// Interval is the even spacing of the schedule, margin included; 0 without
// a limit.
func (l *Limiter) Interval() time.Duration { return l.iv }

// Wait blocks until a request may be sent, and admits it. It returns the
// Close error once the limiter is closed, or ctx's error.
func (l *Limiter) Wait(ctx context.Context) (Token, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return Token{}, err
		}
		l.mu.Lock()
		if l.err != nil {
			err := l.err
			l.mu.Unlock()
			return Token{}, err
		}
		now := time.Now()
		at := l.earliest(now)
		if !at.After(now) {
			tok := l.admit(now)
			l.mu.Unlock()
			return tok, nil
		}
		wake := l.wake
		l.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(at.Sub(now))
		} else {
			timer.Reset(at.Sub(now))
		}
		select {
		case <-ctx.Done():
			return Token{}, ctx.Err()
		case <-wake:
			// The state changed (a refund, Close): look again. Since Go
			// 1.23 a Reset timer never delivers a stale tick, so there is
			// nothing to drain.
		case <-timer.C:
			l.observeLate(time.Since(at))
		}
	}
}

// earliest is the first time a request may be admitted; mu held.
func (l *Limiter) earliest(now time.Time) time.Time {
	t := now
	if l.paused.After(t) {
		t = l.paused
	}
	if l.n == 0 {
		return t
	}
	l.prune(now)
	if k := len(l.sent); k > 0 {
		t = later(t, l.last.Add(l.spacing))
		if k >= l.n {
			t = later(t, l.sent[k-l.n].at.Add(l.window))
		}
	}
	return later(t, l.next)
}

// observeLate records how late a timer fired. A process starved of CPU (a
// loaded machine, the race detector) wakes its goroutines late, and what it
// talks to on the same machine (a proxy, a test's fake server) reads its
// requests late, unevenly: two requests a window apart here can arrive
// closer than a window there. While timers run late, each request counts in
// the window from that much later (at most a tenth of the window), and the
// lateness seen decays as it passes. Measured: timers 60-100 ms late in a
// verdict run under the race detector on a loaded 2-core machine, a fake
// server reading requests up to 140 ms late, against under 1 ms idle.
func (l *Limiter) observeLate(late time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.late -= l.late / 32
	if late > l.late {
		l.late = min(late, l.maxLate)
	}
}

// admit records an admission at now; mu held, now >= earliest(now).
func (l *Limiter) admit(now time.Time) Token {
	l.seq++
	tok := Token{At: now, Gen: l.gen, seq: l.seq}
	if l.n == 0 {
		return tok
	}
	slot := now
	if !l.next.IsZero() {
		// Late for the slot: keep its place, up to credit behind.
		slot = later(l.next, now.Add(-l.credit))
	}
	l.next = slot.Add(l.iv)
	l.sent = append(l.sent, admission{at: now.Add(l.late), admitted: now, seq: l.seq})
	l.last = now
	return tok
}

// prune drops admissions that left the window; mu held.
func (l *Limiter) prune(now time.Time) {
	i := 0
	for i < len(l.sent) && !l.sent[i].at.Add(l.window).After(now) {
		i++
	}
	if i > 0 {
		l.sent = append(l.sent[:0], l.sent[i:]...)
	}
}

// Refund gives an admission back: the request never reached the server
// (the connection was refused, the name did not resolve), so it does not
// count against the window, and the schedule moves back one slot so that the
// next waiter goes at once.
func (l *Limiter) Refund(t Token) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return
	}
	for i, a := range l.sent {
		if a.seq == t.seq {
			l.sent = append(l.sent[:i], l.sent[i+1:]...)
			l.next = l.next.Add(-l.iv)
			l.last = time.Time{}
			for _, b := range l.sent {
				l.last = later(l.last, b.admitted)
			}
			l.broadcast()
			return
		}
	}
}

// Sent records when an admitted request really left (its headers were
// written): later than its admission when the goroutine that sends it, or
// the connection it needed, was slow to come. The window then counts it
// from that time, so that a request sent late and one sent on time are
// never closer, at the server, than the window allows.
func (l *Limiter) Sent(t Token, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at = at.Add(l.late)
	for i := range l.sent {
		if l.sent[i].seq != t.seq {
			continue
		}
		if !at.After(l.sent[i].at) {
			return
		}
		// Move it to its place: the log stays in time order.
		a := admission{at: at, admitted: l.sent[i].admitted, seq: t.seq}
		j := i
		for j+1 < len(l.sent) && l.sent[j+1].at.Before(at) {
			l.sent[j] = l.sent[j+1]
			j++
		}
		l.sent[j] = a
		return
	}
}

// Pause stops every admission until until, as a new pause: the generation
// is bumped, so requests admitted before now are known to have been in
// flight when it began. The schedule restarts at until, without catching
// up on the slots the pause took.
func (l *Limiter) Pause(until time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	l.extend(until)
	return l.gen
}

// Extend lengthens the current pause to until, if that is later, without
// starting a new one.
func (l *Limiter) Extend(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.extend(until)
}

func (l *Limiter) extend(until time.Time) {
	l.paused = later(l.paused, until)
	if l.n > 0 {
		l.next = later(l.next, until)
	}
	// Waiters asleep until an earlier time look again on their own; no
	// broadcast is needed for a later one.
}

// PausedUntil is the end of the current pause (zero or past: none).
func (l *Limiter) PausedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.paused
}

// Gen is the current pause generation.
func (l *Limiter) Gen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// Close makes every current and future Wait return err (non-nil): the
// source is out for the run. The first Close wins.
func (l *Limiter) Close(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil && err != nil {
		l.err = err
		l.broadcast()
	}
}

// broadcast wakes every waiter; mu held.
func (l *Limiter) broadcast() {
	close(l.wake)
	l.wake = make(chan struct{})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
