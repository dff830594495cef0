package attack

// weight is one technique a rule suggests, with its confidence.
type weight struct {
	id   string
	conf int
}

// rule maps phrases found in rule names, signatures and categories to
// techniques. A rule fires when one of any matches, and one of with too when
// with is set (in the same text or another of the alert's texts), and none of
// unless. Phrases are written as the matcher sees text: lower case, words
// separated by single spaces, punctuation dropped ("SSH::Password_Guessing"
// is "ssh password guessing", "ms17-010" is "ms17 010"); a test keeps them
// that way.
type rule struct {
	any    []string
	with   []string
	unless []string
	techs  []weight
}

func (r rule) activeIn(m *matrix) bool {
	for _, w := range r.techs {
		if _, ok := m.active[w.id]; !ok {
			return false
		}
	}
	return len(r.any) > 0 && len(r.techs) > 0
}

func w(id string, conf int) weight { return weight{id: id, conf: conf} }

// Phrase groups several rules share.
var (
	c2Words = []string{"c2", "c&c", "cnc", "command and control", "command & control", "c2 server",
		"cnc server", "beacon", "beacons", "beaconing"}
	emailWords = []string{"email", "e mail", "emails", "messages", "inbox", "mailbox", "outlook",
		"exchange online", "smtp"}
)

// rules is the table behind Suggestions. Confidence follows the scale in the
// Suggestion doc comment. Where a well-known signal maps to no technique,
// a comment says so rather than leaving it to chance:
//
//   - Suricata class types "Potentially Bad Traffic", "Misc activity",
//     "Misc Attack", "Attempted Information Leak", "Information Leak",
//     "Not Suspicious Traffic", "Unknown Traffic", "Potential Corporate
//     Privacy Violation" and "Targeted Malicious Activity was Detected" are
//     buckets of unrelated signatures (Emerging Threats files "ET POLICY
//     curl User-Agent Outbound" as an information leak), so they suggest
//     nothing; the signature text itself still can.
//   - A TLS certificate that fails validation (Zeek SSL::Invalid_Server_Cert)
//     is, on its own, what printers, hypervisors and lab hosts present every
//     day: "unable to get local issuer certificate", an expired or a
//     mismatched certificate suggests nothing. A self-signed one is also the
//     default of C2 frameworks (Cobalt Strike, Metasploit, Pupy; the APT29
//     evaluation's C2 on port 8443 is one), so it suggests Encrypted
//     Channel: Asymmetric Cryptography (T1573.002), at 30, as a hint and not
//     a finding; next to a C2 word it suggests T1573 at 60 through the
//     C2-over-TLS rule. The resource-development techniques for
//     certificates (T1587.003, T1588.004) describe the adversary's
//     preparation, which a sensor inside the victim's network does not see.
//   - Microsoft 365 "LdapSearch" and "MailItemsAccessed" are audit events
//     that are benign in bulk; they map to the techniques they would be if
//     malicious, at low confidence.
var rules = []rule{
	// Brute force and password attacks (credential access).
	{any: []string{"brute force", "bruteforce", "brute forcing", "bruteforcing", "brute forced", "brute forcer",
		"dictionary attack", "password brute", "login brute", "multiple authentication failures",
		"multiple failed logins", "multiple failed login", "multiple login failures", "multiple logon failures",
		"excessive failed logins", "excessive login failures", "excessive authentication failures",
		"many failed logins", "repeated login failures", "repeated authentication failures"},
		unless: []string{"directory brute force", "directory bruteforce", "directory brute forcing", "dir brute force",
			"path brute force", "subdomain brute force", "dns brute force"},
		techs: []weight{w("T1110", 80)}},
	{any: []string{"password guessing", "password guess", "ssh password guessing"}, techs: []weight{w("T1110.001", 85)}},
	{any: []string{"non existent user", "nonexistent user", "non existing user", "invalid user", "unknown user"},
		techs: []weight{w("T1110.001", 40)}},
	{any: []string{"password spray", "password spraying", "password sprayed", "passwordspray", "spray attack",
		"spraying attack"}, techs: []weight{w("T1110.003", 90), w("T1110", 60)}},
	{any: []string{"credential stuffing", "credentials stuffing"}, techs: []weight{w("T1110.004", 90)}},
	{any: []string{"password cracking", "hash cracking", "hashcat", "john the ripper"}, techs: []weight{w("T1110.002", 80)}},
	{any: []string{"account lockout", "account locked out", "accounts locked out"}, techs: []weight{w("T1110", 45)}},
	{any: []string{"mfa fatigue", "mfa bombing", "mfa spamming", "mfa spam", "push bombing", "push fatigue",
		"mfa request generation"}, techs: []weight{w("T1621", 85)}},

	// Credential dumping and Kerberos.
	{any: []string{"mimikatz", "sekurlsa", "logonpasswords", "pypykatz", "safetykatz", "sharpkatz", "nanodump",
		"lsassy", "dumpert"}, techs: []weight{w("T1003.001", 85), w("T1003", 80)}},
	{any: []string{"lsass"}, with: []string{"dump", "dumped", "dumping", "memory", "access", "accessed", "minidump",
		"procdump", "comsvcs", "read", "handle", "credential", "credentials"}, techs: []weight{w("T1003.001", 85)}},
	{any: []string{"lsass"}, techs: []weight{w("T1003.001", 50)}},
	{any: []string{"comsvcs minidump", "comsvcs dll minidump", "lsass memory", "lsass dump"}, techs: []weight{w("T1003.001", 90)}},
	{any: []string{"credential dumping", "credential dump", "credentials dumping", "credential dumper",
		"dump credentials", "dumping credentials", "hashdump", "hash dump", "password dump", "password dumper",
		"credential theft tool"}, techs: []weight{w("T1003", 85)}},
	{any: []string{"dcsync", "dc sync", "drsuapi", "getncchanges", "replicating directory changes"},
		techs: []weight{w("T1003.006", 85)}},
	{any: []string{"directory services replication", "directory replication"}, techs: []weight{w("T1003.006", 70)}},
	{any: []string{"ntds dit", "ntdsutil", "ntds dump", "ntds extraction"}, techs: []weight{w("T1003.003", 80)}},
	{any: []string{"ntds"}, techs: []weight{w("T1003.003", 55)}},
	{any: []string{"sam hive", "sam registry hive", "security account manager", "reg save hklm sam"},
		techs: []weight{w("T1003.002", 80)}},
	{any: []string{"lsa secrets", "lsa secret"}, techs: []weight{w("T1003.004", 85)}},
	{any: []string{"etc shadow"}, techs: []weight{w("T1003.008", 60)}},
	{any: []string{"kerberoast", "kerberoasting", "kerberoasted", "kerberoastable"}, techs: []weight{w("T1558.003", 90)}},
	{any: []string{"as rep roast", "as rep roasting", "asreproast", "asrep roast", "asrep roasting", "as rep roastable"},
		techs: []weight{w("T1558.004", 90)}},
	{any: []string{"golden ticket"}, techs: []weight{w("T1558.001", 90)}},
	{any: []string{"silver ticket"}, techs: []weight{w("T1558.002", 90)}},
	{any: []string{"rubeus", "kekeo"}, techs: []weight{w("T1558", 70)}},
	{any: []string{"pass the ticket", "pass the tickets", "ptt attack"}, techs: []weight{w("T1550.003", 90)}},
	{any: []string{"pass the hash", "overpass the hash", "pth attack"}, techs: []weight{w("T1550.002", 90)}},
	{any: []string{"golden saml", "saml token forgery", "forged saml", "saml forgery", "forged saml token"},
		techs: []weight{w("T1606.002", 90)}},
	{any: []string{"adfs dkm", "dkm key", "dkm master key", "adfs token signing", "token signing certificate",
		"export adfs"}, techs: []weight{w("T1552.004", 70), w("T1606.002", 50)}},
	{any: []string{"keylogger", "keylogging", "keystroke logging", "keystroke logger"}, techs: []weight{w("T1056.001", 85)}},
	{any: []string{"lazagne", "browser credential", "browser credentials", "browser password", "browser passwords",
		"infostealer", "info stealer", "credential stealer", "password stealer"}, techs: []weight{w("T1555.003", 65)}},
	{any: []string{"impossible travel", "atypical travel", "unfamiliar sign in", "unfamiliar sign in properties",
		"anonymous ip address", "leaked credentials", "compromised credentials", "stolen credentials",
		"compromised account"}, techs: []weight{w("T1078.004", 45), w("T1078", 40)}},

	// Execution: PowerShell and other interpreters.
	{any: []string{"encodedcommand", "encoded command", "encoded powershell", "powershell encoded",
		"obfuscated powershell", "powershell obfuscation", "base64 powershell", "powershell base64"},
		techs: []weight{w("T1059.001", 90), w("T1027", 75), w("T1027.010", 70)}},
	{any: []string{"powershell", "pwsh"}, with: []string{"enc", "ec", "frombase64string", "base64"},
		techs: []weight{w("T1059.001", 85), w("T1027", 70), w("T1027.010", 65)}},
	{any: []string{"powershell", "pwsh"}, with: []string{"iex", "invoke expression", "downloadstring",
		"download string", "downloadfile", "invoke webrequest", "net webclient", "download cradle"},
		techs: []weight{w("T1059.001", 80), w("T1105", 60)}},
	{any: []string{"downloadstring", "download cradle"}, techs: []weight{w("T1105", 60), w("T1059.001", 60)}},
	{any: []string{"powershell", "pwsh", "power shell"}, techs: []weight{w("T1059.001", 40)}},
	{any: []string{"vbscript", "vbs script", "wscript", "cscript"}, techs: []weight{w("T1059.005", 50)}},
	{any: []string{"jscript"}, techs: []weight{w("T1059.007", 50)}},
	{any: []string{"reverse shell", "bind shell"}, techs: []weight{w("T1059", 55), w("T1095", 45)}},
	{any: []string{"malicious macro", "office macro", "vba macro", "macro enabled", "macro enabled document",
		"suspicious macro"}, techs: []weight{w("T1204.002", 70), w("T1059.005", 60)}},
	{any: []string{"maldoc", "malicious document", "weaponized document"}, techs: []weight{w("T1204.002", 60), w("T1566.001", 60)}},
	{any: []string{"wmiexec", "wmic process call create", "process call create", "win32 process create"},
		techs: []weight{w("T1047", 80)}},
	{any: []string{"wmic"}, techs: []weight{w("T1047", 50)}},
	{any: []string{"mshta"}, techs: []weight{w("T1218.005", 75)}},
	{any: []string{"squiblydoo"}, techs: []weight{w("T1218.010", 85)}},
	{any: []string{"regsvr32"}, techs: []weight{w("T1218.010", 60)}},
	{any: []string{"rundll32"}, techs: []weight{w("T1218.011", 45)}},
	{any: []string{"installutil"}, techs: []weight{w("T1218.004", 60)}},
	{any: []string{"msbuild"}, techs: []weight{w("T1127.001", 55)}},
	{any: []string{"lolbin", "lolbas", "living off the land"}, techs: []weight{w("T1218", 50)}},
	{any: []string{"certutil"}, with: []string{"urlcache", "url cache", "download", "verifyctl"}, techs: []weight{w("T1105", 75)}},
	{any: []string{"certutil"}, with: []string{"decode", "decodehex"}, techs: []weight{w("T1140", 70)}},
	{any: []string{"bitsadmin", "bits job", "bits jobs"}, techs: []weight{w("T1197", 70)}},

	// Persistence and privilege escalation.
	{any: []string{"scheduled task", "scheduled tasks", "schtasks", "new scheduled task", "task scheduler"},
		techs: []weight{w("T1053.005", 80)}},
	{any: []string{"crontab", "cron job", "cron entry"}, techs: []weight{w("T1053.003", 60)}},
	{any: []string{"systemd timer"}, techs: []weight{w("T1053.006", 70)}},
	{any: []string{"run key", "run keys", "registry run key", "registry run keys", "currentversion run",
		"currentversion runonce", "runonce", "startup folder"}, techs: []weight{w("T1547.001", 80)}},
	{any: []string{"service was installed", "new service installed", "service installed", "service creation",
		"sc create", "create service", "new service created"}, techs: []weight{w("T1543.003", 70), w("T1569.002", 45)}},
	{any: []string{"wmi event subscription", "wmi persistence", "wmi subscription", "commandlineeventconsumer",
		"eventconsumer"}, techs: []weight{w("T1546.003", 85)}},
	{any: []string{"web shell", "webshell", "web shells", "webshells", "china chopper", "chinachopper", "b374k",
		"c99 shell", "r57 shell", "wso shell", "aspxspy", "regeorg"}, techs: []weight{w("T1505.003", 90)}},
	{any: []string{"user account was created", "user account created", "new user created", "new user account",
		"account created"}, techs: []weight{w("T1136", 55)}},
	{any: []string{"user added to the system", "new user added", "useradd", "net user add"}, techs: []weight{w("T1136.001", 60)}},
	{any: []string{"member was added to a security enabled", "added to domain admins", "added to administrators",
		"added to local administrators", "added to admin group", "added to the administrators group"},
		techs: []weight{w("T1098.007", 65)}},
	{any: []string{"ssh authorized keys", "authorized keys modified", "authorized keys file", "authorized keys changed"},
		techs: []weight{w("T1098.004", 70)}},
	{any: []string{"uac bypass", "bypass uac", "user account control bypass", "fodhelper"}, techs: []weight{w("T1548.002", 80)}},
	{any: []string{"sudo"}, techs: []weight{w("T1548.003", 35)}},
	{any: []string{"token impersonation", "token manipulation", "juicypotato", "juicy potato", "printspoofer",
		"rottenpotato", "roguepotato", "potato attack"}, techs: []weight{w("T1134.001", 75)}},
	{any: []string{"local privilege escalation", "kernel exploit", "lpe exploit"}, techs: []weight{w("T1068", 70)}},
	{any: []string{"privilege escalation"}, techs: []weight{w("T1068", 40)}},
	{any: []string{"dll side loading", "dll sideloading", "dll side load", "side loading", "sideloading",
		"dll hijack", "dll hijacking", "dll search order hijacking", "search order hijacking", "dll planting"},
		techs: []weight{w("T1574.001", 80)}},
	{any: []string{"rootkit"}, techs: []weight{w("T1014", 80)}},
	{any: []string{"trojaned", "trojanized binary", "trojanised binary"}, techs: []weight{w("T1554", 60)}},

	// Defense evasion.
	{any: []string{"audit log was cleared", "event log cleared", "event logs cleared", "security log cleared",
		"clear event log", "clear event logs", "cleared event log", "wevtutil cl", "log cleared", "log file cleared"},
		techs: []weight{w("T1070.001", 85)}},
	{any: []string{"timestomp", "timestomping", "time stomping"}, techs: []weight{w("T1070.006", 85)}},
	{any: []string{"disable defender", "defender disabled", "disabled defender", "tamper protection",
		"antivirus disabled", "real time protection disabled", "disable antivirus", "security tool disabled",
		"edr disabled", "disable edr"}, techs: []weight{w("T1562.001", 75)}},
	{any: []string{"defender exclusion", "exclusion added", "add mppreference", "av exclusion", "antivirus exclusion"},
		techs: []weight{w("T1564.012", 65), w("T1562.001", 60)}},
	{any: []string{"firewall disabled", "disable firewall", "firewall turned off", "allprofiles state off"},
		techs: []weight{w("T1562.004", 70)}},
	{any: []string{"process hollowing", "hollowed process"}, techs: []weight{w("T1055.012", 85)}},
	{any: []string{"process injection", "code injection", "remote thread", "createremotethread",
		"injected thread"}, techs: []weight{w("T1055", 75)}},
	{any: []string{"dll injection", "reflective dll", "reflective loading"}, techs: []weight{w("T1055.001", 75)}},
	{any: []string{"html smuggling"}, techs: []weight{w("T1027.006", 85)}},
	{any: []string{"svg smuggling"}, techs: []weight{w("T1027.017", 85)}},
	{any: []string{"mark of the web bypass", "motw bypass"}, techs: []weight{w("T1553.005", 85)}},
	{any: []string{"obfuscated", "obfuscation"}, techs: []weight{w("T1027", 50)}},
	{any: []string{"double extension", "double file extension"}, techs: []weight{w("T1036.007", 80)}},
	{any: []string{"masquerading", "masquerade", "masquerades"}, techs: []weight{w("T1036", 60)}},

	// Discovery and reconnaissance.
	{any: []string{"port scan", "portscan", "port scanning", "port scanner", "port sweep", "ports scan",
		"address scan", "network scan", "network scanning", "syn scan", "tcp scan", "udp scan", "stealth scan",
		"ssh scan", "detection of a network scan", "service scan"}, techs: []weight{w("T1046", 80)}},
	{any: []string{"nmap", "masscan", "zmap", "unicornscan", "angry ip scanner", "advanced ip scanner"},
		techs: []weight{w("T1046", 75)}},
	{any: []string{"et scan"}, techs: []weight{w("T1046", 55), w("T1595", 50)}},
	{any: []string{"vulnerability scan", "vulnerability scanner", "vulnerability scanning", "nessus", "openvas",
		"nikto", "acunetix", "nuclei", "wpscan", "web scan", "web scanner", "multiple web server 400 error codes"},
		techs: []weight{w("T1595.002", 75)}},
	{any: []string{"dirbuster", "gobuster", "dirb", "ffuf", "wfuzz", "directory brute force", "directory bruteforce",
		"directory brute forcing", "forced browsing", "wordlist scan", "wordlist scanning"},
		techs: []weight{w("T1595.003", 80)}},
	{any: []string{"ping sweep", "icmp sweep", "arp scan", "arp sweep", "host discovery"}, techs: []weight{w("T1018", 70)}},
	{any: []string{"external ip lookup", "external ip address lookup", "external ip check",
		"retrieving external ip address", "external ip address", "whatismyip", "what is my ip", "ipify",
		"icanhazip", "ifconfig me", "checkip", "ip api com"}, techs: []weight{w("T1016.001", 70)}},
	{any: []string{"bloodhound", "sharphound", "adfind", "adexplorer", "powerview", "ldap reconnaissance",
		"ldap recon", "suspicious ldap", "ldap enumeration", "ad enumeration", "active directory enumeration"},
		techs: []weight{w("T1087.002", 75), w("T1069.002", 65)}},
	{any: []string{"ldap search", "ldapsearch", "ldap query", "ldap queries"}, techs: []weight{w("T1087.002", 30)}},
	{any: []string{"nltest", "domain trust", "domain trusts"}, techs: []weight{w("T1482", 70)}},
	{any: []string{"whoami"}, techs: []weight{w("T1033", 60)}},
	{any: []string{"systeminfo"}, techs: []weight{w("T1082", 50)}},

	// Lateral movement and remote services.
	{any: []string{"psexec", "psexesvc", "paexec", "remcom", "csexec", "smbexec"},
		techs: []weight{w("T1569.002", 80), w("T1021.002", 75)}},
	{any: []string{"admin share", "admin shares", "administrative share", "administrative shares", "smb lateral",
		"lateral movement over smb", "smb lateral movement", "crackmapexec", "netexec", "impacket"},
		techs: []weight{w("T1021.002", 70)}},
	{any: []string{"rdp", "remote desktop", "terminal services", "mstsc"}, techs: []weight{w("T1021.001", 55)}},
	{any: []string{"rdp hijacking", "rdp session hijacking", "tscon"}, techs: []weight{w("T1563.002", 80)}},
	{any: []string{"winrm", "windows remote management", "evil winrm", "evilwinrm", "psremoting", "enter pssession"},
		techs: []weight{w("T1021.006", 70)}},
	{any: []string{"eternalblue", "eternal blue", "ms17 010", "doublepulsar", "smbghost", "cve 2020 0796", "bluekeep",
		"cve 2019 0708", "zerologon", "cve 2020 1472", "printnightmare", "cve 2021 34527"},
		techs: []weight{w("T1210", 80)}},

	// Command and control.
	{any: c2Words, techs: []weight{w("T1071", 70)}},
	{any: c2Words, with: []string{"http", "https", "web", "url", "uri", "user agent", "http post", "http get"},
		techs: []weight{w("T1071.001", 65)}},
	{any: []string{"http c2", "https c2", "c2 over http", "c2 over https", "http beacon", "https beacon",
		"http cnc", "cnc http", "web c2"}, techs: []weight{w("T1071.001", 80)}},
	{any: []string{"dns c2", "c2 over dns", "dns cnc", "cnc over dns", "dns beacon", "dns beaconing", "dnscat",
		"dnscat2", "dns2tcp", "dns covert channel"}, techs: []weight{w("T1071.004", 80)}},
	{any: []string{"dns tunnel", "dns tunneling", "dns tunnelling", "dns tunneled", "dns tunnelled", "dns tunnels"},
		techs: []weight{w("T1071.004", 80), w("T1572", 55)}},
	{any: []string{"iodine"}, with: []string{"dns", "tunnel", "tunneling", "tunnelling"}, techs: []weight{w("T1071.004", 70)}},
	{any: c2Words, with: []string{"tls", "ssl", "https", "encrypted", "certificate", "cert", "ja3", "ja3s", "jarm"},
		techs: []weight{w("T1573", 60)}},
	{any: []string{"encrypted c2", "encrypted channel", "ssl c2", "tls c2", "encrypted cnc", "c2 over tls",
		"c2 over ssl"}, techs: []weight{w("T1573", 80)}},
	{any: []string{"self signed certificate", "self signed cert", "selfsigned certificate"},
		techs: []weight{w("T1573.002", 30)}},
	{any: []string{"ja3", "ja3s", "jarm", "sslbl", "ssl blacklist", "ssl blocklist", "malicious ssl certificate",
		"malicious tls certificate", "malicious certificate"}, techs: []weight{w("T1573.002", 60)}},
	{any: []string{"cobalt strike", "cobaltstrike"}, techs: []weight{w("T1071.001", 70), w("T1071", 65)}},
	{any: []string{"meterpreter", "remote access trojan", "botnet"}, techs: []weight{w("T1071", 55)}},
	{any: []string{"network trojan was detected", "et trojan", "et malware", "et cnc", "trojan activity"},
		techs: []weight{w("T1071", 45)}},
	{any: []string{"tor", "tor exit", "tor exit node", "tor relay", "tor node", "tor browser", "tor network",
		"tor traffic", "tor hidden service", "et tor"}, techs: []weight{w("T1090.003", 80)}},
	{any: []string{"onion", "tor2web"}, techs: []weight{w("T1090.003", 70)}},
	{any: []string{"domain fronting"}, techs: []weight{w("T1090.004", 85)}},
	{any: []string{"dga", "domain generation algorithm", "domain generation algorithms"}, techs: []weight{w("T1568.002", 85)}},
	{any: []string{"fast flux", "fastflux"}, techs: []weight{w("T1568.001", 85)}},
	{any: []string{"dynamic dns", "ddns", "dyndns"}, techs: []weight{w("T1568", 45)}},
	{any: []string{"non standard port", "nonstandard port", "unusual port", "client was using an unusual port"},
		techs: []weight{w("T1571", 55)}},
	{any: []string{"ssh tunnel", "ssh tunneling", "icmp tunnel", "icmp tunneling", "protocol tunneling", "ngrok"},
		techs: []weight{w("T1572", 70)}},
	{any: []string{"anydesk", "teamviewer", "screenconnect", "splashtop", "rustdesk", "atera", "remote access tool",
		"remote access software", "remote monitoring and management"}, techs: []weight{w("T1219", 55)}},
	{any: []string{"pastebin", "paste site", "ghostbin", "telegram api", "telegram bot"}, techs: []weight{w("T1102", 45)}},
	{any: []string{"malware hash registry", "malware download", "malware downloaded", "malicious file download",
		"exe download", "dll download", "executable download", "windows file download", "pe exe or dll",
		"ingress tool transfer"}, techs: []weight{w("T1105", 55)}},

	// Initial access.
	{any: []string{"phishing", "phish", "phished", "spearphishing", "spear phishing", "phishing email",
		"phishing campaign"}, techs: []weight{w("T1566", 60)}},
	{any: []string{"phishing attachment", "malicious attachment", "spearphishing attachment",
		"spear phishing attachment", "weaponized attachment", "malicious email attachment"},
		techs: []weight{w("T1566.001", 85)}},
	{any: []string{"phishing", "phish", "spearphishing", "spear phishing"},
		with:  []string{"attachment", "attachments", "attached", "attached file", "email attachment"},
		techs: []weight{w("T1566.001", 75)}},
	{any: []string{"malicious file", "malware file", "malicious attachment"}, with: emailWords,
		techs: []weight{w("T1566.001", 80)}},
	{any: []string{"phishing link", "phishing links", "phishing url", "phishing urls", "spearphishing link",
		"spear phishing link", "malicious url click", "phishing site", "phishing page", "phishing landing",
		"phishing domain", "credential phish", "credential phishing", "credential harvesting"},
		techs: []weight{w("T1566.002", 80)}},
	{any: []string{"phishing", "phish", "spearphishing", "spear phishing"},
		with:  []string{"link", "links", "url", "urls", "click", "clicked", "landing page", "website"},
		techs: []weight{w("T1566.002", 75)}},
	{any: []string{"malicious url", "malicious urls", "malicious link", "malicious links"}, with: emailWords,
		techs: []weight{w("T1566.002", 80)}},
	{any: []string{"malicious url", "malicious urls", "malicious link", "malicious links", "malicious url click"},
		techs: []weight{w("T1566.002", 55), w("T1204.001", 50)}},
	{any: []string{"credential harvesting", "credential phish", "credential phishing", "credential theft"},
		unless: []string{"credential theft tool"}, techs: []weight{w("T1598.003", 50)}},
	{any: []string{"credential theft"}, unless: []string{"credential theft tool"}, techs: []weight{w("T1566.002", 50)}},
	{any: []string{"vishing", "voice phishing", "callback phishing"}, techs: []weight{w("T1566.004", 80)}},
	{any: []string{"teams phishing", "phishing via teams", "linkedin phishing"}, techs: []weight{w("T1566.003", 70)}},
	{any: []string{"social engineering"}, techs: []weight{w("T1566", 40), w("T1204", 35)}},
	{any: []string{"exploit kit", "exploit kits", "drive by", "driveby", "drive by download", "watering hole"},
		techs: []weight{w("T1189", 80)}},
	{any: []string{"sql injection", "sqli", "sqlmap", "command injection", "remote code execution", "rce",
		"path traversal", "directory traversal", "local file inclusion", "remote file inclusion", "lfi", "rfi",
		"log4j", "log4shell", "cve 2021 44228", "shellshock", "struts", "deserialization", "ssrf",
		"web application attack", "web attack", "heartbleed", "heartbeat attack"},
		techs: []weight{w("T1190", 70)}},
	{any: []string{"xss", "cross site scripting"}, techs: []weight{w("T1190", 50)}},
	{any: []string{"et web server", "et web specific apps", "et exploit", "administrator privilege gain",
		"user privilege gain"}, techs: []weight{w("T1190", 45)}},
	{any: []string{"supply chain", "supply chain compromise"}, techs: []weight{w("T1195", 60)}},
	{any: []string{"removable media", "usb drive", "autorun inf"}, techs: []weight{w("T1091", 45)}},

	// Collection and cloud identity (Microsoft 365).
	{any: []string{"new inbox rule", "inbox rule", "inboxrule", "new inboxrule", "mailbox rule", "forwarding rule",
		"mail forwarding", "email forwarding", "auto forward", "autoforward", "auto forwarding", "external forwarding",
		"forwardingsmtpaddress"}, techs: []weight{w("T1114.003", 75)}},
	{any: []string{"inbox manipulation", "inbox manipulation rule", "hide emails", "email hiding rule",
		"move to rss", "delete messages rule"}, techs: []weight{w("T1564.008", 70)}},
	{any: []string{"mailitemsaccessed", "mail items accessed"}, techs: []weight{w("T1114.002", 35)}},
	{any: []string{"add delegated permission grant", "delegated permission grant", "consent to application",
		"oauth consent", "illicit consent", "app consent", "application consent", "oauth2permissiongrant"},
		techs: []weight{w("T1528", 55), w("T1098.003", 45)}},
	{any: []string{"add service principal credentials", "add service principal credential",
		"update application certificates and secrets", "new client secret", "application credential added"},
		techs: []weight{w("T1098.001", 75)}},
	{any: []string{"add member to role", "add app role assignment", "global administrator added",
		"added to global admin", "role assignment"}, techs: []weight{w("T1098.003", 55)}},

	// Exfiltration.
	{any: []string{"exfiltration", "exfil", "exfiltrated", "exfiltrating", "data exfiltration", "data theft"},
		techs: []weight{w("T1041", 55), w("T1048", 50)}},
	{any: []string{"exfiltration over c2", "exfil over c2", "c2 exfiltration", "exfiltration over command and control"},
		techs: []weight{w("T1041", 85)}},
	{any: []string{"dns exfiltration", "exfiltration over dns", "exfil over dns", "dns exfil"},
		techs: []weight{w("T1048.003", 75), w("T1071.004", 70)}},
	{any: []string{"ftp exfiltration", "exfiltration over ftp", "exfil over ftp", "icmp exfiltration",
		"smtp exfiltration", "exfiltration over smtp", "exfiltration over alternative protocol"},
		techs: []weight{w("T1048.003", 75)}},
	{any: []string{"large upload", "large outbound transfer", "unusual outbound data", "large data transfer",
		"unusual data transfer", "data transfer to external"}, techs: []weight{w("T1048", 45)}},
	{any: []string{"rclone", "megasync", "mega nz", "mega upload", "exfiltration to cloud storage",
		"upload to cloud storage"}, techs: []weight{w("T1567.002", 75)}},
	{any: []string{"discord webhook", "slack webhook", "exfiltration over webhook"}, techs: []weight{w("T1567.004", 70)}},

	// Impact.
	{any: []string{"ransomware", "ransom", "ransom note", "ransomnote", "ransom demand", "files encrypted",
		"encrypted files", "mass file encryption", "mass encryption", "lockbit", "ryuk", "wannacry", "wanna cry",
		"sodinokibi", "revil", "blackcat", "alphv", "blackbasta", "black basta", "cl0p", "notpetya"},
		techs: []weight{w("T1486", 85)}},
	{any: []string{"delete shadows", "shadow copy deletion", "shadow copies deleted", "shadow copy deleted",
		"delete shadowcopy", "shadowcopy delete", "vssadmin delete", "resize shadowstorage", "wbadmin delete",
		"delete catalog", "recoveryenabled no", "inhibit recovery"}, techs: []weight{w("T1490", 85)}},
	{any: []string{"disk wipe", "disk wiper", "mbr wipe", "mbr overwrite", "mbr wiper"}, techs: []weight{w("T1561", 75)}},
	{any: []string{"wiper", "wiper malware"}, techs: []weight{w("T1485", 60)}},
	{any: []string{"defacement", "defaced", "website defaced"}, techs: []weight{w("T1491", 75)}},
	{any: []string{"cryptomining", "crypto mining", "cryptominer", "crypto miner", "cryptojacking", "coin miner",
		"coinminer", "coin mining", "coinmining", "xmrig", "monero mining", "mining pool", "stratum mining",
		"stratum protocol", "cryptonight", "coinhive", "nicehash", "minergate", "cryptocurrency mining",
		"crypto currency mining", "et coinminer"}, techs: []weight{w("T1496.001", 85), w("T1496", 80)}},
	{any: []string{"ddos", "denial of service", "dos attack", "syn flood", "udp flood", "http flood", "flood attack"},
		techs: []weight{w("T1498", 60), w("T1499", 50)}},
	{any: []string{"amplification attack", "reflection attack", "ntp amplification", "dns amplification",
		"memcached amplification", "ssdp amplification"}, techs: []weight{w("T1498.002", 75)}},
}
