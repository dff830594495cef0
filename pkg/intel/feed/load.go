package feed

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// readBuf is the read buffer size; it is also the longest line a line-based
// feed may have and how much of a file format detection looks at.
const readBuf = 64 << 10

// maxLogged is how many skipped entries per file are logged at debug.
const maxLogged = 5

// Load reads every feed under paths. Each path is a directory, walked
// recursively (hidden files and directories, README*, LICENSE* and *.md are
// skipped), or a single file. Each file's format is detected from its content,
// with its extension as a hint; gzip files (.gz, recognised by their magic
// bytes) are decompressed. A path that does not exist or cannot be read is an
// error; a file in no known format, or with no indicators, is logged as a
// warning and loaded empty. Lines and values that do not normalise are
// counted in Info.Skipped, and the first few per file logged at debug.
func Load(paths []string, opts ...Option) (*Set, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	log := o.logger
	if log == nil {
		log = slog.Default()
	}
	cats, err := compileCategories(o.categories)
	if err != nil {
		return nil, fmt.Errorf("load feeds: %w", err)
	}
	files, err := collect(paths)
	if err != nil {
		return nil, err
	}
	if len(files) > maxFeeds {
		return nil, fmt.Errorf("load feeds: %d files, at most %d supported", len(files), maxFeeds)
	}
	assignNames(files)
	b := newBuilder(log)
	b.categories = cats
	b.states = &states{log: log, dirs: map[string]*State{}}
	for i := range files {
		if err := b.loadFile(&files[i], uint16(len(b.set.feeds))); err != nil {
			return nil, err
		}
	}
	s := b.finish()
	total := 0
	for _, f := range s.feeds {
		total += f.info.Total()
	}
	log.Info("loaded feeds", "provider", Name, "files", len(s.feeds), "entries", total)
	return s, nil
}

// source is one feed file to load.
type source struct {
	path string // as found: the given path, or joined under the given directory
	root string // the path given to Load
	rel  string // path relative to root; "" when a file was given directly
	name string
}

// collect expands paths into a sorted list of files, each loaded once.
func collect(paths []string) ([]source, error) {
	var out []source
	seen := map[string]bool{}
	add := func(s source) {
		key, err := filepath.Abs(s.path)
		if err != nil {
			key = filepath.Clean(s.path)
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, s)
		}
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("load feeds %q: %w", root, err)
		}
		if !st.IsDir() {
			add(source{path: root, root: root})
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == root {
				return nil
			}
			name := d.Name()
			if strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || skipName(name) {
				return nil
			}
			if !d.Type().IsRegular() {
				// Follow symlinks to files; skip symlinked directories (WalkDir
				// does not descend into them), devices and pipes.
				st, err := os.Stat(p)
				if err != nil {
					return err
				}
				if !st.Mode().IsRegular() {
					return nil
				}
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				rel = p
			}
			add(source{path: p, root: root, rel: rel})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load feeds %q: %w", root, err)
		}
	}
	return out, nil
}

// skipName reports files in a feeds directory that are documentation, not
// feeds.
func skipName(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, "readme") || strings.HasPrefix(l, "license") ||
		strings.HasPrefix(l, "licence") || strings.HasSuffix(l, ".md")
}

// assignNames names each feed by its base name, or by its path relative to
// the directory given when two files share a base name, or by its full path
// when even those collide (the same layout under two directories).
func assignNames(files []source) {
	count := map[string]int{}
	for i := range files {
		count[filepath.Base(files[i].path)]++
	}
	used := map[string]int{}
	for i := range files {
		f := &files[i]
		f.name = filepath.Base(f.path)
		if count[f.name] > 1 {
			f.name = filepath.ToSlash(f.rel)
			if f.rel == "" {
				f.name = filepath.ToSlash(f.path)
			}
		}
		used[f.name]++
	}
	for i := range files {
		if used[files[i].name] > 1 {
			files[i].name = filepath.ToSlash(files[i].path)
		}
	}
}

// builder accumulates feeds into a Set.
type builder struct {
	set        *Set
	log        *slog.Logger
	categories []categoryRule
	states     *states // the feeds update records of the directories seen
	intern     map[string]uint32
	infoCache  map[[3]string]uint32 // CSV (family, threat, status) → info
	typeCache  map[string]typeSpec  // a feed's type names as written → spec
}

func newBuilder(log *slog.Logger) *builder {
	return &builder{
		set: &Set{
			infos:    []string{""},
			ip4:      map[uint32]ref{},
			ip6:      map[[16]byte]ref{},
			domains:  map[string]ref{},
			urls:     map[string]ref{},
			noScheme: map[string]ref{},
			md5:      map[[16]byte]ref{},
			sha1:     map[[20]byte]ref{},
			sha256:   map[[32]byte]ref{},
			supports: map[ioc.Type]bool{},
		},
		log:       log,
		intern:    map[string]uint32{"": 0},
		infoCache: map[[3]string]uint32{},
		typeCache: map[string]typeSpec{},
	}
}

// internInfo returns the index of the cleaned info string s. Feeds repeat
// the same few malware names over thousands of rows, so each is stored once.
func (b *builder) internInfo(s string) uint32 {
	if id, ok := b.intern[s]; ok {
		return id
	}
	s = cleanInfo(s)
	if id, ok := b.intern[s]; ok {
		return id
	}
	id := uint32(len(b.set.infos))
	s = strings.Clone(s)
	b.set.infos = append(b.set.infos, s)
	b.intern[s] = id
	return id
}

func (b *builder) finish() *Set {
	s := b.set
	for i := range s.feeds {
		f := &s.feeds[i]
		for t, n := range f.info.Entries {
			if n > 0 {
				s.supports[t] = true
			}
		}
		if len(f.spans4) > 0 {
			s.cidr4 = append(s.cidr4, uint16(i))
			s.supports[ioc.IPv4] = true
		}
		if len(f.spans6) > 0 {
			s.cidr6 = append(s.cidr6, uint16(i))
			s.supports[ioc.IPv6] = true
		}
	}
	return s
}

// loader holds the state of loading one file.
type loader struct {
	b        *builder
	src      *source
	feed     uint16
	counts   map[ioc.Type]int
	prefixes []prefixEntry
	skipped  int
	line     int // current line, for logs; 0 when the format has no lines

	perRow bool     // each row's threat type decides its category (ThreatFox)
	cat    category // the current row's category; 0 is the feed's own

	// stated is the date the file gives itself in its body (Spamhaus'
	// metadata line, TorDNSEL's Downloaded line); zero when none.
	stated time.Time

	// The hashes the current row listed, when the format has rows that
	// describe one file (CSV rows, MISP objects); see beginRow.
	inRow     bool
	rowHashes []rowHash
}

// errReader remembers the first read error other than io.EOF, so a parser
// that stops early (a JSON syntax error, say) can tell a damaged file from a
// failing disk or a corrupt gzip stream.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

func (b *builder) loadFile(src *source, feed uint16) error {
	fh, err := os.Open(src.path)
	if err != nil {
		return fmt.Errorf("load feed %q: %w", src.path, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("load feed %q: %w", src.path, err)
	}

	raw := &errReader{r: fh}
	br := bufio.NewReaderSize(raw, readBuf)
	in := raw
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("load feed %q: %w", src.path, err)
		}
		defer zr.Close()
		in = &errReader{r: zr}
		br = bufio.NewReaderSize(in, readBuf)
	}

	readErr := func() error {
		if raw.err != nil {
			return raw.err
		}
		return in.err
	}
	peek, _ := br.Peek(readBuf)
	if err := readErr(); err != nil {
		return fmt.Errorf("load feed %q: %w", src.path, err)
	}
	sn := sniff(peek, extHint(src.path), len(peek) < readBuf)
	dec := b.decideCategory(src, peek, sn)

	l := &loader{b: b, src: src, feed: feed, counts: map[ioc.Type]int{}, perRow: dec.perRow}
	format := sn.format
	switch sn.format {
	case FormatPlain, FormatHosts:
		l.loadLines(br, sn.format == FormatHosts)
	case FormatCSV:
		err = l.loadCSV(br, sn.header, sn.headerCommented)
	case FormatSpamhausJSON:
		l.loadSpamhausJSON(br)
	case FormatTorExits:
		l.loadTorExits(br)
	case FormatZeekIntel:
		l.loadZeek(br)
	case FormatMISP:
		var ok bool
		ok, err = l.loadMISP(br)
		if !ok {
			format = FormatUnknown
		}
	}
	if err := readErr(); err != nil {
		return fmt.Errorf("load feed %q: %w", src.path, err)
	}
	if err != nil {
		b.log.Warn("feed format not understood", "provider", Name, "file", src.path, "format", sn.format, "error", err)
		format = FormatUnknown
	}

	v4, v6, cidrs := buildSpans(l.prefixes)
	info := Info{Name: src.name, Path: src.path, Format: format, Entries: map[ioc.Type]int{}, CIDRs: cidrs, Skipped: l.skipped,
		Category: dec.category, CategoryFrom: dec.from, KnownAs: dec.detail, PerRow: dec.perRow,
		Size: fi.Size(), ModTime: fi.ModTime()}
	stated := l.stated
	if t, ok := headerDate(leadingComments(peek)); ok {
		stated = t // the banner's own date beats one read from the body
	}
	dateFeed(&info, fi, stated, b.states.record(src.path))
	for t, n := range l.counts {
		if n > 0 {
			info.Entries[t] = n
		}
	}
	b.set.feeds = append(b.set.feeds, feedData{info: info, cat: categoryCode(dec.category), spans4: v4, spans6: v6})

	switch {
	case format == FormatUnknown:
		if err == nil {
			b.log.Warn("feed format not recognised", "provider", Name, "file", src.path)
		}
	case info.Total() == 0:
		b.log.Warn("feed lists no indicators", "provider", Name, "file", src.path, "format", format, "skipped", l.skipped)
	default:
		b.log.Debug("loaded feed", "provider", Name, "feed", src.name, "file", src.path,
			"format", format, "entries", info.Total(), "cidrs", cidrs, "skipped", l.skipped,
			"category", info.Category, "category_from", info.CategoryFrom, "known_as", info.KnownAs)
	}
	return nil
}

// extHint returns the lower-case extension of a file name without .gz.
func extHint(path string) string {
	base := strings.ToLower(filepath.Base(path))
	base = strings.TrimSuffix(base, ".gz")
	if base == "hosts" {
		return ".hosts"
	}
	return filepath.Ext(base)
}

// skip counts an entry that could not be used and logs the first few.
func (l *loader) skip(value, reason string) {
	l.skipped++
	if l.skipped > maxLogged {
		return
	}
	where := l.src.path
	if l.line > 0 {
		where += ":" + strconv.Itoa(l.line)
	}
	if len(value) > 80 {
		value = value[:80] + "..."
	}
	l.b.log.Debug("skip feed entry", "provider", Name, "at", where, "value", value, "reason", reason)
}
