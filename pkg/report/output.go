package report

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/verdict-dev/verdict/pkg/interrupt"
	"github.com/verdict-dev/verdict/pkg/model"
)

// OutputOptions says where the reports go.
type OutputOptions struct {
	// Context stops writing and rendering when it is done (SIGINT,
	// SIGTERM): sinks look at it every few alerts, renderers at every
	// buffered write, and Commit before it moves anything into place. Nil
	// means context.Background().
	Context context.Context

	Dir  string // --output-dir
	Name string // --output-name, without extension
	// Unique says Name is a default, not the user's choice: an existing
	// file is never replaced. When any file this output would write is
	// taken, Commit adds -2, -3, ... to the name (CONTRACT.md "Output"),
	// deciding atomically, so that two runs in the same second keep both
	// reports. Without it, an explicit name overwrites.
	Unique  bool
	Formats []Format // --format
	// Stdout, when set, writes that one format to StdoutWriter instead of
	// writing any file.
	Stdout       Format
	StdoutWriter io.Writer
	// Template is a user template file (--template).
	Template string
	View     ViewOptions
	// Blocklist, when set, is written with the indicators that a source
	// flagged in alerts at or above BlocklistMin (--export-blocklist,
	// --blocklist-min), of BlocklistTypes (all when empty), in
	// BlocklistFormat (plain when empty).
	Blocklist       string
	BlocklistMin    model.Verdict
	BlocklistTypes  []string
	BlocklistFormat BlocklistFormat
}

// Output turns one report stream into every requested format, each written
// atomically: to a temporary file in the target directory, moved into place
// only when complete, so no reader ever sees half a report.
type Output struct {
	opts    OutputOptions
	ctx     context.Context
	sinks   Multi
	sink    *ctxSink
	files   []*pendingFile
	views   []viewTarget
	builder *ViewBuilder
	tspool  *templateSpool
	tmpl    *UserTemplate
	block   *BlocklistWriter
	name    string // the name the files got (Name, or Name-N)
	View    *View  // the built view, after Commit
}

type pendingFile struct {
	format  Format
	f       *os.File
	tmp     string
	placed  bool   // renamed to its final name: no temporary file left
	untrack func() // its registration with interrupt.Track
}

type viewTarget struct {
	format Format
	w      io.Writer
}

// NewOutput prepares the sinks. Nothing is visible on disk until Commit.
func NewOutput(opts OutputOptions) (*Output, error) {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	o := &Output{opts: opts, ctx: ctx, name: opts.Name, builder: NewViewBuilder(opts.View)}
	o.sinks = append(o.sinks, o.builder)
	if opts.Blocklist != "" {
		min := opts.BlocklistMin
		if min == "" {
			min = model.Malicious
		}
		o.block = NewBlocklistWriter(min)
		o.block.Types = opts.BlocklistTypes
		if opts.BlocklistFormat != "" {
			if _, err := ParseBlocklistFormat(string(opts.BlocklistFormat)); err != nil {
				return nil, err
			}
			o.block.Format = opts.BlocklistFormat
		}
		o.sinks = append(o.sinks, o.block)
	}
	if opts.Template != "" {
		t, err := LoadTemplate(opts.Template)
		if err != nil {
			return nil, err
		}
		o.tmpl = t
		o.tspool = &templateSpool{ctx: ctx, listMax: templateListMax}
		o.sinks = append(o.sinks, o.tspool)
	}
	if opts.Stdout != "" {
		if opts.Stdout == FormatTemplate && o.tmpl == nil {
			return nil, fmt.Errorf("--stdout template needs --template FILE")
		}
		if err := o.target(opts.Stdout, ctxWriter{ctx: ctx, w: opts.StdoutWriter}); err != nil {
			return nil, err
		}
		o.sink = &ctxSink{ctx: ctx, s: o.sinks}
		return o, nil
	}
	if err := ValidateName(opts.Name); err != nil {
		return nil, err
	}
	// 0o777: the umask decides, as for any file a user's program creates.
	if err := os.MkdirAll(opts.Dir, 0o777); err != nil {
		return nil, &writeError{fmt.Errorf("create output directory: %w", err)}
	}
	formats := opts.Formats
	if o.tmpl != nil && !hasFormat(formats, FormatTemplate) {
		formats = append(formats, FormatTemplate)
	}
	for _, f := range formats {
		tmp, err := createTemp(opts.Dir, filepath.Base(o.FileName(f)))
		if err != nil {
			o.Abort()
			return nil, &writeError{fmt.Errorf("create report: %w", err)}
		}
		// Registered so that a second signal, which ends the process at
		// once, still removes it.
		o.files = append(o.files, &pendingFile{format: f, f: tmp, tmp: tmp.Name(), untrack: interrupt.Track(tmp.Name())})
		if err := o.target(f, ctxWriter{ctx: ctx, w: tmp}); err != nil {
			o.Abort()
			return nil, err
		}
	}
	o.sink = &ctxSink{ctx: ctx, s: o.sinks}
	return o, nil
}

// ErrWrite matches NewOutput's failures to create the output directory or
// a report file: runtime failures (exit 1), unlike its other errors, which
// are about the options (a bad name, format or template: exit 2).
var ErrWrite = errors.New("cannot write reports")

type writeError struct{ err error }

func (e *writeError) Error() string        { return e.err.Error() }
func (e *writeError) Unwrap() error        { return e.err }
func (e *writeError) Is(target error) bool { return target == ErrWrite }

// ValidateName checks an --output-name: a file name, not a path. It must
// not be empty, ".", "..", hold a path separator or a control character.
func ValidateName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("--output-name must not be empty")
	case name == "." || name == "..":
		return fmt.Errorf("--output-name must be a file name, got %q", name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("--output-name must be a file name without directories, got %q", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || unsafeRune(r, true) {
			return fmt.Errorf("--output-name must not hold control or invisible characters, got %q", name)
		}
	}
	return nil
}

func hasFormat(fs []Format, f Format) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// Name is the name the report files got: the requested one, or with -N
// added when the default name was taken. Final after Commit.
func (o *Output) Name() string { return o.name }

// FileName is the file a format is written to (final after Commit).
func (o *Output) FileName(f Format) string { return o.fileName(f, o.name) }

func (o *Output) fileName(f Format, name string) string {
	if f == FormatTemplate && o.tmpl != nil {
		return filepath.Join(o.opts.Dir, name+"."+o.tmpl.Suffix)
	}
	return filepath.Join(o.opts.Dir, name+"."+string(f))
}

// createTemp creates a new temporary file next to the final one, mode 0666
// less the umask (os.CreateTemp would force 0600, and a chmod afterwards
// would ignore the umask).
func createTemp(dir, final string) (*os.File, error) {
	var b [8]byte
	for range 100 {
		_, _ = rand.Read(b[:])
		name := filepath.Join(dir, "."+final+".tmp-"+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("create temporary file in %s: too many collisions", dir)
}

// target wires format f to w: JSON and CSV stream, the rest render the view.
func (o *Output) target(f Format, w io.Writer) error {
	switch f {
	case FormatJSON:
		o.sinks = append(o.sinks, NewJSONWriter(w))
	case FormatCSV:
		o.sinks = append(o.sinks, NewCSVWriter(w))
	case FormatTXT, FormatHTML, FormatMarkdown, FormatTemplate:
		o.views = append(o.views, viewTarget{format: f, w: w})
	default:
		return fmt.Errorf("unknown format %q", f)
	}
	return nil
}

// Sink is where the report stream goes. It stops with the context's error
// once the context is done, and is a Preparer for the sinks that are.
func (o *Output) Sink() Sink { return o.sink }

// Commit renders the view formats and moves every file into place. It
// returns the paths written (none with --stdout). A done context aborts it:
// nothing is moved into place and no temporary file is left.
func (o *Output) Commit() ([]string, error) {
	if err := o.ctx.Err(); err != nil {
		o.Abort()
		return nil, err
	}
	o.View = o.builder.Build()
	// The view is read-only from here on: render the formats side by side.
	errs := make([]error, len(o.views))
	var wg sync.WaitGroup
	for i, t := range o.views {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch t.format {
			case FormatTemplate:
				if o.tmpl.ListsAlerts() {
					// Written for a list: the whole report, within a limit.
					var rep *model.Report
					if rep, err = o.tspool.report(o.tmpl.Path, o.tspool.listMax); err == nil {
						err = o.tmpl.Execute(o.ctx, t.w, rep)
					}
					break
				}
				err = o.tmpl.ExecuteData(o.ctx, t.w, o.tspool.data())
				if err == nil {
					err = o.tspool.streamErr()
				}
			default:
				err = RenderViewContext(o.ctx, t.w, t.format, o.View)
			}
			if err != nil {
				if ctxErr := o.ctx.Err(); ctxErr != nil {
					err = ctxErr
				}
				errs[i] = fmt.Errorf("render %s report: %w", t.format, err)
			}
		}()
	}
	wg.Wait()
	if o.tspool != nil {
		o.tspool.close()
	}
	if err := errors.Join(errs...); err != nil {
		o.Abort()
		return nil, err
	}
	for _, pf := range o.files {
		if err := pf.f.Sync(); err != nil {
			o.Abort()
			return nil, fmt.Errorf("write report: %w", err)
		}
		if err := pf.f.Close(); err != nil {
			o.Abort()
			return nil, fmt.Errorf("write report: %w", err)
		}
	}
	if err := o.ctx.Err(); err != nil {
		o.Abort()
		return nil, err
	}
	paths, err := o.place()
	if err != nil {
		o.Abort()
		return nil, err
	}
	for _, pf := range o.files {
		pf.untrack()
	}
	o.files = nil
	if o.block != nil {
		if err := WriteFileAtomic(o.opts.Blocklist, o.block.Bytes()); err != nil {
			return paths, fmt.Errorf("export blocklist: %w", err)
		}
		paths = append(paths, o.opts.Blocklist)
	}
	return paths, nil
}

// maxSuffix bounds the search for a free default name.
const maxSuffix = 10000

// place moves the finished files to their names. An explicit name
// overwrites. A default name (Unique) never does: each file is hard-linked
// to its final name, which fails if the name exists, so the check and the
// write are one atomic step; if any file of the set is taken, the links
// made for this name are undone and the next suffix is tried.
func (o *Output) place() ([]string, error) {
	files := append([]*pendingFile(nil), o.files...)
	// One fixed order for every run, so that two runs racing for a name
	// meet at the same first file and one of them wins it outright.
	sort.SliceStable(files, func(i, j int) bool { return formatOrder(files[i].format) < formatOrder(files[j].format) })
	if !o.opts.Unique {
		var paths []string
		for _, pf := range files {
			final := o.fileName(pf.format, o.name)
			if err := os.Rename(pf.tmp, final); err != nil {
				return nil, fmt.Errorf("write report: %w", err)
			}
			pf.placed = true
			paths = append(paths, final)
		}
		return o.inRequestOrder(paths, files), nil
	}
	for n := 1; n <= maxSuffix; n++ {
		name := o.opts.Name
		if n > 1 {
			name += "-" + strconv.Itoa(n)
		}
		paths, taken, err := o.claim(files, name)
		if err != nil {
			return nil, err
		}
		if taken {
			continue
		}
		o.name = name
		for _, pf := range files {
			if !pf.placed {
				_ = os.Remove(pf.tmp) // the data lives on under its final name
			}
		}
		return o.inRequestOrder(paths, files), nil
	}
	return nil, fmt.Errorf("write report: %s-2 ... %s-%d are all taken in %s", o.opts.Name, o.opts.Name, maxSuffix, o.opts.Dir)
}

// claim links every file to its name under name. taken reports that some
// name was already in use; then nothing of this claim is left behind.
func (o *Output) claim(files []*pendingFile, name string) (paths []string, taken bool, err error) {
	undo := func() {
		for i, p := range paths {
			removeIfSame(p, files[i].tmp)
		}
	}
	for i, pf := range files {
		final := o.fileName(pf.format, name)
		err := os.Link(pf.tmp, final)
		switch {
		case err == nil:
			paths = append(paths, final)
		case errors.Is(err, fs.ErrExist):
			undo()
			return nil, true, nil
		case i == 0 && linkUnsupported(err):
			return o.claimByRename(files, name)
		default:
			undo()
			return nil, false, fmt.Errorf("write report: %w", err)
		}
	}
	return paths, false, nil
}

// claimByRename is claim for file systems without hard links (FAT, some
// network mounts): check every name, then rename. Not atomic against a
// concurrent run, but it never replaces a report that was there before.
func (o *Output) claimByRename(files []*pendingFile, name string) (paths []string, taken bool, err error) {
	for _, pf := range files {
		if _, err := os.Lstat(o.fileName(pf.format, name)); err == nil {
			return nil, true, nil
		}
	}
	for _, pf := range files {
		final := o.fileName(pf.format, name)
		if err := os.Rename(pf.tmp, final); err != nil {
			return nil, false, fmt.Errorf("write report: %w", err)
		}
		pf.placed = true
		paths = append(paths, final)
	}
	return paths, false, nil
}

// removeIfSame removes path only if it is still the file tmp (our own link),
// never a file another run has put there since.
func removeIfSame(path, tmp string) {
	a, err1 := os.Lstat(path)
	b, err2 := os.Lstat(tmp)
	if err1 == nil && err2 == nil && os.SameFile(a, b) {
		_ = os.Remove(path)
	}
}

// linkUnsupported reports errors that mean "no hard links here" (Linux says
// EPERM on FAT), as opposed to "that name exists" or a real failure. A real
// permission problem fails again, and clearly, in the rename that follows.
func linkUnsupported(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, errors.ErrUnsupported)
}

// inRequestOrder lists paths in the order the formats were asked for.
func (o *Output) inRequestOrder(paths []string, sorted []*pendingFile) []string {
	byFormat := make(map[Format]string, len(paths))
	for i, p := range paths {
		byFormat[sorted[i].format] = p
	}
	out := make([]string, 0, len(paths))
	for _, pf := range o.files {
		out = append(out, byFormat[pf.format])
	}
	return out
}

func formatOrder(f Format) int {
	for i, x := range AllFormats {
		if x == f {
			return i
		}
	}
	return len(AllFormats)
}

// Abort removes every temporary file; finished reports, from this run or
// from earlier ones, are untouched. It may be called more than once.
func (o *Output) Abort() {
	if o.tspool != nil {
		o.tspool.close()
	}
	for _, pf := range o.files {
		pf.f.Close()
		if !pf.placed {
			_ = os.Remove(pf.tmp) // best effort: it may already be gone
		}
		pf.untrack()
	}
	o.files = nil
}

// RenderView renders a built-in view format.
func RenderView(w io.Writer, f Format, v *View) error {
	return RenderViewContext(context.Background(), w, f, v)
}

// RenderViewContext renders a built-in view format, stopping with ctx's
// error once ctx is done.
func RenderViewContext(ctx context.Context, w io.Writer, f Format, v *View) error {
	switch f {
	case FormatTXT:
		return renderTXT(ctx, w, v)
	case FormatHTML:
		return renderHTML(ctx, w, v)
	case FormatMarkdown:
		return renderMarkdown(ctx, w, v)
	}
	return fmt.Errorf("format %s is not rendered from the view", f)
}

// DefaultName is the default --output-name for a UTC time string
// "20060102-150405".
func DefaultName(stamp string) string { return "verdict-" + strings.TrimSpace(stamp) }
