package rdap

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/verdict-dev/verdict/pkg/internal/oneline"
)

// ErrNotRegistrable means a name has no registrable domain: it is a public
// suffix itself ("co.uk"), or no name at all.
var ErrNotRegistrable = errors.New("no registrable domain")

// Registrable returns the domain a registry registered for name: the ICANN
// public suffix plus one label, in A-label (punycode) form. Private suffixes
// of the public suffix list (github.io, blogspot.com) are platforms, not
// registries: user.github.io was registered as github.io, and that is what a
// registry's RDAP server knows. Two names under one registrable domain are
// one RDAP question.
func Registrable(name string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("%q: %w", oneline.Clip(name, 64), ErrNotRegistrable)
	}
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(d)
			if err != nil {
				return "", fmt.Errorf("%q: %w", oneline.Clip(name, 64), ErrNotRegistrable)
			}
			d = strings.ToLower(a)
			break
		}
	}
	suffix, icann := publicsuffix.PublicSuffix(d)
	for !icann {
		// A private rule (or the list's fallback for an unknown top
		// label): climb to the ICANN suffix beneath it.
		i := strings.IndexByte(suffix, '.')
		if i < 0 {
			break // a top label the list does not know: it stands as the TLD
		}
		suffix, icann = publicsuffix.PublicSuffix(suffix[i+1:])
	}
	if len(d) <= len(suffix) || d[len(d)-len(suffix)-1] != '.' {
		return "", fmt.Errorf("%q is a public suffix: %w", oneline.Clip(d, 64), ErrNotRegistrable)
	}
	rest := d[:len(d)-len(suffix)-1]
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		rest = rest[i+1:]
	}
	if rest == "" {
		return "", fmt.Errorf("%q: %w", oneline.Clip(d, 64), ErrNotRegistrable)
	}
	return rest + "." + suffix, nil
}
