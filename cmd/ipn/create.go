package main

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/shm"
)

func createCmd() *cobra.Command {
	var (
		policy   string
		mode     string
		opts     ipn.Options
		lossless bool
	)
	cmd := &cobra.Command{
		Use:   "create PATH",
		Short: "Create a network that lasts until ipn destroy",
		Long: `create makes a network at PATH, a file the way a unix socket is one, and asks
the coordinator to keep it alive with no node in it, until ipn destroy PATH.
Processes then join it with ipn send, ipn recv, or the Go API.

Who may join follows the file's permission bits (--mode, less the umask): read
permission to receive, write permission to send.

With the hub policy every message goes to every other node; with the switch
policy frames go where their Ethernet destination is, as on a VDE switch,
with VLANs; with l3, IP packets (TUN nodes) go where their destination
address was learned or set (ipn port PATH PORT --addr).

For a live stream to consumers that come and go: --history N replays each
sender's last N messages to a receiver that joins, then the live stream;
--stall-timeout makes a receiver that keeps a lossless sender waiting longer
lossy for itself (it is told so out of band), so the others go on.`,
		Example: `  ipn create ./lan --lossless --mode 0660
  ipn create ./big --mtu 65536 --pool 64 --nodes 8
  ipn create ./live --lossless --stall-timeout 2s --history 64`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			path := args[0]
			p, err := parsePolicy(policy)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("mode") {
				if opts.Mode, err = parseMode(mode, "the network"); err != nil {
					return err
				}
			}
			opts.Lossless = lossless
			err = ipn.Create(path, p, opts)
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("create %s: the file exists (ipn destroy it first if it is a network)", path)
			}
			if errors.Is(err, syscall.EPROTONOSUPPORT) && p != ipn.Hub {
				return fmt.Errorf("create %s: the %s policy is not available yet", path, policy)
			}
			return err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&policy, "policy", "hub", "dispatch policy: "+policyNames())
	f.IntVar(&opts.MTU, "mtu", 0, fmt.Sprintf("largest message in bytes (default %d)", shm.DefaultMTU))
	f.IntVar(&opts.NumNodes, "nodes", 0, fmt.Sprintf("number of ports, the most nodes connected at once (default %d)", shm.DefaultPorts))
	f.IntVar(&opts.Pool, "pool", 0, fmt.Sprintf("messages the network holds in flight (default %d)", shm.DefaultPool))
	f.BoolVar(&lossless, "lossless", false, "senders wait for slow receivers instead of dropping their messages")
	f.StringVar(&mode, "mode", "0777", "permission bits of the network's file, in octal, less the umask")
	f.IntVar(&opts.History, "history", 0, "keep the last N messages of each sender for receivers that join later (the pool grows by N per sender)")
	f.DurationVar(&opts.StallTimeout, "stall-timeout", 0, "lossless: a receiver that keeps a sender waiting longer is made lossy for itself (0: senders wait forever)")
	return cmd
}

func destroyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "destroy PATH",
		Short: "End a network made by ipn create",
		Long: `destroy ends the network at PATH that ipn create made: at once if no node is
connected, else when the last one leaves. Its file is then removed. Only the
file's owner or root may destroy a network.`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return netPathError(args[0], ipn.Destroy(args[0]))
		}),
	}
}
