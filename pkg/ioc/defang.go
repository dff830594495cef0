package ioc

import "strings"

// Defang renders an indicator so that no viewer turns it into a live link:
// 185.220.101[.]45, evil[.]com, a.b.evil[.]com, 2001[:]db8[:][:]1 and
// hxxps://evil[.]com/path?q=1. Hashes are returned unchanged. Refang undoes
// it.
func Defang(i IOC) string {
	switch i.Type {
	case IPv4, IPv6, Domain:
		return defangHost(i.Value)
	case URL:
		return defangURL(i.Value)
	}
	return i.Value
}

// DefangText refangs s and then defangs, in place, every IP address, domain
// and URL found in it, for raw alert text shown to people. Running it twice
// gives the same text as running it once.
func DefangText(s string) string {
	r := Refang(s)
	var b strings.Builder
	last, changed := 0, false
	Scan(r, Options{}, func(m Match) {
		if m.Start < last {
			return // the host of a URL already written
		}
		var d string
		switch m.Type {
		case URL:
			d = defangURL(r[m.Start:m.End])
		case IPv4, IPv6, Domain:
			d = defangHost(r[m.Start:m.End])
		default:
			return
		}
		if !changed {
			b.Grow(len(r) + 16)
			changed = true
		}
		b.WriteString(r[last:m.Start])
		b.WriteString(d)
		last = m.End
	})
	if !changed {
		return r
	}
	b.WriteString(r[last:])
	return b.String()
}

// defangHost defangs an IP or domain as written: every colon of an IPv6
// address, otherwise the last dot.
func defangHost(h string) string {
	if strings.IndexByte(h, ':') >= 0 {
		return strings.ReplaceAll(h, ":", "[:]")
	}
	t := strings.TrimRight(h, ".")
	i := strings.LastIndexByte(t, '.')
	if i < 0 {
		return h
	}
	return h[:i] + "[.]" + h[i+1:]
}

// defangURL defangs the scheme (http -> hxxp, ftp -> fxp, keeping case) and
// the host of a URL as written.
func defangURL(u string) string {
	sep := strings.Index(u, "://")
	if sep < 0 {
		return u
	}
	scheme := []byte(u[:sep])
	switch strings.ToLower(u[:sep]) {
	case "http", "https":
		scheme[1], scheme[2] = scheme[1]+'x'-'t', scheme[2]+'x'-'t'
	case "ftp", "ftps":
		scheme[1] += 'x' - 't'
	case "sftp":
		scheme[2] += 'x' - 't'
	}
	rest := u[sep+3:]
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	auth := rest[:authEnd]
	h := strings.LastIndexByte(auth, '@') + 1
	var hostEnd int
	if strings.HasPrefix(auth[h:], "[") {
		hostEnd = strings.IndexByte(auth[h:], ']')
		if hostEnd < 0 {
			hostEnd = len(auth)
		} else {
			hostEnd += h
		}
	} else if c := strings.LastIndexByte(auth[h:], ':'); c >= 0 {
		hostEnd = h + c
	} else {
		hostEnd = len(auth)
	}
	return string(scheme) + "://" + auth[:h] + defangHost(auth[h:hostEnd]) + auth[hostEnd:] + rest[authEnd:]
}
