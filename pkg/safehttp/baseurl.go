package safehttp

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// CheckBaseURL vets a provider's configured base URL; name is the config
// section ("virustotal"), so messages name the key "<name>.base_url".
//
// raw must be an absolute http:// or https:// URL with a host, a valid port
// if any, and no query string or fragment (paths are appended to it, so
// either would swallow them); anything else is an error. Plain http:// to a
// host other than this machine (localhost, 127.0.0.0/8, ::1) is allowed,
// for a proxy or a mirror, but returns a warning: the key and every
// indicator would cross the network unencrypted. Messages never repeat a
// password given in the URL.
func CheckBaseURL(name, raw string) (warning string, err error) {
	key := name + ".base_url"
	if strings.TrimSpace(raw) == "" {
		return "", fmt.Errorf("check %s: empty; set an absolute https:// URL", key)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's own error quotes the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("check %s: not a valid URL: %w", key, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		if u.Scheme == "" {
			return "", fmt.Errorf("check %s: %q is not an absolute URL; write https://host/path", key, u.Redacted())
		}
		return "", fmt.Errorf("check %s: scheme %q is not http or https", key, u.Scheme)
	case u.Opaque != "" || u.Hostname() == "":
		return "", fmt.Errorf("check %s: %q has no host", key, u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("check %s: %q has a query string or fragment; a base URL is a scheme, host and path", key, redactedNoQuery(u))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("check %s: port %q is not between 1 and 65535", key, p)
		}
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return fmt.Sprintf("%s is plain http:// to %s, which is not this machine: the API key and every indicator looked up cross the network unencrypted; use https://", key, u.Host), nil
	}
	return "", nil
}

// redactedNoQuery prints u without its password, query or fragment, which
// may hold a token.
func redactedNoQuery(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = "", false, "", ""
	return c.Redacted()
}

// IsLoopback reports whether host (a name or an IP address, without port or
// brackets) is this machine: "localhost", 127.0.0.0/8 or ::1 (also written
// as an IPv4-mapped address).
func IsLoopback(host string) bool {
	h := strings.TrimSuffix(host, ".")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
