package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/netdev"
	"github.com/ipn-project/ipn/vxlan"
)

// vxlanFlags are the flags of a VXLAN cable.
type vxlanFlags struct {
	remote, local, dev, netns string
	vni                       uint32
	port                      uint16
	hops                      bool
}

func cableCmd() *cobra.Command {
	var f vxlanFlags
	cmd := &cobra.Command{
		Use:   "cable PATH PATH2 | cable PATH --vxlan REMOTE --vni N",
		Short: "Join two networks of this host, or a network and a VXLAN segment, as a cable joins two switches",
		Long: `cable forwards every message one network delivers to its node there to the
other side, both ways, as a cable joins two switches. On switch networks
the cable's ports are where the switches learn the other side's addresses,
and where broadcast and unknown destinations flood to.

With two paths, both networks are on this host: each message goes on with
its hop depth plus one, so cables in a cycle cannot loop a message forever;
it is dropped after 16 hops (SPEC C1, P3).

With one path and --vxlan, the other side is a VXLAN segment (RFC 7348)
over UDP: REMOTE is a peer (another ipn cable, the kernel's vxlan device,
vdeplug4's vxlan plug) or a multicast group to join, and --vni the segment's
identifier. It speaks to the kernel's vxlan device as to its own kind:

  ip link add vx0 type vxlan id 42 remote 192.0.2.1 dstport 4789

VXLAN carries no hop depth: a frame from UDP enters the network with a hop
depth of one, and a loop through VXLAN and kernel bridges is not ended by
ipn, as it is not by any Ethernet bridge. Between two ipn cables, --hops
carries the depth in a reserved byte of the VXLAN header, so that a cycle
through them ends too (the kernel drops such packets: both ends must be
ipn). VXLAN has no authentication or encryption: use it on links you
trust, or inside a VPN; across hosts over links you do not trust, use ipn
plug over ssh. It runs until interrupted.`,
		Example: `  ipn cable ./lan1 ./lan2
  ipn cable ./lan --vxlan 192.0.2.2 --vni 42 --local 192.0.2.1     # a peer: the kernel's vxlan, or another ipn
  ipn cable ./lan --vxlan 239.1.1.1 --vni 42 --dev eth0            # every member of a multicast group
  ipn cable ./lan --vxlan 10.9.0.2 --vni 7 --netns web             # the UDP socket in namespace web`,
		Args: cobra.RangeArgs(1, 2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			switch {
			case len(args) == 2 && f.remote == "":
				return cableLocal(ctx, cmd, args[0], args[1])
			case len(args) == 1 && f.remote != "":
				if !cmd.Flags().Changed("vni") {
					return &explained{msg: "a VXLAN cable needs --vni N, the segment's identifier", err: syscall.EINVAL}
				}
				cfg, err := f.config()
				if err != nil {
					return err
				}
				return cableVXLAN(ctx, cmd, args[0], cfg, f.netns)
			}
			return &explained{msg: "cable takes two paths, or one path and --vxlan REMOTE --vni N", err: syscall.EINVAL}
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.remote, "vxlan", "", "the VXLAN peer's address, or a multicast group")
	fl.Uint32Var(&f.vni, "vni", 0, "the VXLAN network identifier (24 bits)")
	fl.Uint16Var(&f.port, "dstport", vxlan.DefaultPort, "the UDP port, listened on and sent to")
	fl.StringVar(&f.local, "local", "", "the address to listen on and send from (with a group: of the interface to join it on)")
	fl.StringVar(&f.dev, "dev", "", "the interface to join a multicast group on")
	fl.StringVar(&f.netns, "netns", "", "open the UDP socket in this network namespace (as made by ip netns add)")
	fl.BoolVar(&f.hops, "hops", false, "carry the hop depth in the VXLAN header: only between two ipn cables")
	return cmd
}

// config is the endpoint the flags describe.
func (f vxlanFlags) config() (vxlan.Config, error) {
	cfg := vxlan.Config{Port: f.port, Iface: f.dev, VNI: f.vni, Hops: f.hops}
	var err error
	if cfg.Remote, err = netip.ParseAddr(f.remote); err != nil {
		return cfg, &explained{msg: fmt.Sprintf("--vxlan %q is not an IP address", f.remote), err: syscall.EINVAL}
	}
	if f.local != "" {
		if cfg.Local, err = netip.ParseAddr(f.local); err != nil {
			return cfg, &explained{msg: fmt.Sprintf("--local %q is not an IP address", f.local), err: syscall.EINVAL}
		}
	}
	return cfg, nil
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

// cableNodeMTU is cableNode that also returns the network's MTU. Close
// the node when done, whatever the error.
func cableNodeMTU(path, descr string) (*ipn.Node, int, error) {
	n, err := cableNode(path, descr)
	if err != nil {
		return nil, 0, err
	}
	o, err := n.Options()
	if err != nil {
		n.Close()
		return nil, 0, err
	}
	return n, o.MTU, nil
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
// the flow ended as streams do (EOF, a closed node, socket or connection).
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
	if ctx.Err() != nil || errors.Is(err, ipn.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, fs.ErrClosed) {
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
		if err != nil && !errors.Is(err, ipn.ErrHopLimit) { // a loop ended: go on
			return err
		}
	}
}

// cableVXLAN joins the network at path to the VXLAN segment cfg describes,
// with the endpoint's socket opened in the namespace called ns if given.
func cableVXLAN(ctx context.Context, cmd *cobra.Command, path string, cfg vxlan.Config, ns string) error {
	n, mtu, err := cableNodeMTU(path, fmt.Sprintf("cable vxlan %v vni %d", cfg.Remote, cfg.VNI))
	if err != nil {
		return err
	}
	defer n.Close()
	ep, err := listenVXLAN(cfg, ns)
	if err != nil {
		return err
	}
	defer ep.Close()
	fmt.Fprintf(cmd.OutOrStdout(), "cable on %s, port %d, VXLAN %d to %v from %v\n", path, n.Port(), cfg.VNI, cfg.Remote, ep.LocalAddr())
	err = untilOneEnds(ctx, func() { n.Close(); ep.Close() },
		func() error { return toVXLAN(n, ep, mtu) }, func() error { return fromVXLAN(ep, n, mtu) })
	s := ep.Stats()
	fmt.Fprintf(cmd.ErrOrStderr(), "ipn cable: VXLAN %d: %d frames sent, %d received; dropped: %d malformed, %d of another VNI, %d from strangers, %d unsendable\n",
		cfg.VNI, s.Sent, s.Received, s.Malformed, s.OtherVNI, s.Strangers, s.Unsent)
	return err
}

// listenVXLAN opens the endpoint, in the namespace called ns if not empty:
// a socket stays in the namespace it was made in.
func listenVXLAN(cfg vxlan.Config, ns string) (*vxlan.Endpoint, error) {
	if ns == "" {
		return vxlan.Listen(cfg)
	}
	at, err := netns.Open(ns)
	if err != nil {
		return nil, err
	}
	defer at.Close()
	var ep *vxlan.Endpoint
	err = at.Do(func() error {
		var err error
		ep, err = vxlan.Listen(cfg)
		return err
	})
	return ep, err
}

// toVXLAN sends what the network delivers to node n to the VXLAN segment,
// a batch of every message waiting per sendmmsg, each one hop further.
func toVXLAN(n *ipn.Node, ep *vxlan.Endpoint, mtu int) error {
	b := vxlan.NewBatch(netdev.BatchSize, mtu)
	for {
		b.N = 0
		for b.N < len(b.Bufs) {
			// Wait for the first message only. (A cable asks for no
			// out-of-band notices, so a node readable has a message.)
			if b.N > 0 {
				if readable, _, _ := n.Readiness(); !readable {
					break
				}
			}
			v, err := n.RecvView()
			if err != nil {
				return err
			}
			b.Lens[b.N] = copy(b.Room(b.N), v.Data)
			b.Hops[b.N] = uint8(min(v.Hop+1, 255))
			n.Release(v)
			b.N++
		}
		if err := ep.WriteBatch(b); err != nil {
			return err
		}
	}
}

// fromVXLAN sends the frames of the VXLAN segment to the network: with
// the hop depth they carry (--hops), at least one, a hop from the cable.
// A frame longer than the network's MTU does not fit the batch's buffers,
// and the endpoint drops it.
func fromVXLAN(ep *vxlan.Endpoint, n *ipn.Node, mtu int) error {
	b := vxlan.NewBatch(netdev.BatchSize, mtu)
	for {
		if err := ep.ReadBatch(b); err != nil {
			return err
		}
		for i := 0; i < b.N; i++ {
			err := n.SendHop(b.Frame(i), max(int(b.Hops[i]), 1))
			if err != nil && !errors.Is(err, ipn.ErrHopLimit) {
				return err
			}
		}
	}
}
