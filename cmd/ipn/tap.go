package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"ipn"
	"ipn/netdev"
)

func tapCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "tap PATH",
		Short: "Join a network as a new TAP interface of the host",
		Long: `tap creates a virtual Ethernet interface (named --name, or ipnN) and joins the
network at PATH with it: frames the host sends on the interface enter the
network, frames the network delivers reach the host. Virtual machines and
network namespaces plug into ipn this way. It runs until interrupted, and
the interface goes with it. Creating an interface needs CAP_NET_ADMIN.`,
		Example: `  ipn create ./lan --policy switch
  ipn tap ./lan --name ipn0 &
  ip link set ipn0 up`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			n := ipn.NewNode(ipn.Any)
			defer n.Close()
			n.SetDescr("tap " + name)
			if err := n.Connect(args[0]); err != nil {
				return netPathError(args[0], err)
			}
			o, err := n.Options()
			if err != nil {
				return err
			}
			dev, err := netdev.NewTAP(name)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tap %s on %s, port %d\n", dev.Name(), args[0], n.Port())
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return netdev.Pump(ctx, dev, n, o.MTU)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "interface name (default ipnN)")
	return cmd
}
