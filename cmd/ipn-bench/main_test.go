package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ipn-project/ipn/bench/harness"
)

// TestMain lets the test binary stand in for ipn-bench when the benchmark
// re-executes it as a child.
func TestMain(m *testing.M) {
	if code, was := benchChild(); was {
		os.Exit(code)
	}
	code := m.Run()
	harness.StopCoordinator()
	os.Exit(code)
}

// TestBenchQuick runs the smoke matrix as "ipn bench --quick --json" does:
// every run's check must pass, and the JSON must hold every cell.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the benchmark smoke matrix")
	}
	cmd := benchCmd()
	var out strings.Builder
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--quick", "--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("ipn-bench --quick --json: %v", err)
	}
	var m struct {
		Fanout []struct {
			Receivers int `json:"receivers"`
			Payload   int `json:"payload"`
		} `json:"fanout"`
	}
	if err := json.Unmarshal([]byte(out.String()), &m); err != nil {
		t.Fatalf("ipn-bench --json: %v\n%s", err, out.String())
	}
	if len(m.Fanout) != 9 {
		t.Errorf("%d fan-out cells, want 9 (1, 2, 4 receivers × 3 payloads)", len(m.Fanout))
	}
}

// TestFindIPN: --ipn names the ipn command --net drives; without it, the
// one on PATH, and none at all is an error that says what to do.
func TestFindIPN(t *testing.T) {
	if got, err := findIPN("/opt/ipn"); err != nil || got != "/opt/ipn" {
		t.Errorf("findIPN(/opt/ipn) = %q, %v", got, err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := findIPN(""); err == nil || !strings.Contains(err.Error(), "--ipn") {
		t.Errorf("findIPN with no ipn anywhere: %v; want an error naming --ipn", err)
	}
}
