package lookup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	_ "github.com/verdict-dev/verdict/pkg/intel/all" // the built-in providers, as in the binary
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestNewCmdLookup turns argv into options through the runF hook.
func TestNewCmdLookup(t *testing.T) {
	tests := []struct {
		name     string
		cli      string
		want     func(t *testing.T, o *Options, f *cmdutil.Factory)
		wantsErr string
	}{
		{name: "happy path: indicators and defaults", cli: "8.8.8.8 evil[.]com", want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
			assert.Equal(t, []string{"8.8.8.8", "evil[.]com"}, o.Args)
			assert.False(t, o.JSON || o.Offline || o.NoCache || o.Refresh || o.FailOnUnchecked)
			assert.Empty(t, o.FailOn)
			assert.NotNil(t, o.Engine, "the factory's lazy dependencies are wired")
			assert.NotNil(t, o.Close)
			assert.False(t, o.Terminal(), "a buffer is not a terminal")
		}},
		{name: "happy path: switches", cli: "--json --offline --no-cache --fail-on-unchecked -", want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
			assert.True(t, o.JSON && o.Offline && o.NoCache && o.FailOnUnchecked)
			assert.Equal(t, []string{"-"}, o.Args)
		}},
		{name: "happy path: fail-on is normalised", cli: "--fail-on suspicious x", want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
			assert.Equal(t, "SUSPICIOUS", o.FailOn)
		}},
		{name: "happy path: --feeds and --cache-dir set config keys", cli: "--feeds /a --cache-dir /c x", want: func(t *testing.T, _ *Options, f *cmdutil.Factory) {
			assert.Equal(t, []string{"/a"}, f.Viper.GetStringSlice("feeds.dirs"))
			assert.Equal(t, "/c", f.Viper.GetString("cache.dir"))
		}},
		{name: "sad path: nothing to look up", cli: "", wantsErr: "give at least one indicator (or - to read them from standard input)"},
		{name: "sad path: bad verdict", cli: "--fail-on EVIL x", wantsErr: `--fail-on: unknown verdict "EVIL"`},
		{name: "sad path: offline refresh", cli: "--offline --refresh x", wantsErr: "--offline cannot refresh answers"},
		{name: "sad path: no-cache and refresh", cli: "--no-cache --refresh x", wantsErr: "[no-cache refresh]"},
		{name: "sad path: stdin twice", cli: "- -", wantsErr: "standard input (-) given twice"},
		{name: "sad path: unknown flag", cli: "--bogus x", wantsErr: "unknown flag: --bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := cmdutil.NewFactory(ios)
			var got *Options
			cmd := NewCmdLookup(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.cli))
			cmd.SetIn(&bytes.Buffer{})
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			_, err := cmd.ExecuteC()
			if tt.wantsErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantsErr)
				assert.Nil(t, got, "runF is not reached")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got)
			tt.want(t, got, f)
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	const sha = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
	tests := []struct {
		name    string
		arg     string
		want    ioc.IOC
		wantErr string
	}{
		{name: "IPv4", arg: "8.8.8.8", want: ioc.IOC{Type: ioc.IPv4, Value: "8.8.8.8"}},
		{name: "defanged IPv4", arg: " 185.220.101[.]45 ", want: ioc.IOC{Type: ioc.IPv4, Value: "185.220.101.45"}},
		{name: "IPv6 in canonical form", arg: "2001:4860:4860:0:0:0:0:8888", want: ioc.IOC{Type: ioc.IPv6, Value: "2001:4860:4860::8888"}},
		{name: "defanged domain, lower-cased", arg: "Evil[.]COM", want: ioc.IOC{Type: ioc.Domain, Value: "evil.com"}},
		{name: "a name that reads as a file in free text is a domain here", arg: "invoice.zip", want: ioc.IOC{Type: ioc.Domain, Value: "invoice.zip"}},
		{name: "defanged URL", arg: "hxxps://evil[.]com/a/B.exe", want: ioc.IOC{Type: ioc.URL, Value: "https://evil.com/a/B.exe"}},
		{name: "upper-case SHA-256", arg: strings.ToUpper(sha), want: ioc.IOC{Type: ioc.SHA256, Value: sha}},
		{name: "MD5", arg: "44d88612fea8a8f36de82e1278abb02f", want: ioc.IOC{Type: ioc.MD5, Value: "44d88612fea8a8f36de82e1278abb02f"}},
		{name: "one indicator in other text: ip:port", arg: "1.2.3[.]4:443", want: ioc.IOC{Type: ioc.IPv4, Value: "1.2.3.4"}},
		{name: "sad path: a file name", arg: "svchost.exe", wantErr: `not an indicator: "svchost.exe"`},
		{name: "sad path: an impossible address", arg: "999.1.1.1", wantErr: "not an indicator"},
		{name: "sad path: two indicators", arg: "evil.com,1.2.3.4", wantErr: "holds 2 indicators (domain evil[.]com, ipv4 1.2.3[.]4)"},
		{name: "sad path: empty", arg: "  ", wantErr: "empty argument"},
		{name: "sad path: control characters are not echoed", arg: "\x1b]52;c;evil\x07", wantErr: "not an indicator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.arg)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrNotIndicator)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "\x1b")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

const (
	vtKey  = "vt-lookup-key-0123456789abcdef0123456789abcdef"
	abKey  = "ab-lookup-key-0123456789abcdef0123456789abcdef"
	uhKey  = "uh-lookup-key-0123456789abcdef0123456789abcdef"
	tfKey  = "tf-lookup-key-0123456789abcdef0123456789abcdef"
	sample = "b325c92fa540edeb89b95dbfd4400c1cb33599c66859a87aead820e568a2ebe7"
	md5    = "5b7e82e051ade4b14d163eea2a17bf8b"
)

// sources are the four REST fakes with what they know about 8.8.8.8,
// evil.com and one sample, and a local feed listing evil.com as c2.
type sources struct {
	vt    *inteltest.VirusTotal
	ab    *inteltest.AbuseIPDB
	uh    *inteltest.URLhaus
	tf    *inteltest.ThreatFox
	feeds string
}

func newSources(t *testing.T) *sources {
	t.Helper()
	s := &sources{vt: inteltest.NewVirusTotal(t, vtKey), ab: inteltest.NewAbuseIPDB(t, abKey), uh: inteltest.NewURLhaus(t, uhKey), tf: inteltest.NewThreatFox(t, tfKey)}
	s.vt.Set("8.8.8.8", inteltest.VTObject{Country: "US", ASOwner: "GOOGLE"})
	s.vt.Set("evil.com", inteltest.VTObject{Malicious: 3})
	s.vt.Set(sample, inteltest.VTObject{Malicious: 40, SHA256: sample})
	s.ab.Set("8.8.8.8", inteltest.AbuseIPDBRecord{UsageType: "Data Center/Web Hosting/Transit", TotalReports: 12, Country: "US"})
	s.uh.SetHost("evil.com", inteltest.URLhausHost{URLs: 5, Online: 2, Tags: []string{"elf", "Mozi"}})
	s.uh.AddPayload(inteltest.URLhausPayload{MD5: md5, SHA256: sample, Signature: "CobaltStrike", FileType: "exe", Size: 1024})
	s.tf.Add(inteltest.ThreatFoxIOC{IOC: "evil.com", ThreatType: "botnet_cc", Malware: "QakBot", Confidence: 75})
	s.tf.Add(inteltest.ThreatFoxIOC{IOC: "139.180.203.104:443", ThreatType: "botnet_cc", Malware: "Cobalt Strike", Confidence: 100, Samples: [][2]string{{md5, sample}}})
	s.feeds = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(s.feeds, "c2-domains.txt"), []byte("# category: c2\nevil.com\n"), 0o644))
	return s
}

// config is verdict's configuration pointed at the fakes; set overrides.
func (s *sources) config(t *testing.T, set map[string]any) *config.Config {
	t.Helper()
	v := viper.New()
	config.Defaults(v)
	for k, val := range map[string]any{
		"virustotal.api_key": vtKey, "virustotal.base_url": s.vt.BaseURL(), "virustotal.rate": "0",
		"abuseipdb.api_key": abKey, "abuseipdb.base_url": s.ab.BaseURL(), "abuseipdb.rate": "0",
		"urlhaus.api_key": uhKey, "urlhaus.base_url": s.uh.BaseURL(), "urlhaus.rate": "0",
		"threatfox.api_key": tfKey, "threatfox.base_url": s.tf.BaseURL(), "threatfox.rate": "0",
		"feeds.dirs": []string{s.feeds}, "http.timeout": "5s", "http.max_retries": 0,
	} {
		v.Set(k, val)
	}
	for k, val := range set {
		v.Set(k, val)
	}
	cfg, err := config.Load(v)
	require.NoError(t, err)
	return cfg
}

func (s *sources) requests() int {
	return len(s.vt.Requests()) + len(s.ab.Requests()) + len(s.uh.Requests()) + len(s.tf.Requests())
}

// runLookup runs the real run function with buffers for streams.
func runLookup(t *testing.T, cfg *config.Config, o Options, stdin string) (stdout, stderr string, err error) {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	o.IO = ios
	o.Config = func() (*config.Config, error) { return cfg, nil }
	o.Logger = slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o.Now = func() time.Time { return time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC) }
	o.Engine = func(ctx context.Context, eo cmdutil.EngineOptions) (*cmdutil.Deps, error) {
		eo.NoCache = true
		return cmdutil.BuildEngine(ctx, cfg, eo)
	}
	if o.Terminal == nil {
		o.Terminal = func() bool { return false }
	}
	err = Run(context.Background(), &o)
	return out.String(), errOut.String(), err
}

var threeIOCs = []string{"8.8.8.8", "evil[.]com", sample}

// TestLookupRun is `verdict lookup 8.8.8.8 evil[.]com <sha256>` against
// fakes of every source: one row per source per indicator, on a terminal
// and piped, and the JSON shape; each golden file is reviewed like code.
func TestLookupRun(t *testing.T) {
	s := newSources(t)
	cfg := s.config(t, nil)
	for _, tt := range []struct {
		name string
		o    Options
	}{
		{name: "terminal", o: Options{Terminal: func() bool { return true }}},
		{name: "piped"},
		{name: "json", o: Options{JSON: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Args = threeIOCs
			out, errOut, err := runLookup(t, cfg, tt.o, "")
			require.NoError(t, err, errOut)
			testutil.Golden(t, *update, []byte(out))
			for _, k := range []string{vtKey, abKey, uhKey, tfKey} {
				assert.NotContains(t, out+errOut, k)
			}
		})
	}

	t.Run("one row per source per indicator", func(t *testing.T) {
		out, _, err := runLookup(t, cfg, Options{Args: threeIOCs}, "")
		require.NoError(t, err)
		rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		sources := []string{"feeds", "virustotal", "abuseipdb", "urlhaus", "threatfox"}
		require.Len(t, rows, 3*len(sources))
		for i, r := range rows {
			cells := strings.Split(r, "\t")
			require.Len(t, cells, 8, r)
			assert.Equal(t, sources[i%len(sources)], cells[4], r)
		}
	})

	t.Run("the JSON is the documented shape, scored like the pipeline", func(t *testing.T) {
		out, _, err := runLookup(t, cfg, Options{Args: threeIOCs, JSON: true}, "")
		require.NoError(t, err)
		var lr model.LookupReport
		require.NoError(t, json.Unmarshal([]byte(out), &lr))
		require.Len(t, lr.Indicators, 3)
		google, evil, file := lr.Indicators[0], lr.Indicators[1], lr.Indicators[2]
		assert.Equal(t, model.Clean, google.Risk.Verdict)
		assert.Equal(t, []string{"virustotal", "abuseipdb", "urlhaus", "threatfox"}, google.Risk.CheckedBy, "the feed lists only domains: it does not take addresses")
		assert.Equal(t, "evil[.]com", evil.Input)
		assert.Equal(t, "evil.com", evil.Value)
		assert.Equal(t, 95, evil.Risk.Score, "VirusTotal +25 and the feeds group +70 once: a local feed, URLhaus and ThreatFox all list it")
		assert.Equal(t, "c2", evil.Enrichment["threatfox"].Matches[0].Category)
		assert.Equal(t, "malware", evil.Enrichment["urlhaus"].Matches[0].Category)
		assert.NotContains(t, evil.Enrichment, "abuseipdb", "a source that does not take the type is absent")
		assert.Equal(t, 100, file.Risk.Score)
		assert.Equal(t, md5, file.Enrichment["urlhaus"].MD5, "the payload answer names the file's MD5")
		assert.Equal(t, md5, file.Enrichment["threatfox"].MD5, "so does the ThreatFox sample")
		assert.Equal(t, model.ByVerdict{Malicious: 2, Clean: 1}, lr.Summary.ByVerdict)
		assert.Equal(t, 3, lr.Summary.Providers["urlhaus"].Lookups)
		assert.Equal(t, 1, lr.Summary.Providers["abuseipdb"].Lookups, "abuseipdb takes only the address")
	})
}

func TestLookupRunOutcomes(t *testing.T) {
	s := newSources(t)
	tests := []struct {
		name      string
		set       map[string]any
		o         Options
		stdin     string
		wantCode  int // 0: no error
		wantErr   string
		wantOut   []string
		wantNotes []string
		// wantMissing are sources that must have no row at all.
		wantMissing []string
		sendsNone   bool
	}{
		{name: "fail-on matches", o: Options{Args: []string{"evil.com"}, FailOn: "SUSPICIOUS"}, wantCode: 3,
			wantErr: "1 indicator(s) are SUSPICIOUS or worse (--fail-on SUSPICIOUS)", wantOut: []string{"MALICIOUS\t95"}},
		{name: "fail-on does not match", o: Options{Args: []string{"8.8.8.8"}, FailOn: "POTENTIALLY_SUSPICIOUS"}, wantOut: []string{"CLEAN\t0"}},
		{name: "offline sends nothing; no feed lists it: UNCHECKED", o: Options{Args: []string{"203.0.114.7"}, Offline: true, FailOnUnchecked: true},
			set: map[string]any{"feeds.dirs": []string{}}, wantCode: 3, wantErr: "1 indicator(s) are UNCHECKED",
			wantOut: []string{"UNCHECKED\t-\tvirustotal\tskipped\t\toffline"}, wantNotes: []string{"note: urlhaus: offline, 1 lookups not made"}, sendsNone: true},
		{name: "offline, the local feed still answers", o: Options{Args: []string{"evil.com"}, Offline: true, FailOnUnchecked: true},
			wantOut: []string{"MALICIOUS\t70\tfeeds\tfound\t+70\tlisted in c2-domains.txt"}, sendsNone: true},
		{name: "no keys, switched on: skipped as no_api_key, named in a note", o: Options{Args: []string{"evil.com"}},
			set:     map[string]any{"urlhaus.api_key": "", "threatfox.api_key": "", "urlhaus.enabled": true, "threatfox.enabled": true},
			wantOut: []string{"urlhaus\tskipped\t\tno_api_key", "threatfox\tskipped\t\tno_api_key"}, wantNotes: []string{"set urlhaus.api_key (VERDICT_URLHAUS_API_KEY)"}},
		{name: "no keys: the opt-in sources stay out", o: Options{Args: []string{"evil.com"}},
			set:     map[string]any{"urlhaus.api_key": "", "threatfox.api_key": ""},
			wantOut: []string{"virustotal\tfound"}, wantMissing: []string{"urlhaus", "threatfox"}},
		{name: "a rejected key is an error row and a note", o: Options{Args: []string{"evil.com"}},
			set: map[string]any{"threatfox.api_key": "wrong"}, wantOut: []string{"threatfox\terror"}, wantNotes: []string{"check threatfox.api_key"}},
		{name: "skipped by the policy: never sent", o: Options{Args: []string{"10.1.2.3", "example.com"}},
			wantOut: []string{"10.1.2[.]3\tipv4\tCLEAN\t0\turlhaus\tskipped\t\tprivate: never sent to any source", "reserved: never sent"}, sendsNone: true},
		{name: "standard input, comments and repeats", o: Options{Args: []string{"-", "8.8.8.8"}}, stdin: "# iocs\n8.8.8[.]8\n\nevil.com\n",
			wantOut: []string{"8.8.8[.]8\tipv4", "evil[.]com\tdomain"}},
		{name: "sad path: not an indicator is exit 2, nothing sent", o: Options{Args: []string{"8.8.8.8", "svchost.exe", "nope"}}, wantCode: 2,
			wantErr: `not an indicator: "svchost.exe"`, sendsNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.requests()
			out, errOut, err := runLookup(t, s.config(t, tt.set), tt.o, tt.stdin)
			if tt.wantCode == 0 {
				require.NoError(t, err, errOut)
			} else {
				require.Error(t, err)
				var ec *cmdutil.ExitCodeError
				require.True(t, errors.As(err, &ec), "%v", err)
				assert.Equal(t, tt.wantCode, ec.Code)
				assert.Contains(t, err.Error(), tt.wantErr)
			}
			for _, w := range tt.wantOut {
				assert.Contains(t, out, w)
			}
			for _, w := range tt.wantNotes {
				assert.Contains(t, errOut, w)
			}
			for _, w := range tt.wantMissing {
				assert.NotContains(t, out, "\t"+w+"\t", "a source that is not switched on has no row")
			}
			if tt.sendsNone {
				assert.Equal(t, before, s.requests(), "no request left the machine")
			}
		})
	}
	// The standard-input case counted 8.8.8.8 once.
	out, _, err := runLookup(t, s.config(t, nil), Options{Args: []string{"-", "8.8.8.8"}}, "8.8.8.8\n")
	require.NoError(t, err)
	assert.Equal(t, 5, strings.Count(out, "8.8.8[.]8\t"), "one indicator, five sources")
}
