package report

import (
	"errors"

	"github.com/verdict-dev/verdict/pkg/model"
)

// Sink consumes a report as a stream: Begin with the header and summary,
// Alert once per alert in input order, End once. Every output format is a
// Sink, so enrich and `verdict report` drive the same code.
type Sink interface {
	Begin(r *model.Report) error
	Alert(a *model.Alert) error
	End(r *model.Report) error
}

// Preparer is a Sink that can do its per-alert work ahead of time, on any
// goroutine, before Alert is called in order (the JSON writer encodes there).
type Preparer interface {
	Prepare(a *model.Alert) error
}

// Multi fans one stream out to several sinks.
type Multi []Sink

// Prepare implements Preparer for the sinks that do.
func (m Multi) Prepare(a *model.Alert) error {
	for _, s := range m {
		if p, ok := s.(Preparer); ok {
			if err := p.Prepare(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// Begin implements Sink.
func (m Multi) Begin(r *model.Report) error {
	for _, s := range m {
		if err := s.Begin(r); err != nil {
			return err
		}
	}
	return nil
}

// Alert implements Sink.
func (m Multi) Alert(a *model.Alert) error {
	for _, s := range m {
		if err := s.Alert(a); err != nil {
			return err
		}
	}
	return nil
}

// End implements Sink; every sink is ended even if one fails.
func (m Multi) End(r *model.Report) error {
	var errs []error
	for _, s := range m {
		errs = append(errs, s.End(r))
	}
	return errors.Join(errs...)
}

// Collect keeps every alert in memory (user templates need the whole report).
type Collect struct {
	Report *model.Report
}

// Begin implements Sink.
func (c *Collect) Begin(r *model.Report) error {
	cp := *r
	cp.Alerts = []*model.Alert{}
	c.Report = &cp
	return nil
}

// Alert implements Sink.
func (c *Collect) Alert(a *model.Alert) error {
	c.Report.Alerts = append(c.Report.Alerts, a)
	return nil
}

// End implements Sink.
func (c *Collect) End(r *model.Report) error {
	alerts := c.Report.Alerts
	cp := *r
	cp.Alerts = alerts
	c.Report = &cp
	return nil
}
