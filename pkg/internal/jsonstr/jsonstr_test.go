package jsonstr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// reference is what encoding/json writes with HTML escaping off.
func reference(t testing.TB, s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(b.String(), "\n")
}

func TestAppend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "plain", want: `"plain"`},
		{name: "empty", in: "", want: `""`},
		{name: "html stays as it is", in: "<a href='x'>&amp;</a>", want: `"<a href='x'>&amp;</a>"`},
		{name: "quotes and backslashes", in: `"\`, want: `"\"\\"`},
		{name: "short escapes", in: "\b\f\n\r\t", want: `"\b\f\n\r\t"`},
		{name: "other controls", in: "\x00\x1b\x1f", want: `"\u0000\u001b\u001f"`},
		{name: "DEL is printable JSON", in: "\x7f", want: "\"\x7f\""},
		{name: "line separators", in: "\u2028\u2029", want: `"\u2028\u2029"`},
		{name: "invalid UTF-8", in: "a\xffb\xc0", want: `"a\ufffdb\ufffd"`},
		{name: "multi-byte", in: "café ☃ 𝄞", want: `"café ☃ 𝄞"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := string(Append(nil, tt.in))
			if got != tt.want {
				t.Errorf("Append(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if ref := reference(t, tt.in); got != ref {
				t.Errorf("Append(%q) = %s, encoding/json says %s", tt.in, got, ref)
			}
		})
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	t.Parallel()
	if got := string(Append([]byte("x:"), "y")); got != `x:"y"` {
		t.Errorf("got %s", got)
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\r\t\b\f\x00\x1f\x7f", "<>&", "\u2028\u2029", "\xff\xfe\xc0", "café ☃ 𝄞", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(Append(nil, s)), reference(t, s); got != want {
			t.Fatalf("Append(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	s := strings.Repeat(`plain text with "quotes", a tab	and café `, 64)
	buf := make([]byte, 0, 4*len(s))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = Append(buf[:0], s)
	}
}
