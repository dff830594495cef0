package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeErr is an attempt's failure of a given kind, for testClassify.
type fakeErr struct {
	kind       Kind
	retryAfter time.Duration
}

func (e *fakeErr) Error() string { return fmt.Sprintf("fake failure of kind %d", e.kind) }

func testClassify(err error) Outcome {
	var fe *fakeErr
	if errors.As(err, &fe) {
		return Outcome{Kind: fe.kind, RetryAfter: fe.retryAfter}
	}
	return Outcome{Kind: Answered}
}

var (
	err429      = &fakeErr{kind: RateLimited}
	err5xx      = &fakeErr{kind: Transient}
	errRefused  = &fakeErr{kind: Unreachable}
	errRejected = &fakeErr{kind: Rejected}
	errNotSent  = &fakeErr{kind: NotSent}
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// server records when requests arrive and answers from a script.
type server struct {
	mu     sync.Mutex
	at     []time.Time
	answer func(n int) error // n counts requests from 1
}

func (s *server) send(context.Context) error {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	n := len(s.at)
	s.mu.Unlock()
	if s.answer == nil {
		return nil
	}
	return s.answer(n)
}

func (s *server) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.at...)
}

// quota is a daily quota counter with Refund, like cache.Memory's.
type quota struct {
	mu             sync.Mutex
	used           int
	takes, refunds int
	err            error
}

func (q *quota) Take(_ context.Context, _ string, limit int) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return false, q.err
	}
	if q.used >= limit {
		return false, nil
	}
	q.used++
	q.takes++
	return true, nil
}

func (q *quota) Refund(context.Context, string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.refunds++
	q.used--
	return nil
}

func (q *quota) Used() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.used
}

// takeOnly is a quota without Refund (cache.Quota before it gained one).
type takeOnly struct{ q *quota }

func (t takeOnly) Take(ctx context.Context, p string, limit int) (bool, error) {
	return t.q.Take(ctx, p, limit)
}

func newPolicy(c Config) *Policy {
	if c.Name == "" {
		c.Name = "fake"
	}
	if c.Classify == nil {
		c.Classify = testClassify
	}
	c.Logger = quiet()
	return New(c)
}

// doAll runs n logical requests on workers goroutines and returns their
// errors by index.
func doAll(p *Policy, workers, n int, send func(ctx context.Context) error) []error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				_, errs[i] = p.Do(context.Background(), send)
			}
		})
	}
	wg.Wait()
	return errs
}

// A 429 pauses every request to the source, not only the one that got it.
func TestPolicy429PausesTheWholeSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rate       Rate
		retryAfter time.Duration
		wantPause  time.Duration
	}{
		{name: "Retry-After is honoured", rate: Rate{N: 30, Per: time.Second}, retryAfter: 7 * time.Second, wantPause: 7 * time.Second},
		{name: "RetryInfo below a second waits a second", rate: Rate{}, retryAfter: 200 * time.Millisecond, wantPause: time.Second},
		{name: "no Retry-After: one window of 4/m", rate: Rate{N: 4, Per: time.Minute}, wantPause: time.Minute},
		{name: "no Retry-After: one window of 30/s", rate: Rate{N: 30, Per: time.Second}, wantPause: time.Second},
		{name: "no Retry-After and no rate: a second", rate: Rate{}, wantPause: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var limitedAt atomic.Pointer[time.Time]
				srv := &server{}
				srv.answer = func(n int) error {
					time.Sleep(50 * time.Millisecond) // latency
					if n == 3 {
						now := time.Now()
						limitedAt.Store(&now)
						return &fakeErr{kind: RateLimited, retryAfter: tt.retryAfter}
					}
					return nil
				}
				p := newPolicy(Config{Rate: tt.rate})
				errs := doAll(p, 4, 12, srv.send)
				for _, err := range errs {
					require.NoError(t, err, "a 429 is waited out")
				}
				times := srv.times()
				require.Len(t, times, 13, "twelve requests and the one that got the 429, sent again")
				end := limitedAt.Load().Add(tt.wantPause)
				sentDuring := 0
				for _, at := range times {
					// Requests already in flight when the 429 came back
					// arrived before it; none may arrive during the pause.
					if at.After(*limitedAt.Load()) && at.Before(end) {
						sentDuring++
					}
				}
				assert.Zero(t, sentDuring, "requests sent during the pause")
				assert.Contains(t, times, end, "sending resumes when the pause ends")
				assert.Equal(t, 1, p.Counts().RateLimited)
			})
		})
	}
}

// Three 429s in a row despite waiting put the source out of quota, counted
// across requests, ignoring requests already in flight when a pause began.
func TestPolicyThree429sInARow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &server{answer: func(int) error {
			time.Sleep(100 * time.Millisecond)
			return &fakeErr{kind: RateLimited, retryAfter: 10 * time.Second}
		}}
		p := newPolicy(Config{})
		start := time.Now()
		errs := doAll(p, 4, 20, srv.send)
		for _, err := range errs {
			require.ErrorIs(t, err, ErrExhausted)
			var stop *StopError
			require.ErrorAs(t, err, &stop)
			assert.Equal(t, "fake", stop.Source)
			assert.Equal(t, "three 429 answers in a row despite waiting", stop.Detail)
		}
		// Each round sends four requests at once and they all get a 429:
		// one counts, the other three were in flight before its pause. A
		// per-request count would never stop; a count of every 429 would
		// stop in the first round.
		assert.Len(t, srv.times(), 12, "three rounds of four")
		assert.Equal(t, 2*(10*time.Second+100*time.Millisecond)+100*time.Millisecond, time.Since(start), "two pauses waited out")
		assert.ErrorIs(t, p.Err(), ErrExhausted)
	})
}

func TestPolicyAnswerBetween429sResetsTheCount(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// One worker: 429, 429, answer, 429, 429, answer, ...
		srv := &server{answer: func(n int) error {
			if n%3 != 0 {
				return err429
			}
			return nil
		}}
		p := newPolicy(Config{})
		errs := doAll(p, 1, 5, srv.send)
		for _, err := range errs {
			assert.NoError(t, err)
		}
		assert.Len(t, srv.times(), 15)
		assert.NoError(t, p.Err())
	})
}

func TestPolicyLongRetryAfterIsOutOfQuota(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &server{answer: func(int) error { return &fakeErr{kind: RateLimited, retryAfter: 8 * time.Hour} }}
		p := newPolicy(Config{})
		start := time.Now()
		errs := doAll(p, 2, 5, srv.send)
		assert.Equal(t, start, time.Now(), "no waiting")
		assert.LessOrEqual(t, len(srv.times()), 2)
		for _, err := range errs {
			assert.ErrorIs(t, err, ErrExhausted)
			assert.ErrorContains(t, err, "a 429 asked to wait 8h0m0s")
		}
	})
}

func TestPolicyBackoffHasACeiling(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &server{answer: func(int) error { return err5xx }}
		p := newPolicy(Config{MaxRetries: 10, BackoffBase: time.Second, BackoffMax: 30 * time.Second})
		att, err := p.Do(context.Background(), srv.send)
		assert.ErrorIs(t, err, err5xx, "the last failure, once the retries are spent")
		assert.Equal(t, Attempts{Sent: 11}, att)
		times := srv.times()
		require.Len(t, times, 11)
		for i := 1; i < len(times); i++ {
			full := min(time.Second<<(i-1), 30*time.Second)
			gap := times[i].Sub(times[i-1])
			assert.GreaterOrEqual(t, gap, full/2, "retry %d", i)
			assert.LessOrEqual(t, gap, full, "retry %d: over the ceiling", i)
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 80; n++ {
		for range 20 {
			d := Backoff(time.Second, 30*time.Second, n)
			full := 30 * time.Second
			if n <= 5 {
				full = time.Second << (n - 1)
			}
			require.GreaterOrEqual(t, d, full/2, "retry %d", n)
			require.LessOrEqual(t, d, full, "retry %d", n)
		}
	}
	assert.LessOrEqual(t, Backoff(time.Hour, time.Duration(1<<62), 100), time.Duration(1<<62), "no overflow")
	assert.Equal(t, time.Duration(0), Backoff(0, time.Second, 3))
}

// DNS failures, refused connections and TLS failures three times in a row
// make the source unavailable; nothing of it was spent.
func TestPolicyUnavailableAfterThreeUnreachable(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &server{answer: func(int) error { return errRefused }}
		q := &quota{}
		p := newPolicy(Config{Rate: Rate{N: 4, Per: time.Minute}, DailyQuota: 500, Quota: q, MaxRetries: 3})
		start := time.Now()
		errs := doAll(p, 4, 100, srv.send)
		assert.Less(t, time.Since(start), 10*time.Second, "at 4/m three slots would take 30 s: slots are given back")
		for _, err := range errs {
			require.ErrorIs(t, err, ErrUnavailable)
			var stop *StopError
			require.ErrorAs(t, err, &stop)
			assert.ErrorIs(t, stop, errRefused, "the cause is kept")
		}
		assert.Len(t, srv.times(), 3)
		assert.Zero(t, q.Used(), "no quota spent on requests that never reached the server")
		assert.Equal(t, q.takes, q.refunds)
		assert.Equal(t, Counts{Unreachable: 3}, p.Counts())
	})
}

func TestPolicyUnreachableCountResetsOnAnAnswer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &server{answer: func(n int) error {
			if n%3 != 0 {
				return errRefused
			}
			return nil
		}}
		p := newPolicy(Config{MaxRetries: 5, BackoffBase: time.Millisecond})
		errs := doAll(p, 1, 4, srv.send)
		for _, err := range errs {
			assert.NoError(t, err, "two failures, then the retry gets through")
		}
		assert.NoError(t, p.Err())
	})
}

func TestPolicyQuota(t *testing.T) {
	t.Parallel()
	t.Run("taken per request sent, retries included, then exhausted", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			srv := &server{answer: func(n int) error {
				if n == 1 {
					return err5xx
				}
				return nil
			}}
			q := &quota{}
			p := newPolicy(Config{DailyQuota: 4, Quota: q, MaxRetries: 1, BackoffBase: time.Millisecond})
			errs := doAll(p, 1, 5, srv.send)
			assert.NoError(t, errs[0])
			assert.NoError(t, errs[2])
			assert.ErrorIs(t, errs[3], ErrExhausted)
			assert.ErrorContains(t, errs[4], "daily quota of 4 requests is spent for today (UTC)")
			assert.Equal(t, 4, q.Used())
			assert.Len(t, srv.times(), 4)
		})
	})
	t.Run("units already taken are used when it runs out", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			q := &quota{used: 8}
			srv := &server{}
			p := newPolicy(Config{Rate: Rate{N: 1, Per: time.Second}, DailyQuota: 10, Quota: q})
			errs := doAll(p, 4, 6, srv.send)
			assert.Len(t, srv.times(), 2, "the two units left were spent, although their turns came after the quota ran out")
			assert.Equal(t, 10, q.Used())
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else {
					assert.ErrorIs(t, err, ErrExhausted)
				}
			}
			assert.Equal(t, 2, ok)
		})
	})
	t.Run("given back when the run is cancelled before sending", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			q := &quota{}
			p := newPolicy(Config{Rate: Rate{N: 1, Per: time.Hour}, DailyQuota: 10, Quota: q})
			srv := &server{}
			_, err := p.Do(context.Background(), srv.send)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { _, err := p.Do(ctx, srv.send); done <- err }()
			synctest.Wait()
			assert.Equal(t, 2, q.Used(), "taken before waiting for the turn")
			cancel()
			assert.ErrorIs(t, <-done, context.Canceled)
			assert.Equal(t, 1, q.Used())
		})
	})
	t.Run("kept when cancelled in flight", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			q := &quota{}
			p := newPolicy(Config{DailyQuota: 10, Quota: q})
			ctx, cancel := context.WithCancel(context.Background())
			att, err := p.Do(ctx, func(ctx context.Context) error {
				cancel()
				return ctx.Err()
			})
			assert.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, Attempts{Sent: 1}, att, "it may have reached the server")
			assert.Equal(t, 1, q.Used())
		})
	})
	t.Run("a quota without Refund keeps the unit", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			q := &quota{}
			p := newPolicy(Config{DailyQuota: 10, Quota: takeOnly{q}})
			_, err := p.Do(context.Background(), func(context.Context) error { return errRefused })
			assert.ErrorIs(t, err, errRefused)
			assert.Equal(t, 1, q.Used())
		})
	})
	t.Run("a failing counter is not a reason to stop", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			q := &quota{err: errors.New("database is locked")}
			p := newPolicy(Config{DailyQuota: 1, Quota: q})
			errs := doAll(p, 1, 3, (&server{}).send)
			for _, err := range errs {
				assert.NoError(t, err)
			}
		})
	})
}

func TestPolicyRejectedStopsEverything(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &server{answer: func(int) error { return fmt.Errorf("WrongCredentialsError: %w", errRejected) }}
		p := newPolicy(Config{MaxRetries: 3})
		errs := doAll(p, 3, 10, srv.send)
		assert.LessOrEqual(t, len(srv.times()), 3, "only requests already sent")
		for _, err := range errs {
			assert.ErrorIs(t, err, ErrRejected)
			assert.ErrorIs(t, err, errRejected)
			assert.ErrorContains(t, errors.Unwrap(err), "WrongCredentialsError")
		}
		select {
		case <-p.Stopped():
		default:
			t.Fatal("Stopped is not closed")
		}
	})
}

func TestPolicyNotSentGivesTheSlotBack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		q := &quota{}
		p := newPolicy(Config{Rate: Rate{N: 1, Per: time.Hour}, DailyQuota: 10, Quota: q})
		start := time.Now()
		att, err := p.Do(context.Background(), func(context.Context) error { return errNotSent })
		assert.ErrorIs(t, err, errNotSent)
		assert.Equal(t, Attempts{}, att)
		_, err = p.Do(context.Background(), (&server{}).send)
		require.NoError(t, err)
		assert.Equal(t, start, time.Now(), "the hour's one slot was given back")
		assert.Equal(t, 1, q.Used())
	})
}

func TestPolicyRetriesStopWhenTheSourceStops(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// Request 1 fails (5xx) and backs off for up to 30 s; meanwhile
		// request 2's answer is a rejected key.
		srv := &server{answer: func(n int) error {
			if n == 1 {
				return err5xx
			}
			time.Sleep(time.Second)
			return errRejected
		}}
		p := newPolicy(Config{MaxRetries: 3, BackoffBase: 30 * time.Second, BackoffMax: 30 * time.Second})
		start := time.Now()
		errs := doAll(p, 2, 2, srv.send)
		assert.ErrorIs(t, errs[0], ErrRejected)
		assert.Equal(t, time.Second, time.Since(start), "the backoff ends with the stop")
	})
}
