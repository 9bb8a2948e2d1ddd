package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn/bench"
)

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
	var out string
	cmd := &cobra.Command{
		Use:   "bench",
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
section into a Markdown file, leaving the rest of the file alone.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if netPaths {
				return benchNetPaths(ctx, cmd, quick, asJSON, out)
			}
			m, err := bench.RunMatrix(ctx, bench.MatrixOptions{Quick: quick, Seed: 1, Progress: os.Stderr})
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
				md, err := bench.WriteResults(m, out)
				if err != nil {
					return err
				}
				b.Write(md)
			default:
				if err := m.WriteMarkdown(&b); err != nil {
					return err
				}
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), b.String())
			return err
		}),
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "a short smoke run: 1 round, small counts")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of Markdown")
	cmd.Flags().StringVar(&out, "out", "", "also write the output to this file (Markdown: and the plot beside it, as .svg)")
	cmd.Flags().BoolVar(&netPaths, "net", false, "compare network paths between namespaces instead (root)")
	return cmd
}

// benchNetPaths is ipn bench --net.
func benchNetPaths(ctx context.Context, cmd *cobra.Command, quick, asJSON bool, out string) error {
	if err := bench.NetPathsReady(); err != nil {
		return fmt.Errorf("bench --net %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	o := bench.NetPathOptions{Progress: os.Stderr}
	if quick {
		o.Rounds, o.Duration, o.Pings = 1, time.Second, 10
	}
	res, err := bench.RunNetPaths(ctx, bench.NetPaths(self), o)
	if err != nil {
		return err
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
		b, err = bench.WriteNetResults(res, out)
	default:
		var md strings.Builder
		err = res.WriteMarkdown(&md)
		b = []byte(md.String())
	}
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(b)
	return err
}
