package ioc_test

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

var refangCases = []struct {
	name string
	in   string
	want string
}{
	{name: "hxxp", in: "hxxp://evil.com", want: "http://evil.com"},
	// InQuest/iocextract#49
	{name: "hxxps stays https", in: "hxxps://evil.com", want: "https://evil.com"},
	{name: "upper and mixed case schemes keep their case", in: "hXXp://a HXXPS://b hXxP://c", want: "hTTp://a HTTPS://b hTtP://c"},
	{name: "fxp and fxps", in: "fxp://a fxps://b sfxp://c", want: "ftp://a ftps://b sftp://c"},
	{name: "bracketed, parenthesised and braced dots", in: "a[.]b a(.)b a{.}b", want: "a.b a.b a.b"},
	{name: "dot words in any case", in: "a[dot]b a(DOT)b a{Dot}b", want: "a.b a.b a.b"},
	{name: "backslash dot between alphanumerics", in: `evil\.com`, want: "evil.com"},
	{name: "backslash dot in paths kept", in: `\\.\pipe\x C:\x\.ssh`, want: `\\.\pipe\x C:\x\.ssh`},
	{name: "bracketed colon", in: "2001[:]db8[:][:]1", want: "2001:db8::1"},
	// InQuest/iocextract#42
	{name: "bracketed colon in scheme", in: "http[:]//evil.com hxxp[:]//evil.com", want: "http://evil.com http://evil.com"},
	// ninoseki/ioc-extractor#271
	{name: "bracketed scheme separator", in: "hxxps[://]evil[.]com", want: "https://evil.com"},
	// ninoseki/ioc-extractor#17
	{name: "bracketed slash", in: "http://example.com[/]path", want: "http://example.com/path"},
	{name: "at-sign forms", in: "a[at]b a(at)b a[@]b a[AT]b", want: "a@b a@b a@b a@b"},
	// InQuest/iocextract#36
	{name: "first.last e-mail", in: "firstname[.]lastname[@]domainname[.]org", want: "firstname.lastname@domainname.org"},
	{name: "spaces around bracketed dot and at", in: "user [at] example [dot] com", want: "user@example.com"},
	// microsoft/msticpy#681
	{name: "bare at and dot words untouched", in: "news.ycombinATor.com at dot", want: "news.ycombinATor.com at dot"},
	{name: "nested brackets fully undone", in: "evil[[.]]com [[:]//]", want: "evil.com ://"},
	{name: "hxxp before a nested colon", in: "hxxp[[:]]//x", want: "http://x"},
	{name: "log brackets untouched", in: "[INFO] (pid 42) {json} [x]", want: "[INFO] (pid 42) {json} [x]"},
	{name: "xx words untouched", in: "xxx hxxpool fxp", want: "xxx hxxpool fxp"},
	{name: "invalid UTF-8 kept", in: "\xffa[.]b\xfe", want: "\xffa.b\xfe"},
}

func TestRefang(t *testing.T) {
	t.Parallel()
	for _, tt := range refangCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ioc.Refang(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, ioc.Refang(got), "not idempotent")
		})
	}
}

func TestRefangReturnsInputWhenNothingToDo(t *testing.T) {
	// Not parallel: AllocsPerRun refuses to run in parallel tests.
	for _, s := range []string{"", "plain text", "[INFO] a(b) {c} d\\e xx", "12:30:45 std::x"} {
		got := ioc.Refang(s)
		assert.Equal(t, unsafe.StringData(s), unsafe.StringData(got), "copied %q", s)
		assert.Zero(t, testing.AllocsPerRun(10, func() { ioc.Refang(s) }))
	}
}
