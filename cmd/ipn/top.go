package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ipn-project/ipn"
)

func topCmd() *cobra.Command {
	var (
		interval   time.Duration
		iterations int
	)
	cmd := &cobra.Command{
		Use:   "top [PATH]",
		Short: "Show networks and their ports with message and byte rates, live",
		Long: `top shows every network the coordinator serves, or only the one at PATH, with
each port in use: its node's description, messages and bytes per second sent
and received, messages dropped per second, and messages queued now. It reads
the counters every --interval and shows the rates over that interval.

On a terminal it redraws the screen for each frame; when its output is not a
terminal (a pipe, a file) it writes the frames one after another, separated by
a blank line, with no escape codes. It runs until interrupted, or for
--iterations frames (as top -n).`,
		Example: `  ipn top
  ipn top ./lan --interval 5s
  ipn top --iterations 1 | grep /tmp/cam`,
		Args: cobra.MaximumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return usageError(fmt.Errorf("--interval %v: want a positive duration", interval))
			}
			if iterations < 0 {
				return usageError(fmt.Errorf("--iterations %d: want 0 (no limit) or more", iterations))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			out := cmd.OutOrStdout()
			return runTop(ctx, out, isTerminal(out), path, interval, iterations)
		}),
	}
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between frames")
	cmd.Flags().IntVarP(&iterations, "iterations", "n", 0, "stop after this many frames (default: no limit)")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// topSample is the state of the networks top shows, at one time.
type topSample struct {
	at   time.Time
	nets []topNet
}

type topNet struct {
	info  ipn.NetInfo
	ports []ipn.PortInfo
}

// sampleTop reads the network at path, or every network when path is
// empty. A network that ends between the listing and its stat is left out.
func sampleTop(path string) (topSample, error) {
	s := topSample{at: time.Now()}
	var paths []string
	if path != "" {
		paths = []string{path}
	} else {
		nets, err := ipn.List()
		if err != nil {
			return s, err
		}
		for _, n := range nets {
			paths = append(paths, n.Path)
		}
		slices.Sort(paths)
	}
	for _, p := range paths {
		info, ports, err := ipn.Stat(p)
		if err != nil {
			if path != "" {
				return s, netPathError(p, err)
			}
			continue
		}
		s.nets = append(s.nets, topNet{info, ports})
	}
	return s, nil
}

// runTop samples, then for each frame waits an interval, samples again and
// shows the rates between the two samples.
func runTop(ctx context.Context, out io.Writer, terminal bool, path string, interval time.Duration, iterations int) error {
	prev, err := sampleTop(path)
	if err != nil {
		return err
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for frame := 1; iterations == 0 || frame <= iterations; frame++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cur, err := sampleTop(path)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if terminal {
			b.WriteString("\x1b[H\x1b[2J") // cursor home, clear the screen
		} else if frame > 1 {
			b.WriteByte('\n')
		}
		renderTop(&b, prev, cur)
		if _, err := out.Write(b.Bytes()); err != nil {
			return err
		}
		prev = cur
	}
	return nil
}

// renderTop writes one frame: a line per network, then a line per port in
// use, with the rates from prev to cur.
func renderTop(w io.Writer, prev, cur topSample) {
	secs := cur.at.Sub(prev.at).Seconds()
	fmt.Fprintf(w, "ipn top: %d networks at %s, rates over %.1fs\n\n", len(cur.nets), cur.at.Format(time.TimeOnly), secs)
	if len(cur.nets) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NETWORK / PORT\tPOLICY / NODE\tMSG/S OUT\tBYTES/S OUT\tMSG/S IN\tBYTES/S IN\tDROPS/S\tQUEUED")
	for _, n := range cur.nets {
		before := prevPorts(prev, n.info.Path)
		var sum, sumBefore ipn.PortInfo
		lines := make([]string, 0, len(n.ports))
		for _, p := range n.ports {
			q, ok := before[p.Port]
			if !ok || q.PID != p.PID || q.Sent > p.Sent || q.Received > p.Received {
				q = ipn.PortInfo{} // a new node on the port: its counters started at zero
			}
			addCounters(&sum, p)
			addCounters(&sumBefore, q)
			lines = append(lines, fmt.Sprintf("  %d\t%s\t%s\t%d", p.Port, orDash(descrText(p)), rates(q, p, secs), p.Queued))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", n.info.Path, n.info.Policy, rates(sumBefore, sum, secs), sum.Queued)
		for _, l := range lines {
			fmt.Fprintln(tw, l)
		}
	}
	tw.Flush()
}

// orDash is s, or "-" when it is empty, so that no cell is blank.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// prevPorts returns the ports of the network at path in s, by number.
func prevPorts(s topSample, path string) map[int]ipn.PortInfo {
	m := map[int]ipn.PortInfo{}
	for _, n := range s.nets {
		if n.info.Path == path {
			for _, p := range n.ports {
				m[p.Port] = p
			}
		}
	}
	return m
}

func addCounters(sum *ipn.PortInfo, p ipn.PortInfo) {
	sum.Sent += p.Sent
	sum.SentBytes += p.SentBytes
	sum.Received += p.Received
	sum.ReceivedBytes += p.ReceivedBytes
	sum.Dropped += p.Dropped
	sum.Queued += p.Queued
}

// rates are the cells of the rates from a to b over secs seconds.
func rates(a, b ipn.PortInfo, secs float64) string {
	cells := []string{
		rate(a.Sent, b.Sent, secs), rate(a.SentBytes, b.SentBytes, secs),
		rate(a.Received, b.Received, secs), rate(a.ReceivedBytes, b.ReceivedBytes, secs),
		rate(a.Dropped, b.Dropped, secs),
	}
	return strings.Join(cells, "\t")
}

// rate is (b-a)/secs with an SI prefix: 0, 950, 12.3k, 4.56M, 1.20G.
func rate(a, b uint64, secs float64) string {
	if b < a || secs <= 0 {
		return "-"
	}
	return si(float64(b-a) / secs)
}

func si(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v == 0:
		return "0"
	}
	return fmt.Sprintf("%.0f", v)
}
