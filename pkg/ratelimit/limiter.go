package ratelimit

import (
	"context"
	"log/slog"
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
// A limiter made by NewSharedLimiter keeps the three rules' state (and the
// pause) in a store that other processes share too (see Shared): the same
// rules then hold for the requests of every process using the store, which
// is what a provider's rate means, since it belongs to the API key. It
// still keeps its own state as well (while another process's requests
// are in the window, the shared window's margin is sharedMargin's 3%): the local rules never admit sooner
// than the shared ones (its admissions are a part of theirs), so a waiter
// that the local state already holds back does not ask the store, and if
// the store fails the limiter goes on alone for a while.
//
// golang.org/x/time/rate cannot do the last three: a reservation cannot be
// given back once others are queued behind it, a token bucket with burst 1
// loses every slot a busy worker misses, and a pause cannot move the
// waiters that are already asleep.
type Limiter struct {
	p       params
	maxLate time.Duration // the most a request's time is moved for a late-running process

	mu     sync.Mutex
	st     sched
	seq    uint64
	paused time.Time // no admission before this
	gen    int       // bumped by each new pause
	err    error     // set by Close
	wake   chan struct{}
	// late is how late this process's timers have been firing lately (a
	// decaying maximum): the scheduling delay of a starved process, by which
	// each request counts later in the window.
	late time.Duration

	sh *link // nil: this process alone
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
	id  uint64
}

// sharedMargin replaces windowMargin while several processes send
// requests under one shared window: theirs travel on different
// connections, from different hosts, each by its own route and delay, so
// the server's count of a window depends on more than one connection's
// jitter. Measured on the fleet test (four processes and PostgreSQL on a
// 2-core machine at load 5): the fake received 21 requests in 988-998 ms
// that had left 1010+ ms apart (one limiter's 1% margin), and in 1001 ms
// that had left 1020 ms apart (2%). 3% costs the fleet 2% of its pace.
// A process alone in the window keeps the 1% (the single-host pacing).
func sharedMargin(per time.Duration) time.Duration {
	return max(per*3/100, 4*time.Millisecond)
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
	l.p = newParams(r)
	l.maxLate = r.Per / 10
	return l
}

// Interval is the even spacing of the schedule, margin included; 0 without
// a limit.
func (l *Limiter) Interval() time.Duration { return l.p.iv }

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
		wake := l.wake
		if at.After(now) {
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
			continue
		}
		if !l.sharing(now) {
			tok := l.admit(now, l.nextID())
			l.mu.Unlock()
			return tok, nil
		}
		l.mu.Unlock()
		// Shared: one goroutine of this process asks the store at a time;
		// the others learn its answer (the hint) without asking.
		select {
		case l.sh.turn <- struct{}{}:
		case <-ctx.Done():
			return Token{}, ctx.Err()
		case <-wake:
			continue
		}
		tok, ok, err := l.reserve(ctx)
		<-l.sh.turn
		if err != nil {
			return Token{}, err
		}
		if ok {
			return tok, nil
		}
	}
}

// earliest is the first time a request may be admitted by this process's
// own state (and, when shared, by what the store last said); mu held.
func (l *Limiter) earliest(now time.Time) time.Time {
	t := later(now, l.paused)
	if l.p.n == 0 {
		return t
	}
	l.st.prune(now, l.p.window, l.p.n)
	t = later(t, l.st.earliest(now, l.p))
	if l.sharing(now) {
		t = later(t, l.sh.hint)
	}
	return t
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

// nextID names an admission; mu held. A shared limiter's ids carry random
// high bits, so that no two processes' admissions share one.
func (l *Limiter) nextID() uint64 {
	l.seq++
	if l.sh != nil {
		return l.sh.idBase + l.seq
	}
	return l.seq
}

// admit records an admission at now in the local state; mu held, now >=
// earliest(now).
func (l *Limiter) admit(now time.Time, id uint64) Token {
	tok := Token{At: now, Gen: l.gen, id: id}
	if l.p.n == 0 {
		return tok
	}
	l.st.admit(now, l.late, id, l.p)
	return tok
}

// Refund gives an admission back: the request never reached the server
// (the connection was refused, the name did not resolve), so it does not
// count against the window, and the schedule moves back one slot so that the
// next waiter goes at once.
func (l *Limiter) Refund(t Token) {
	l.mu.Lock()
	if l.p.n == 0 || !l.st.refund(t.id, l.p) {
		l.mu.Unlock()
		return
	}
	l.broadcast()
	shared := l.sh != nil
	if shared {
		l.sh.hint = time.Time{}
		l.sh.refunds++
	}
	l.mu.Unlock()
	if shared {
		l.update(context.Background(), func(s *sharedState, _ time.Duration) bool { return s.refund(t.id, l.p) })
		// A reservation may have read the store between the local refund
		// and this one and left a hint a whole slot late: waiters look
		// again now that the store has the slot back.
		l.mu.Lock()
		l.sh.hint = time.Time{}
		l.sh.refunds++
		l.broadcast()
		l.mu.Unlock()
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
	if l.p.n == 0 {
		return
	}
	at = at.Add(l.late)
	if !l.st.moveSent(t.id, at) || l.sh == nil {
		return
	}
	// The store learns it in the background: this runs on the request's
	// own goroutine, as its headers are written.
	l.sh.pending = append(l.sh.pending, fix{id: t.id, at: at})
	if !l.sh.flushing {
		l.sh.flushing = true
		go l.flush()
	}
}

// Pause stops every admission until until, as a new pause: the generation
// is bumped, so requests admitted before now are known to have been in
// flight when it began. The schedule restarts at until, without catching
// up on the slots the pause took. A shared limiter pauses every process
// that shares its store.
func (l *Limiter) Pause(until time.Time) int {
	l.mu.Lock()
	l.gen++
	gen := l.gen
	l.extend(until)
	l.mu.Unlock()
	l.sharePause(until)
	return gen
}

// Extend lengthens the current pause to until, if that is later, without
// starting a new one.
func (l *Limiter) Extend(until time.Time) {
	l.mu.Lock()
	longer := until.After(l.paused)
	l.extend(until)
	l.mu.Unlock()
	if longer {
		l.sharePause(until)
	}
}

func (l *Limiter) extend(until time.Time) {
	l.paused = later(l.paused, until)
	if l.p.n > 0 {
		l.st.next = later(l.st.next, until)
	}
	// Waiters asleep until an earlier time look again on their own; no
	// broadcast is needed for a later one.
}

// sharePause tells the other processes of a pause.
func (l *Limiter) sharePause(until time.Time) {
	if l.sh == nil {
		return
	}
	l.update(context.Background(), func(s *sharedState, offset time.Duration) bool {
		u := until.Add(offset)
		if !u.After(s.paused) {
			return false
		}
		s.paused = u
		s.next = later(s.next, u)
		return true
	})
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

// params are a limited limiter's figures, fixed by its rate.
type params struct {
	n       int           // 0: no limit
	window  time.Duration // the rate's window plus a margin for network jitter
	iv      time.Duration // window / n
	spacing time.Duration // iv / 2
	credit  time.Duration // how far behind the schedule a request may keep its slot
}

func newParams(r Rate) params {
	p := params{n: r.N, window: r.Per + windowMargin(r.Per)}
	p.iv = p.window / time.Duration(r.N)
	p.spacing = p.iv / 2
	p.credit = r.Per / 2
	return p
}

// sched is what the three rules decide on, in one process's memory or in
// a shared store.
type sched struct {
	next time.Time   // the schedule's next slot; zero before the first admission
	last time.Time   // the latest admission, for the spacing
	sent []admission // admissions inside the window, in the order they left
}

type admission struct {
	at       time.Time // when it left (Sent), for the window
	admitted time.Time // for the spacing
	id       uint64
}

// prune drops the admissions that left a window of length keep, and all
// but the latest max.
func (s *sched) prune(now time.Time, keep time.Duration, most int) {
	i := 0
	for i < len(s.sent) && !s.sent[i].at.Add(keep).After(now) {
		i++
	}
	if most > 0 && len(s.sent)-i > most {
		i = len(s.sent) - most
	}
	if i > 0 {
		s.sent = append(s.sent[:0], s.sent[i:]...)
	}
}

// earliest is the first time the three rules allow at p (pauses aside).
func (s *sched) earliest(now time.Time, p params) time.Time {
	t := now
	if k := len(s.sent); k > 0 {
		t = later(t, s.last.Add(p.spacing))
		if k >= p.n {
			t = later(t, s.sent[k-p.n].at.Add(p.window))
		}
	}
	return later(t, s.next)
}

// admit records an admission at now, counted in the window from now+late.
func (s *sched) admit(now time.Time, late time.Duration, id uint64, p params) {
	slot := now
	if !s.next.IsZero() {
		// Late for the slot: keep its place, up to credit behind.
		slot = later(s.next, now.Add(-p.credit))
	}
	s.next = slot.Add(p.iv)
	s.insert(admission{at: now.Add(late), admitted: now, id: id})
	s.last = later(s.last, now)
}

// insert puts a into the log at its place in time order.
func (s *sched) insert(a admission) {
	j := len(s.sent)
	s.sent = append(s.sent, a)
	for j > 0 && s.sent[j-1].at.After(a.at) {
		s.sent[j] = s.sent[j-1]
		j--
	}
	s.sent[j] = a
}

// refund removes admission id; false if it is not in the log (refunded
// already, or out of the window).
func (s *sched) refund(id uint64, p params) bool {
	for i, a := range s.sent {
		if a.id != id {
			continue
		}
		s.sent = append(s.sent[:i], s.sent[i+1:]...)
		s.next = s.next.Add(-p.iv)
		s.last = time.Time{}
		for _, b := range s.sent {
			s.last = later(s.last, b.admitted)
		}
		return true
	}
	return false
}

// moveSent moves admission id to at, if that is later; false if it is not
// in the log or at is not later.
func (s *sched) moveSent(id uint64, at time.Time) bool {
	for i := range s.sent {
		if s.sent[i].id != id {
			continue
		}
		if !at.After(s.sent[i].at) {
			return false
		}
		a := s.sent[i]
		a.at = at
		s.sent = append(s.sent[:i], s.sent[i+1:]...)
		s.insert(a)
		return true
	}
	return false
}

// Shared is a store that keeps a rate window where every process using it
// sees it (cache.SQLite and cache.Postgres: their rate_slots table).
type Shared interface {
	// UpdateRate reads key's state (nil or empty when there is none), calls
	// fn with it and the store's clock, and stores what fn returns (nil:
	// unchanged), all under a lock that every process sharing the store
	// respects. fn may be called more than once; the last call counts.
	UpdateRate(ctx context.Context, key string, fn func(state []byte, now time.Time) []byte) error
}

// Timings of a shared limiter's store calls.
const (
	// storeTimeout bounds one call: a store that takes longer is treated as
	// failing, and the limiter goes on alone.
	storeTimeout = 10 * time.Second
	// aloneAfterFailure is how long a limiter whose store failed goes on
	// alone before it asks the store again.
	aloneAfterFailure = 30 * time.Second
)

// link is a shared limiter's tie to its store. Every field but the
// constants is guarded by the Limiter's mu.
type link struct {
	store  Shared
	key    string
	log    *slog.Logger
	turn   chan struct{} // one goroutine of this process asks the store at a time
	idBase uint64
	// wide are the rate's figures with sharedMargin: the window the store
	// holds admissions to while another process's are in it.
	wide params

	// hint is the store's earliest admission as last seen, on this
	// process's clock.
	hint time.Time
	// refunds counts refunds: a reservation that saw the store before a
	// refund reached it must not leave a hint that the refund made stale.
	refunds uint64
	// offset is the store's clock minus this process's, as of the latest
	// call: times go into the store on its clock.
	offset   time.Duration
	pending  []fix // Sent times the store has yet to learn
	flushing bool
	alone    time.Time // after a store failure: no sharing before this
	warned   bool
}

type fix struct {
	id uint64
	at time.Time // this process's clock
}

// NewSharedLimiter returns a limiter for r whose window, schedule and
// pauses live in s under key (the provider), shared by every process that
// uses s; log hears, once, that the store failed and the limiter goes on
// alone. An unlimited r shares nothing.
func NewSharedLimiter(r Rate, key string, s Shared, log *slog.Logger) *Limiter {
	l := NewLimiter(r)
	if r.Unlimited() || s == nil {
		return l
	}
	if log == nil {
		log = slog.Default()
	}
	wide := newParams(r)
	wide.window = r.Per + sharedMargin(r.Per)
	wide.iv = wide.window / time.Duration(r.N)
	wide.spacing = wide.iv / 2
	l.sh = &link{store: s, key: key, log: log, turn: make(chan struct{}, 1), idBase: randomBase(), wide: wide}
	return l
}

// sharing reports whether admissions go through the store now; mu held.
func (l *Limiter) sharing(now time.Time) bool {
	return l.sh != nil && !now.Before(l.sh.alone)
}

// reserve asks the store for an admission now, holding the turn. It
// returns the token when admitted; otherwise the caller waits for the
// hint it set (or, the store having failed, goes on alone).
func (l *Limiter) reserve(ctx context.Context) (Token, bool, error) {
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return Token{}, false, err
	}
	// Another goroutine of this process may have been admitted, or learnt
	// a later hint, while this one waited for the turn.
	now := time.Now()
	if l.earliest(now).After(now) {
		l.mu.Unlock()
		return Token{}, false, nil
	}
	if !l.sharing(now) {
		tok := l.admit(now, l.nextID())
		l.mu.Unlock()
		return tok, true, nil
	}
	fixes := l.sh.pending
	l.sh.pending = nil
	id := l.nextID()
	late := l.late
	refunds := l.sh.refunds
	l.mu.Unlock()

	var (
		admitted             bool
		chosen, retry, after time.Time // on this process's clock
		offset               time.Duration
	)
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	err := l.sh.store.UpdateRate(sctx, l.sh.key, func(state []byte, now time.Time) []byte {
		local := time.Now()
		chosen = local
		offset = now.Sub(local)
		s := decodeShared(state)
		s.adopt(now, l.sh.wide)
		changed := false
		for _, f := range fixes {
			changed = s.moveSent(f.id, f.at.Add(offset)) || changed
		}
		s.prune(now, s.keep, s.most)
		p := l.p
		if s.fromOthers(l.sh.idBase) {
			p = l.sh.wide
		}
		at := later(s.earliest(now, p), s.paused)
		if at.After(now) {
			admitted = false
			retry = local.Add(at.Sub(now))
			if changed {
				return s.encode()
			}
			return nil
		}
		admitted = true
		s.admit(now, late, id, p)
		after = local.Add(later(s.earliest(now, p), s.paused).Sub(now))
		return s.encode()
	})
	cancel()

	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return Token{}, false, ctx.Err()
		}
		l.sh.pending = append(fixes, l.sh.pending...)
		l.goAlone(err)
		return Token{}, false, nil
	}
	l.sh.offset = offset
	stale := l.sh.refunds != refunds // a refund since: the store's answer may be a slot late
	if !admitted {
		if !stale {
			l.sh.hint = retry
		}
		return Token{}, false, nil
	}
	if !stale {
		l.sh.hint = after
	}
	// The local state records the admission too (at the time the store
	// chose it), so that its rules stay a part of the shared ones.
	return l.admit(chosen, id), true, nil
}

// goAlone stops sharing for a while after a store failure; mu held.
func (l *Limiter) goAlone(err error) {
	l.sh.alone = time.Now().Add(aloneAfterFailure)
	l.sh.hint = time.Time{}
	if !l.sh.warned {
		l.sh.warned = true
		l.sh.log.Warn("cannot share the rate limit through the cache; this process keeps to the rate on its own for now",
			"provider", l.sh.key, "error", err.Error())
	}
}

// update changes the shared state outside an admission (a refund, a
// pause): fn reports whether it changed anything. Best effort: the
// process's own state already holds the change.
func (l *Limiter) update(ctx context.Context, fn func(s *sharedState, offset time.Duration) bool) {
	l.mu.Lock()
	if !l.sharing(time.Now()) {
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	var offset time.Duration
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	err := l.sh.store.UpdateRate(sctx, l.sh.key, func(state []byte, now time.Time) []byte {
		offset = now.Sub(time.Now())
		s := decodeShared(state)
		s.adopt(now, l.sh.wide)
		if !fn(&s, offset) {
			return nil
		}
		return s.encode()
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.goAlone(err)
		return
	}
	l.sh.offset = offset
}

// flush hands the store the Sent times it has yet to learn, until none is
// left.
func (l *Limiter) flush() {
	for {
		l.mu.Lock()
		fixes := l.sh.pending
		l.sh.pending = nil
		if len(fixes) == 0 || !l.sharing(time.Now()) {
			l.sh.flushing = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		l.update(context.Background(), func(s *sharedState, offset time.Duration) bool {
			changed := false
			for _, f := range fixes {
				changed = s.moveSent(f.id, f.at.Add(offset)) || changed
			}
			return changed
		})
	}
}
