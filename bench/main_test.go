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
	os.Exit(m.Run())
}
