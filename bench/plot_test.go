package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/report"
)

// TestWriteResultsWritesPlot checks that WriteResults writes the Markdown
// and an SVG plot beside it, with a panel per payload and a legend entry
// per transport that ran, and that the Markdown links the plot.
func TestWriteResultsWritesPlot(t *testing.T) {
	m := syntheticMatrix()
	m.Fanout = append(m.Fanout, matrix.FanoutCell{Receivers: 4, Payload: 1500, Messages: 1000, Series: []matrix.FanoutSeries{
		{Transport: "seqpacket", Runs: []matrix.FanoutRun{{MsgsPerSec: 10e3}}},
		{Transport: "ipn", Status: harness.StatusSkipped, Reason: "test"},
	}})
	m.Summarize()
	md := filepath.Join(t.TempDir(), "RESULTS.md")
	got, err := report.WriteResults(m, md)
	if err != nil {
		t.Fatal(err)
	}
	if want := "](results.svg)"; !strings.Contains(string(got), want) {
		t.Errorf("markdown lacks the link %q", want)
	}
	onDisk, err := os.ReadFile(md)
	if err != nil || string(onDisk) != string(got) {
		t.Errorf("RESULTS.md on disk differs from what WriteResults returned (err %v)", err)
	}
	svg, err := os.ReadFile(filepath.Join(filepath.Dir(md), "results.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "1500 B", "seqpacket", "ipn", "receivers", "msgs/s per receiver"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("plot lacks %q", want)
		}
	}
}
