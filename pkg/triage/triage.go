// Package triage is verdict's pipeline as a library: alerts in, indicators
// extracted and looked up once each, alerts scored, report streamed out.
//
// It makes two passes over the input so memory grows with the number of
// unique indicators, not alerts: pass 1 reads every record, extracts its
// indicators into a batch-wide table and spools the alert to disk; the
// lookups run on the unique table; a scoring pass over the compact spool
// gives the summary; pass 2 streams each alert, scored, to the report sinks.
package triage

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/internal/oneline"
	"github.com/verdict-dev/verdict/pkg/interrupt"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/score"
)

// StdinName is how standard input is named in reports and messages.
const StdinName = "stdin"

// Options configures a run.
type Options struct {
	Inputs []string  // paths; "-" is standard input
	Stdin  io.Reader // read when an input is "-"
	Format alert.Format
	// Policy decides which indicators are never sent to a provider and
	// why (non-global addresses, reserved names, the empty file's hashes,
	// internal domains, the allowlist); nil applies only the fixed rules.
	Policy  *ioc.Policy
	Engine  *intel.Engine
	Scorer  *score.Scorer
	TempDir string // for the spool; default os.TempDir()
	Logger  *slog.Logger
	// MaxRecordBytes bounds one record (default 64 MiB).
	MaxRecordBytes int
	// MaxSpoolBytes bounds each input that is copied to the spool before
	// it is read: standard input and every input that is not a regular
	// file (pipes, process substitution, devices such as /dev/zero). Past
	// it the run stops with an *InputTooLargeError. 0 means
	// DefaultMaxSpoolBytes (input.max_bytes).
	MaxSpoolBytes int64
	// IDs are the fields holding an alert's id (input.id_fields); nil is
	// alert.DefaultIDs(). An alert with none of them is named by its
	// position: #N, counting every record read from the inputs in order
	// (malformed ones included), or with IDPerFile FILE#N, N counting the
	// records of that file (its source.record).
	IDs       *alert.IDFields
	IDPerFile bool
	// Feeds are the local feeds' states (age, category, entries) for the
	// report's summary, and FeedNotes the warnings about them (stale).
	Feeds     []model.FeedStatus
	FeedNotes []string
}

// DefaultMaxSpoolBytes is the default of Options.MaxSpoolBytes: 4 GiB.
const DefaultMaxSpoolBytes = 4 << 30

// Errors that decide exit status 2.
var (
	// ErrInput means an input could not be opened, or not one record could
	// be read from it.
	ErrInput = errors.New("unusable input")
)

// InputTooLargeError stops a run whose standard input or non-regular input
// outgrew Options.MaxSpoolBytes while it was spooled. It matches ErrInput
// (exit status 2).
type InputTooLargeError struct {
	Input string // display name: "stdin" or the path
	Limit int64
}

func (e *InputTooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s, the limit for standard input, pipes and devices (input.max_bytes); give a regular file, or raise the limit", e.Input, sizeString(e.Limit))
}

// Is makes errors.Is(err, ErrInput) true.
func (e *InputTooLargeError) Is(target error) bool { return target == ErrInput }

// sizeString writes n bytes with the largest binary unit that divides it.
func sizeString(n int64) string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n > 0 && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// Batch is the state between the passes. Close it to remove the spool.
type Batch struct {
	opts    Options
	log     *slog.Logger
	dir     string
	untrack func()   // the spool's registration with interrupt.Track
	inputs  []string // display names, in order
	// paths are the files the inputs were read from (standard input and
	// pipes: their copies in dir). Pass 2 reads records from there again,
	// so the raw spool holds only records that are not the file's bytes.
	paths []string
	// states are the regular input files as pass 1 left them, by input, and
	// sumSeed keys the checksum of every record pass 2 reads again
	// (rawSum): a file that changed in a record pass 1 read stops pass 2.
	states  []inputState
	sumSeed maphash.Seed

	table   *iocTable // the unique indicators, in order of first sight
	skip    []uint8   // by batch index: a code of reasons
	reasons reasonTable
	fields  fieldTable
	skipped int // indicators with a skip reason

	alerts      int
	records     int
	inputErrors []model.InputError
	exs         []*extractor // pass 1's, one per worker; dropped after it

	// after Lookup
	looked   []int32 // batch ioc index -> index in the looked-up slice, or -1
	results  *intel.Results
	profiles profiles
	prof     []int32               // by looked-up index: its answers, in profiles
	contrib  []*score.Contribution // by looked-up index; nil when no rule matched
	// siblings lists, by looked-up index, the batch indexes of the other
	// hashes of the same file that an answer named (a feed row, a
	// VirusTotal file object): links between the hashes of one artifact.
	// Few indicators have any, so it is a map, with a bit per looked-up
	// index saying whether to look.
	siblings  map[int32][]int32
	hasSib    []uint64
	checkedBy sync.Map // answered mask -> []string, shared by every alert with that mask
	byVerd    model.ByVerdict
	scored    bool
	warned    bool // the failing-provider warnings were logged
}

// Load runs pass 1. Input that cannot be opened is an ErrInput error before
// anything is read; malformed records are collected in InputErrors and the
// run goes on. On any error, cancellation included, the spool is removed
// before Load returns.
func Load(ctx context.Context, opts Options) (*Batch, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if len(opts.Inputs) == 0 {
		return nil, fmt.Errorf("%w: no input files", ErrInput)
	}
	dir, err := os.MkdirTemp(opts.TempDir, "verdict-")
	if err != nil {
		return nil, fmt.Errorf("create spool directory: %w", err)
	}
	// Registered so that a second signal, which ends the process without
	// unwinding, still removes it.
	b := &Batch{opts: opts, log: opts.Logger, dir: dir, untrack: interrupt.Track(dir), table: newIOCTable(), sumSeed: maphash.MakeSeed()}
	loaded := false
	defer func() {
		// Deferred rather than called on each error path: the spool goes
		// on every way out, a panic included.
		if !loaded {
			b.Close()
		}
	}()
	if err := b.load(ctx); err != nil {
		return nil, err
	}
	loaded = true
	return b, nil
}

// Close removes the spool. It may be called more than once.
func (b *Batch) Close() error {
	err := os.RemoveAll(b.dir)
	if err == nil && b.untrack != nil {
		b.untrack()
	}
	return err
}

func (b *Batch) metaPath() string { return filepath.Join(b.dir, "alerts.meta") }
func (b *Batch) rawPath() string  { return filepath.Join(b.dir, "alerts.raw") }

// openInputs checks every input up front, so that a missing file fails the
// run before any work, then spools standard input and the inputs that are
// not regular files (pipes, process substitution, devices), each up to
// MaxSpoolBytes. It returns the path to read for each input.
func (b *Batch) openInputs(ctx context.Context) ([]string, error) {
	paths := make([]string, len(b.opts.Inputs))
	b.inputs = make([]string, len(b.opts.Inputs))
	spool := make([]bool, len(b.opts.Inputs))
	var errs []error
	stdinUsed := false
	for i, in := range b.opts.Inputs {
		if in == "-" {
			b.inputs[i] = StdinName
			switch {
			case stdinUsed:
				errs = append(errs, fmt.Errorf("%w: standard input (-) given twice", ErrInput))
			case b.opts.Stdin == nil:
				errs = append(errs, fmt.Errorf("%w: no standard input", ErrInput))
			default:
				spool[i] = true
			}
			stdinUsed = true
			continue
		}
		b.inputs[i] = strings.ToValidUTF8(in, "\uFFFD")
		st, err := os.Stat(in)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%w: open %s: %w", ErrInput, in, unwrapPath(err)))
			continue
		case st.IsDir():
			errs = append(errs, fmt.Errorf("%w: %s is a directory", ErrInput, in))
			continue
		case !st.Mode().IsRegular():
			// Named pipes, process substitution and devices: read once
			// into the spool (opening a pipe can block, so not here).
			spool[i] = true
			continue
		}
		f, err := os.Open(in)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: open %s: %w", ErrInput, in, unwrapPath(err)))
			continue
		}
		f.Close()
		paths[i] = in
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, in := range b.opts.Inputs {
		if !spool[i] {
			continue
		}
		var open func() (io.Reader, func() error, error)
		if in == "-" {
			open = func() (io.Reader, func() error, error) { return b.opts.Stdin, nil, nil }
		} else {
			open = func() (io.Reader, func() error, error) {
				f, err := os.Open(in)
				if err != nil {
					return nil, nil, fmt.Errorf("%w: open %s: %w", ErrInput, b.inputs[i], unwrapPath(err))
				}
				return f, f.Close, nil
			}
		}
		p, err := b.spool(ctx, open, "input-"+strconv.Itoa(i+1), b.inputs[i])
		if err != nil {
			return nil, err
		}
		paths[i] = p
	}
	return paths, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// spool copies one input into the spool directory, at most MaxSpoolBytes,
// and returns the copy's path. The copy runs on its own goroutine, which
// owns the spool file, so that a signal stops the run even while the input
// blocks: a pipe whose writer sends nothing, or a named pipe that no writer
// has opened yet. That goroutine may then stay blocked in a read until the
// process exits; nothing waits for it, and the spool directory goes
// (Batch.Close) whatever it does.
func (b *Batch) spool(ctx context.Context, open func() (io.Reader, func() error, error), name, display string) (string, error) {
	p := filepath.Join(b.dir, name)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("create spool for %s: %w", display, err)
	}
	limit := b.opts.MaxSpoolBytes
	if limit <= 0 {
		limit = DefaultMaxSpoolBytes
	}
	b.log.Debug("spooling input", "file", display, "limit", sizeString(limit))
	done := make(chan error, 1)
	go func() {
		done <- func() (err error) {
			defer func() {
				if cerr := f.Close(); err == nil && cerr != nil {
					err = fmt.Errorf("write spool for %s: %w", display, cerr)
				}
			}()
			r, closeInput, err := open()
			if err != nil {
				return err
			}
			if closeInput != nil {
				defer closeInput()
			}
			return copySpool(ctx, f, r, limit, display)
		}()
	}()
	select {
	case err := <-done:
		if err != nil {
			return "", err
		}
		return p, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// spoolChunk is the read size of copySpool; the context is checked between
// chunks.
const spoolChunk = 1 << 20

// copySpool copies r to w until EOF, failing once more than limit bytes
// came, or when ctx is done.
func copySpool(ctx context.Context, w io.Writer, r io.Reader, limit int64, display string) error {
	buf := make([]byte, spoolChunk)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, rerr := r.Read(buf)
		if k > 0 {
			if n+int64(k) > limit {
				return &InputTooLargeError{Input: display, Limit: limit}
			}
			if _, err := w.Write(buf[:k]); err != nil {
				return fmt.Errorf("write spool for %s: %w", display, err)
			}
			n += int64(k)
		}
		switch {
		case errors.Is(rerr, io.EOF):
			return nil
		case rerr != nil:
			return fmt.Errorf("%w: read %s: %w", ErrInput, display, unwrapPath(rerr))
		}
	}
}

// load is pass 1.
func (b *Batch) load(ctx context.Context) error {
	start := time.Now()
	paths, err := b.openInputs(ctx)
	if err != nil {
		return err
	}
	b.paths = paths
	b.states = make([]inputState, len(paths))
	meta, err := newSpoolWriter(b.metaPath())
	if err != nil {
		return fmt.Errorf("create spool: %w", err)
	}
	raw, err := newSpoolWriter(b.rawPath())
	if err != nil {
		meta.close()
		return fmt.Errorf("create spool: %w", err)
	}
	b.exs = make([]*extractor, pipelineWorkers())
	var fileErrs []error
	for fi, path := range paths {
		n, err := b.loadFile(ctx, fi, path, meta, raw)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				meta.close()
				raw.close()
				return err
			}
			fileErrs = append(fileErrs, err)
			continue
		}
		if n == 0 {
			b.log.Warn("no alerts in input", "file", b.inputs[fi])
		}
	}
	b.exs = nil // the memos are a few MiB each, and pass 1 is over
	if err := errors.Join(meta.close(), raw.close()); err != nil {
		return fmt.Errorf("write spool: %w", err)
	}
	if len(fileErrs) > 0 {
		return errors.Join(fileErrs...)
	}
	b.log.Info("loaded alerts", "alerts", b.alerts, "records", b.records, "malformed", len(b.inputErrors),
		"iocs", len(b.table.list), "skipped_iocs", b.skipped, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// recordBatch is a run of records on their way through pass 1's workers.
type recordBatch struct {
	recs  []alert.Record // Raw points into arena
	arena []byte
	ids   []string
	found [][]foundIOC
	werrs []error
	sums  []uint64 // rawSum of records read again in pass 2
	fatal error    // a whole-file problem met after these records
}

const recordsPerBatch = 128

// loadFile reads one input; it returns how many alerts it yielded, and an
// ErrInput error when the file gave records but not one readable alert.
// Records are read and spooled in order on one goroutine; walking and
// extraction, the costly part, run on every core in between.
func (b *Batch) loadFile(ctx context.Context, fi int, path string, meta, raw *spoolWriter) (int, error) {
	name := b.inputs[fi]
	// Unvalidated: the workers' walk parses every record strictly, so the
	// reading goroutine need not parse it first (see werrs below).
	r, err := alert.Open(path, name, alert.Options{Format: b.opts.Format, MaxRecordBytes: b.opts.MaxRecordBytes, Unvalidated: true})
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInput, err)
	}
	defer r.Close()
	good, bad := 0, 0
	// Batches go round: the consumer hands each one back when it is done
	// with it, so the arenas and lists are allocated once per run rather
	// than once per 128 records (2 GB of garbage for a million alerts).
	free := make(chan *recordBatch, 4*pipelineWorkers()+4)
	next := func() *recordBatch {
		select {
		case rb := <-free:
			return rb
		default:
			return &recordBatch{}
		}
	}
	recycle := func(rb *recordBatch) {
		if cap(rb.arena) > 16<<20 {
			return // a giant record's arena is not worth keeping
		}
		clear(rb.recs) // the records' strings and errors
		rb.recs, rb.arena, rb.fatal = rb.recs[:0], rb.arena[:0], nil
		select {
		case free <- rb:
		default:
		}
	}
	produce := func(emit func(*recordBatch) bool) error {
		rb := next()
		for {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var fe *alert.FileError
				if !errors.As(err, &fe) {
					return fmt.Errorf("read %s: %w", name, err)
				}
				rb.fatal = fe
				break
			}
			if rec.Raw != nil {
				// The loader reuses its buffer: keep a copy in the batch arena.
				start := len(rb.arena)
				rb.arena = append(rb.arena, rec.Raw...)
				rec.Raw = rb.arena[start:len(rb.arena):len(rb.arena)]
			}
			rb.recs = append(rb.recs, rec)
			if len(rb.recs) == recordsPerBatch {
				if !emit(rb) {
					return ctx.Err()
				}
				rb = next()
			}
		}
		if len(rb.recs) > 0 || rb.fatal != nil {
			emit(rb)
		}
		return nil
	}
	work := func(worker int, rb *recordBatch) {
		ex := b.extractor(worker)
		n := len(rb.recs)
		rb.ids = resize(rb.ids, n)
		rb.found = slices.Grow(rb.found[:0], n)[:n] // the lists of the last round are reused
		rb.werrs = resize(rb.werrs, n)
		rb.sums = resize(rb.sums, n)
		for i, rec := range rb.recs {
			rb.found[i] = rb.found[i][:0]
			if rec.Err != nil {
				continue
			}
			id, found, werr := ex.alert(rec)
			rb.ids[i], rb.werrs[i] = id, werr
			rb.found[i] = append(rb.found[i], found...)
			if rec.Offset >= 0 {
				rb.sums[i] = rawSum(b.sumSeed, rec.Raw)
			}
		}
	}
	var sa spooledAlert
	var fileErr error
	consume := func(rb *recordBatch) error {
		defer recycle(rb)
		for i, rec := range rb.recs {
			b.records++
			if rec.Err != nil {
				bad++
				b.addInputError(model.InputError{File: rec.Err.File, Record: rec.Err.Record, Line: rec.Err.Line, Reason: rec.Err.Reason})
				continue
			}
			if rb.werrs[i] != nil {
				// Not JSON after all: the reader left the strict parse to the
				// walk (alert.Options.Unvalidated), and says so in its words.
				bad++
				b.addInputError(model.InputError{File: rec.File, Record: rec.Index, Line: rec.Line, Reason: "invalid JSON: " + rb.werrs[i].Error()})
				continue
			}
			sa.seq = b.records
			sa.file, sa.record, sa.line = fi, rec.Index, rec.Line
			sa.id = rb.ids[i]
			if sa.id == "" {
				sa.id = b.positionID(name, rec.Index)
			}
			sa.iocs = sa.iocs[:0]
			for _, f := range rb.found[i] {
				sa.iocs = append(sa.iocs, spooledIOC{index: int(b.intern(f.ioc, f.hash)), fields: f.fields, art: f.art})
			}
			// A record that is the file's own bytes is read from the file
			// again in pass 2; only the others are spooled.
			sa.rawOff, sa.rawLen, sa.rawSum = rec.Offset, len(rec.Raw), rb.sums[i]
			meta.writeMeta(&sa, &b.fields)
			if rec.Offset < 0 {
				raw.bytes(rec.Raw)
			}
			good++
			b.alerts++
		}
		if rb.fatal != nil {
			var fe *alert.FileError
			errors.As(rb.fatal, &fe)
			if good == 0 && bad == 0 {
				fileErr = fmt.Errorf("%w: %w", ErrInput, rb.fatal)
				return nil
			}
			// What could not be read is one more record read, in the
			// input_errors and in the #N of the alerts after it.
			b.records++
			b.addInputError(model.InputError{File: name, Record: bad + good + 1, Reason: fe.Err.Error()})
		}
		return nil
	}
	if err := ordered(ctx, produce, work, consume); err != nil {
		return good, err
	}
	// The file as this pass leaves it, from the descriptor it read: pass 2
	// says so when it finds it otherwise.
	if info, err := r.Stat(); err == nil {
		b.states[fi].info = info
	}
	if fileErr != nil {
		return 0, fileErr
	}
	if good == 0 && bad > 0 {
		return 0, fmt.Errorf("%w: %s: not one record could be read (%d malformed)", ErrInput, name, bad)
	}
	return good, nil
}

// extractor is worker's extractor, for every file of the batch: its memo
// and its walker's path table warm up once, not once per file, per batch of
// records or per garbage collection, as a sync.Pool would have it.
func (b *Batch) extractor(worker int) *extractor {
	if b.exs[worker] == nil { // each worker sets only its own
		b.exs[worker] = newExtractor(b.opts.IDs)
	}
	return b.exs[worker]
}

// resize returns s with length n and every element zero, reusing its
// array when it is big enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// positionID names an alert that has no id field by its position: #N, its
// place among every record read from the inputs in order (malformed ones
// included), or with IDPerFile FILE#N, its record number in its own file,
// which does not move when other files join the batch.
func (b *Batch) positionID(file string, record int) string {
	if b.opts.IDPerFile {
		return file + "#" + strconv.Itoa(record)
	}
	return "#" + strconv.Itoa(b.records)
}

func (b *Batch) addInputError(e model.InputError) {
	b.inputErrors = append(b.inputErrors, e)
	b.log.Warn("malformed record", "file", e.File, "record", e.Record, "line", e.Line, "reason", e.Reason)
}

// intern returns the batch index of an indicator, adding it (and its skip
// reason) the first time it is seen; hash is iocHash(i).
func (b *Batch) intern(i ioc.IOC, hash uint64) int32 {
	idx, added := b.table.add(i, hash)
	if added {
		r := b.opts.Policy.Classify(i)
		if r != ioc.NotSkipped {
			b.skipped++
		}
		b.skip = append(b.skip, b.reasons.code(r))
	}
	return idx
}

// iocs is the batch's unique indicators, by batch index.
func (b *Batch) iocs() []ioc.IOC { return b.table.list }

// skipReason is the skip reason of the indicator at batch index i.
func (b *Batch) skipReason(i int) ioc.SkipReason { return b.reasons.name(b.skip[i]) }

// Alerts is the number of alerts read.
func (b *Batch) Alerts() int { return b.alerts }

// InputErrors lists the malformed records.
func (b *Batch) InputErrors() []model.InputError { return b.inputErrors }

// Inputs lists the inputs' display names.
func (b *Batch) Inputs() []string { return b.inputs }

// Lookable returns the unique, global, non-allowlisted indicators some
// provider takes: exactly what the engine will be asked about.
func (b *Batch) Lookable() []ioc.IOC {
	var out []ioc.IOC
	for i, x := range b.iocs() {
		if b.skip[i] == 0 && b.opts.Engine.Supports(x.Type) {
			out = append(out, x)
		}
	}
	return out
}

// Lookup asks the providers about every lookable indicator once. On
// cancellation the answers received so far are kept and the error returned.
func (b *Batch) Lookup(ctx context.Context) error {
	iocs := b.iocs()
	b.looked = make([]int32, len(iocs))
	n := 0
	for i, x := range iocs {
		b.looked[i] = -1
		if b.skip[i] == 0 && b.opts.Engine.Supports(x.Type) {
			b.looked[i] = int32(n)
			n++
		}
	}
	list := make([]ioc.IOC, 0, n)
	for i, x := range iocs {
		if b.looked[i] >= 0 {
			list = append(list, x)
		}
	}
	res, err := b.opts.Engine.Lookup(ctx, list)
	if res == nil {
		return err
	}
	b.results = res
	b.prof = make([]int32, len(list))
	b.contrib = make([]*score.Contribution, len(list))
	b.hasSib = make([]uint64, (len(list)+63)/64)
	for i, x := range list {
		m := res.For(i)
		b.prof[i] = b.profiles.intern(res.Names, m)
		m = b.profiles.list[b.prof[i]].enrich // the shared one, when m was a copy
		if x.Type.IsHash() {
			if sib := b.namedSiblings(x, m); len(sib) > 0 {
				if b.siblings == nil {
					b.siblings = map[int32][]int32{}
				}
				b.siblings[int32(i)] = sib
				b.hasSib[i/64] |= 1 << (i % 64)
			}
		}
		if c := b.opts.Scorer.Contribute(score.Indicator{IOC: x, Results: m}); len(c.Factors) > 0 {
			b.contrib[i] = &c
		}
	}
	return err
}

// answers is the enrichment of the looked-up indicator li, shared.
func (b *Batch) answers(li int) map[string]*model.Result {
	return b.profiles.list[b.prof[li]].enrich
}

// hasSiblings reports whether an answer about the looked-up indicator li
// named other hashes of the same file.
func (b *Batch) hasSiblings(li int) bool { return b.hasSib[li/64]&(1<<(li%64)) != 0 }

// namedSiblings returns the batch indexes of the hashes that the answers
// about hash x name as the same file's (model.Result MD5, SHA1, SHA256).
func (b *Batch) namedSiblings(x ioc.IOC, answers map[string]*model.Result) []int32 {
	var out []int32
	for _, r := range answers {
		if r == nil || r.Status != model.StatusFound {
			continue
		}
		named := [...]ioc.IOC{{Type: ioc.MD5, Value: r.MD5}, {Type: ioc.SHA1, Value: r.SHA1}, {Type: ioc.SHA256, Value: r.SHA256}}
		if slices.ContainsFunc(named[:], func(h ioc.IOC) bool { return h.Type == x.Type && h.Value != "" && !strings.EqualFold(h.Value, x.Value) }) {
			continue // the answer names another file than the one asked about: trust none of it
		}
		for _, h := range named {
			if h.Value == "" || h.Type == x.Type {
				continue
			}
			h.Value = strings.ToLower(h.Value)
			if idx := b.table.find(h); idx >= 0 && !slices.Contains(out, idx) {
				out = append(out, idx)
			}
		}
	}
	return out
}

// Summary scores every alert from the meta spool and returns the header of
// the report. It must follow Lookup. Besides the engine's notes, the summary
// says loudly when a provider failed for most of its lookups, and how many
// alerts no source could check: a run that checked nothing must not read as
// a clean one.
func (b *Batch) Summary(ctx context.Context, now time.Time, version string) (*model.Report, error) {
	if !b.scored {
		b.byVerd = model.ByVerdict{}
		err := b.eachMeta(ctx, func(a *spooledAlert) error {
			b.byVerd.Add(b.score(a).Verdict)
			return nil
		})
		if err != nil {
			return nil, err
		}
		b.scored = true
	}
	providers := map[string]model.ProviderStats{}
	var notes []string
	if b.results != nil {
		for name, s := range b.results.Stats {
			providers[name] = model.ProviderStats(s)
		}
		notes = append(notes, b.results.Notes...)
		notes = append(notes, b.failureNotes()...)
	}
	notes = append(notes, b.opts.FeedNotes...)
	if n := b.byVerd.Unchecked; n > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d alerts are UNCHECKED: no source answered for any of their indicators, so nothing is known about them (they are not CLEAN)", n, b.alerts))
	}
	b.warned = true
	return &model.Report{
		SchemaVersion: model.SchemaVersion,
		Tool:          model.Tool{Name: "verdict", Version: version},
		GeneratedAt:   now.UTC().Format(time.RFC3339),
		Inputs:        append([]string{}, b.inputs...),
		InputErrors:   append([]model.InputError{}, b.inputErrors...),
		Summary: model.Summary{
			Alerts:    b.alerts,
			ByVerdict: b.byVerd,
			IOCs:      model.IOCCounts{Unique: len(b.table.list), Skipped: b.skipped},
			Providers: providers,
			Feeds:     b.opts.Feeds,
			Notes:     notes,
		},
	}, nil
}

// failureNotes says, per provider that failed for most of the lookups it
// was asked to make, how many failed and why, and logs it as a warning the
// first time. Lookups skipped by choice (offline, no key, quota) are not
// failures: the engine's own notes cover them.
func (b *Batch) failureNotes() []string {
	var notes []string
	for _, name := range b.results.Names {
		asked, failed, why := 0, 0, ""
		for li := range b.prof {
			r := b.answers(li)[name]
			if r == nil {
				continue
			}
			switch {
			case r.Status == model.StatusFound || r.Status == model.StatusNotFound:
				asked++
			case r.Status == model.StatusError:
				asked++
				failed++
				if why == "" {
					why = r.Error
				}
			case r.Status == model.StatusSkipped && r.Reason == model.ReasonProviderUnavailable:
				asked++
				failed++
				if why == "" {
					why = model.ReasonProviderUnavailable
				}
			}
		}
		if failed == 0 || 2*failed <= asked {
			continue
		}
		why = oneline.Cut(why, 160)
		notes = append(notes, fmt.Sprintf("%s failed for %d of %d lookups (%s): its answers are missing, and alerts that depended on it may be UNCHECKED", name, failed, asked, why))
		if !b.warned {
			b.log.Warn("provider failed for most lookups", "provider", name, "failed", failed, "lookups", asked, "error", why)
		}
	}
	return notes
}

// score rates one spooled alert over its unique, non-skipped indicators,
// counting the hashes of one file once (see artifacts), and says which
// sources checked it. An alert with indicators to check that no source
// answered for is UNCHECKED with score 0; one with nothing to check is
// scored (CLEAN).
func (b *Batch) score(a *spooledAlert) model.Risk {
	var mask uint64
	toCheck, linked := false, false
	for _, si := range a.iocs {
		if b.skip[si.index] == 0 {
			toCheck = true
		}
		if si.art != 0 {
			linked = true
		}
		if li := b.lookedIndex(si.index); li >= 0 {
			mask |= b.profiles.list[b.prof[li]].answered
			linked = linked || b.hasSiblings(li)
		}
	}
	if toCheck && mask == 0 {
		return model.Risk{Verdict: model.Unchecked, Factors: []string{}, CheckedBy: []string{}}
	}
	var arts *artifacts
	if linked {
		arts = artifactPool.Get().(*artifacts)
		defer artifactPool.Put(arts)
		b.alertArtifacts(a, arts)
	}
	var buf [16]*score.Contribution
	var artBuf [16]int
	cs, ids := buf[:0], artBuf[:0]
	for j, si := range a.iocs {
		if li := b.lookedIndex(si.index); li >= 0 && b.contrib[li] != nil {
			cs = append(cs, b.contrib[li])
			id := 0
			if arts != nil {
				id = arts.id(j)
			}
			ids = append(ids, id)
		}
	}
	risk := b.opts.Scorer.Combine(cs, ids)
	risk.CheckedBy = b.checkedByNames(mask)
	return risk
}

// alertArtifacts joins the hashes of one file among the alert's indicators:
// those the alert carried side by side (recorded at extraction) and those an
// answer named as one file's.
func (b *Batch) alertArtifacts(a *spooledAlert, arts *artifacts) {
	iocs := b.iocs()
	arts.reset(len(a.iocs), func(j int) uint8 { return hashBit(iocs[a.iocs[j].index].Type) })
	for j, si := range a.iocs {
		if k := si.art - 1; k >= 0 && k < len(a.iocs) && k != j {
			arts.union(k, j)
		}
	}
	var pos map[int]int // batch index -> position in the alert, for big alerts
	if len(a.iocs) > 32 {
		pos = make(map[int]int, len(a.iocs))
		for j, si := range a.iocs {
			pos[si.index] = j
		}
	}
	for j, si := range a.iocs {
		li := b.lookedIndex(si.index)
		if li < 0 || !b.hasSiblings(li) {
			continue
		}
		for _, sib := range b.siblings[int32(li)] {
			k, ok := -1, false
			if pos != nil {
				k, ok = pos[int(sib)]
			} else {
				k = slices.IndexFunc(a.iocs, func(o spooledIOC) bool { return o.index == int(sib) })
				ok = k >= 0
			}
			if ok {
				arts.union(j, k)
			}
		}
	}
}

// checkedByNames lists the providers of an answered mask in engine order.
// The slices are shared by every alert with the same mask and must not be
// modified.
func (b *Batch) checkedByNames(mask uint64) []string {
	if v, ok := b.checkedBy.Load(mask); ok {
		return v.([]string)
	}
	names := []string{}
	if b.results != nil {
		for p, n := range b.results.Names {
			if p < 64 && mask&(1<<p) != 0 {
				names = append(names, n)
			}
		}
	}
	// Clipped, so that a consumer appending to one alert's list gets a copy
	// instead of writing into every other alert's.
	v, _ := b.checkedBy.LoadOrStore(mask, slices.Clip(names))
	return v.([]string)
}

func (b *Batch) lookedIndex(i int) int {
	if b.looked == nil || i >= len(b.looked) {
		return -1
	}
	return int(b.looked[i])
}

// eachMeta reads the meta spool in order, for scoring: without ids and
// field paths (see readMeta).
func (b *Batch) eachMeta(ctx context.Context, fn func(*spooledAlert) error) error {
	sr, err := openSpool(b.metaPath())
	if err != nil {
		return fmt.Errorf("read spool: %w", err)
	}
	defer sr.close()
	var a spooledAlert
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := sr.readMeta(&a, &b.fields, false); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read spool: %w", err)
		}
		if err := fn(&a); err != nil {
			return err
		}
	}
}

// AlertHook lets later stages (classification) add to each alert before it
// is written.
type AlertHook func(ctx context.Context, a *model.Alert) error

// alertBatch is a run of alerts on their way through pass 2's workers.
type alertBatch struct {
	metas  []spooledAlert
	raws   [][]byte
	arena  []byte
	alerts []*model.Alert
	err    error
}

// Emit is pass 2: it streams every alert, scored, into sink after
// sink.Begin(header), then calls sink.End(header). Alerts are built, hooked
// and (for sinks that are Preparers) encoded on every core, and reach the
// sink in input order.
func (b *Batch) Emit(ctx context.Context, header *model.Report, sink report.Sink, hooks ...AlertHook) error {
	if err := sink.Begin(header); err != nil {
		return err
	}
	prep, _ := sink.(report.Preparer)
	err := b.eachAlertBatch(ctx, func(ab *alertBatch) {
		for i := range ab.metas {
			a := b.buildAlert(&ab.metas[i], ab.raws[i])
			for _, h := range hooks {
				if err := h(ctx, a); err != nil {
					ab.err = err
					return
				}
			}
			if prep != nil {
				if err := prep.Prepare(a); err != nil {
					ab.err = err
					return
				}
			}
			ab.alerts = append(ab.alerts, a)
		}
	}, func(ab *alertBatch) error {
		if ab.err != nil {
			return ab.err
		}
		for _, a := range ab.alerts {
			if err := sink.Alert(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return sink.End(header)
}

// eachAlertBatch reads both spools in order and runs work on batches of
// alerts in parallel, handing them to consume in order.
func (b *Batch) eachAlertBatch(ctx context.Context, work func(*alertBatch), consume func(*alertBatch) error) error {
	workOn := func(_ int, ab *alertBatch) { work(ab) }
	mr, err := openSpool(b.metaPath())
	if err != nil {
		return fmt.Errorf("read spool: %w", err)
	}
	defer mr.close()
	rr, err := openSpool(b.rawPath())
	if err != nil {
		return fmt.Errorf("read spool: %w", err)
	}
	defer rr.close()
	in := &rereader{b: b}
	defer in.close()
	const perBatch = 128
	produce := func(emit func(*alertBatch) bool) error {
		ab := &alertBatch{}
		for {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var sa spooledAlert
			if err := mr.readMeta(&sa, &b.fields, true); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("read spool: %w", err)
			}
			var raw []byte
			if sa.rawOff < 0 {
				if raw, err = rr.bytes(); err != nil {
					return fmt.Errorf("read spool: %w", err)
				}
				raw = append([]byte(nil), raw...)
			} else if raw, err = in.read(&sa); err != nil {
				return err
			}
			ab.metas = append(ab.metas, sa)
			ab.raws = append(ab.raws, raw)
			if len(ab.metas) == perBatch {
				if !emit(ab) {
					return ctx.Err()
				}
				ab = &alertBatch{}
			}
		}
		if len(ab.metas) > 0 {
			emit(ab)
		}
		return nil
	}
	return ordered(ctx, produce, workOn, consume)
}

// EachAlert streams the alerts, scored, in input order without a sink
// (classification's pre-pass).
func (b *Batch) EachAlert(ctx context.Context, fn func(*model.Alert) error) error {
	return b.eachAlertBatch(ctx, func(ab *alertBatch) {
		for i := range ab.metas {
			ab.alerts = append(ab.alerts, b.buildAlert(&ab.metas[i], ab.raws[i]))
		}
	}, func(ab *alertBatch) error {
		for _, a := range ab.alerts {
			if err := fn(a); err != nil {
				return err
			}
		}
		return nil
	})
}

func (b *Batch) buildAlert(sa *spooledAlert, raw []byte) *model.Alert {
	a := &model.Alert{
		ID:     sa.id,
		Source: model.Source{File: b.inputs[sa.file], Record: sa.record, Line: sa.line},
		Alert:  raw,
		IOCs:   make([]model.IOC, 0, len(sa.iocs)),
		Risk:   b.score(sa),
	}
	iocs := b.iocs()
	for _, si := range sa.iocs {
		x := iocs[si.index]
		a.IOCs = append(a.IOCs, model.IOC{Type: string(x.Type), Value: x.Value, Fields: si.fields, Skipped: string(b.skipReason(si.index)), Ref: int32(si.index) + 1})
		if li := b.lookedIndex(si.index); li >= 0 {
			if m := b.answers(li); len(m) > 0 {
				if a.Enrichment == nil {
					a.Enrichment = make(map[string]map[string]*model.Result, len(sa.iocs))
				}
				a.Enrichment[x.Value] = m
			}
		}
	}
	if a.Enrichment == nil {
		a.Enrichment = map[string]map[string]*model.Result{}
	}
	if a.Risk.Factors == nil {
		a.Risk.Factors = []string{}
	}
	if a.Risk.CheckedBy == nil {
		a.Risk.CheckedBy = []string{}
	}
	a.SharedEnrichment = true // the profiles outlive every stream of this batch
	return a
}
