package report

import (
	"context"
	"io"

	"github.com/verdict-dev/verdict/pkg/model"
)

// ctxWriter fails every write once ctx is done. Renderers write through it
// (behind a buffer), so a template in the middle of a big report stops at
// its next write, which text/template and html/template turn into an
// error, instead of running to the end after a SIGTERM.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// checkEvery is how many alerts a sink takes between looks at its context.
const checkEvery = 64

// ctxSink stops a report stream once its context is done: it checks before
// Begin, every checkEvery alerts and before End. It passes Prepare through,
// so wrapping keeps a Preparer's parallel encoding.
type ctxSink struct {
	ctx context.Context
	s   Multi
	n   int
}

// Prepare implements Preparer.
func (c *ctxSink) Prepare(a *model.Alert) error { return c.s.Prepare(a) }

// Begin implements Sink.
func (c *ctxSink) Begin(r *model.Report) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	return c.s.Begin(r)
}

// Alert implements Sink.
func (c *ctxSink) Alert(a *model.Alert) error {
	if c.n++; c.n%checkEvery == 0 {
		if err := c.ctx.Err(); err != nil {
			return err
		}
	}
	return c.s.Alert(a)
}

// End implements Sink. The sinks are always ended (they flush and release
// what they hold) but a cancelled stream still ends in its error.
func (c *ctxSink) End(r *model.Report) error {
	if err := c.ctx.Err(); err != nil {
		_ = c.s.End(r)
		return err
	}
	return c.s.End(r)
}
