package main

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/netdev"
)

func tapCmd() *cobra.Command { return ifaceCmd(netdev.KindTAP) }

func tunCmd() *cobra.Command { return ifaceCmd(netdev.KindTUN) }

const persistHelp = `

With --persist the interface outlives the command: when it ends, the
coordinator moves the interface's frames itself, and a later ipn tap, tun or
grab with the same interface name takes it over. ipn unpersist removes it.
With --detach the command hands the interface to the coordinator and
returns at once. Interfaces the coordinator moves share its process, so
frames between two of them cost one wake-up less.`

// ifaceFlags are the flags of ipn tap, tun and grab: what becomes of the
// interface when the command ends, and (tap, tun) how a new one is set up,
// through netlink.
type ifaceFlags struct {
	persist, detach bool
	netns, addr     string
	up              bool
}

func (f *ifaceFlags) keepFlags(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVar(&f.persist, "persist", false, "keep the "+what+" when the command ends")
	cmd.Flags().BoolVar(&f.detach, "detach", false, "make the "+what+" persistent and return at once: the coordinator moves its frames")
}

// ifaceCmd is ipn tap or ipn tun.
func ifaceCmd(kind string) *cobra.Command {
	var name string
	var f ifaceFlags
	short, long := "Join a network as a new TAP interface of the host", `tap creates a virtual Ethernet interface (named --name, or ipnN) and joins the
network at PATH with it: frames the host sends on the interface enter the
network, frames the network delivers reach the host. Virtual machines and
network namespaces plug into ipn this way. It runs until interrupted, and
the interface goes with it. Creating an interface needs CAP_NET_ADMIN.`
	example := `  ipn create ./lan --policy switch
  ipn tap ./lan --name ipn0 --addr 10.0.0.1/24 &
  ip netns add web
  ipn tap ./lan --netns web --addr 10.0.0.2/24 &`
	if kind == netdev.KindTUN {
		short, long = "Join a layer-3 network as a new TUN interface of the host", `tun creates a virtual IP interface (named --name, or ipntunN), without
Ethernet headers, and joins the network at PATH with it, for l3 networks:
packets the host sends on it enter the network, packets the network
delivers reach the host. It runs until interrupted. Creating an interface
needs CAP_NET_ADMIN.`
		example = `  ipn create ./net --policy l3
  ipn tun ./net --name ipntun0 --addr 10.0.0.1/24 &`
	}
	cmd := &cobra.Command{
		Use:     kind + " PATH",
		Short:   short,
		Long:    long + persistHelp,
		Example: example,
		Args:    onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			path := args[0]
			open := func(mtu int) (netdev.Device, error) {
				return f.inNetns(func(at *netns.NS) (netdev.Device, error) {
					name, err := newName(at, path, kind, name)
					if err != nil {
						return nil, err
					}
					var dev netdev.Device
					switch {
					case kind == netdev.KindTUN && mtu >= netdev.OffloadMTU:
						dev, err = netdev.NewTUNOffload(name)
					case kind == netdev.KindTUN:
						dev, err = netdev.NewTUN(name)
					case mtu >= netdev.OffloadMTU:
						dev, err = netdev.NewTAPOffload(name)
					default:
						dev, err = netdev.NewTAP(name)
					}
					return dev, nameTaken(kind, name, at, err)
				})
			}
			return joinAndPump(cmd, path, kind, name, f, open)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "interface name (default: the first ipnN free in the namespace and among the network's nodes)")
	f.keepFlags(cmd, "interface")
	cmd.Flags().StringVar(&f.netns, "netns", "", "make the interface in this network namespace (as made by ip netns add)")
	cmd.Flags().StringVar(&f.addr, "addr", "", "give the interface this address (CIDR, as 10.0.0.1/24) and set it up")
	cmd.Flags().BoolVar(&f.up, "up", false, "set the interface up")
	return cmd
}

func grabCmd() *cobra.Command {
	var f ifaceFlags
	cmd := &cobra.Command{
		Use:   "grab PATH IFNAME",
		Short: "Join a network with a real interface of the host, as a bridge port",
		Long: `grab takes over the interface IFNAME and joins the network at PATH with it, the
way a Linux bridge takes a port: frames the interface receives enter the
network, frames the network delivers to it leave through it. The interface
is put in promiscuous mode while grabbed. It runs until interrupted.
Grabbing needs CAP_NET_RAW.` + persistHelp,
		Example: `  ipn create ./lan --policy switch
  ipn grab ./lan eth1 &`,
		Args: cobra.ExactArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return joinAndPump(cmd, args[0], netdev.KindGrab, args[1], f, func(int) (netdev.Device, error) { return netdev.Grab(args[1]) })
		}),
	}
	f.keepFlags(cmd, "grab")
	return cmd
}

// joinAndPump connects an interface node to the network at path and pumps
// frames between them until interrupted. An interface called name that is
// already a persistent node of the network is taken over; otherwise open
// makes the interface once the node is in, so a refused join leaves no
// interface behind: a TAP or TUN with segmentation offload when the
// network's MTU carries 64 KiB TCP segments (netdev.OffloadMTU).
func joinAndPump(cmd *cobra.Command, path, kind, name string, f ifaceFlags, open func(mtu int) (netdev.Device, error)) error {
	persist := f.persist || f.detach
	n := ipn.NewNode(ipn.Any)
	n.SetDescr(strings.TrimSpace(kind + " " + name))
	dev, info, err := takeOver(n, path, f.key(name))
	fresh := err == nil && dev == nil
	if fresh {
		err = n.Connect(path)
	}
	var o ipn.Options
	if err == nil {
		o, err = n.Options()
	}
	if err != nil {
		if dev != nil {
			dev.Close()
		}
		n.Close()
		return netPathError(path, err)
	}
	// From here on, errors are about the interface, not the network's path.
	switch {
	case fresh:
		dev, info, err = attach(n, persist, open, o.MTU)
		if err == nil {
			err = f.configure(dev.Name(), fitMTU(kind, o.MTU))
		}
	case persist && !info.Persist:
		info, err = ipn.SetPersist(ifaceKey(info), true)
	}
	if err != nil {
		if dev != nil {
			dev.Close()
		}
		n.Close()
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s on %s, port %d%s\n", dev.Kind(), ifaceLabel(info), path, n.Port(), ifaceNote(info))
	if f.detach {
		// The coordinator pumps a persistent interface once its process
		// lets go: let go now.
		dev.Close()
		n.Close()
		fmt.Fprintf(cmd.OutOrStdout(), "detached: the coordinator moves its frames until ipn unpersist %s\n", ifaceLabel(info))
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return netdev.Pump(ctx, dev, &nodeSlots{Node: n}, o.MTU)
}

// takeOver takes over the persistent interface node key names (NAME or
// NAME@NETNS), if there is one; it returns no device and no error if there
// is none.
func takeOver(n *ipn.Node, path, key string) (netdev.Device, ipn.IfaceInfo, error) {
	if key == "" {
		return nil, ipn.IfaceInfo{}, nil
	}
	// The interface may be in another network namespace by now: ask the
	// coordinator, which knows where its nodes live.
	fd, info, err := n.TakeOver(path, key)
	if errors.Is(err, syscall.ENODEV) {
		return nil, ipn.IfaceInfo{}, nil // an interface, but not an ipn node
	}
	if err != nil {
		return nil, info, err
	}
	dev, err := netdev.FromFD(info.Kind, info.Name, fd)
	return dev, info, err
}

// attach makes the interface, for a network of mtu-byte frames, and hands
// it to the coordinator as the connected node n's.
func attach(n *ipn.Node, persist bool, open func(mtu int) (netdev.Device, error), mtu int) (netdev.Device, ipn.IfaceInfo, error) {
	dev, err := open(mtu)
	if err != nil {
		return nil, ipn.IfaceInfo{}, err
	}
	info, err := n.AttachInterface(dev.FD(), persist)
	return dev, info, err
}

// key names the interface called name for a take-over: in the namespace
// of --netns when it is given.
func (f ifaceFlags) key(name string) string {
	if name == "" || f.netns == "" {
		return name
	}
	return name + "@" + f.netns
}

// ifaceKey names the interface node info describes unambiguously, by its
// namespace's inode.
func ifaceKey(info ipn.IfaceInfo) string {
	if info.NetnsInode == 0 {
		return info.Name
	}
	return fmt.Sprintf("%s@net:[%d]", info.Name, info.NetnsInode)
}

// ifaceLabel names an interface node for people: NAME, or NAME@NETNS when
// it lives in another namespace than the coordinator's.
func ifaceLabel(info ipn.IfaceInfo) string {
	if info.Netns == "" {
		return info.Name
	}
	return info.Name + "@" + info.Netns
}

// newName is name, or when it is empty the first ipnN (ipntunN for a TUN)
// that is free in the namespace at, where the interface will live, and
// among the interface nodes of the network at path, so that a name tells
// its nodes apart.
func newName(at *netns.NS, path, kind, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	_, ports, err := ipn.Stat(path)
	if err != nil {
		return "", err
	}
	nodes := map[string]bool{}
	for _, p := range ports {
		if p.Iface != nil {
			nodes[p.Iface.Name] = true
		}
	}
	prefix := "ipn"
	if kind == netdev.KindTUN {
		prefix = "ipntun"
	}
	return netdev.FreeName(prefix, func(s string) bool { return nodes[s] || at.Has(s) }), nil
}

// inNetns runs open with the namespace the new interface is to live in,
// the host's or --netns: inside it, so that a TAP or TUN is made there and
// never has to be free, nor moved, in the host.
func (f ifaceFlags) inNetns(open func(at *netns.NS) (netdev.Device, error)) (netdev.Device, error) {
	at, err := f.space()
	if err != nil {
		return nil, err
	}
	defer at.Close()
	if f.netns == "" {
		return open(at)
	}
	var dev netdev.Device
	err = at.Do(func() error {
		var err error
		dev, err = open(at)
		return err
	})
	return dev, err
}

// nameTaken is err, the failure to make a TAP or TUN called name in the
// namespace at, saying so when an interface there has the name already:
// the kernel refuses a name an interface of another kind has with a bare
// EINVAL.
func nameTaken(kind, name string, at *netns.NS, err error) error {
	if err == nil || !at.Has(name) {
		return err
	}
	return &explained{msg: fmt.Sprintf("%s %s: an interface called %s exists already in the %s; choose another --name", kind, name, name, at), err: err}
}

// space opens the namespace the interface lives in: --netns, or the host's.
func (f ifaceFlags) space() (*netns.NS, error) {
	if f.netns != "" {
		return netns.Open(f.netns)
	}
	return netns.Host()
}

func ifaceNote(info ipn.IfaceInfo) string {
	if info.Persist {
		return " (persistent)"
	}
	return ""
}

// fitMTU is the MTU that keeps a new TAP or TUN's frames within a network
// of mtu-byte frames, or 0 when the interface's default (1500) fits: the
// kernel would otherwise hand over frames the network cannot carry.
func fitMTU(kind string, mtu int) int {
	switch kind {
	case netdev.KindGrab:
		return 0
	case netdev.KindTAP:
		mtu -= 14
	}
	if mtu >= 1500 {
		return 0
	}
	return mtu
}

// configure sets up the new interface called name, made in its namespace
// (inNetns) and already handed to the coordinator: its MTU when mtu is not
// 0, then the address and state the flags ask for.
func (f ifaceFlags) configure(name string, mtu int) error {
	setUp := f.netns != "" || f.addr != "" || f.up
	if mtu == 0 && !setUp {
		return nil
	}
	at, err := f.space()
	if err != nil {
		return err
	}
	defer at.Close()
	if mtu > 0 {
		if err := at.SetMTU(name, mtu); err != nil {
			return err
		}
	}
	if !setUp {
		return nil
	}
	if f.addr != "" {
		if err := at.AddAddr(name, f.addr); err != nil {
			return err
		}
	}
	return at.Up(name)
}
