package oneline

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOf(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"  a \n\t b  ", "a b"},
		{"esc\x1b]52;c;AAAA\x07seq", "esc]52;c;AAAAseq"},
		{"bidi\u202eevil", "bidievil"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
	}
	for _, tt := range tests {
		if got := Of(tt.in); got != tt.want {
			t.Errorf("Of(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClipAndCut(t *testing.T) {
	t.Parallel()
	if got := Clip("héllo", 2); got != "h" {
		t.Errorf("Clip splits a character: %q", got)
	}
	if got := Clip("abc", -1); got != "" {
		t.Errorf("Clip(-1) = %q", got)
	}
	if got := Cut("abcdef", 3); got != "abc…" {
		t.Errorf("Cut = %q", got)
	}
	if got := Cut("abc", 3); got != "abc" {
		t.Errorf("Cut of what fits = %q", got)
	}
}

func FuzzCut(f *testing.F) {
	f.Add("a\x1b[31mb\u202e\xffc", 3)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 1 << 10
		if n < 0 {
			n = -n
		}
		got := Cut(s, n)
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\n\r\x1b\u202e") {
			t.Fatalf("Cut(%q, %d) = %q", s, n, got)
		}
		if len(strings.TrimSuffix(got, "…")) > n {
			t.Fatalf("Cut(%q, %d) = %q: longer than %d", s, n, got, n)
		}
	})
}
