package bench

// IsChild reports whether the benchmark started this process as a child of
// a fan-out or ping-pong run.
func IsChild() bool { return isChild() }

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
func RunChild() int { return runChild(All(), Pairs()) }

// IsPairChild reports whether the benchmark started this process as one
// side of a process pair on a switch (MeasurePairs).
func IsPairChild() bool { return isPairChild() }

// RunPairChild plays a pair child's role and returns the exit code.
func RunPairChild() int { return runPairChild() }
