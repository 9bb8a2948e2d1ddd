package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
)

func persistCmd() *cobra.Command { return persistenceCmd(true) }

func unpersistCmd() *cobra.Command { return persistenceCmd(false) }

// persistenceCmd is ipn persist or ipn unpersist.
func persistenceCmd(on bool) *cobra.Command {
	use, short, long := "persist IFNAME", "Keep an interface node when its process ends", `persist marks the interface node IFNAME (a name, or an interface index,
with @NETNS after it when several namespaces have one: ipn0@web) as
persistent: when the ipn tap, tun or grab that controls it ends, the
coordinator moves the interface's frames itself, and a later command with
the same interface name takes it over. Root or the user who made the node
may.`
	if !on {
		use, short, long = "unpersist IFNAME", "Stop keeping an interface node", `unpersist clears the persistence of the interface node IFNAME (a name, or an
interface index, with @NETNS after it when several namespaces have one:
ipn0@web). If no process controls it, the node goes at once: a TAP or
TUN interface is removed, a grabbed interface is given back, and the network
ends if that was its last node and ipn create does not keep it.`
	}
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: "  ipn tap ./lan --name ipn0 --persist &\n  ipn unpersist ipn0",
		Args:    cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			info, err := ipn.SetPersist(args[0], on)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", ifaceLabel(info), persistText(info))
			return nil
		}),
	}
}

func persistText(f ipn.IfaceInfo) string {
	switch {
	case f.Pumped:
		return fmt.Sprintf("persistent %s node of %s, port %d, pumped by the coordinator", f.Kind, f.Path, f.Port)
	case f.Persist:
		return fmt.Sprintf("persistent %s node of %s, port %d", f.Kind, f.Path, f.Port)
	case f.Port < 0:
		return "removed"
	}
	return fmt.Sprintf("%s node of %s, port %d, goes with its process", f.Kind, f.Path, f.Port)
}
