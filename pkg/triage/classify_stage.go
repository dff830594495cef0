package triage

import (
	"context"
	"fmt"

	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/model"
)

// ClassifyStage gives every alert a classification (verdict classify):
// it groups the run's alerts, asks the model (or the cache, or the
// heuristic) once per group, and adds the labels as the alerts are written.
type ClassifyStage struct {
	runner *classify.Runner
	bc     model.ByClassification
	// Estimate is set by a dry run: requests, tokens and cost.
	Estimate *classify.Estimate
}

var _ Stage = (*ClassifyStage)(nil)

// NewClassifyStage wraps a runner.
func NewClassifyStage(r *classify.Runner) *ClassifyStage {
	return &ClassifyStage{runner: r}
}

// Runner is the stage's classification runner.
func (s *ClassifyStage) Runner() *classify.Runner { return s.runner }

// Prepare implements Stage: group, then classify (or estimate). The runner
// keeps a small record per group; it reads each group's alert from src
// again when it classifies it, so memory does not grow with the alerts.
func (s *ClassifyStage) Prepare(ctx context.Context, src Source, dryRun bool) error {
	r := s.runner
	if err := src.EachAlert(ctx, func(a *model.Alert) error { r.Add(classify.FromAlert(a)); return nil }); err != nil {
		return err
	}
	cases := func(yield func(classify.Case) error) error {
		return src.EachAlert(ctx, func(a *model.Alert) error { return yield(classify.FromAlert(a)) })
	}
	if dryRun {
		e := r.Estimate(ctx, cases)
		s.Estimate = &e
		return nil
	}
	if err := r.Run(ctx, cases); err != nil {
		return fmt.Errorf("classification interrupted: %w", err)
	}
	return src.EachAlert(ctx, func(a *model.Alert) error { r.Tally(classify.FromAlert(a), &s.bc); return nil })
}

// Hook implements Stage.
func (s *ClassifyStage) Hook() AlertHook {
	return func(_ context.Context, a *model.Alert) error {
		a.Classification = s.runner.Result(classify.FromAlert(a))
		return nil
	}
}

// Summarise implements Stage.
func (s *ClassifyStage) Summarise(h *model.Report) {
	st := s.runner.Stats()
	bc := s.bc
	h.Summary.ByClassification = &bc
	h.Summary.Classification = &st
	h.Summary.Notes = append(h.Summary.Notes, s.runner.Notes()...)
}
