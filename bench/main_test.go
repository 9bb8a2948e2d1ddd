package bench

import (
	"os"
	"testing"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
)

// TestMain turns the re-executed test binary into a child process when the
// harness asks for one, and runs the tests otherwise.
func TestMain(m *testing.M) {
	if IsChild() {
		os.Exit(RunChild())
	}
	if matrix.IsPairChild() {
		os.Exit(matrix.RunPairChild())
	}
	// The coordinator of ipn-api runs for the whole test binary: start it
	// before any test counts goroutines and files.
	if _, err := harness.CoordinatorSocket(); err != nil {
		panic(err)
	}
	code := m.Run()
	harness.StopCoordinator()
	os.Exit(code)
}
