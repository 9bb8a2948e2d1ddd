package bench

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipn-project/ipn/bench/netpath"
	"github.com/ipn-project/ipn/bench/report"
)

var (
	netResultsPath = flag.String("netresults", "", "TestWriteNetResults: run the network-path benchmark and write its section of this Markdown file (a relative path is in bench/)")
	netResultsJSON = flag.String("netresults-json", "", "TestWriteNetResults: also write the figures as JSON to this file")
	netRounds      = flag.Int("netrounds", 3, "TestWriteNetResults: rounds of every path")
)

// needNetPaths skips a test unless it runs as root with the programs the
// network paths use, and returns them built or found.
func needNetPaths(t *testing.T) []netpath.NetPath {
	t.Helper()
	if err := netpath.NetPathsReady(); err != nil {
		t.Skip(err, "(.ci/run installs the programs)")
	}
	bin, err := netpath.BuildIPN(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return netpath.NetPaths(bin)
}

// TestNetPathsCarryTraffic runs every network path once, briefly: each
// carries an iperf3 transfer and answers every ping. It checks the
// benchmark, not speed.
func TestNetPathsCarryTraffic(t *testing.T) {
	paths := needNetPaths(t)
	res, err := netpath.RunNetPaths(t.Context(), paths, netpath.NetPathOptions{Rounds: 1, Duration: time.Second, Pings: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := netpath.CrossHostReady(); err != nil {
		t.Logf("the cross-host paths do not run: %v", err)
	} else if res.CrossHost, err = netpath.RunNetPaths(t.Context(), netpath.CrossHostPaths(paths[0].(netpath.IPNSwitch).Bin), netpath.NetPathOptions{Rounds: 1, Duration: time.Second, Pings: 5}); err != nil {
		t.Fatalf("cross-host paths: %v", err)
	}
	for _, r := range []*netpath.NetResults{res, res.CrossHost} {
		if r == nil {
			continue
		}
		for _, s := range r.Series {
			if len(s.Runs) != 1 || s.Runs[0].Bps <= 0 || s.Runs[0].RTT <= 0 {
				t.Errorf("%s: got runs %+v, want one with throughput and a round trip", s.Path, s.Runs)
			}
		}
	}
	var md bytes.Buffer
	if err := report.NetMarkdown(&md, res); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(md.String(), report.NetSectionBegin) || !strings.HasSuffix(md.String(), report.NetSectionEnd) {
		t.Errorf("the section is not between its markers:\n%s", md.String())
	}
}

// TestWriteNetResults runs the network-path benchmark (RunNetPaths) and
// writes its section of RESULTS.md, leaving the rest of the file as it is.
// It runs only when asked for with -netresults; see NetResultsCommand.
func TestWriteNetResults(t *testing.T) {
	if *netResultsPath == "" {
		t.Skipf("runs the network-path benchmark only when asked: %s", report.NetResultsCommand)
	}
	paths := needNetPaths(t)
	o := netpath.NetPathOptions{Rounds: *netRounds, Progress: os.Stdout}
	res, err := netpath.RunNetPaths(t.Context(), paths, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := netpath.CrossHostReady(); err != nil {
		t.Logf("the cross-host paths do not run: %v", err)
	} else if res.CrossHost, err = netpath.RunNetPaths(t.Context(), netpath.CrossHostPaths(paths[0].(netpath.IPNSwitch).Bin), o); err != nil {
		t.Fatalf("cross-host paths: %v", err)
	}
	md, err := report.WriteNetResults(res, *netResultsPath)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.Write(md)
	if *netResultsJSON != "" {
		js, err := json.MarshalIndent(res, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*netResultsJSON, append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWithSection(t *testing.T) {
	sec := report.NetSectionBegin + "\nnew\n" + report.NetSectionEnd
	for _, c := range []struct{ doc, want string }{
		{"", sec + "\n"},
		{"# Results\n\nmatrix\n", "# Results\n\nmatrix\n\n" + sec + "\n"},
		{"a\n" + report.NetSectionBegin + "\nold\n" + report.NetSectionEnd + "\nb\n", "a\n" + sec + "\nb\n"},
	} {
		if got := string(report.WithSection([]byte(c.doc), sec)); got != c.want {
			t.Errorf("withSection(%q): got %q, want %q", c.doc, got, c.want)
		}
		if got := report.SectionOf(report.WithSection([]byte(c.doc), sec)); got != sec {
			t.Errorf("sectionOf after withSection(%q): got %q, want %q", c.doc, got, sec)
		}
	}
}
