// Package buildinfo says which build of ipn a program is, from the
// information the Go toolchain records in every binary
// (runtime/debug.ReadBuildInfo): the module's version, as go install
// module@version stamps it, and the version-control commit it was built
// from, as go build stamps it in a checkout.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info is what a binary knows of its own build.
type Info struct {
	Module    string // module path of the main package
	Version   string // module version, or "(devel)" for a build in a checkout
	Commit    string // version-control revision; empty when not recorded
	Time      string // commit time, RFC 3339; empty when not recorded
	Modified  bool   // the work tree had changes not committed
	GoVersion string // the toolchain that built it
}

// Read returns the running binary's build information. A binary built
// without module support reports only its Go version.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Module: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String says the build in one line, as "--version" prints it after the
// program's name: "v1.2.0 (commit 0123abcd4567, 2026-12-01T10:00:00Z, go1.26.8)".
func (in Info) String() string {
	var extra []string
	if in.Commit != "" {
		c := in.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if in.Modified {
			c += ", modified"
		}
		extra = append(extra, "commit "+c)
	}
	if in.Time != "" {
		extra = append(extra, in.Time)
	}
	if in.GoVersion != "" {
		extra = append(extra, in.GoVersion)
	}
	if len(extra) == 0 {
		return in.Version
	}
	return fmt.Sprintf("%s (%s)", in.Version, strings.Join(extra, ", "))
}
