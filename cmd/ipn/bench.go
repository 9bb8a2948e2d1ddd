package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// benchProgram is the command that holds the benchmark. It is a program of
// its own so that ipn links none of its plotting and baseline libraries.
const benchProgram = "ipn-bench"

// errNoBench says that ipn bench found no benchmark program to run.
var errNoBench = errors.New("ipn bench runs the " + benchProgram + " command, and there is none beside ipn or on PATH: " +
	"install it (go install github.com/ipn-project/ipn/cmd/" + benchProgram + "@latest), " +
	"or run it from a checkout (go run ./cmd/" + benchProgram + " --quick)")

func benchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "bench [flags]",
		Short: "Measure ipn against kernel sockets, ZeroMQ, vde_switch and a bare shared-memory ring, side by side",
		Long: `bench runs the benchmark, the ` + benchProgram + ` command (found beside ipn, else on
PATH), with the same flags: --quick for a smoke run, --json, --out FILE, and
--net for the network paths between namespaces. "ipn bench --help" shows them
all. The benchmark is a command of its own so that ipn links none of its
plotting and baseline libraries.`,
		DisableFlagParsing: true, // every flag is the benchmark's
		RunE: runE(func(_ *cobra.Command, args []string) error {
			bin, err := findBench()
			if err != nil {
				return err
			}
			return execBench(bin, args)
		}),
	}
}

// findBench looks for the benchmark program beside this one, then on PATH.
func findBench() (string, error) {
	if self, err := os.Executable(); err == nil {
		if cand := filepath.Join(filepath.Dir(self), benchProgram); isFile(cand) {
			return cand, nil
		}
	}
	bin, err := exec.LookPath(benchProgram)
	if err != nil {
		return "", fmt.Errorf("%w (%w)", errNoBench, err)
	}
	return bin, nil
}

// execBench replaces this process with the benchmark program, so that its
// standard input, output and error, its signals and its exit status are
// the user's as if they had run it. The --net run drives this ipn command,
// which it is told of first (a later --ipn of the user's wins).
func execBench(bin string, args []string) error {
	argv := []string{benchProgram}
	if self, err := os.Executable(); err == nil {
		argv = append(argv, "--ipn", self)
	}
	argv = append(argv, args...)
	if err := syscall.Exec(bin, argv, os.Environ()); err != nil {
		return fmt.Errorf("run %s: %w", bin, err)
	}
	return nil // not reached: on success Exec does not return
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
