package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/dispatch/topics"
)

func portCmd() *cobra.Command {
	var access int
	var trunk, mirror, addr, control string
	var sets []string
	cmd := &cobra.Command{
		Use:   "port PATH PORT",
		Short: "Show or set a port's VLANs and mirroring (switch) or addresses (l3)",
		Long: `port shows a port's settings on a switch or l3 network, or changes them.
On a switch:

  --access VLAN           untagged frames of one VLAN (every port starts as an
                          access port of VLAN 1)
  --trunk NATIVE:V1,V2    802.1Q tagged frames of V1, V2…, and untagged ones of
                          NATIVE (0: none)
  --mirror on|off         a copy of every frame the switch forwards

On an l3 network:

  --addr A1,A2            IPv4 or IPv6 addresses the port owns

Any policy's options, such as the topics policy's subscriptions:

  --set NAME=VALUE        e.g. --set subscribe=video/,meta/

A control call of any policy (IPN's ioctl), about the port:

  --control HEX|@FILE     the request as hex digits, or the bytes of FILE
                          (@- for standard input); the policy's answer is
                          printed as hex digits on one line

Changing settings and control calls need execute permission on the network, as binding it
does. ipn stat shows every port's settings and the learned addresses.`,
		Example: `  ipn port ./lan 3 --trunk 0:10,20
  ipn port ./lan 1 --access 10
  ipn port ./lan 4 --mirror on`,
		Args: cobra.ExactArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			var port int
			if _, err := fmt.Sscan(args[1], &port); err != nil {
				return usageError(fmt.Errorf("port %q: want a number", args[1]))
			}
			n, err := bindExisting(args[0])
			if err != nil {
				return err
			}
			defer n.Close()
			if control != "" {
				return controlCall(cmd, n, port, control)
			}
			for _, kv := range sets {
				name, value, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--set %q: want NAME=VALUE", kv)
				}
				if err := n.SetPolicyOption(port, name, value); err != nil {
					return err
				}
			}
			if addr != "" {
				if err := n.SetPolicyOption(port, dispatch.OptAddr, addr); err != nil {
					return err
				}
			}
			if has, err := n.PolicyOption(port, dispatch.OptAddr); err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "port %d: addresses %s\n", port, has)
				return nil
			}
			set := map[string]string{}
			if cmd.Flags().Changed("access") {
				set[dispatch.OptAccess] = fmt.Sprint(access)
			}
			if trunk != "" {
				set[dispatch.OptTrunk] = trunk
			}
			if mirror != "" {
				set[dispatch.OptMirror] = mirror
			}
			for _, name := range []string{dispatch.OptAccess, dispatch.OptTrunk, dispatch.OptMirror} {
				if v, ok := set[name]; ok {
					if err := n.SetPolicyOption(port, name, v); err != nil {
						return err
					}
				}
			}
			vlans, err := n.PolicyOption(port, dispatch.OptTrunk)
			if errors.Is(err, syscall.ENOPROTOOPT) { // not a switch
				if subs, err := n.PolicyOption(port, topics.OptSubscribe); err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "port %d: subscribed to %q\n", port, subs)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "port %d: set\n", port)
				return nil
			}
			if err != nil {
				return err
			}
			mir, err := n.PolicyOption(port, dispatch.OptMirror)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "port %d: %s, mirror %s\n", port, vlans, mir)
			return nil
		}),
	}
	cmd.Flags().IntVar(&access, "access", 0, "make it an access port of this VLAN")
	cmd.Flags().StringVar(&trunk, "trunk", "", "make it a trunk: NATIVE:V1,V2,…")
	cmd.Flags().StringVar(&mirror, "mirror", "", "on or off")
	cmd.Flags().StringVar(&addr, "addr", "", "l3: addresses the port owns, A1,A2,…")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "any policy option, NAME=VALUE (repeatable)")
	cmd.Flags().StringVar(&control, "control", "", "a control call of the policy: HEX, or @FILE (@- for standard input)")
	return cmd
}

// bindExisting binds the network at path for management, which needs
// execute permission on it. A node of policy Any binds whatever the
// network's policy, but a Bind of a path with no network would create one,
// which Any cannot: say that there is no network instead.
func bindExisting(path string) (*ipn.Node, error) {
	if _, err := os.Lstat(path); err != nil {
		return nil, netPathError(path, err)
	}
	n := ipn.NewNode(ipn.Any)
	if err := n.Bind(path); err != nil {
		n.Close()
		return nil, netPathError(path, err)
	}
	return n, nil
}

// controlCall makes the control call arg (hex, @FILE or @-) about port and
// prints the policy's answer in hex.
func controlCall(cmd *cobra.Command, n *ipn.Node, port int, arg string) error {
	var req []byte
	var err error
	switch {
	case arg == "@-":
		req, err = io.ReadAll(cmd.InOrStdin())
	case strings.HasPrefix(arg, "@"):
		req, err = os.ReadFile(arg[1:])
	default:
		if req, err = hex.DecodeString(arg); err != nil {
			return usageError(fmt.Errorf("--control %q: want hex digits or @FILE: %w", arg, err))
		}
	}
	if err != nil {
		return fmt.Errorf("--control: %w", err)
	}
	out, err := n.ControlPort(port, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(out))
	return nil
}
