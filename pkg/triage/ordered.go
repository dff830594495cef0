package triage

import (
	"context"
	"runtime"
	"sync"
)

// ordered runs a three-stage pipeline: produce emits items in order on one
// goroutine, work processes them on several, and consume receives them back
// in the order they were produced, on the caller's goroutine. It is how both
// passes use every core while the report stays in input order; memory is
// bounded by the number of items in flight (a few per worker).
//
// produce must stop when emit returns false. work is told which worker
// (0 to workers-1) runs it, so that each can keep state of its own that
// lives for the whole pipeline. The first error from produce or consume
// ends the pipeline and is returned.
func ordered[T any](ctx context.Context, produce func(emit func(T) bool) error, work func(worker int, item T), consume func(T) error) error {
	workers := pipelineWorkers()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type slot struct {
		item T
		done chan struct{}
	}
	jobs := make(chan *slot, workers*2)
	queue := make(chan *slot, workers*4)

	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				work(w, s.item)
				close(s.done)
			}
		}()
	}

	var produceErr error
	go func() {
		defer close(queue)
		defer close(jobs)
		produceErr = produce(func(item T) bool {
			s := &slot{item: item, done: make(chan struct{})}
			select {
			case queue <- s:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- s:
				return true
			case <-ctx.Done():
				close(s.done) // never worked on; the consumer is gone
				return false
			}
		})
	}()

	var err error
	for s := range queue {
		<-s.done
		if err != nil {
			continue // drain so the producer and workers finish
		}
		if err = consume(s.item); err != nil {
			cancel()
		}
	}
	wg.Wait()
	if err != nil {
		return err
	}
	if produceErr != nil {
		return produceErr
	}
	return ctx.Err()
}

// pipelineWorkers is how many workers ordered runs: one per core.
func pipelineWorkers() int { return max(runtime.GOMAXPROCS(0), 1) }
