// Command ipn-bench runs ipn's benchmark: ipn beside kernel sockets,
// ZeroMQ, vde_switch and a bare shared-memory ring, and with --net the
// network paths between namespaces. It is a command of its own so that the
// ipn command links none of the plotting and baseline libraries; "ipn bench"
// runs it, with the same flags.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn/bench"
	"github.com/ipn-project/ipn/bench/matrix"
	"github.com/ipn-project/ipn/bench/netpath"
	"github.com/ipn-project/ipn/bench/report"
)

func main() {
	if code, was := benchChild(); was { // a process the benchmark started
		os.Exit(code)
	}
	if err := benchCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ipn-bench:", err)
		os.Exit(1)
	}
}

// benchChild runs this process as a benchmark child when the harness
// started it so; it reports whether it did.
func benchChild() (code int, was bool) {
	switch {
	case bench.IsChild():
		return bench.RunChild(), true
	case bench.IsPairChild():
		return bench.RunPairChild(), true
	}
	return 0, false
}

func benchCmd() *cobra.Command {
	var quick, asJSON, netPaths bool
	var out, ipnBin string
	cmd := &cobra.Command{
		Use:   "ipn-bench",
		Short: "Measure ipn against kernel sockets, ZeroMQ, vde_switch and a bare shared-memory ring, side by side",
		Long: `bench runs the benchmark matrix of package bench on this machine, in one run:
one sender process to 1, 2 and 4 receiver processes at 64 B, 1500 B and 64 KiB
through ipn (bare and through its public API), AF_UNIX SOCK_SEQPACKET and
SOCK_DGRAM, ZeroMQ XPUB/SUB over ipc:// (libzmq, loaded at run time), and a
bare spinning shared-memory ring; the same fan-out lossy, the sender never
waiting, through ipn, SOCK_DGRAM, ZeroMQ PUB and vde_switch in hub mode;
64 B ping-pong; the cost of each dispatch policy; and unicast between process
pairs on a switch. Every run is checked (lossless: nothing lost, nothing
reordered, every byte's CRC-32C right; lossy: what arrived is intact, in order,
never twice): a failed check is an error, never a figure. A baseline whose
program or library is missing is reported as skipped, with the reason.
Figures are medians of several rounds, and ratios are taken round by round.

Progress goes to standard error, the tables (Markdown, or --json) to standard
output; --out also writes them to a file and, for Markdown, the plot beside it
(RESULTS.md gets results.svg). It takes a few minutes; --quick takes about a
minute, for a smoke test.

With --net (as root, with iperf3, ping and vde_switch) it runs instead the
network-path comparison: an iperf3 TCP test and pings between two network
namespaces through an ipn switch with TAP nodes, a Linux bridge with veth
pairs and vde_switch with TAP ports, round by round; --out writes its
section into a Markdown file, leaving the rest of the file alone; it drives
the ipn command given by --ipn (by default the one beside this program, else
the one on PATH).

"ipn bench" runs this command with the same flags.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true, // main prints them
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if netPaths {
				return benchNetPaths(ctx, cmd, ipnBin, quick, asJSON, out)
			}
			m, err := matrix.RunMatrix(ctx, matrix.MatrixOptions{Quick: quick, Seed: 1, Progress: os.Stderr})
			if err != nil {
				return err
			}
			var b strings.Builder
			switch {
			case asJSON:
				js, err := json.MarshalIndent(m, "", "\t")
				if err != nil {
					return err
				}
				b.Write(append(js, '\n'))
				if out != "" {
					if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
						return err
					}
				}
			case out != "":
				md, err := report.WriteResults(m, out)
				if err != nil {
					return err
				}
				b.Write(md)
			default:
				if err := report.Markdown(&b, m); err != nil {
					return err
				}
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), b.String())
			return err
		},
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "a short smoke run: 1 round, small counts")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of Markdown")
	cmd.Flags().StringVar(&out, "out", "", "also write the output to this file (Markdown: and the plot beside it, as .svg)")
	cmd.Flags().BoolVar(&netPaths, "net", false, "compare network paths between namespaces instead (root)")
	cmd.Flags().StringVar(&ipnBin, "ipn", "", "with --net: the ipn command to drive (default: beside this program, else on PATH)")
	return cmd
}

// benchNetPaths is ipn bench --net.
func benchNetPaths(ctx context.Context, cmd *cobra.Command, ipnBin string, quick, asJSON bool, out string) error {
	if err := netpath.NetPathsReady(); err != nil {
		return fmt.Errorf("bench --net %w", err)
	}
	self, err := findIPN(ipnBin)
	if err != nil {
		return err
	}
	o := netpath.NetPathOptions{Progress: os.Stderr}
	if quick {
		o.Rounds, o.Duration, o.Pings = 1, time.Second, 10
	}
	res, err := netpath.RunNetPaths(ctx, netpath.NetPaths(self), o)
	if err != nil {
		return err
	}
	if err := netpath.CrossHostReady(); err != nil {
		fmt.Fprintf(os.Stderr, "ipn bench --net: the cross-host paths did not run: %v\n", err)
	} else if res.CrossHost, err = netpath.RunNetPaths(ctx, netpath.CrossHostPaths(self), o); err != nil {
		return fmt.Errorf("cross-host paths: %w", err)
	}
	var b []byte
	switch {
	case asJSON:
		if b, err = json.MarshalIndent(res, "", "\t"); err != nil {
			return err
		}
		b = append(b, '\n')
		if out != "" {
			err = os.WriteFile(out, b, 0o644)
		}
	case out != "":
		b, err = report.WriteNetResults(res, out)
	default:
		var md strings.Builder
		err = report.NetMarkdown(&md, res)
		b = []byte(md.String())
	}
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(b)
	return err
}

// findIPN is the ipn command --net drives: bin when given, else the one
// beside this program, else the one on PATH.
func findIPN(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	if self, err := os.Executable(); err == nil {
		cand := filepath.Join(filepath.Dir(self), "ipn")
		if st, err := os.Stat(cand); err == nil && !st.IsDir() {
			return cand, nil
		}
	}
	bin, err := exec.LookPath("ipn")
	if err != nil {
		return "", fmt.Errorf("bench --net drives the ipn command, and there is none beside this program or on PATH: name it with --ipn, or install it (go install github.com/ipn-project/ipn/cmd/ipn@latest): %w", err)
	}
	return bin, nil
}
