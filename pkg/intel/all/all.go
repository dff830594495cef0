// Package all registers every built-in threat-intel provider. A new
// provider is one package plus one import line here.
package all

import (
	_ "github.com/verdict-dev/verdict/pkg/intel/abuseipdb"  // registers "abuseipdb"
	_ "github.com/verdict-dev/verdict/pkg/intel/greynoise"  // registers "greynoise"
	_ "github.com/verdict-dev/verdict/pkg/intel/internetdb" // registers "internetdb"
	_ "github.com/verdict-dev/verdict/pkg/intel/rdap"       // registers "rdap"
	_ "github.com/verdict-dev/verdict/pkg/intel/threatfox"  // registers "threatfox"
	_ "github.com/verdict-dev/verdict/pkg/intel/urlhaus"    // registers "urlhaus"
	_ "github.com/verdict-dev/verdict/pkg/intel/virustotal" // registers "virustotal"
)
