// Command ipn is the command-line tool of ipn, inter-process networking
// over shared memory.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
	_ "github.com/ipn-project/ipn/dispatch/topics" // policy 16, a worked example of a policy of one's own
)

func main() {
	ipn.DaemonCommand = daemonCommand
	root := &cobra.Command{
		Use:   "ipn",
		Short: "Inter-process networking over shared memory",
		Long: `ipn joins processes into networks named by paths, the way hosts share an
Ethernet segment: a sender writes a message once into shared memory and every
recipient reads it in place.`,
		SilenceUsage:  true,
		SilenceErrors: true, // main prints them
	}
	root.AddCommand(demoCmd(), memberCmd(), portCmd(), tapCmd(), tunCmd(), grabCmd(), persistCmd(), unpersistCmd(), cableCmd(), plugCmd(), vdeCmd(), sockCmd(), benchCmd())
	root.AddCommand(netCommands()...)
	root.AddCommand(observeCommands()...)
	os.Exit(run(root))
}
