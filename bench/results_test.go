package bench

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/report"
)

var (
	resultsPath  = flag.String("results", "", "TestWriteResults: run the benchmark matrix and write it as Markdown to this file (a relative path is in bench/)")
	resultsJSON  = flag.String("results-json", "", "TestWriteResults: also write the matrix as JSON to this file")
	resultsQuick = flag.Bool("quick", false, "TestWriteResults: a small matrix (1 round, small counts), to smoke-test the harness")
)

// TestWriteResults runs the whole benchmark matrix (RunMatrix) and writes
// RESULTS.md, with the plot results.svg beside it. It takes long and wants a quiet machine, so it only runs when
// asked for with -results; see ResultsCommand.
func TestWriteResults(t *testing.T) {
	if *resultsPath == "" {
		t.Skipf("runs the benchmark matrix only when asked: %s (add -quick for a smoke run)", report.ResultsCommand)
	}
	m, err := matrix.RunMatrix(t.Context(), matrix.MatrixOptions{Quick: *resultsQuick, Seed: 1, Progress: os.Stdout})
	if err != nil {
		t.Fatal(err)
	}
	md, err := report.WriteResults(m, *resultsPath) // and the plot beside it
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.Write(md)
	if *resultsJSON != "" {
		js, err := json.MarshalIndent(m, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*resultsJSON, append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
