package root

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/verdict-dev/verdict/pkg/report"
)

// textHandler writes compact, human log lines on stderr:
// "WARN  malformed record  file=a.json record=2". On a terminal the time is
// left out; in cron logs it leads the line. Attribute values are sanitised:
// they can come from alert files.
type textHandler struct {
	mu     *sync.Mutex
	w      io.Writer
	level  slog.Level
	tty    bool
	attrs  []slog.Attr
	prefix string
}

func newTextHandler(w io.Writer, level slog.Level, tty bool) *textHandler {
	return &textHandler{mu: &sync.Mutex{}, w: w, level: level, tty: tty}
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if !h.tty {
		b.WriteString(r.Time.UTC().Format(time.RFC3339))
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "%-5s %s", r.Level.String(), report.SanitizeLine(r.Message))
	write := func(a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		v := a.Value.String()
		if a.Value.Kind() == slog.KindDuration {
			v = a.Value.Duration().Round(time.Millisecond).String()
		}
		v = report.SanitizeLine(v)
		if strings.ContainsAny(v, " =\"") {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, "  %s%s=%s", h.prefix, a.Key, v)
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(func(a slog.Attr) bool { write(a); return true })
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}
