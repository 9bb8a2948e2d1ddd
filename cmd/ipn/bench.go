package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"ipn/bench"
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
	var quick, asJSON bool
	var out string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure ipn against kernel sockets and a bare shared-memory ring, side by side",
		Long: `bench runs the benchmark matrix of package bench on this machine, in one run:
one sender process to 1, 2 and 4 receiver processes at 64 B, 1500 B and 64 KiB
through ipn (bare and through its public API), AF_UNIX SOCK_SEQPACKET and
SOCK_DGRAM, and a bare spinning shared-memory ring; 64 B ping-pong; the cost
of each dispatch policy; and unicast between process pairs on a switch. Every
run is checked (nothing lost, nothing reordered, every byte's CRC-32C right):
a failed check is an error, never a figure. Figures are medians of several
rounds, and ratios are taken round by round.

Progress goes to standard error, the tables (Markdown, or --json) to standard
output. It takes a few minutes; --quick takes seconds, for a smoke test.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			m, err := bench.RunMatrix(ctx, bench.MatrixOptions{Quick: quick, Seed: 1, Progress: os.Stderr})
			if err != nil {
				return err
			}
			var b strings.Builder
			if asJSON {
				js, err := json.MarshalIndent(m, "", "\t")
				if err != nil {
					return err
				}
				b.Write(append(js, '\n'))
			} else if err := m.WriteMarkdown(&b); err != nil {
				return err
			}
			if out != "" {
				if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
					return err
				}
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), b.String())
			return err
		}),
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "a short smoke run: 1 round, small counts")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of Markdown")
	cmd.Flags().StringVar(&out, "out", "", "also write the output to this file")
	return cmd
}
