package ioc_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

func TestFieldOptions(t *testing.T) {
	t.Parallel()
	noEmail := ioc.Options{NoEmailDomains: true}
	noDom := ioc.Options{NoDomains: true}
	hosts := ioc.Options{Hosts: true}
	tests := []struct {
		name string
		path []string
		want ioc.Options
	}{
		// User fields: e-mail addresses name people.
		{name: "Defender account UPN", path: []string{"InitiatingProcessAccountUpn"}, want: noEmail},
		{name: "nested user email", path: []string{"user", "email"}, want: noEmail},
		{name: "ECS dotted user.name", path: []string{"user.name"}, want: noEmail},
		{name: "snake user_name", path: []string{"user_name"}, want: noEmail},
		{name: "wazuh srcuser", path: []string{"data", "srcuser"}, want: noEmail},
		{name: "wazuh dstuser", path: []string{"data", "dstuser"}, want: noEmail},
		{name: "Entra userPrincipalName", path: []string{"userPrincipalName"}, want: noEmail},
		{name: "acronym before User", path: []string{"AADUserId"}, want: ioc.Options{NoEmailDomains: true, NoHashes: true}},
		{name: "Windows SubjectUserName", path: []string{"EventData", "SubjectUserName"}, want: noEmail},
		{name: "sAMAccountName", path: []string{"sAMAccountName"}, want: noEmail},
		{name: "principal", path: []string{"principal"}, want: noEmail},
		{name: "user agent is not a user", path: []string{"http_user_agent"}, want: ioc.Options{}},
		{name: "camel UserAgent", path: []string{"request", "UserAgent"}, want: ioc.Options{}},
		{name: "ECS user_agent.original", path: []string{"user_agent", "original"}, want: ioc.Options{}},
		{name: "e-mail sender", path: []string{"email", "from", "address"}, want: ioc.Options{}},

		// File and process names and paths.
		{name: "Defender FileName", path: []string{"FileName"}, want: noDom},
		{name: "Defender FolderPath", path: []string{"FolderPath"}, want: noDom},
		{name: "Filepath", path: []string{"Filepath"}, want: noDom},
		{name: "ECS file.name", path: []string{"file", "name"}, want: noDom},
		{name: "ECS file.path dotted", path: []string{"file.path"}, want: noDom},
		{name: "ECS process.name", path: []string{"process", "name"}, want: noDom},
		{name: "ECS process.parent.name", path: []string{"process", "parent", "name"}, want: noDom},
		{name: "ECS process.executable", path: []string{"process", "executable"}, want: noDom},
		{name: "Sysmon Image", path: []string{"EventData", "Image"}, want: noDom},
		{name: "Sysmon ParentImage", path: []string{"ParentImage"}, want: noDom},
		{name: "Sysmon ImageLoaded", path: []string{"ImageLoaded"}, want: noDom},
		{name: "Sysmon TargetFilename", path: []string{"TargetFilename"}, want: noDom},
		{name: "Sysmon CurrentDirectory", path: []string{"CurrentDirectory"}, want: noDom},
		{name: "wazuh audit exe", path: []string{"data", "audit", "exe"}, want: noDom},
		{name: "ProcessName", path: []string{"ProcessName"}, want: noDom},
		{name: "initiating process file name", path: []string{"InitiatingProcessFileName"}, want: noDom},
		{name: "CrowdStrike ImageFileName", path: []string{"ImageFileName"}, want: noDom},
		{name: "spaced Windows field", path: []string{"Process Name"}, want: noDom},
		{name: "attachment file name", path: []string{"email", "attachments", "file", "name"}, want: noDom},
		{name: "bare file key", path: []string{"file"}, want: noDom},
		{name: "array index between context and name", path: []string{"files", "0", "name"}, want: noDom},
		{name: "bracketed array index", path: []string{"process[1]", "name"}, want: noDom},
		{name: "user's home directory", path: []string{"user", "home_directory"}, want: ioc.Options{NoEmailDomains: true, NoDomains: true}},

		// Fields meant to hold host names stay open.
		{name: "command line", path: []string{"ProcessCommandLine"}, want: ioc.Options{}},
		{name: "process command_line", path: []string{"process", "command_line"}, want: ioc.Options{}},
		{name: "cmdline", path: []string{"data", "audit", "cmdline"}, want: ioc.Options{}},
		{name: "url.full", path: []string{"url", "full"}, want: ioc.Options{}},
		{name: "file origin URL", path: []string{"FileOriginUrl"}, want: ioc.Options{}},
		{name: "DNS query", path: []string{"dns", "question", "name"}, want: hosts},
		{name: "QueryName", path: []string{"QueryName"}, want: hosts},
		{name: "host.name", path: []string{"host", "name"}, want: hosts},
		{name: "certificate common name", path: []string{"file", "x509", "subject", "common_name"}, want: ioc.Options{NoHashes: true, Hosts: true}},
		{name: "container image is a registry reference", path: []string{"container", "image", "name"}, want: ioc.Options{}},
		{name: "k8s container image", path: []string{"spec", "containers", "image"}, want: ioc.Options{}},
		{name: "message", path: []string{"message"}, want: ioc.Options{}},
		{name: "empty path", path: nil, want: ioc.Options{}},

		// Host-name fields: every public name is a domain there.
		{name: "hostname", path: []string{"http", "hostname"}, want: hosts},
		{name: "Defender DeviceName", path: []string{"DeviceName"}, want: hosts},
		{name: "Defender DestinationDeviceName", path: []string{"DestinationDeviceName"}, want: hosts},
		{name: "Zeek ssl server_name", path: []string{"server_name"}, want: hosts},
		{name: "Zeek dns query", path: []string{"dns", "query"}, want: hosts},
		{name: "Suricata dns rrname", path: []string{"dns", "rrname"}, want: hosts},
		{name: "ECS url.domain", path: []string{"url", "domain"}, want: hosts},
		{name: "fqdn", path: []string{"destination", "fqdn"}, want: hosts},
		{name: "bare query is not a host", path: []string{"query"}, want: ioc.Options{}},
		{name: "user domain is a host but not a user's address", path: []string{"UserDomain"}, want: ioc.Options{NoEmailDomains: true, Hosts: true}},

		// OAuth permissions: no domains from bare words.
		{name: "Defender Permissions", path: []string{"Permissions"}, want: noDom},
		{name: "token scp claim", path: []string{"token", "scp"}, want: noDom},
		{name: "OAuth scopes", path: []string{"OAuthScopes"}, want: noDom},
		{name: "scope", path: []string{"request", "scope"}, want: noDom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, ioc.FieldOptions(tt.path))
		})
	}
}

func TestFieldOptionsIdentifiersAreNotHashes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path []string
		want bool
	}{
		{name: "crowdstrike cid", path: []string{"Device", "cid"}, want: true},
		{name: "device_id", path: []string{"Device", "device_id"}, want: true},
		{name: "graph id", path: []string{"ParentDetails", "process_graph_id"}, want: true},
		{name: "camel case", path: []string{"TenantId"}, want: true},
		{name: "bare Id column", path: []string{"Id"}, want: true},
		{name: "session", path: []string{"http", "session"}, want: true},
		{name: "hash field", path: []string{"file", "hash", "sha256"}, want: false},
		{name: "hash id keeps hashes", path: []string{"sha256_id"}, want: false},
		{name: "md5 column", path: []string{"Md5"}, want: false},
		{name: "ja3 hash", path: []string{"tls", "ja3", "hash"}, want: true},
		{name: "Suricata ja3s", path: []string{"tls", "ja3s"}, want: true},
		{name: "certificate fingerprint", path: []string{"x509", "fingerprint", "sha256"}, want: true},
		{name: "imphash column", path: []string{"imphash"}, want: true},
		{name: "process hash keeps hashes", path: []string{"process", "hash", "md5"}, want: false},
		{name: "free text", path: []string{"message"}, want: false},
		// CrowdStrike's Device.groups lists host-group ids, 32-hex like MD5s.
		{name: "crowdstrike host groups", path: []string{"Device", "groups"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, ioc.FieldOptions(tt.path).NoHashes)
		})
	}
	assert.Empty(t, ioc.Extract("device 430277e91d0e4b79a254d543df474365", ioc.FieldOptions([]string{"device_id"})))
	assert.Len(t, ioc.Extract("430277e91d0e4b79a254d543df474365", ioc.FieldOptions([]string{"Md5"})), 1)
}
