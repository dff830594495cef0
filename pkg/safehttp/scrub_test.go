package safehttp

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	vtKey     = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	geminiKey = "AIzaSyD-test_Key/with+special=chars<&>"
)

func TestScrub(t *testing.T) {
	t.Parallel()
	s := NewScrubber(vtKey, geminiKey, "", "short", "  padded-secret-value \n", "ctl\x1bsecret-value")
	tests := []struct {
		name, in, want string
	}{
		{"no secret", "nothing to see here", "nothing to see here"},
		{"raw", "key=" + vtKey + ".", "key=[redacted]."},
		{"twice", vtKey + " and " + vtKey, "[redacted] and [redacted]"},
		{"upper case", "KEY " + strings.ToUpper(vtKey), "KEY [redacted]"},
		{"mixed case", "x" + strings.ToUpper(geminiKey[:10]) + geminiKey[10:] + "x", "x[redacted]x"},
		{"query escaped", "https://h/?k=AIzaSyD-test_Key%2Fwith%2Bspecial%3Dchars%3C%26%3E&x=1", "https://h/?k=[redacted]&x=1"},
		{"query escaped, lower-case hex", "k=AIzaSyD-test_Key%2fwith%2bspecial%3dchars%3c%26%3e", "k=[redacted]"},
		{"path escaped", "/v1/AIzaSyD-test_Key%2Fwith+special=chars%3C&%3E/x", "/v1/[redacted]/x"},
		{"JSON, Go's HTML-safe escapes", `{"m":"bad key AIzaSyD-test_Key/with+special=chars\u003c\u0026\u003e"}`, `{"m":"bad key [redacted]"}`},
		{"JSON, PHP's escaped slash", `{"m":"AIzaSyD-test_Key\/with+special=chars<&>"}`, `{"m":"[redacted]"}`},
		{"JSON, upper-case \\u escapes", `"AIzaSyD-test_Key/with+special=chars\u003C\u0026\u003E"`, `"[redacted]"`},
		{"HTML escaped", "<p>AIzaSyD-test_Key/with+special=chars&lt;&amp;&gt;</p>", "<p>[redacted]</p>"},
		{"trimmed secret", "a padded-secret-value b", "a [redacted] b"},
		{"short secret ignored", "short", "short"},
		{"secret with control characters ignored", "ctl\x1bsecret-value", "ctl\x1bsecret-value"},
		{"prefix only", vtKey[:40], vtKey[:40]},
		{"a key overlapping itself", vtKey[:16] + vtKey, "[redacted]"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.Scrub(tt.in))
			assert.Equal(t, tt.want, string(s.ScrubBytes([]byte(tt.in))))
			assert.Equal(t, tt.want != tt.in, s.Contains(tt.in))
		})
	}
}

func TestScrubOverlappingSecrets(t *testing.T) {
	t.Parallel()
	// Two secrets sharing characters: neither may leave a fragment behind.
	s := NewScrubber("abcdefgh1234", "1234ijklmnop")
	assert.Equal(t, "<[redacted]>", s.Scrub("<abcdefgh1234ijklmnop>"))
	assert.Equal(t, "[redacted] [redacted]", s.Scrub("abcdefgh1234 1234ijklmnop"))
}

func TestScrubNonASCIISecret(t *testing.T) {
	t.Parallel()
	s := NewScrubber("pässwört-🔑-secret")
	for _, in := range []string{
		"pässwört-🔑-secret",
		`p\u00e4ssw\u00f6rt-\ud83d\udd11-secret`, // Python json.dumps, PHP json_encode
		`P\u00E4SSW\u00F6RT-\uD83D\uDD11-SECRET`,
		"p%C3%A4ssw%C3%B6rt-%F0%9F%94%91-secret",
	} {
		assert.Equal(t, "x[redacted]x", s.Scrub("x"+in+"x"), in)
	}
}

func TestScrubberNilAndEmpty(t *testing.T) {
	t.Parallel()
	var nilS *Scrubber
	for _, s := range []*Scrubber{nilS, NewScrubber(), NewScrubber("", "tiny", " ")} {
		assert.True(t, s.Empty())
		assert.Equal(t, "a "+vtKey, s.Scrub("a "+vtKey))
		assert.False(t, s.Contains(vtKey))
		var buf bytes.Buffer
		w := s.Writer(&buf)
		_, err := w.Write([]byte("no newline"))
		require.NoError(t, err)
		assert.Equal(t, "no newline", buf.String(), "an empty scrubber holds nothing back")
	}
}

func TestScrubBytesReturnsInputWhenClean(t *testing.T) {
	t.Parallel()
	s := NewScrubber(vtKey)
	in := []byte(strings.Repeat("clean answer ", 100))
	out := s.ScrubBytes(in)
	assert.Same(t, &in[0], &out[0], "no copy when there is nothing to replace")
	dirty := []byte("k " + vtKey)
	orig := string(dirty)
	_ = s.ScrubBytes(dirty)
	assert.Equal(t, orig, string(dirty), "the input is never modified")
}

func TestWriter(t *testing.T) {
	t.Parallel()
	s := NewScrubber(vtKey)
	t.Run("complete lines pass at once", func(t *testing.T) {
		var buf bytes.Buffer
		w := s.Writer(&buf)
		n, err := w.Write([]byte("level=WARN msg=\"lookup failed\" error=\"HTTP 401: " + vtKey + "\"\n"))
		require.NoError(t, err)
		assert.Equal(t, len("level=WARN msg=\"lookup failed\" error=\"HTTP 401: ")+len(vtKey)+2, n)
		assert.Equal(t, "level=WARN msg=\"lookup failed\" error=\"HTTP 401: [redacted]\"\n", buf.String())
	})
	t.Run("carriage returns end a line (progress bars)", func(t *testing.T) {
		var buf bytes.Buffer
		w := s.Writer(&buf)
		_, _ = w.Write([]byte("\r 10% |##   |"))
		assert.Equal(t, "\r 10% |##   |", buf.String(), "nothing that could start a secret: nothing held")
		_, _ = w.Write([]byte("\r 20% |###  | 0123"))
		assert.Equal(t, "\r 10% |##   |\r 20% |###  | ", buf.String(), "only what could start the key waits")
		require.NoError(t, w.Flush())
		assert.Equal(t, "\r 10% |##   |\r 20% |###  | 0123", buf.String())
	})
	t.Run("a secret split across writes", func(t *testing.T) {
		var buf bytes.Buffer
		w := s.Writer(&buf)
		_, _ = w.Write([]byte("verdict: key " + vtKey[:20]))
		assert.Equal(t, "verdict: key ", buf.String())
		_, _ = w.Write([]byte(vtKey[20:] + " rejected\n"))
		assert.Equal(t, "verdict: key [redacted] rejected\n", buf.String())
	})
	t.Run("a long line without an end", func(t *testing.T) {
		var buf bytes.Buffer
		w := s.Writer(&buf)
		long := strings.Repeat("x", 100000) + vtKey[:30]
		_, _ = w.Write([]byte(long))
		assert.Equal(t, strings.Repeat("x", 100000), buf.String(), "only the start of the key is held")
		_, _ = w.Write([]byte(vtKey[30:] + "\n"))
		assert.Equal(t, strings.Repeat("x", 100000)+"[redacted]\n", buf.String())
	})
	t.Run("a complete secret that may overlap the next", func(t *testing.T) {
		s := NewScrubber("abcdefgh1234", "1234ijklmnop")
		var buf bytes.Buffer
		w := s.Writer(&buf)
		_, _ = w.Write([]byte("<abcdefgh1234"))
		assert.Equal(t, "<", buf.String())
		_, _ = w.Write([]byte("ijklmnop>"))
		require.NoError(t, w.Flush())
		assert.Equal(t, "<[redacted]>", buf.String())
	})
	t.Run("write errors are returned", func(t *testing.T) {
		w := s.Writer(failWriter{})
		n, err := w.Write([]byte("line\n"))
		assert.Error(t, err)
		assert.Zero(t, n)
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// FuzzScrub: whatever the text, no form of a secret survives, and scrubbing
// twice changes nothing more.
func FuzzScrub(f *testing.F) {
	f.Add("key "+vtKey, "AIzaSyD/secret+key")
	f.Add(`{"error":{"message":"API key not valid: AIzaSyD\/secret+key"}}`, "AIzaSyD/secret+key")
	f.Add("abcdefgh1234ijklmnop", "1234ijklmnop")
	f.Add("%41%49zaSyD%2Fsecret%2Bkey", "AIzaSyD/secret+key")
	f.Fuzz(func(t *testing.T, text, secret string) {
		s := NewScrubber(vtKey, secret)
		out := s.Scrub(text)
		if s.Scrub(out) != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", text, out, s.Scrub(out))
		}
		// A secret that could be built out of the replacement text itself
		// is out of scope: "[redacted]" must be able to stay.
		if strings.ContainsAny(secret, "[]") || strings.Contains(Redacted, strings.ToLower(strings.TrimSpace(secret))) {
			return
		}
		lower := string(asciiLower([]byte(out)))
		for _, p := range s.patterns {
			if strings.Contains(lower, string(p)) {
				t.Fatalf("%q survives in %q (from %q)", p, out, text)
			}
		}
	})
}

// FuzzWriter: however the text is split into writes, the Writer passes on
// exactly what Scrub makes of the whole.
func FuzzWriter(f *testing.F) {
	f.Add("line one "+vtKey+"\nline two\r\nthree", uint32(7), uint32(40))
	f.Add(strings.Repeat("y", 70000)+vtKey+"\n", uint32(69997), uint32(70020))
	f.Add("<abcdefgh1234ijklmnop>", uint32(5), uint32(13))
	f.Fuzz(func(t *testing.T, text string, a, b uint32) {
		s := NewScrubber(vtKey, "abcdefgh1234", "1234ijklmnop")
		i, j := min(int(a), len(text)), min(int(b), len(text))
		if i > j {
			i, j = j, i
		}
		var buf bytes.Buffer
		w := s.Writer(&buf)
		for _, part := range []string{text[:i], text[i:j], text[j:]} {
			n, err := w.Write([]byte(part))
			if err != nil || n != len(part) {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := s.Scrub(text); buf.String() != want {
			t.Fatalf("split at %d,%d:\n got %q\nwant %q", i, j, buf.String(), want)
		}
	})
}
