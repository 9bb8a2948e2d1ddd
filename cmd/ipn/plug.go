package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn"
)

// maxStreamFrame is the longest frame vde_plug's stream can carry: its
// length is 2 bytes.
const maxStreamFrame = 1<<16 - 1

func plugCmd() *cobra.Command {
	var descr string
	cmd := &cobra.Command{
		Use:   "plug PATH",
		Short: "Join the network and carry its frames on standard input and output, as vde_plug does",
		Long: `plug joins the network at PATH and speaks vde_plug's stream on standard input
and output: each frame preceded by its length, 2 bytes big-endian. So the
programs that join vde_plug's streams join ipn networks too: dpipe (from
vde2) ties two such streams together, one program's output to the other's
input and back, and ssh carries one to another host, authenticated and
encrypted, as VDE users already do with vde_plug.

Frames from the stream enter the network with a hop depth of one; the
stream carries no hop depth, so a loop through it is ended only where it
also passes cables of ipn's own. A frame longer than the network's MTU is
dropped. plug runs until its input ends or it is interrupted; it says where
it plugged in on standard error.`,
		Example: `  dpipe ipn plug ./lan = vde_plug /tmp/sw                 # an ipn network and a vde_switch
  dpipe ipn plug ./lan = ssh host2 ipn plug ./lan2         # two hosts, over ssh
  dpipe ipn plug ./lan = ssh host2 vde_plug /tmp/sw        # an ipn network and another host's vde_switch`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if descr == "" {
				descr = "plug"
			}
			return plug(ctx, cmd, args[0], descr, os.Stdin, os.Stdout)
		}),
	}
	cmd.Flags().StringVar(&descr, "descr", "", "the port's description (default plug)")
	return cmd
}

// plug carries the frames of the network at path on the stream in and out
// until in ends, ctx does, or either side fails.
func plug(ctx context.Context, cmd *cobra.Command, path, descr string, in, out *os.File) error {
	n, mtu, err := cableNodeMTU(path, descr)
	if err != nil {
		return err
	}
	defer n.Close()
	// Pipes and sockets wait in Go's poller, so that closing them ends a
	// read or write under way when the other side or a signal ends the plug.
	in, out = pollable(in), pollable(out)
	fmt.Fprintf(cmd.ErrOrStderr(), "plug on %s, port %d\n", path, n.Port())
	return untilOneEnds(ctx, func() { n.Close(); in.Close(); out.Close() },
		func() error { return toStream(n, out) },
		func() error { return fromStream(in, n, mtu) })
}

// pollable returns f in non-blocking mode, so that it waits in Go's
// poller, when it is a pipe or a socket; f itself otherwise (a terminal
// shared with a shell keeps its mode).
func pollable(f *os.File) *os.File {
	var st unix.Stat_t
	fd := int(f.Fd())
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO && st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return f
	}
	if unix.SetNonblock(fd, true) != nil {
		return f
	}
	return os.NewFile(uintptr(fd), f.Name())
}

// toStream writes every frame the network delivers to node n on w, each
// after its length, flushing when no more are waiting.
func toStream(n *ipn.Node, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var head [2]byte
	for {
		v, err := n.RecvView()
		if err != nil {
			return err
		}
		if len(v.Data) <= maxStreamFrame {
			binary.BigEndian.PutUint16(head[:], uint16(len(v.Data)))
			bw.Write(head[:])
			bw.Write(v.Data)
		}
		n.Release(v)
		if readable, _, _ := n.Readiness(); !readable {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
	}
}

// fromStream sends every frame of the stream r to the network, a hop from
// the plug. A frame of length 0 is skipped, as vde_plug does; one longer
// than mtu is dropped.
func fromStream(r io.Reader, n *ipn.Node, mtu int) error {
	br := bufio.NewReaderSize(r, 256<<10)
	buf := make([]byte, min(mtu, maxStreamFrame))
	var head [2]byte
	for {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return err
		}
		size := int(binary.BigEndian.Uint16(head[:]))
		if size > len(buf) {
			if _, err := br.Discard(size); err != nil {
				return err
			}
			continue
		}
		if _, err := io.ReadFull(br, buf[:size]); err != nil {
			return err
		}
		if size == 0 {
			continue
		}
		if err := n.SendHop(buf[:size], 1); err != nil {
			return err
		}
	}
}
