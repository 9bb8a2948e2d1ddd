package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		bi   debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/ipn-project/ipn", Version: "v1.2.0"}},
			"v1.2.0 (go1.26.8)"},
		{debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"}}},
			"(devel) (commit 0123456789ab, modified, 2026-12-01T10:00:00Z, go1.26.8)"},
		{debug.BuildInfo{}, "(devel)"},
	} {
		if got := fromBuildInfo(&tc.bi).String(); got != tc.want {
			t.Errorf("String of %+v: got %q, want %q", tc.bi, got, tc.want)
		}
	}
}

// TestRead reads the test binary's own build information: the toolchain
// records at least its Go version.
func TestRead(t *testing.T) {
	in := Read()
	if !strings.HasPrefix(in.GoVersion, "go") {
		t.Errorf("Read: Go version %q, want go…", in.GoVersion)
	}
}
