package ioc

import "strings"

// The rules that tell a host name from the other dotted words of free text:
// file names, code identifiers and OAuth scopes. They apply to bare words
// only; a name written as a host (in a URL, an e-mail address, a UNC path or
// a host-name field) is a domain whatever it looks like.

// maxNameBytes bounds a candidate name: 253 for an ASCII name, more for one
// written in Unicode, whose UTF-8 is longer than its xn-- form can be.
const maxNameBytes = 1024

// fileExtTLDs are file extensions that are also top-level domains. A
// two-label name ending in one is a file (report.zip, deploy.sh, libc.so,
// Main.java), in free text too; with more labels (www.evil.zip) it is a host.
// See fhightower/ioc-finder#210 on .py and .zip. Left out on purpose: .cc
// (one of the TLDs malware uses most, while C++ sources seldom show up in
// alerts), .ai, .io, .me, .ly, .gl, .ws, .app, .org, .com (URL shorteners
// and real hosts outnumber the files).
var fileExtTLDs = map[string]bool{
	"zip": true, "mov": true, "sh": true, "py": true, "pl": true, "pm": true,
	"rs": true, "md": true, "so": true, "ps": true, "ml": true,
	"do": true, "java": true, "one": true, "cab": true, "properties": true,
}

// innerExts are extensions seen before a last one: a double-extension file
// name (invoice.pdf.zip, photo.jpg.mov) is a file however many labels it has.
var innerExts = map[string]bool{
	"pdf": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true,
	"xlsm": true, "ppt": true, "pptx": true, "rtf": true, "txt": true, "csv": true,
	"jpg": true, "jpeg": true, "png": true, "gif": true, "bmp": true, "mp3": true,
	"mp4": true, "avi": true, "exe": true, "scr": true, "dll": true, "bat": true,
	"cmd": true, "vbs": true, "js": true, "hta": true, "lnk": true, "iso": true,
	"img": true, "html": true, "htm": true, "tar": true, "msi": true, "jar": true,
	"apk": true, "ps1": true, "eml": true, "msg": true, "one": true,
}

// fileName reports whether the bare word tok, whose top label starts after
// tok[last] and reads lt in lower case, is a file name rather than a host.
func fileName(tok string, last int, lt []byte) bool {
	if !fileExtTLDs[string(lt)] {
		return false
	}
	rest := tok[:last]
	prev := rest[strings.LastIndexByte(rest, '.')+1:]
	if len(prev) == len(rest) {
		return true // two labels: report.zip, deploy.sh
	}
	// More labels make a host (www.evil.zip), unless the label before the
	// extension is another extension or a number: invoice.pdf.zip,
	// backup.2024.zip.
	var buf [8]byte
	if len(prev) <= len(buf) {
		digits := true
		for i := 0; i < len(prev); i++ {
			buf[i] = prev[i] | 0x20
			digits = digits && prev[i] >= '0' && prev[i] <= '9'
		}
		return digits || innerExts[string(buf[:len(prev)])]
	}
	return false
}

// codeRoots are the root namespaces of .NET and PowerShell type names
// (System.IO, System.Net, Microsoft.Azure, Windows.Security), written with
// the exact case code uses.
var codeRoots = map[string]bool{
	"System": true, "Microsoft": true, "Windows": true, "Mono": true, "Newtonsoft": true,
}

// codeName reports whether the bare word tok is written like a code
// identifier rather than a host name: .NET names (System.IO,
// Microsoft.Graph, System.Net.Http) and Microsoft Graph permission scopes
// (User.Read, Mail.Send, User.ReadWrite.All). People write host names in
// lower case, in capitals (EVIL.COM), or capitalised at the front
// (Evil-Site.com, PayPal.com); code capitalises every part. So a name is
// code when its top label starts with a capital, it is not all capitals,
// and every label is a plain alphanumeric word (no '-'). Of those, a
// classic or country-code top label (Evil.Com, Example.De) still reads as a
// host written in prose, unless the first label is a .NET root namespace
// (System.Net, System.IO).
func codeName(tok string) bool {
	dot := strings.LastIndexByte(tok, '.')
	top := tok[dot+1:]
	if top == "" || top[0] < 'A' || top[0] > 'Z' {
		return false
	}
	lower, start := false, 0
	for i := 0; i <= len(tok); i++ {
		if i == len(tok) || tok[i] == '.' {
			if i == start || !isLetter(tok[start]) {
				return false
			}
			start = i + 1
			continue
		}
		switch c := tok[i]; {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
		default:
			return false // '-', '_' or non-ASCII: written as a host name
		}
	}
	if !lower {
		return false // EVIL.COM, EVIL.IO
	}
	if codeRoots[tok[:strings.IndexByte(tok, '.')]] {
		return true
	}
	return !proseTLD(top)
}

// proseTLD reports whether a capitalised top label is one people write in
// prose: the classic generic TLDs and the two-letter country codes.
func proseTLD(top string) bool {
	switch len(top) {
	case 2:
		return true
	case 3, 4:
	default:
		return false
	}
	var buf [4]byte
	for i := 0; i < len(top); i++ {
		buf[i] = top[i] | 0x20 // top is letters and digits (see codeName)
	}
	switch string(buf[:len(top)]) {
	case "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz":
		return true
	}
	return false
}

// reservedTLD reports whether a lower-case top label is reserved for
// testing and documentation (RFC 2606, RFC 6761). Names under them are not
// on the public suffix list but are still taken as domains, so that they
// show up in the report, skipped as reserved, instead of vanishing.
func reservedTLD[T string | []byte](lt T) bool {
	switch string(lt) {
	case "example", "test", "invalid", "localhost":
		return true
	}
	return false
}

// oidcScopes are the OpenID Connect scopes that open an OAuth scope list.
var oidcScopes = map[string]bool{
	"openid": true, "offline_access": true, "profile": true, "email": true,
	"address": true, "phone": true,
}

// scopeList reports, computing it once per scan, whether the scanned string
// is an OAuth scope list ("openid profile offline_access user.read"), whose
// dotted words are permissions, not host names, in whatever case.
func (sc *scanner) scopeList() bool {
	if sc.scope == 0 {
		sc.scope = 1
		if isScopeList(sc.s) {
			sc.scope = 2
		}
	}
	return sc.scope == 2
}

// isScopeList reports whether every word of s is an OpenID Connect scope, a
// dotted permission name or a URL-form scope, and openid or offline_access
// is among them. Any other word ("sent", "to") makes it prose.
func isScopeList(s string) bool {
	oidc := false
	for i := 0; i < len(s); {
		for i < len(s) && scopeSep(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !scopeSep(s[j]) {
			j++
		}
		if j == i {
			break
		}
		w := s[i:j]
		switch {
		case oidcScopes[w]:
			oidc = oidc || w == "openid" || w == "offline_access"
		case strings.Contains(w, "://"), permissionName(w):
		default:
			return false
		}
		i = j
	}
	return oidc
}

func scopeSep(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ';', '"', '\'', '[', ']':
		return true
	}
	return false
}

// permissionName reports whether w is dotted words of letters, digits and
// '_' (User.Read, mail.readwrite.all).
func permissionName(w string) bool {
	dots, start := 0, 0
	for i := 0; i <= len(w); i++ {
		if i == len(w) || w[i] == '.' {
			if i == start {
				return false
			}
			if i < len(w) {
				dots++
			}
			start = i + 1
			continue
		}
		if c := w[i]; class[c]&cAlnum == 0 && c != '_' {
			return false
		}
	}
	return dots > 0
}
