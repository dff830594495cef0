package feed

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

func TestParseHeaderDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     string // RFC 3339, "" for no date
	}{
		{name: "abuse.ch", in: " 2024-04-04 07:03:03 UTC   ", want: "2024-04-04T07:03:03Z"},
		{name: "Spamhaus text (RFC 1123)", in: "Wed, 01 Jan 2025 00:00:00 GMT", want: "2025-01-01T00:00:00Z"},
		{name: "RFC 1123 with offset", in: "Wed, 01 Jan 2025 02:00:00 +0200", want: "2025-01-01T00:00:00Z"},
		{name: "FireHOL (Unix date)", in: "Wed Aug 27 22:01:31 UTC 2025", want: "2025-08-27T22:01:31Z"},
		{name: "Unix date with a padded day", in: "Wed Aug  6 22:01:31 UTC 2025", want: "2025-08-06T22:01:31Z"},
		{name: "RFC 3339 with offset", in: "2026-01-27T19:47:18+01:00", want: "2026-01-27T18:47:18Z"},
		{name: "TorDNSEL", in: "2024-03-12 08:00:00", want: "2024-03-12T08:00:00Z"},
		{name: "date only", in: "2025-06-30", want: "2025-06-30T00:00:00Z"},
		{name: "sad path: words", in: "every five minutes", want: ""},
		{name: "sad path: empty", in: "   ", want: ""},
		{name: "sad path: impossible date", in: "2025-02-30 10:00:00 UTC", want: ""},
		{name: "sad path: very long", in: string(bytes.Repeat([]byte("2025-01-01 "), 20)), want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseHeaderDate(tt.in)
			if tt.want == "" {
				assert.False(t, ok, "parsed %v", got)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, got.Format(time.RFC3339))
		})
	}
}

func TestHeaderDate_Precedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		comments []string
		want     string
	}{
		{name: "FireHOL: this file's date beats its source's",
			comments: []string{"firehol_level1", "Source File Date: Wed Aug 27 22:00:01 UTC 2025", "This File Date  : Wed Aug 27 22:01:31 UTC 2025"},
			want:     "2025-08-27T22:01:31Z"},
		{name: "abuse.ch banner with decorations",
			comments: []string{"##########", "abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #", "Last updated: 2024-04-04 07:03:03 UTC                        #"},
			want:     "2024-04-04T07:03:03Z"}, // the box's right border is not part of the date
		{name: "generated line", comments: []string{"Fraudcache Spam Feed", "Generated: 2026-01-27T19:47:18+01:00"}, want: "2026-01-27T18:47:18Z"},
		{name: "a key that is not a date key", comments: []string{"Terms Of Use: https://feodotracker.abuse.ch/blocklist/"}, want: ""},
		{name: "unparsable best key falls back to the next", comments: []string{"Last updated: soon", "Date: 2025-05-05"}, want: "2025-05-05T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := headerDate(tt.comments)
			if tt.want == "" {
				assert.False(t, ok, "got %v", got)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, got.Format(time.RFC3339))
		})
	}
}

// The real abuse.ch banner is a box of '#'; leadingComments strips the left
// border, headerDate the right one.
func TestHeaderDate_AbuseCHBox(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "feeds", "abusech-feodo-ipblocklist.csv"))
	require.NoError(t, err)
	got, ok := headerDate(leadingComments(b))
	require.True(t, ok)
	assert.Equal(t, "2024-04-04T07:03:03Z", got.Format(time.RFC3339))
}

func TestLoad_AgeFromHeaders(t *testing.T) {
	t.Parallel()
	s := loadTestdata(t)
	byName := map[string]Info{}
	for _, f := range s.Feeds() {
		byName[f.Name] = f
	}
	tests := []struct {
		file, want, from string // want "" means the file's modification time
	}{
		{file: "abusech-feodo-ipblocklist.csv", want: "2024-04-04T07:03:03Z", from: model.FeedUpdatedFromHeader},
		{file: "abusech-malwarebazaar-recent.head.csv", want: "2026-07-22T22:38:50Z", from: model.FeedUpdatedFromHeader},
		{file: "spamhaus-drop_v4.head.json", want: "2025-04-15T02:07:54Z", from: model.FeedUpdatedFromHeader},
		{file: "spamhaus-drop.txt", want: "2025-01-01T00:00:00Z", from: model.FeedUpdatedFromHeader},
		{file: "firehol_level1.2025-08-27.head.netset", want: "2025-08-27T22:01:31Z", from: model.FeedUpdatedFromHeader},
		{file: "tor-exit-addresses.head.txt", from: model.FeedUpdatedFromHeader},
		{file: "et-compromised-ips.txt", from: model.FeedUpdatedFromFile},
		{file: "tor-bulk-exit-list.head.txt", from: model.FeedUpdatedFromFile},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, ok := byName[tt.file]
			require.True(t, ok)
			assert.Equal(t, tt.from, f.UpdatedFrom)
			assert.Nil(t, f.Fetch)
			switch {
			case tt.want != "":
				assert.Equal(t, tt.want, f.Updated.Format(time.RFC3339))
			case tt.from == model.FeedUpdatedFromFile:
				assert.True(t, f.Updated.Equal(f.ModTime), "updated %v, mtime %v", f.Updated, f.ModTime)
			default:
				assert.False(t, f.Updated.IsZero())
			}
		})
	}
	// The Tor head has no Downloaded line: its newest LastStatus dates it.
	assert.Equal(t, "2024-03-12T14:00:00Z", byName["tor-exit-addresses.head.txt"].Updated.Format(time.RFC3339))
}

const feodoHead = "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)\n# Last updated: 2024-04-04 07:03:03 UTC\n#\n" +
	`"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\n" +
	`"2023-05-23 17:51:44","192.9.135.73","1194","online","2024-04-01","Pikabot"` + "\n# END 1 entries\n"

func TestLoad_AgePrecedence(t *testing.T) {
	t.Parallel()
	fetched := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	checked := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		content  string
		mtime    time.Time
		state    func(fi os.FileInfo) string // StateFile content; "" for none
		wantFrom string
		want     time.Time
		wantWarn bool
	}{
		{
			name: "happy path: the feeds update record wins over the header", content: feodoHead, mtime: fetched,
			state: func(fi os.FileInfo) string {
				return recordJSON(fi, fetched, checked)
			},
			wantFrom: model.FeedUpdatedFromFetch, want: checked,
		},
		{
			name: "a record of another version of the file is ignored", content: feodoHead, mtime: fetched,
			state: func(fi os.FileInfo) string {
				return `{"version":1,"feeds":{"feodo.csv":{"source":"feodo","checked_at":"2026-12-03T02:00:00Z","size":1,"mtime":"2026-12-02T02:00:00Z"}}}`
			},
			wantFrom: model.FeedUpdatedFromHeader, want: time.Date(2024, 4, 4, 7, 3, 3, 0, time.UTC),
		},
		{
			name: "a header date after the file was written is not believed", mtime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			content:  "# Last updated: 2099-01-01 00:00:00 UTC\n1.2.3.4\n",
			wantFrom: model.FeedUpdatedFromFile, want: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "a header date within a day of skew is believed", mtime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			content:  "# Last updated: 2025-01-01 12:00:00 UTC\n1.2.3.4\n",
			wantFrom: model.FeedUpdatedFromHeader, want: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC),
		},
		{
			name: "a corrupt state file is ignored with a warning", content: feodoHead, mtime: fetched,
			state:    func(os.FileInfo) string { return "{not json" },
			wantFrom: model.FeedUpdatedFromHeader, want: time.Date(2024, 4, 4, 7, 3, 3, 0, time.UTC), wantWarn: true,
		},
		{
			name: "no header, no record: the file's time", content: "1.2.3.4\n", mtime: fetched,
			wantFrom: model.FeedUpdatedFromFile, want: fetched,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "feodo.csv")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			require.NoError(t, os.Chtimes(path, tt.mtime, tt.mtime))
			if tt.state != nil {
				fi, err := os.Stat(path)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), []byte(tt.state(fi)), 0o600))
			}
			var logs bytes.Buffer
			s, err := Load([]string{dir}, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
			require.NoError(t, err)
			require.Len(t, s.Feeds(), 1, "the state file is not a feed")
			f := s.Feeds()[0]
			assert.Equal(t, tt.wantFrom, f.UpdatedFrom)
			assert.True(t, tt.want.Equal(f.Updated), "updated %v, want %v", f.Updated, tt.want)
			assert.Equal(t, tt.wantFrom == model.FeedUpdatedFromFetch, f.Fetch != nil)
			assert.Equal(t, tt.wantWarn, bytes.Contains(logs.Bytes(), []byte("feeds state file ignored")), logs.String())
		})
	}
}

func recordJSON(fi os.FileInfo, fetched, checked time.Time) string {
	st := &State{Feeds: map[string]*Record{fi.Name(): {
		Source: "feodo", URL: "https://feodotracker.abuse.ch/downloads/ipblocklist.csv",
		FetchedAt: fetched, CheckedAt: checked, AttemptedAt: checked,
		Size: fi.Size(), ModTime: fi.ModTime(), Entries: 1,
	}}}
	dir, err := os.MkdirTemp("", "state")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := st.Write(dir); err != nil {
		panic(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestState_RoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := ReadState(dir)
	require.NoError(t, err, "no state file is an empty state")
	assert.Empty(t, st.Feeds)
	now := time.Date(2026, 12, 3, 2, 0, 0, 123, time.UTC)
	st.Feeds["a.csv"] = &Record{Source: "feodo", CheckedAt: now, ETag: `"abc"`, LastError: "HTTP 503"}
	require.NoError(t, st.Write(dir))
	got, err := ReadState(dir)
	require.NoError(t, err)
	assert.Equal(t, st.Feeds, got.Feeds)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")

	for name, content := range map[string]string{
		"wrong version": `{"version":9,"feeds":{}}`,
		"not JSON":      `<html>`,
		"too large":     string(bytes.Repeat([]byte(" "), maxStateBytes+1)),
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), []byte(content), 0o600))
			_, err := ReadState(dir)
			assert.ErrorIs(t, err, ErrState)
		})
	}
	t.Run("names that are paths are dropped", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile),
			[]byte(`{"version":1,"feeds":{"../x.csv":{"source":"a"},"ok.csv":{"source":"b"}}}`), 0o600))
		got, err := ReadState(dir)
		require.NoError(t, err)
		assert.Equal(t, []string{"ok.csv"}, keys(got.Feeds))
	})
}

func keys(m map[string]*Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSummarise(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	feeds := []Info{
		{Name: "abusech-feodo-ipblocklist.csv", Category: "c2",
			Updated: time.Date(2024, 4, 4, 7, 3, 3, 0, time.UTC), UpdatedFrom: model.FeedUpdatedFromHeader},
		{Name: "tor.txt", Category: "anonymizer", CIDRs: 3, Updated: now.Add(-2 * time.Hour), UpdatedFrom: model.FeedUpdatedFromFetch},
	}
	got, notes := Summarise(feeds, now, 7*24*time.Hour)
	require.Len(t, got, 2)
	assert.Equal(t, model.FeedStatus{Name: "abusech-feodo-ipblocklist.csv", Category: "c2", Updated: "2024-04-04T07:03:03Z",
		UpdatedFrom: model.FeedUpdatedFromHeader, AgeSeconds: int64(now.Sub(feeds[0].Updated) / time.Second), Stale: true}, got[0])
	assert.Equal(t, model.FeedStatus{Name: "tor.txt", Category: "anonymizer", Entries: 3, Updated: "2026-12-03T00:00:00Z",
		UpdatedFrom: model.FeedUpdatedFromFetch, AgeSeconds: 7200}, got[1])
	require.Len(t, notes, 1)
	assert.Equal(t, "1 feed is older than feeds.max_age (7d), so its listings may be out of date: abusech-feodo-ipblocklist.csv (2y 242d); refresh it with `verdict feeds update`", notes[0])

	// A file newer than the report's clock (SOURCE_DATE_EPOCH) is dated
	// at the report's time, so reproducible output stays reproducible.
	future := []Info{{Name: "f.txt", Updated: now.Add(48 * time.Hour), UpdatedFrom: model.FeedUpdatedFromFile}}
	got, _ = Summarise(future, now, 7*24*time.Hour)
	assert.Equal(t, "2026-12-03T02:00:00Z", got[0].Updated)
	assert.Zero(t, got[0].AgeSeconds)

	_, notes = Summarise(feeds[1:], now, 7*24*time.Hour)
	assert.Empty(t, notes, "nothing stale, no note")
	_, notes = Summarise(feeds, now, 0)
	assert.Empty(t, notes, "no max age, nothing is stale")
}

func TestFormatAge(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	for d, want := range map[time.Duration]string{
		0: "0s", 59 * time.Second: "59s", 45 * time.Minute: "45m", 5 * time.Hour: "5h", 47 * time.Hour: "47h",
		2 * day: "2d", 364 * day: "364d", 365 * day: "1y", 973 * day: "2y 243d",
	} {
		assert.Equal(t, want, FormatAge(d), "%v", d)
	}
}
