package ratelimit

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxInWindow is the largest number of times in any half-open window of
// length d.
func maxInWindow(times []time.Time, d time.Duration) int {
	ts := append([]time.Time(nil), times...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	most := 0
	for i := range ts {
		n := 0
		for j := i; j < len(ts) && ts[j].Sub(ts[i]) < d; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

// simulate runs workers that each take the next request, wait for the
// limiter, and are then busy for busy(i) (the request's latency and the
// work after it). It returns the admission times in order.
func simulate(t *testing.T, l *Limiter, workers, total int, busy func(i int) time.Duration) []time.Time {
	t.Helper()
	var (
		mu    sync.Mutex
		next  int
		times []time.Time
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= total {
					return
				}
				tok, err := l.Wait(context.Background())
				if err != nil {
					t.Errorf("wait: %v", err)
					return
				}
				mu.Lock()
				times = append(times, tok.At)
				mu.Unlock()
				time.Sleep(busy(i))
			}
		})
	}
	wg.Wait()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	return times
}

func constant(d time.Duration) func(int) time.Duration { return func(int) time.Duration { return d } }

func TestLimiterNeverExceedsTheWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rate    Rate
		workers int
		total   int
		busy    func(int) time.Duration
	}{
		{name: "4/m, one worker, instant answers", rate: Rate{N: 4, Per: time.Minute}, workers: 1, total: 13, busy: constant(0)},
		{name: "4/m, eight workers", rate: Rate{N: 4, Per: time.Minute}, workers: 8, total: 30, busy: constant(time.Second)},
		{name: "30/s, four workers, 100ms answers", rate: Rate{N: 30, Per: time.Second}, workers: 4, total: 500, busy: constant(100 * time.Millisecond)},
		{name: "30/s, four workers, answers from 20ms to 400ms", rate: Rate{N: 30, Per: time.Second}, workers: 4, total: 300,
			busy: func(i int) time.Duration { return time.Duration(20+(i*7919)%380) * time.Millisecond }},
		{name: "20/s, sixteen workers, instant answers", rate: Rate{N: 20, Per: time.Second}, workers: 16, total: 200, busy: constant(0)},
		{name: "1/s, three workers", rate: Rate{N: 1, Per: time.Second}, workers: 3, total: 20, busy: constant(300 * time.Millisecond)},
		{name: "3/h, two workers", rate: Rate{N: 3, Per: time.Hour}, workers: 2, total: 10, busy: constant(time.Minute)},
		{name: "1000/d, many workers", rate: Rate{N: 1000, Per: 24 * time.Hour}, workers: 32, total: 2500, busy: constant(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				times := simulate(t, NewLimiter(tt.rate), tt.workers, tt.total, tt.busy)
				require.Len(t, times, tt.total)
				assert.LessOrEqual(t, maxInWindow(times, tt.rate.Per), tt.rate.N, "more than %s in one window", tt.rate)
				for i := 1; i < len(times); i++ {
					if gap := times[i].Sub(times[i-1]); gap < NewLimiter(tt.rate).Interval()/2 {
						t.Fatalf("requests %d and %d only %s apart: a burst", i-1, i, gap)
					}
				}
			})
		})
	}
}

func TestLimiterPacesEvenly(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Rate{N: 4, Per: time.Minute})
		iv := l.Interval()
		assert.Equal(t, (time.Minute+600*time.Millisecond)/4, iv, "a window plus a 1%% margin, over N")
		times := simulate(t, l, 4, 9, constant(0))
		for i := 1; i < len(times); i++ {
			assert.Equal(t, iv, times[i].Sub(times[i-1]), "gap %d", i)
		}
	})
}

// A worker that misses its slot (every worker was busy) keeps its place on
// the schedule: the run takes as long as the rate says, not longer.
func TestLimiterCatchesUpMissedSlots(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Rate{N: 30, Per: time.Second})
		iv := l.Interval()
		const total = 200
		// One worker; every fifth request keeps it busy for two slots.
		times := simulate(t, l, 1, total, func(i int) time.Duration {
			if i%5 == 4 {
				return 2 * iv
			}
			return 0
		})
		span := times[len(times)-1].Sub(times[0])
		assert.LessOrEqual(t, span, time.Duration(total-1)*iv+iv, "lost slots add up (a burst-1 token bucket would take %s)", time.Duration(total-1+total/5)*iv)
		assert.LessOrEqual(t, maxInWindow(times, time.Second), 30)
	})
}

func TestLimiterRefundFreesTheSlot(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Rate{N: 4, Per: time.Minute})
		start := time.Now()
		tok, err := l.Wait(context.Background())
		require.NoError(t, err)

		// Three workers queue behind it; at 4/m the first would wait 15 s.
		admitted := make(chan time.Time, 3)
		for range 3 {
			go func() {
				tok, err := l.Wait(context.Background())
				if err == nil {
					admitted <- tok.At
				}
			}()
		}
		synctest.Wait()
		assert.Empty(t, admitted)

		// The first request never reached the server: its slot is given
		// back and one waiter goes at once.
		l.Refund(tok)
		synctest.Wait()
		require.Len(t, admitted, 1)
		assert.Equal(t, start, <-admitted)
		// A refund is not counted twice.
		l.Refund(tok)
		synctest.Wait()
		assert.Empty(t, admitted)

		// The others keep the schedule from there.
		assert.Equal(t, start.Add(l.Interval()), <-admitted)
		assert.Equal(t, start.Add(2*l.Interval()), <-admitted)
	})
}

// A request that leaves late (its goroutine or connection was slow) counts
// from when it left: the next ones keep their distance from it, at the
// server.
func TestLimiterCountsFromWhenARequestReallyLeft(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rate := Rate{N: 2, Per: time.Second}
		l := NewLimiter(rate)
		start := time.Now()
		first, err := l.Wait(context.Background())
		require.NoError(t, err)
		l.Sent(first, start.Add(400*time.Millisecond)) // sent 400 ms late
		l.Sent(first, start.Add(100*time.Millisecond)) // an earlier report changes nothing
		sent := []time.Time{start.Add(400 * time.Millisecond)}
		for range 4 {
			tok, err := l.Wait(context.Background())
			require.NoError(t, err)
			sent = append(sent, tok.At)
		}
		assert.Equal(t, start.Add(l.Interval()), sent[1], "the schedule and the spacing go by admissions")
		assert.Equal(t, start.Add(400*time.Millisecond).Add(time.Second+10*time.Millisecond), sent[2], "the window goes by when the first really left")
		assert.LessOrEqual(t, maxInWindow(sent, time.Second), 2)
	})
}

// A process whose timers fire late (starved of CPU) sees its requests reach
// a server late by as much, unevenly: the window counts each request from
// that much later, and goes back to normal as the lateness passes.
func TestLimiterWidensTheWindowWhileTheProcessRunsLate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Rate{N: 1, Per: time.Second})
		l.observeLate(40 * time.Millisecond)
		start := time.Now()
		_, err := l.Wait(context.Background())
		require.NoError(t, err)
		tok, err := l.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, start.Add(40*time.Millisecond+time.Second+10*time.Millisecond), tok.At)

		l.observeLate(time.Hour)
		assert.Equal(t, 100*time.Millisecond, l.late, "never more than a tenth of the window")
		for range 200 {
			l.observeLate(0)
		}
		assert.Less(t, l.late, time.Millisecond, "the lateness passes")
	})
}

func TestLimiterPauseStopsEveryoneThenRestartsWithoutABurst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Rate{N: 30, Per: time.Second})
		start := time.Now()
		first, err := l.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 0, first.Gen)

		until := start.Add(5 * time.Second)
		assert.Equal(t, 1, l.Pause(until))
		l.Extend(start.Add(time.Second)) // shorter: no effect
		assert.Equal(t, until, l.PausedUntil())
		assert.Equal(t, 1, l.Gen(), "Extend starts no new pause")

		times := simulate(t, l, 4, 6, constant(0))
		assert.Equal(t, until, times[0], "nobody goes before the pause ends")
		for i := 1; i < len(times); i++ {
			assert.Equal(t, l.Interval(), times[i].Sub(times[i-1]), "after a pause the schedule restarts, without catching up")
		}
		tok, err := l.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 1, tok.Gen)
	})
}

func TestLimiterPauseWithoutARate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Rate{})
		start := time.Now()
		times := simulate(t, l, 4, 50, constant(0))
		assert.Equal(t, start, times[49], "no limit: every request at once")
		l.Pause(start.Add(2 * time.Second))
		tok, err := l.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, start.Add(2*time.Second), tok.At, "a 429 pause holds without a rate too")
	})
}

func TestLimiterCloseAndCancel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Rate{N: 1, Per: time.Hour})
		_, err := l.Wait(context.Background())
		require.NoError(t, err)

		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 3)
		go func() { _, err := l.Wait(ctx); errs <- err }()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-errs, context.Canceled)

		stop := errors.New("out for the run")
		for range 2 {
			go func() { _, err := l.Wait(context.Background()); errs <- err }()
		}
		synctest.Wait()
		start := time.Now()
		l.Close(stop)
		l.Close(errors.New("second close is ignored"))
		assert.ErrorIs(t, <-errs, stop)
		assert.ErrorIs(t, <-errs, stop)
		assert.Equal(t, start, time.Now(), "waiters leave at once")
		_, err = l.Wait(context.Background())
		assert.ErrorIs(t, err, stop)
	})
}

// FuzzLimiter checks the window property under arbitrary demand: any
// number of workers, answers of any length, and refunds.
func FuzzLimiter(f *testing.F) {
	f.Add(uint8(4), uint16(60000), uint8(4), []byte{0, 10, 200, 3, 0x81, 0, 50})
	f.Add(uint8(30), uint16(1000), uint8(4), []byte{100, 100, 100, 0x80, 20, 255})
	f.Add(uint8(1), uint16(1), uint8(8), []byte{0x80, 0x80, 0x80, 1})
	f.Fuzz(func(t *testing.T, n uint8, perMs uint16, workers uint8, ops []byte) {
		if n == 0 || perMs == 0 || workers == 0 || len(ops) == 0 || len(ops) > 300 {
			return
		}
		rate := Rate{N: int(n), Per: time.Duration(perMs) * time.Millisecond}
		synctest.Test(t, func(t *testing.T) {
			l := NewLimiter(rate)
			var (
				mu    sync.Mutex
				next  int
				times []time.Time // admissions that were not refunded
				wg    sync.WaitGroup
			)
			for range int(workers%16) + 1 {
				wg.Go(func() {
					for {
						mu.Lock()
						i := next
						next++
						mu.Unlock()
						if i >= len(ops) {
							return
						}
						tok, err := l.Wait(context.Background())
						if err != nil {
							t.Errorf("wait: %v", err)
							return
						}
						op := ops[i]
						switch {
						case op&0x80 != 0: // never reached the server
							l.Refund(tok)
						case op&0x40 != 0: // left late
							at := tok.At.Add(time.Duration(op&0x3f) * rate.Per / 64)
							l.Sent(tok, at)
							mu.Lock()
							times = append(times, at)
							mu.Unlock()
						default:
							mu.Lock()
							times = append(times, tok.At)
							mu.Unlock()
						}
						time.Sleep(time.Duration(op&0x7f) * rate.Per / 64)
					}
				})
			}
			wg.Wait()
			if got := maxInWindow(times, rate.Per); got > rate.N {
				t.Fatalf("%d requests in one window of %s, limit %d", got, rate.Per, rate.N)
			}
		})
	})
}
