package bench

import (
	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/transport"
)

// IsChild reports whether the benchmark started this process as a child of
// a fan-out or ping-pong run.
func IsChild() bool { return harness.IsChild() }

// RunChild plays the role the environment names, with the transports and
// pairs of the matrix, and returns the process exit code. A TestMain, or
// the main of a command that runs the benchmark, calls it when IsChild:
//
//	func TestMain(m *testing.M) {
//		if bench.IsChild() {
//			os.Exit(bench.RunChild())
//		}
//		os.Exit(m.Run())
//	}
func RunChild() int { return harness.RunChild(transport.All(), transport.Pairs()) }

// IsPairChild reports whether the benchmark started this process as one
// side of a process pair on a switch (MeasurePairs).
func IsPairChild() bool { return matrix.IsPairChild() }

// RunPairChild plays a pair child's role and returns the exit code.
func RunPairChild() int { return matrix.RunPairChild() }
