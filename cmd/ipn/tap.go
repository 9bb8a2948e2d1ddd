package main

import (
	"context"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"ipn"
	"ipn/netdev"
)

func tapCmd() *cobra.Command { return ifaceCmd("tap") }

func tunCmd() *cobra.Command { return ifaceCmd("tun") }

// ifaceCmd is ipn tap or ipn tun.
func ifaceCmd(kind string) *cobra.Command {
	var name string
	short, long := "Join a network as a new TAP interface of the host", `tap creates a virtual Ethernet interface (named --name, or ipnN) and joins the
network at PATH with it: frames the host sends on the interface enter the
network, frames the network delivers reach the host. Virtual machines and
network namespaces plug into ipn this way. It runs until interrupted, and
the interface goes with it. Creating an interface needs CAP_NET_ADMIN.`
	example := `  ipn create ./lan --policy switch
  ipn tap ./lan --name ipn0 &
  ip link set ipn0 up`
	if kind == "tun" {
		short, long = "Join a layer-3 network as a new TUN interface of the host", `tun creates a virtual IP interface (named --name, or ipntunN), without
Ethernet headers, and joins the network at PATH with it, for l3 networks:
packets the host sends on it enter the network, packets the network
delivers reach the host. It runs until interrupted. Creating an interface
needs CAP_NET_ADMIN.`
		example = `  ipn create ./net --policy l3
  ipn tun ./net --name ipntun0 &`
	}
	cmd := &cobra.Command{
		Use:     kind + " PATH",
		Short:   short,
		Long:    long,
		Example: example,
		Args:    onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			open := netdev.NewTAP
			if kind == "tun" {
				open = netdev.NewTUN
			}
			return joinAndPump(cmd, args[0], kind, name, func() (netdev.Device, error) { return open(name) })
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "interface name (default ipnN)")
	return cmd
}

func grabCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "grab PATH IFNAME",
		Short: "Join a network with a real interface of the host, as a bridge port",
		Long: `grab takes over the interface IFNAME and joins the network at PATH with it, the
way a Linux bridge takes a port: frames the interface receives enter the
network, frames the network delivers to it leave through it. The interface
is put in promiscuous mode while grabbed. It runs until interrupted.
Grabbing needs CAP_NET_RAW.`,
		Example: `  ipn create ./lan --policy switch
  ipn grab ./lan eth1 &`,
		Args: cobra.ExactArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return joinAndPump(cmd, args[0], "grab", args[1], func() (netdev.Device, error) { return netdev.Grab(args[1]) })
		}),
	}
}

// joinAndPump connects an interface node to the network at path and pumps
// frames between them until interrupted. open makes the interface once the
// node is in, so a refused join leaves no interface behind.
func joinAndPump(cmd *cobra.Command, path, kind, name string, open func() (netdev.Device, error)) error {
	n := ipn.NewNode(ipn.Any)
	defer n.Close()
	n.SetDescr(strings.TrimSpace(kind + " " + name))
	if err := n.Connect(path); err != nil {
		return netPathError(path, err)
	}
	o, err := n.Options()
	if err != nil {
		return err
	}
	dev, err := open()
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s on %s, port %d\n", kind, dev.Name(), path, n.Port())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return netdev.Pump(ctx, dev, n, o.MTU)
}
