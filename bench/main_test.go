package bench

import (
	"os"
	"testing"
)

// TestMain turns the re-executed test binary into a child process when the
// harness asks for one, and runs the tests otherwise.
func TestMain(m *testing.M) {
	if IsChild() {
		os.Exit(RunChild())
	}
	if isPairChild() {
		os.Exit(runPairChild())
	}
	// The coordinator of ipn-api runs for the whole test binary: start it
	// before any test counts goroutines and files.
	if _, err := coordinatorSocket(); err != nil {
		panic(err)
	}
	code := m.Run()
	StopCoordinator()
	os.Exit(code)
}
