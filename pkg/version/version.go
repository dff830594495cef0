// Package version holds the build identity, stamped by the linker
// (-X github.com/verdict-dev/verdict/pkg/version.Version=...).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by ldflags in release builds (Makefile, .goreleaser.yaml).
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// Info returns the version, commit and build date. For `go install` builds
// without ldflags it falls back to what the Go toolchain recorded.
func Info() (version, commit, date string) {
	version, commit, date = Version, Commit, Date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.time":
				if date == "" {
					date = s.Value
				}
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return version, commit, date
}

// String is the one-line form printed by `verdict version`.
func String() string {
	v, c, d := Info()
	return fmt.Sprintf("verdict %s (commit %s, built %s, %s %s/%s)", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
