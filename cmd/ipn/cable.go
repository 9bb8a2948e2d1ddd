package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
)

// cableHello opens a cable's TCP stream, each way: a peer that is not an
// ipn cable of this version is refused before any message flows.
const cableHello = "ipn-cable 1\n"

func cableCmd() *cobra.Command {
	var listen, connect string
	cmd := &cobra.Command{
		Use:   "cable PATH [PATH2]",
		Short: "Join two networks, on this host or on two hosts, as a cable joins two switches",
		Long: `cable forwards every message one network delivers to its node there to the
other network, both ways, with the message's hop depth plus one: cables in
a cycle cannot loop a message forever, it is dropped after 16 hops (SPEC C1,
P3). On switch networks the cable's ports are where the switches learn the
other side's addresses.

With two paths, both networks are on this host. With one path and --listen
or --connect, the other network is on another host, where another ipn cable
runs: the two speak over TCP, each message a record of its length (4 bytes,
big-endian), its hop depth (1 byte) and its bytes. --listen serves one
cable at a time until interrupted; --connect runs until the other end goes.
A message longer than this network's MTU is refused and ends the stream.`,
		Example: `  ipn cable ./lan1 ./lan2
  ipn cable ./lan --listen :7001            # on one host
  ipn cable ./lan --connect host1:7001      # on the other`,
		Args: cobra.RangeArgs(1, 2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			switch {
			case len(args) == 2 && listen == "" && connect == "":
				return cableLocal(ctx, cmd, args[0], args[1])
			case len(args) == 1 && (listen == "") != (connect == ""):
				return cableRemote(ctx, cmd, args[0], listen, connect)
			}
			return &explained{msg: "cable takes two paths, or one path and one of --listen or --connect", err: syscall.EINVAL}
		}),
	}
	cmd.Flags().StringVar(&listen, "listen", "", "serve the other end of the cable on this TCP address")
	cmd.Flags().StringVar(&connect, "connect", "", "reach the other end of the cable at this TCP address")
	return cmd
}

// cableNode connects a node of the cable to the network at path.
func cableNode(path, descr string) (*ipn.Node, error) {
	n := ipn.NewNode(ipn.Any)
	n.SetDescr(descr)
	if err := n.Connect(path); err != nil {
		n.Close()
		return nil, netPathError(path, err)
	}
	return n, nil
}

func cableLocal(ctx context.Context, cmd *cobra.Command, a, b string) error {
	na, err := cableNode(a, "cable to "+b)
	if err != nil {
		return err
	}
	nb, err := cableNode(b, "cable to "+a)
	if err != nil {
		na.Close()
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "cable on %s, port %d, and on %s, port %d\n", a, na.Port(), b, nb.Port())
	return untilOneEnds(ctx, func() { na.Close(); nb.Close() },
		func() error { return forward(na, nb) }, func() error { return forward(nb, na) })
}

// untilOneEnds runs flows (the directions of a cable or a port) until ctx
// ends or one of them stops, then stops the rest with halt and waits for
// them. It returns the first flow's error; nil when ctx ended it, or when
// the flow ended as streams do (EOF, a closed node or connection).
func untilOneEnds(ctx context.Context, halt func(), flows ...func() error) error {
	errs := make(chan error, len(flows))
	for _, f := range flows {
		go func() { errs <- f() }()
	}
	var err error
	pending := len(flows)
	select {
	case <-ctx.Done():
	case err = <-errs:
		pending--
	}
	halt()
	for ; pending > 0; pending-- {
		<-errs
	}
	if ctx.Err() != nil || errors.Is(err, ipn.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// forward sends every message from receives to the other network, one hop
// further.
func forward(from, to *ipn.Node) error {
	for {
		v, err := from.RecvView()
		if err != nil {
			return err
		}
		err = to.SendHop(v.Data, v.Hop+1)
		from.Release(v)
		if err != nil {
			return err
		}
	}
}

func cableRemote(ctx context.Context, cmd *cobra.Command, path, listen, connect string) error {
	if connect != "" {
		n, err := cableNode(path, "cable to "+connect)
		if err != nil {
			return err
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", connect)
		if err != nil {
			n.Close()
			return fmt.Errorf("cable: %w", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "cable on %s, port %d, connected to %s\n", path, n.Port(), c.RemoteAddr())
		return cableStream(ctx, n, c)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("cable: %w", err)
	}
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	fmt.Fprintf(cmd.OutOrStdout(), "cable for %s listening on %s\n", path, ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cable: %w", err)
		}
		// The cable is plugged in while a peer is there: a node of its own
		// for each, in the network from the peer's arrival to its leaving.
		n, err := cableNode(path, "cable from "+c.RemoteAddr().String())
		if err != nil {
			c.Close()
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "cable on %s, port %d, connected to %s\n", path, n.Port(), c.RemoteAddr())
		if err := cableStream(ctx, n, c); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "ipn cable: %s: %v\n", c.RemoteAddr(), err)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// cableStream carries messages between node n and a TCP peer until either
// side ends or ctx does; it closes both.
func cableStream(ctx context.Context, n *ipn.Node, c net.Conn) error {
	defer c.Close()
	defer n.Close()
	o, err := n.Options()
	if err != nil {
		return err
	}
	mtu := o.MTU
	if _, err := io.WriteString(c, cableHello); err != nil {
		return err
	}
	r := bufio.NewReaderSize(c, 256<<10)
	hello := make([]byte, len(cableHello))
	if _, err := io.ReadFull(r, hello); err != nil || string(hello) != cableHello {
		return fmt.Errorf("the peer is not an ipn cable (it said %q): %w", hello, syscall.EPROTO)
	}
	toPeer := func() error {
		buf := make([]byte, 5+mtu)
		for {
			v, err := n.RecvView()
			if err != nil {
				return err
			}
			binary.BigEndian.PutUint32(buf, uint32(len(v.Data)))
			buf[4] = byte(min(v.Hop, 255))
			k := copy(buf[5:], v.Data)
			n.Release(v)
			if _, err := c.Write(buf[:5+k]); err != nil {
				return err
			}
		}
	}
	fromPeer := func() error {
		buf := make([]byte, mtu)
		var head [5]byte
		for {
			if _, err := io.ReadFull(r, head[:]); err != nil {
				return err
			}
			size := int(binary.BigEndian.Uint32(head[:]))
			if size > mtu {
				return fmt.Errorf("the peer sent a message of %d bytes, longer than this network's MTU of %d: %w", size, mtu, syscall.EMSGSIZE)
			}
			if _, err := io.ReadFull(r, buf[:size]); err != nil {
				return err
			}
			if err := n.SendHop(buf[:size], int(head[4])+1); err != nil {
				return err
			}
		}
	}
	return untilOneEnds(ctx, func() { n.Close(); c.Close() }, toPeer, fromPeer)
}
