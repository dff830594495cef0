package lookup

import (
	"errors"
	"strings"
	"testing"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// FuzzParse: an argument is one normalised indicator or an error wrapping
// ErrNotIndicator that echoes no control character; never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "evil[.]com", "hxxps://evil[.]com/a?b=c", "1.2.3[.]4:443", "svchost.exe",
		"2001:db8::1", "[2001:db8::1]:443", "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F",
		"evil.com,1.2.3.4", "user@evil.com", "bücher-shop.de", "\x1b[31mred", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrNotIndicator) {
				t.Fatalf("error %v does not wrap ErrNotIndicator", err)
			}
			if strings.ContainsAny(err.Error(), "\x1b\x07\r\n") {
				t.Fatalf("control characters echoed: %q", err.Error())
			}
			return
		}
		n, err := ioc.Normalize(i)
		if err != nil || n != i {
			t.Fatalf("not normalised: %v -> %v (%v)", i, n, err)
		}
		again, err := Parse(i.Value)
		if err != nil || again != i {
			t.Fatalf("the value %q does not parse back to itself: %v (%v)", i.Value, again, err)
		}
	})
}
