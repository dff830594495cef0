package feed

import (
	"context"
	cryptosha256 "crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
	"github.com/verdict-dev/verdict/pkg/internal/oneline"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

// UpdateOptions configures Update.
type UpdateOptions struct {
	// Dir is the feeds directory; it is created if missing.
	Dir string
	// Sources are the feeds to fetch; nil means every one of Sources().
	Sources []Source
	// Force fetches feeds even when they were fetched more recently than
	// their MinInterval.
	Force bool
	// AuthKey is the abuse.ch Auth-Key: sent to the abuse.ch feeds, needed
	// by ThreatFox. Empty skips the feeds that need one.
	AuthKey string
	// Timeout bounds one download (default 2 minutes).
	Timeout time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Result is what became of one feed.
type Result string

// The results of Update.
const (
	Updated     Result = "updated"      // downloaded, validated and in place
	NotModified Result = "not_modified" // the publisher answered 304: the file is current
	Skipped     Result = "skipped"      // fetched too recently, or no key
	Failed      Result = "failed"       // the old file (if any) is kept
)

// Outcome is one feed's result.
type Outcome struct {
	Source  string `json:"source"`
	File    string `json:"file"`
	Result  Result `json:"result"`
	Entries int    `json:"entries,omitempty"`
	Bytes   int64  `json:"bytes,omitempty"`
	// Note says why a feed was skipped or failed, or what it holds.
	Note string `json:"note,omitempty"`
	// Err is the failure, for errors.Is; Note says it for people.
	Err error `json:"-"`
}

// LockFile keeps two `verdict feeds update` runs (cron and a person) out
// of one directory at once.
const LockFile = ".verdict-feeds.lock"

// staleLock is the age past which a lock is taken to be left by a run that
// died: longer than any run takes with every feed at its timeout.
const staleLock = time.Hour

// ErrLocked is returned while another update holds the directory.
var ErrLocked = errors.New("another verdict feeds update is running in this directory")

// Update fetches each source into o.Dir: skipped when fetched within its
// MinInterval (unless Force) or when it needs a key that is not set;
// otherwise one GET, conditional on the ETag and Last-Modified of the file
// on disk. A 304 leaves the file alone. A 200's body is written to a
// hidden temporary file, loaded and checked as that feed's format, and
// only then renamed over the old file, so a failed download (an error
// status, an HTML page, garbage, a body cut short) never replaces a good
// file. When each feed was fetched goes into the directory's StateFile,
// which Load reads to date the feeds.
//
// Per-feed failures are Outcomes; the error is for the directory itself
// (cannot be created or locked, the state cannot be written).
func Update(ctx context.Context, o UpdateOptions) ([]Outcome, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Sources == nil {
		o.Sources = Sources()
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create feeds directory: %w", err)
	}
	unlock, err := lockDir(o.Dir, o.Now())
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := ReadState(o.Dir)
	if err != nil {
		// A damaged record costs conditional GETs and intervals once; it
		// is rewritten below.
		o.Logger.Warn("feeds state file unreadable: starting a new one", "provider", Name, "error", err.Error())
	}
	out := make([]Outcome, 0, len(o.Sources))
	for _, src := range o.Sources {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		rec := st.Feeds[src.File]
		if rec == nil {
			rec = &Record{}
		}
		oc := update(ctx, o, src, rec)
		rec.Source, rec.URL = src.Name, redactURL(src.URL)
		st.Feeds[src.File] = rec
		switch oc.Result {
		case Failed:
			rec.LastError, rec.LastErrorAt = oc.Note, o.Now().UTC()
			o.Logger.Warn("feed update failed; the old file is kept", "provider", Name, "feed", src.Name, "error", oc.Note)
		case Updated, NotModified:
			rec.LastError, rec.LastErrorAt = "", time.Time{}
			o.Logger.Info("feed "+strings.ReplaceAll(string(oc.Result), "_", " "), "provider", Name, "feed", src.Name, "entries", oc.Entries)
		}
		out = append(out, oc)
		if err := st.Write(o.Dir); err != nil {
			return out, fmt.Errorf("record feed updates: %w", err)
		}
	}
	return out, nil
}

// update fetches one source; rec is its record, updated in place.
func update(ctx context.Context, o UpdateOptions, src Source, rec *Record) Outcome {
	final := filepath.Join(o.Dir, src.File)
	oc := Outcome{Source: src.Name, File: final}
	now := o.Now().UTC()
	if src.Key == KeyRequired && o.AuthKey == "" {
		oc.Result, oc.Note = Skipped, "needs an abuse.ch Auth-Key (free at https://auth.abuse.ch/)"
		return oc
	}
	if last := rec.AttemptedAt; !o.Force && !last.IsZero() && now.Sub(last) < src.MinInterval && !now.Before(last) {
		oc.Result = Skipped
		oc.Note = fmt.Sprintf("asked %s ago; verdict waits %s between requests (%s); --force fetches it anyway",
			FormatAge(now.Sub(last)), FormatAge(src.MinInterval), src.Asks)
		return oc
	}
	fi, _ := os.Stat(final)
	conditional := rec.Describes(fi) && (rec.ETag != "" || rec.LastModified != "")

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return failed(oc, fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("User-Agent", httpapi.UserAgent())
	if conditional {
		if rec.ETag != "" {
			req.Header.Set("If-None-Match", rec.ETag)
		}
		if rec.LastModified != "" {
			req.Header.Set("If-Modified-Since", rec.LastModified)
		}
	}
	var secrets []string
	if src.Key != KeyNone && o.AuthKey != "" {
		req.Header.Set(AuthHeader, o.AuthKey)
		secrets = append(secrets, o.AuthKey)
	}
	hc := safehttp.New(safehttp.Options{Timeout: o.Timeout, MaxBody: src.MaxBytes, Secrets: secrets, AllowRedirect: src.allowRedirect})
	rec.AttemptedAt = now
	resp, err := hc.Do(req)
	if err != nil {
		return failed(oc, fmt.Errorf("download %s: %w", src.Name, scrubURL(err, src.URL)))
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && conditional:
		rec.CheckedAt = now
		oc.Result, oc.Entries = NotModified, rec.Entries
		oc.Note = "unchanged since " + rec.FetchedAt.UTC().Format(time.RFC3339)
		return oc
	case err != nil:
		return failed(oc, fmt.Errorf("download %s: %w", src.Name, err))
	case resp.StatusCode != http.StatusOK:
		return failed(oc, statusError(resp, body, now))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" {
		return failed(oc, fmt.Errorf("%w: the server sent an HTML page, not the feed", ErrInvalidFeed))
	}
	info, err := install(o.Dir, src, body)
	if err != nil {
		return failed(oc, err)
	}
	fi, err = os.Stat(final)
	if err != nil {
		return failed(oc, err)
	}
	sum := cryptosha256.Sum256(body)
	*rec = Record{
		FetchedAt: now, CheckedAt: now, AttemptedAt: now,
		ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"),
		Size: fi.Size(), ModTime: fi.ModTime(), SHA256: hex.EncodeToString(sum[:]), Entries: info.Total(),
	}
	oc.Result, oc.Entries, oc.Bytes = Updated, info.Total(), int64(len(body))
	return oc
}

// ErrInvalidFeed is wrapped when a download is not the feed it should be.
var ErrInvalidFeed = errors.New("not a valid feed")

// install writes body next to the feed's file under a hidden name, checks
// it is that feed, and renames it into place. On any failure the old file
// is untouched and nothing is left behind.
func install(dir string, src Source, body []byte) (Info, error) {
	tmp, err := os.CreateTemp(dir, ".verdict-tmp-*-"+src.File)
	if err != nil {
		return Info{}, fmt.Errorf("write %s: %w", src.File, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(body); err != nil {
		return Info{}, fmt.Errorf("write %s: %w", src.File, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return Info{}, fmt.Errorf("write %s: %w", src.File, err)
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, fmt.Errorf("write %s: %w", src.File, err)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("write %s: %w", src.File, err)
	}
	info, err := src.Validate(tmp.Name(), body)
	if err != nil {
		return Info{}, err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, src.File)); err != nil {
		return Info{}, fmt.Errorf("replace %s: %w", src.File, err)
	}
	done = true
	return info, nil
}

// Validate loads a downloaded copy of the feed (at path, with content
// body) and checks it is what the source publishes: recognised as that
// feed, in its format, with entries and no more junk lines than entries,
// and complete (the format's trailer or last row, where it has one).
func (s Source) Validate(path string, body []byte) (Info, error) {
	set, err := Load([]string{path}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return Info{}, fmt.Errorf("%w: %s: %w", ErrInvalidFeed, s.Name, err)
	}
	info := set.Feeds()[0]
	bad := func(format string, args ...any) (Info, error) {
		return Info{}, fmt.Errorf("%w: %s: %s", ErrInvalidFeed, s.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case info.Format != s.format:
		return bad("read as %s, want %s", info.Format, s.format)
	case info.KnownAs != s.known.Name:
		return bad("not recognised as %s", s.known.Name)
	case info.Total() == 0 && s.check == nil:
		return bad("it lists no indicators")
	case info.Skipped > info.Total():
		return bad("%d of its lines are not indicators, more than the %d that are", info.Skipped, info.Total())
	}
	if s.check != nil {
		if err := s.check(body); err != nil {
			return Info{}, fmt.Errorf("%w: %s: %w", ErrInvalidFeed, s.Name, err)
		}
	}
	return info, nil
}

// allowRedirect lets a feed's download follow a redirect to one of its
// listed hosts, over https only.
func (s Source) allowRedirect(_, to *neturl.URL) bool {
	return strings.EqualFold(to.Scheme, "https") && slices.ContainsFunc(s.Redirects, func(h string) bool {
		return strings.EqualFold(strings.TrimSuffix(to.Hostname(), "."), h)
	})
}

func failed(oc Outcome, err error) Outcome {
	oc.Result, oc.Err, oc.Note = Failed, err, oneline.Cut(err.Error(), 300)
	return oc
}

// statusError describes an answer that is neither 200 nor 304.
func statusError(resp *http.Response, body []byte, now time.Time) error {
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if ra := httpapi.RetryAfter(resp.Header, now); ra > 0 {
		msg += ", retry after " + ra.Round(time.Second).String()
	}
	if s := (&httpapi.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}).Snippet(); s != "" {
		msg += ": " + s
	}
	return errors.New(msg)
}

// redactURL drops userinfo and the query string, which may hold tokens,
// from a URL recorded in the state file.
func redactURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}

// scrubURL keeps a transport error from repeating a URL's query string or
// password (net/http quotes the whole URL).
func scrubURL(err error, raw string) error {
	if red := redactURL(raw); red != raw && red != "" && strings.Contains(err.Error(), raw) {
		return &redactedError{msg: strings.ReplaceAll(err.Error(), raw, red), err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// lockDir takes the directory's LockFile, or fails with ErrLocked while a
// live one exists. A lock older than staleLock is taken over.
func lockDir(dir string, now time.Time) (func(), error) {
	path := filepath.Join(dir, LockFile)
	for attempt := 0; attempt < 2; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			fmt.Fprintf(f, "pid %d since %s\n", os.Getpid(), now.UTC().Format(time.RFC3339))
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock feeds directory: %w", err)
		}
		fi, serr := os.Stat(path)
		if serr != nil || now.Sub(fi.ModTime()) < staleLock {
			return nil, fmt.Errorf("%w (%s); if none is, remove that file", ErrLocked, path)
		}
		os.Remove(path) // left by a run that died
	}
	return nil, fmt.Errorf("%w (%s)", ErrLocked, path)
}
