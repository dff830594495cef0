package feeds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/intel/feed"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

func TestNewCmdUpdate(t *testing.T) {
	tests := []struct {
		name     string
		cli      string
		want     func(t *testing.T, o *Options)
		wantsErr string
	}{
		{name: "happy path: defaults", cli: "", want: func(t *testing.T, o *Options) {
			assert.Empty(t, o.Dir)
			assert.False(t, o.Force)
			assert.False(t, o.JSON)
			assert.Empty(t, o.Names)
		}},
		{name: "happy path: every flag and two feeds", cli: "--dir /srv/feeds --force --json feodo tor-exits", want: func(t *testing.T, o *Options) {
			assert.Equal(t, "/srv/feeds", o.Dir)
			assert.True(t, o.Force)
			assert.True(t, o.JSON)
			assert.Equal(t, []string{"feodo", "tor-exits"}, o.Names)
		}},
		{name: "sad path: --offline is refused", cli: "--offline", wantsErr: "never runs with --offline"},
		{name: "sad path: an unknown feed", cli: "feodo spamhaus", wantsErr: `unknown feed "spamhaus": valid feeds are feodo, spamhaus-drop-v4`},
		{name: "sad path: unknown flag", cli: "--all", wantsErr: "unknown flag: --all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdUpdate(cmdutil.NewFactory(ios), func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.cli))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			_, err := cmd.ExecuteC()
			if tt.wantsErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantsErr)
				var fe *cmdutil.FlagError
				if !strings.Contains(tt.wantsErr, "unknown flag") {
					assert.True(t, errors.As(err, &fe), "a usage error (exit 2)")
				}
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got)
			tt.want(t, got)
		})
	}
}

const feodoBody = "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)\n# Last updated: 2026-12-03 01:55:03 UTC\n#\n" +
	`"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\n" +
	`"2026-11-23 17:51:44","192.9.135.73","1194","online","2026-12-01","Pikabot"` + "\n# END 1 entries"

// fakeFeeds serves Feodo Tracker and the Tor exit list; fail makes Tor
// answer 503.
func fakeFeeds(t *testing.T, fail bool) []feed.Source {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/feodo":
			io.WriteString(w, feodoBody)
		case "/tor-exits":
			if fail {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "185.220.101.45\n171.25.193.25\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	var out []feed.Source
	for _, s := range feed.Sources() {
		if s.Name == "feodo" || s.Name == "tor-exits" {
			s.URL = srv.URL + "/" + s.Name
			out = append(out, s)
		}
	}
	return out
}

func testOptions(t *testing.T, cfg *config.Config, srcs []feed.Source) (*Options, *bytes.Buffer) {
	ios, _, out, _ := iostreams.Test()
	return &Options{
		IO: ios, Config: func() (*config.Config, error) { return cfg, nil }, Sources: srcs,
		Now: func() time.Time { return time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC) },
	}, out
}

func TestUpdateRun(t *testing.T) {
	t.Run("happy path: into the first of feeds.dirs, as a table", func(t *testing.T) {
		dir := t.TempDir()
		o, out := testOptions(t, &config.Config{Feeds: config.Feeds{Dirs: []string{dir, "/elsewhere"}}}, fakeFeeds(t, false))
		require.NoError(t, updateRun(context.Background(), o))
		assert.Contains(t, out.String(), "FEED")
		assert.Regexp(t, `feodo\s+updated\s+1`, out.String())
		assert.Regexp(t, `tor-exits\s+updated\s+2`, out.String())
		assert.Contains(t, out.String(), ": 2 updated, 0 not modified, 0 skipped, 0 failed")
		assert.FileExists(t, filepath.Join(dir, "abusech-feodo-ipblocklist.csv"))
		assert.FileExists(t, filepath.Join(dir, feed.StateFile))

		// Again at once: both were asked too recently.
		out.Reset()
		require.NoError(t, updateRun(context.Background(), o))
		assert.Contains(t, out.String(), "0 updated, 0 not modified, 2 skipped, 0 failed")
	})
	t.Run("happy path: --dir wins, --json, one feed by name", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new")
		o, out := testOptions(t, &config.Config{Feeds: config.Feeds{Dirs: []string{"/not/this"}}}, fakeFeeds(t, false))
		o.Dir, o.JSON, o.Names = dir, true, []string{"tor-exits"}
		require.NoError(t, updateRun(context.Background(), o))
		var got struct {
			Dir   string `json:"dir"`
			Feeds []struct {
				Source, Result string
				Entries        int
			} `json:"feeds"`
		}
		require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
		assert.Equal(t, dir, got.Dir)
		require.Len(t, got.Feeds, 1)
		assert.Equal(t, "tor-exits", got.Feeds[0].Source)
		assert.Equal(t, "updated", got.Feeds[0].Result)
		assert.Equal(t, 2, got.Feeds[0].Entries)
	})
	t.Run("sad path: a failed feed is exit status 1, the others are updated", func(t *testing.T) {
		dir := t.TempDir()
		o, out := testOptions(t, &config.Config{}, fakeFeeds(t, true))
		o.Dir = dir
		err := updateRun(context.Background(), o)
		var ec *cmdutil.ExitCodeError
		require.True(t, errors.As(err, &ec), "%v", err)
		assert.Equal(t, 1, ec.Code)
		assert.Contains(t, err.Error(), "1 of 2 feeds failed to update")
		assert.Regexp(t, `tor-exits\s+failed\s+-\s+HTTP 503: maintenance`, out.String())
		assert.FileExists(t, filepath.Join(dir, "abusech-feodo-ipblocklist.csv"))
	})
	t.Run("sad path: no directory anywhere", func(t *testing.T) {
		o, _ := testOptions(t, &config.Config{}, fakeFeeds(t, false))
		err := updateRun(context.Background(), o)
		var fe *cmdutil.FlagError
		require.True(t, errors.As(err, &fe), "%v", err)
		assert.Contains(t, err.Error(), "give --dir DIR, or set feeds.dirs")
		assert.Contains(t, err.Error(), "VERDICT_FEEDS_DIRS")
	})
	t.Run("sad path: feeds.dirs starts with a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "list.txt")
		require.NoError(t, os.WriteFile(file, []byte("1.2.3.4\n"), 0o600))
		o, _ := testOptions(t, &config.Config{Feeds: config.Feeds{Dirs: []string{file}}}, fakeFeeds(t, false))
		err := updateRun(context.Background(), o)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "a file, not a directory")
	})
}

func TestAuthKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		providers []config.Provider
		want      string
	}{
		{name: "threatfox's key first", providers: []config.Provider{{Name: "urlhaus", APIKey: "u"}, {Name: "threatfox", APIKey: "t"}}, want: "t"},
		{name: "else urlhaus's: one abuse.ch key serves both", providers: []config.Provider{{Name: "urlhaus", APIKey: "u"}, {Name: "threatfox"}}, want: "u"},
		{name: "none", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, (&Options{}).AuthKey(&config.Config{Providers: tt.providers}))
		})
	}
}

func TestListRun(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	o := &Options{IO: ios}
	require.NoError(t, listRun(o))
	for _, s := range feed.Sources() {
		assert.Contains(t, out.String(), s.Name)
		assert.Contains(t, out.String(), s.URL)
		assert.Contains(t, out.String(), s.Terms)
	}
	assert.Regexp(t, `spamhaus-drop-v4\s+spamhaus-drop_v4.json\s+12h\s+none`, out.String())
	assert.Regexp(t, `threatfox-recent\s+abusech-threatfox-recent.csv\s+30m\s+abuse.ch Auth-Key \(required\)`, out.String())

	out.Reset()
	o.JSON = true
	require.NoError(t, listRun(o))
	var got []listed
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Len(t, got, len(feed.Sources()))
	assert.Equal(t, int64(12*3600), got[1].MinIntervalSeconds)
}

// The parent command wires both subcommands.
func TestNewCmdFeeds(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	cmd := NewCmdFeeds(cmdutil.NewFactory(ios))
	var names []string
	for _, c := range cmd.Commands() {
		names = append(names, c.Name())
	}
	assert.ElementsMatch(t, []string{"update", "list"}, names)
}
