package feed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

// Bodies as each publisher serves them (trimmed, same structure).
var publisherBodies = map[string]string{
	"feodo": "################################################################\n" +
		"# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #\n" +
		"# Last updated: 2026-12-03 01:55:03 UTC                        #\n" +
		"################################################################\n#\n" +
		`"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\n" +
		`"2026-11-23 17:51:44","192.9.135.73","1194","online","2026-12-01","Pikabot"` + "\n" +
		`"2026-12-02 19:20:49","85.239.243.155","5000","offline","2026-12-02","QakBot"` + "\n" +
		"# END 2 entries",
	"spamhaus-drop-v4": `{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}` + "\n" +
		`{"cidr":"1.19.0.0/16","sblid":"SBL434604","rir":"apnic"}` + "\n" +
		`{"type":"metadata","timestamp":1796263200,"size":120,"records":2,"copyright":"(c) 2026 The Spamhaus Project SLU","terms":"https://www.spamhaus.org/drop/terms/"}` + "\n",
	"spamhaus-drop-v6": `{"cidr":"2a06:e480::/29","sblid":"SBL301771","rir":"ripencc"}` + "\n" +
		`{"type":"metadata","timestamp":1796263200,"size":60,"records":1,"copyright":"(c) 2026 The Spamhaus Project SLU","terms":"https://www.spamhaus.org/drop/terms/"}` + "\n",
	"tor-exits": "185.220.101.45\n171.25.193.25\n101.100.216.61\n",
	"firehol-level1": "#\n# firehol_level1\n#\n# ipv4 hash:net ipset\n#\n# Maintainer      : FireHOL\n" +
		"# This File Date  : Thu Dec  3 01:01:31 UTC 2026\n#\n1.10.16.0/20\n1.19.0.0/16\n2.56.192.0/22\n",
	"urlhaus-recent": "################################################################\n" +
		"# abuse.ch URLhaus Database Dump (CSV - recent URLs)           #\n" +
		"# Last updated: 2026-12-03 01:50:00 UTC                        #\n" +
		"################################################################\n#\n" +
		"# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n" +
		`"3312345","2026-12-03 01:40:11","http://45.9.148.3/bins/x86","online","2026-12-03 01:40:11","malware_download","elf,mirai","https://urlhaus.abuse.ch/url/3312345/","anon"` + "\r\n" +
		`"3312346","2026-12-03 01:41:11","http://45.9.148.4/i","online","2026-12-03 01:41:11","malware_download","sh","https://urlhaus.abuse.ch/url/3312346/","anon"` + "\r\n",
	"threatfox-recent": "################################################################\n" +
		"# ThreatFox IOCs: recent additions - CSV format                #\n" +
		"# Last updated: 2026-12-03 01:50:00 UTC                        #\n" +
		"################################################################\n#\n" +
		`# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type","fk_malware","malware_alias","malware_printable","last_seen_utc","confidence_level","is_compromised","reference","tags","anonymous","reporter"` + "\n" +
		`"2026-12-03 00:00:00", "1", "203.0.113.9:443", "ip:port", "botnet_cc", "win.x", "None", "X", "", "100", "False", "None", "", "0", "r"` + "\n",
}

// publisher is a fake of every feed's server: it serves the bodies above
// (or what a test scripts), with an ETag, and answers conditional GETs.
type publisher struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   map[string]string
	handlers map[string]http.HandlerFunc // per feed: replaces the normal answer
	requests map[string][]*http.Request
}

func newPublisher(t *testing.T) *publisher {
	p := &publisher{bodies: map[string]string{}, handlers: map[string]http.HandlerFunc{}, requests: map[string][]*http.Request{}}
	for k, v := range publisherBodies {
		p.bodies[k] = v
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.Trim(r.URL.Path, "/")
		p.mu.Lock()
		p.requests[name] = append(p.requests[name], r.Clone(context.Background()))
		body, h := p.bodies[name], p.handlers[name]
		p.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		etag := fmt.Sprintf(`"%x"`, len(body)*7919+len(name))
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", "Thu, 03 Dec 2026 01:55:03 GMT")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, body)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *publisher) handle(name string, h http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handlers[name] = h
}

func (p *publisher) count(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests[name])
}

func (p *publisher) last(name string) *http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := p.requests[name]
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1]
}

// sources is the catalog pointed at the fake: same files, checks and
// intervals, each URL at /<name>.
func (p *publisher) sources() []Source {
	out := Sources()
	for i := range out {
		out[i].URL = p.URL + "/" + out[i].Name
	}
	return out
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)} }

const testAuthKey = "abusech-test-auth-key-0123456789"

func runUpdate(t *testing.T, p *publisher, dir string, c *clock, mod func(*UpdateOptions)) map[string]Outcome {
	t.Helper()
	o := UpdateOptions{Dir: dir, Sources: p.sources(), AuthKey: testAuthKey, Now: c.now, Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&o)
	}
	out, err := Update(context.Background(), o)
	require.NoError(t, err)
	got := map[string]Outcome{}
	for _, oc := range out {
		got[oc.Source] = oc
	}
	return got
}

// noTemp asserts nothing but feeds and the state file is in dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".verdict-tmp-") || e.Name() == LockFile, "left behind: %s", e.Name())
	}
}

func TestUpdate_HappyPath(t *testing.T) {
	t.Parallel()
	p := newPublisher(t)
	dir := filepath.Join(t.TempDir(), "feeds") // created by Update
	c := newClock()
	got := runUpdate(t, p, dir, c, nil)
	require.Len(t, got, len(Sources()))
	for _, src := range Sources() {
		oc := got[src.Name]
		assert.Equal(t, Updated, oc.Result, "%s: %s", src.Name, oc.Note)
		assert.Positive(t, oc.Entries, src.Name)
		b, err := os.ReadFile(filepath.Join(dir, src.File))
		require.NoError(t, err)
		assert.Equal(t, publisherBodies[src.Name], string(b), "byte for byte")
		// The key goes to abuse.ch only.
		sent := p.last(src.Name).Header.Get(AuthHeader)
		if src.Key == KeyNone {
			assert.Empty(t, sent, src.Name)
		} else {
			assert.Equal(t, testAuthKey, sent, src.Name)
		}
		assert.Contains(t, p.last(src.Name).Header.Get("User-Agent"), "verdict/")
	}
	noTemp(t, dir)

	// Load recognises every file as its feed, and dates it from the record.
	s, err := Load([]string{dir}, quiet())
	require.NoError(t, err)
	cats := map[string]string{}
	for _, f := range s.Feeds() {
		cats[f.Name] = f.Category
		assert.Equal(t, model.FeedUpdatedFromFetch, f.UpdatedFrom, f.Name)
		assert.True(t, c.now().Equal(f.Updated), f.Name)
		require.NotNil(t, f.Fetch)
		assert.NotContains(t, f.Fetch.URL, testAuthKey)
	}
	assert.Equal(t, map[string]string{
		"abusech-feodo-ipblocklist.csv": "c2", "spamhaus-drop_v4.json": "drop", "spamhaus-drop_v6.json": "drop",
		"tor-bulk-exit-list.txt": "anonymizer", "firehol_level1.netset": "drop",
		"abusech-urlhaus-recent.csv": "malware", "abusech-threatfox-recent.csv": "malware",
	}, cats)

	state, err := os.ReadFile(filepath.Join(dir, StateFile))
	require.NoError(t, err)
	assert.NotContains(t, string(state), testAuthKey, "the key is never recorded")
}

func TestUpdate_NotModifiedWritesNothing(t *testing.T) {
	t.Parallel()
	p := newPublisher(t)
	dir := t.TempDir()
	c := newClock()
	runUpdate(t, p, dir, c, nil)
	before := map[string]os.FileInfo{}
	for _, src := range Sources() {
		fi, err := os.Stat(filepath.Join(dir, src.File))
		require.NoError(t, err)
		before[src.Name] = fi
	}
	c.add(13 * time.Hour) // past every interval
	got := runUpdate(t, p, dir, c, nil)
	for _, src := range Sources() {
		oc := got[src.Name]
		assert.Equal(t, NotModified, oc.Result, "%s: %s", src.Name, oc.Note)
		req := p.last(src.Name)
		assert.NotEmpty(t, req.Header.Get("If-None-Match"), "conditional GET")
		assert.Equal(t, "Thu, 03 Dec 2026 01:55:03 GMT", req.Header.Get("If-Modified-Since"))
		fi, err := os.Stat(filepath.Join(dir, src.File))
		require.NoError(t, err)
		assert.Equal(t, before[src.Name].ModTime(), fi.ModTime(), "%s: the file was not rewritten", src.Name)
		assert.Equal(t, before[src.Name].Size(), fi.Size())
	}
	noTemp(t, dir)
	// The publisher confirmed the files current: their age restarts.
	s, err := Load([]string{dir}, quiet())
	require.NoError(t, err)
	for _, f := range s.Feeds() {
		assert.True(t, c.now().Equal(f.Updated), "%s updated %v", f.Name, f.Updated)
	}

	// A file replaced by hand is another file: its next GET is unconditional.
	path := filepath.Join(dir, "tor-bulk-exit-list.txt")
	require.NoError(t, os.WriteFile(path, []byte("1.2.3.4\n"), 0o644))
	c.add(2 * time.Hour)
	got = runUpdate(t, p, dir, c, func(o *UpdateOptions) { o.Sources = o.Sources[3:4] })
	assert.Equal(t, Updated, got["tor-exits"].Result)
	assert.Empty(t, p.last("tor-exits").Header.Get("If-None-Match"))
}

func TestUpdate_FailedDownloadKeepsTheOldFile(t *testing.T) {
	t.Parallel()
	html := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			io.WriteString(w, "<!DOCTYPE html><html><head><title>Oops</title></head><body><h1>Something went wrong</h1><p>1.2.3.4</p></body></html>")
		}
	}
	body := func(status int, ctype, s string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ctype != "" {
				w.Header().Set("Content-Type", ctype)
			}
			w.WriteHeader(status)
			io.WriteString(w, s)
		}
	}
	cut := func(s string, n int) string { return s[:len(s)-n] }
	tests := []struct {
		name, feed string
		handler    http.HandlerFunc
		wantNote   string
	}{
		{name: "sad path: 503", feed: "feodo", handler: body(503, "text/plain", "maintenance"), wantNote: "HTTP 503: maintenance"},
		{name: "sad path: 429 with Retry-After", feed: "urlhaus-recent", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			body(429, "text/plain", "slow down")(w, r)
		}, wantNote: "HTTP 429, retry after 2m0s"},
		{name: "sad path: 404", feed: "spamhaus-drop-v4", handler: body(404, "application/json", `{"error":"gone"}`), wantNote: "HTTP 404"},
		{name: "sad path: HTML error page with 502", feed: "tor-exits", handler: html(502), wantNote: "HTTP 502: <!DOCTYPE html>"},
		{name: "sad path: HTML page with 200", feed: "tor-exits", handler: html(200), wantNote: "an HTML page"},
		{name: "sad path: garbage with 200", feed: "firehol-level1", handler: body(200, "text/plain", "\x00\x01\x02 garbage \xff\xfe"), wantNote: "not a valid feed"},
		{name: "sad path: another feed's content", feed: "feodo", handler: body(200, "text/csv", publisherBodies["urlhaus-recent"]), wantNote: "not recognised as abuse.ch Feodo Tracker"},
		{name: "sad path: truncated body (Content-Length says more)", feed: "spamhaus-drop-v6", handler: func(w http.ResponseWriter, r *http.Request) {
			b := publisherBodies["spamhaus-drop-v6"]
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			io.WriteString(w, b[:len(b)/2])
		}, wantNote: "unexpected EOF"},
		{name: "sad path: Feodo cut at a line boundary (no END trailer)", feed: "feodo",
			handler: body(200, "text/csv", cut(publisherBodies["feodo"], len("# END 2 entries"))), wantNote: "no \"# END n entries\" trailer"},
		{name: "sad path: Feodo rows missing before the trailer", feed: "feodo",
			handler:  body(200, "text/csv", strings.Replace(publisherBodies["feodo"], "# END 2 entries", "# END 3 entries", 1)),
			wantNote: "the trailer says 3 entries, the file has 2"},
		{name: "sad path: Spamhaus without its metadata line", feed: "spamhaus-drop-v4",
			handler: body(200, "application/json", strings.SplitAfterN(publisherBodies["spamhaus-drop-v4"], "\n", 3)[0]+strings.SplitAfterN(publisherBodies["spamhaus-drop-v4"], "\n", 3)[1]), wantNote: "no metadata trailer"},
		{name: "sad path: URLhaus last row cut in half", feed: "urlhaus-recent",
			handler: body(200, "text/csv", cut(publisherBodies["urlhaus-recent"], 40)), wantNote: "the last row is cut short"},
		{name: "sad path: redirect to another host", feed: "firehol-level1", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://evil.invalid/firehol_level1.netset", http.StatusFound)
		}, wantNote: "refused redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPublisher(t)
			dir := t.TempDir()
			c := newClock()
			runUpdate(t, p, dir, c, nil)
			src, ok := LookupSource(tt.feed)
			require.True(t, ok)
			path := filepath.Join(dir, src.File)
			old, err := os.ReadFile(path)
			require.NoError(t, err)
			oldFi, err := os.Stat(path)
			require.NoError(t, err)

			p.handle(tt.feed, tt.handler)
			c.add(13 * time.Hour)
			got := runUpdate(t, p, dir, c, nil)
			oc := got[tt.feed]
			assert.Equal(t, Failed, oc.Result)
			assert.Contains(t, oc.Note, tt.wantNote)
			assert.NotContains(t, oc.Note, testAuthKey)
			now, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(old), string(now), "the old file is kept")
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, oldFi.ModTime(), fi.ModTime())
			noTemp(t, dir)

			st, err := ReadState(dir)
			require.NoError(t, err)
			rec := st.Feeds[src.File]
			assert.Equal(t, oc.Note, rec.LastError)
			assert.True(t, c.now().Equal(rec.AttemptedAt), "the attempt counts for the interval")
			assert.False(t, c.now().Equal(rec.CheckedAt), "a failure confirms nothing")
			// The old file keeps its age: the record still describes it.
			s, err := Load([]string{path}, quiet())
			require.NoError(t, err)
			assert.Equal(t, model.FeedUpdatedFromFetch, s.Feeds()[0].UpdatedFrom)
			assert.Equal(t, 13*time.Hour, s.Feeds()[0].Age(c.now()))
		})
	}
}

func TestUpdate_IntervalsRespected(t *testing.T) {
	t.Parallel()
	p := newPublisher(t)
	dir := t.TempDir()
	c := newClock()
	runUpdate(t, p, dir, c, nil)
	requests := func() map[string]int {
		out := map[string]int{}
		for _, s := range Sources() {
			out[s.Name] = p.count(s.Name)
		}
		return out
	}
	first := requests()
	for name, n := range first {
		assert.Equal(t, 1, n, name)
	}

	// Ten minutes later: everything was asked too recently.
	c.add(10 * time.Minute)
	got := runUpdate(t, p, dir, c, nil)
	for _, s := range Sources() {
		assert.Equal(t, Skipped, got[s.Name].Result, s.Name)
		assert.Contains(t, got[s.Name].Note, "asked 10m ago; verdict waits ")
		assert.Contains(t, got[s.Name].Note, "--force")
	}
	assert.Equal(t, first, requests(), "no request sent")

	// 31 minutes after the first run abuse.ch may be asked again; Spamhaus
	// (12 h), Tor and FireHOL (1 h) may not.
	c.add(21 * time.Minute)
	got = runUpdate(t, p, dir, c, nil)
	for _, s := range Sources() {
		want := Skipped
		if strings.Contains(s.URL, "abuse.ch") {
			want = NotModified
		}
		assert.Equal(t, want, got[s.Name].Result, s.Name)
	}
	assert.Equal(t, 2, p.count("feodo"))
	assert.Equal(t, 1, p.count("spamhaus-drop-v4"))

	// --force asks anyway.
	got = runUpdate(t, p, dir, c, func(o *UpdateOptions) { o.Force = true })
	for _, s := range Sources() {
		assert.Equal(t, NotModified, got[s.Name].Result, s.Name)
	}
}

func TestUpdate_KeyRequired(t *testing.T) {
	t.Parallel()
	p := newPublisher(t)
	dir := t.TempDir()
	got := runUpdate(t, p, dir, newClock(), func(o *UpdateOptions) { o.AuthKey = "" })
	assert.Equal(t, Skipped, got["threatfox-recent"].Result)
	assert.Contains(t, got["threatfox-recent"].Note, "needs an abuse.ch Auth-Key")
	assert.Zero(t, p.count("threatfox-recent"), "nothing sent without a key")
	assert.Equal(t, Updated, got["feodo"].Result, "the key is optional for Feodo Tracker")
	assert.Empty(t, p.last("feodo").Header.Get(AuthHeader))
}

func TestUpdate_Lock(t *testing.T) {
	t.Parallel()
	p := newPublisher(t)
	dir := t.TempDir()
	c := newClock()
	lock := filepath.Join(dir, LockFile)
	require.NoError(t, os.WriteFile(lock, []byte("pid 1\n"), 0o644))
	require.NoError(t, os.Chtimes(lock, c.now().Add(-time.Minute), c.now().Add(-time.Minute)))
	_, err := Update(context.Background(), UpdateOptions{Dir: dir, Sources: p.sources(), Now: c.now, Logger: slog.New(slog.DiscardHandler)})
	require.ErrorIs(t, err, ErrLocked)
	assert.Zero(t, p.count("feodo"))

	// A lock left by a run that died an hour ago is taken over.
	require.NoError(t, os.Chtimes(lock, c.now().Add(-2*time.Hour), c.now().Add(-2*time.Hour)))
	got := runUpdate(t, p, dir, c, nil)
	assert.Equal(t, Updated, got["feodo"].Result)
	noTemp(t, dir)
}

func TestSource_AllowRedirect(t *testing.T) {
	t.Parallel()
	src, ok := LookupSource("firehol-level1")
	require.True(t, ok)
	for raw, want := range map[string]bool{
		"https://raw.githubusercontent.com/firehol/x":      true,
		"https://iplists.firehol.org/files/x":              true,
		"https://RAW.githubusercontent.com./x":             true,
		"http://raw.githubusercontent.com/x":               false, // never to plain http
		"https://evil.example/x":                           false,
		"https://raw.githubusercontent.com.evil.example/x": false,
	} {
		u, err := neturl.Parse(raw)
		require.NoError(t, err)
		assert.Equal(t, want, src.allowRedirect(nil, u), raw)
	}
	feodoSrc, _ := LookupSource("feodo")
	u, _ := neturl.Parse("https://feodotracker.abuse.ch/other")
	assert.False(t, feodoSrc.allowRedirect(nil, u), "no redirect list: same-host redirects only (safehttp)")
}

// The catalog is data: every entry complete, and named so Load recognises
// its file as that feed.
func TestSources_Table(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range Sources() {
		t.Run(s.Name, func(t *testing.T) {
			assert.False(t, seen[s.Name] || seen[s.File], "duplicate")
			seen[s.Name], seen[s.File] = true, true
			u, err := neturl.Parse(s.URL)
			require.NoError(t, err)
			assert.Equal(t, "https", u.Scheme)
			assert.NotEmpty(t, s.Title)
			assert.NotEmpty(t, s.Terms)
			assert.NotEmpty(t, s.Asks)
			assert.GreaterOrEqual(t, s.MinInterval, 5*time.Minute, "never shorter than abuse.ch's 5 minutes")
			assert.Positive(t, s.MaxBytes)
			k, ok := knownByName(s.File)
			require.True(t, ok, "Load recognises %s by its name", s.File)
			assert.Equal(t, s.known, k)
			assert.Equal(t, s.File, filepath.Base(s.File))
		})
	}
	// Spamhaus asks for an hour between downloads at least.
	sp, _ := LookupSource("spamhaus-drop-v4")
	assert.GreaterOrEqual(t, sp.MinInterval, time.Hour)
	assert.Equal(t, SourceNames()[0], "feodo")
	_, ok := LookupSource("nope")
	assert.False(t, ok)
}
