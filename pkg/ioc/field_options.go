package ioc

import "strings"

// FieldOptions returns the extraction options for a string found under path,
// the original JSON keys from the root (["user", "email"],
// ["InitiatingProcessAccountUpn"], ["data", "srcuser"], ["file", "name"]).
// Keys are split into words on '_', '-', '.', spaces and camelCase.
//
// NoEmailDomains is set when any key names a user (user, username, account,
// upn, principal, or a word ending in "user" such as wazuh's srcuser), but
// not for user agents. NoDomains is set when the last key names a file,
// process image or path (FileName, TargetFilename, Image, FolderPath,
// process.name, file.path, exe), or OAuth permissions (scope, scp,
// Permissions), but never for command lines, URLs or queries, where host
// names are the point. NoHashes is set for identifier fields (see idWords)
// and wherever a key names a fingerprint (ja3, imphash, x509). Hosts is set
// when the last key names a host (hostname, fqdn, DeviceName,
// dns.question.name). The pipeline calls this once per distinct key path,
// so it favours clarity over speed.
func FieldOptions(path []string) Options {
	var keys [][]string
	for _, k := range path {
		for _, sub := range strings.Split(k, ".") {
			if w := KeyWords(sub); len(w) > 0 {
				keys = append(keys, w)
			}
		}
	}
	var all []string
	for _, k := range keys {
		all = append(all, k...)
	}
	var o Options
	for i, w := range all {
		if i+1 < len(all) && all[i+1] == "agent" {
			continue // http_user_agent, UserAgent
		}
		if userWords[w] || strings.HasSuffix(w, "user") {
			o.NoEmailDomains = true
			break
		}
	}
	if len(keys) > 0 {
		last := keys[len(keys)-1]
		o.NoDomains = fileField(keys) || scopeField(last)
		o.NoHashes = idField(last) || fingerprintField(all)
		o.Hosts = !o.NoDomains && hostField(keys)
	}
	return o
}

// idWords, as the last word of the last key, name an identifier rather than
// a file hash: CrowdStrike's cid, device_id and *_graph_id, Defender's
// DeviceId, Sentinel's TenantId are 32-hex GUIDs, and CrowdStrike's
// Device.groups lists host-group ids of the same shape.
var idWords = map[string]bool{
	"id": true, "ids": true, "guid": true, "uuid": true, "cid": true, "aid": true,
	"session": true, "sessionid": true, "token": true, "nonce": true, "cookie": true,
	"deviceid": true, "tenantid": true, "objectid": true, "requestid": true, "traceid": true, "spanid": true,
	"group": true, "groups": true,
}

// fingerprintWords anywhere in a path mean its hex values fingerprint
// something other than a file: TLS and SSH clients (ja3, hassh), an import
// table (imphash), a certificate (x509, thumbprint). They win over
// hashWords: ja3.hash is no file hash.
var fingerprintWords = map[string]bool{
	"ja3": true, "ja3s": true, "ja4": true, "ja4s": true, "hassh": true, "hasshserver": true,
	"imphash": true, "x509": true, "thumbprint": true, "fingerprint": true, "fingerprints": true,
}

func fingerprintField(words []string) bool {
	for _, w := range words {
		if fingerprintWords[w] {
			return true
		}
	}
	return false
}

// scopeWords in the last key mean OAuth permissions (User.Read, Mail.Send),
// whose dotted names read like domains in any case.
var scopeWords = map[string]bool{
	"scope": true, "scopes": true, "scp": true, "permission": true, "permissions": true,
}

func scopeField(last []string) bool {
	for _, w := range last {
		if scopeWords[w] {
			return true
		}
	}
	return false
}

// hostNameWords, as the last word of the last key, name a host.
var hostNameWords = map[string]bool{
	"host": true, "hosts": true, "hostname": true, "hostnames": true, "fqdn": true,
	"domain": true, "domains": true, "sni": true, "servername": true, "rrname": true,
	"qname": true, "dnsname": true, "computername": true, "devicename": true,
}

// hostQualifiers before a final "name" make it a host name (DeviceName,
// server_name, dns.question.name, QueryName, host.name, common_name).
var hostQualifiers = map[string]bool{
	"host": true, "server": true, "device": true, "computer": true, "machine": true,
	"dns": true, "question": true, "query": true, "domain": true, "common": true,
}

func hostField(keys [][]string) bool {
	last := keys[len(keys)-1]
	w := last[len(last)-1]
	if hostNameWords[w] {
		return true
	}
	prev := ""
	if len(last) > 1 {
		prev = last[len(last)-2]
	} else if len(keys) > 1 {
		k := keys[len(keys)-2]
		prev = k[len(k)-1]
	}
	switch w {
	case "name", "names":
		return hostQualifiers[prev]
	case "query":
		// Zeek's and Suricata's dns query; a bare "query" may be SQL or a
		// search.
		for _, k := range keys {
			for _, x := range k {
				if x == "dns" {
					return true
				}
			}
		}
	}
	return false
}

// hashWords anywhere in the key keep hashes on (sha256_id, file_hash_id).
var hashWords = map[string]bool{"md5": true, "sha1": true, "sha256": true, "hash": true, "hashes": true, "sha": true, "checksum": true}

func idField(last []string) bool {
	for _, w := range last {
		if hashWords[w] {
			return false
		}
	}
	return idWords[last[len(last)-1]]
}

var userWords = map[string]bool{
	"user": true, "users": true, "username": true, "usernames": true,
	"account": true, "accounts": true, "upn": true, "principal": true,
	"principals": true, "userprincipalname": true, "principalname": true,
	"samaccountname": true, "login": true, "logon": true,
}

// hostWords in the last key mean the value is meant to hold host names.
var hostWords = map[string]bool{
	"command": true, "commandline": true, "cmdline": true, "cmd": true,
	"url": true, "urls": true, "uri": true, "query": true, "args": true,
	"arguments": true, "argv": true, "params": true, "parameters": true,
	"referrer": true, "referer": true, "host": true, "hostname": true,
	"domain": true, "fqdn": true, "dns": true, "server": true,
}

// fileWords anywhere in the last key mean a file name or path.
var fileWords = map[string]bool{
	"filename": true, "filenames": true, "filepath": true, "filepaths": true,
	"folderpath": true, "imagepath": true, "processname": true, "procname": true,
	"exe": true, "executable": true, "image": true, "parentimage": true,
	"targetfilename": true, "imageloaded": true, "directory": true, "dir": true,
	"folder": true, "path": true, "paths": true, "pathname": true,
	"basename": true, "dirname": true, "cwd": true, "comm": true,
}

// nameContext words before "name" make it a file or process name
// (FileName, ProcessName, process.name, dll.name, attachments.file.name).
var nameContext = map[string]bool{
	"file": true, "process": true, "proc": true, "parent": true, "image": true,
	"module": true, "dll": true, "driver": true, "exe": true, "binary": true,
	"attachment": true, "attachments": true, "script": true, "files": true,
}

// containerWords: a container image is a registry reference
// (ghcr.io/x/miner:latest), whose host name is worth looking up.
var containerWords = map[string]bool{
	"container": true, "containers": true, "docker": true, "pod": true,
	"pods": true, "kubernetes": true, "k8s": true, "oci": true, "registry": true,
}

func fileField(keys [][]string) bool {
	last := keys[len(keys)-1]
	for _, w := range last {
		if hostWords[w] {
			return false
		}
	}
	container := false
	for _, k := range keys {
		for _, w := range k {
			container = container || containerWords[w]
		}
	}
	// A key that is just "file" or "process" holds a name.
	if len(last) == 1 && (last[0] == "file" || last[0] == "files" || last[0] == "process") {
		return true
	}
	for i, w := range last {
		if fileWords[w] && !(container && strings.Contains(w, "image")) {
			return true
		}
		if w == "name" {
			prev := ""
			if i > 0 {
				prev = last[i-1]
			} else if len(keys) > 1 {
				k := keys[len(keys)-2]
				prev = k[len(k)-1]
			}
			if nameContext[prev] && !(container && prev == "image") {
				return true
			}
		}
	}
	return false
}

// KeyWords splits a field key on '_', '-', '.', spaces and camelCase
// boundaries and lower-cases the words (numbers alone are dropped): "InitiatingProcessAccountUpn" gives initiating,
// process, account, upn; "AADUserId" gives aad, user, id.
func KeyWords(k string) []string {
	var words []string
	start := -1
	flush := func(end int) {
		// Numbers alone are array indices ("0", "[1]"), not words.
		if start >= 0 && end > start && strings.Trim(k[start:end], "0123456789") != "" {
			words = append(words, strings.ToLower(k[start:end]))
		}
		start = -1
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isAlnum(c) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		p := k[i-1]
		upper := c >= 'A' && c <= 'Z'
		switch {
		case upper && (p >= 'a' && p <= 'z' || p >= '0' && p <= '9'):
			flush(i) // fileName -> file|Name
			start = i
		case upper && p >= 'A' && p <= 'Z' && i+1 < len(k) && k[i+1] >= 'a' && k[i+1] <= 'z':
			flush(i) // AADUser -> AAD|User
			start = i
		}
	}
	flush(len(k))
	return words
}
