// Package ioc finds, normalises, classifies and defangs indicators of
// compromise: IP addresses, domains, URLs and file hashes.
package ioc

import (
	"errors"
	"fmt"
	"strings"
)

// Type is the kind of an indicator. The string values are part of the JSON
// report contract.
type Type string

// The indicator types verdict understands, exactly as CONTRACT.md names them.
const (
	IPv4   Type = "ipv4"
	IPv6   Type = "ipv6"
	Domain Type = "domain"
	URL    Type = "url"
	MD5    Type = "md5"
	SHA1   Type = "sha1"
	SHA256 Type = "sha256"
)

// AllTypes lists every Type in a stable order (used by help texts and config).
var AllTypes = []Type{IPv4, IPv6, Domain, URL, MD5, SHA1, SHA256}

// ErrInvalid is returned by Normalize and ParseType for values that are not
// indicators of the claimed type.
var ErrInvalid = errors.New("invalid indicator")

// ParseType parses a type name such as "sha256". It also accepts the group
// names "ip" and "hash", which callers expand with Types.
func ParseType(s string) (Type, error) {
	t := Type(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range AllTypes {
		if t == known {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w: unknown IOC type %q (want one of %s)", ErrInvalid, s, typeList())
}

// ExpandTypes turns type names and the groups "ip", "hash" and "any" into types.
func ExpandTypes(names []string) ([]Type, error) {
	var out []Type
	seen := map[Type]bool{}
	add := func(ts ...Type) {
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "ip":
			add(IPv4, IPv6)
		case "hash":
			add(MD5, SHA1, SHA256)
		case "any", "*":
			add(AllTypes...)
		default:
			t, err := ParseType(n)
			if err != nil {
				return nil, err
			}
			add(t)
		}
	}
	return out, nil
}

func typeList() string {
	s := make([]string, len(AllTypes))
	for i, t := range AllTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// IsIP reports whether t is an address type.
func (t Type) IsIP() bool { return t == IPv4 || t == IPv6 }

// IsHash reports whether t is a file hash type.
func (t Type) IsHash() bool { return t == MD5 || t == SHA1 || t == SHA256 }

// Label is the word used for t in sentences ("IP 1.2.3.4: ...").
func (t Type) Label() string {
	switch t {
	case IPv4, IPv6:
		return "IP"
	case Domain:
		return "domain"
	case URL:
		return "URL"
	case MD5:
		return "MD5"
	case SHA1:
		return "SHA-1"
	case SHA256:
		return "SHA-256"
	}
	return string(t)
}

// IOC is one normalised indicator. It is comparable and used as a map key.
type IOC struct {
	Type  Type   `json:"type"`
	Value string `json:"value"`
}

// String renders the indicator as "type:value" for logs and keys.
func (i IOC) String() string { return string(i.Type) + ":" + i.Value }

// SkipReason says why an indicator is never sent to a provider. The values
// are part of the JSON report contract.
type SkipReason string

// Skip reasons, exactly as CONTRACT.md names them.
const (
	NotSkipped    SkipReason = ""
	Private       SkipReason = "private"
	Loopback      SkipReason = "loopback"
	LinkLocal     SkipReason = "link_local"
	Multicast     SkipReason = "multicast"
	Reserved      SkipReason = "reserved"
	Documentation SkipReason = "documentation"
	Shared        SkipReason = "shared"
	Unspecified   SkipReason = "unspecified"
	Allowlisted   SkipReason = "allowlisted"
	// EmptyFile is a hash of the empty file (see Policy).
	EmptyFile SkipReason = "empty_file"
	// Internal is a name equal to or under one of the organisation's own
	// domains (config ioc.internal_domains), or a URL whose host is one.
	Internal SkipReason = "internal"
)
