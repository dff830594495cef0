package classify

import (
	"context"
	"errors"
	"fmt"

	"github.com/verdict-dev/verdict/pkg/model"
)

// runBatch settles the groups as one batch job (Options.Batch): the cache
// answers first, the budget decides which of the rest go in (by the
// classifier's estimate, since a job cannot be stopped half way), and every
// answer is validated, cached and billed like any other. An answer that
// does not validate falls back to the heuristic rather than being asked
// again at full price.
func (r *Runner) runBatch(ctx context.Context, bc BatchClassifier, todo []*group, replay Cases) error {
	est, _ := r.opts.Classifier.(Estimator)
	// A job carries every request at once: the cases of the groups sent
	// are held until it is built, and only those.
	var send []*group
	var cases []Case
	var planned float64
	err := each(ctx, replay, todo, func(gr *group, fc Case) error {
		if c := r.cached(ctx, gr); c != nil {
			r.settle(gr, c)
			return nil
		}
		if why := r.stopReason(); why != "" {
			r.settle(gr, Heuristic(fc, why))
			return nil
		}
		if r.opts.MaxCostUSD > 0 && est != nil {
			cost := est.Estimate(fc, true).CostUSD
			if r.spentSoFar()+planned+cost > r.opts.MaxCostUSD {
				r.budgetOut()
				r.settle(gr, Heuristic(fc, WhyBudget))
				return nil
			}
			planned += cost
		}
		send = append(send, gr)
		cases = append(cases, fc)
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("replay alerts: %w", err)
	}
	if len(send) == 0 {
		return ctx.Err()
	}
	r.mu.Lock()
	r.stats.Requests += len(send)
	r.mu.Unlock()
	outs, err := bc.ClassifyBatch(ctx, cases)
	if err == nil && len(outs) != len(send) {
		err = fmt.Errorf("batch answered %d of %d requests", len(outs), len(send))
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrKeyRejected) {
			r.keyRejected(err)
		} else {
			r.mu.Lock()
			r.notes = append(r.notes, fmt.Sprintf("%s batch job failed (%v); its alerts got heuristic classifications", r.name(), err))
			r.mu.Unlock()
			r.log.Warn("batch job failed", "error", err.Error())
		}
		for i, gr := range send {
			r.settle(gr, Heuristic(cases[i], WhyFailed+": "+err.Error()))
		}
		return nil
	}
	for i, gr := range send {
		o := outs[i]
		if o.Err == nil {
			o.Err = sane(o.Classification)
		}
		r.bill(o.Classification)
		var spent usage
		spent.add(o.Classification)
		if o.Err != nil {
			r.log.Warn("batch answer unusable", "alert_id", cases[i].AlertID, "problem", o.Err.Error())
			r.settle(gr, spent.onto(Heuristic(cases[i], WhyFailed+": "+o.Err.Error())))
			continue
		}
		r.settle(gr, spent.onto(r.accept(ctx, gr, o.Classification)))
	}
	return ctx.Err()
}

// settle stores a group's classification.
func (r *Runner) settle(gr *group, c *model.Classification) {
	r.mu.Lock()
	gr.result = c
	r.mu.Unlock()
}

func (r *Runner) spentSoFar() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spent
}

// budgetOut notes once that the cap left alerts out of the batch.
func (r *Runner) budgetOut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped == "" {
		r.stopped = WhyBudget
		r.notes = append(r.notes, fmt.Sprintf("%s: the batch was cut to stay within %s ($%.4f) by its estimated cost; the alerts left out get heuristic classifications", r.name(), r.budgetKey(), r.opts.MaxCostUSD))
		r.log.Warn("batch cut to the cost cap", "max_cost_usd", r.opts.MaxCostUSD)
	}
}
