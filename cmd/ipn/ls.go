package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
)

func lsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the networks the coordinator serves",
		Long: `ls lists every network the coordinator serves: its path, policy and options,
how many ports are in use, and how many nodes may read and write.

With --json it prints a JSON array of objects with the fields path, policy
(by name: hub, switch, l3, topics), opts (mtu, numnodes, pool, lossless, and
mode as an octal string such as "0660"), persistent, ports_in_use, bound,
readers, writers and pool_in_use (message slots someone holds).`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			nets, err := ipn.List()
			if err != nil {
				return err
			}
			slices.SortFunc(nets, func(a, b ipn.NetInfo) int { return strings.Compare(a.Path, b.Path) })
			if asJSON {
				out := make([]netJSON, len(nets))
				for i, n := range nets {
					out[i] = netToJSON(n)
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			return printNets(cmd.OutOrStdout(), nets)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printNets(out io.Writer, nets []ipn.NetInfo) error {
	if len(nets) == 0 {
		_, err := fmt.Fprintln(out, "no networks")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tPOLICY\tOPTIONS\tPORTS\tREADERS\tWRITERS")
	for _, n := range nets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\n", n.Path, n.Policy, optionsText(n),
			n.Ports, n.Opts.NumNodes, n.Readers, n.Writers)
	}
	return tw.Flush()
}

// optionsText says a network's options in a few words.
func optionsText(n ipn.NetInfo) string {
	o := n.Opts
	kind := "lossy"
	if o.Lossless {
		kind = "lossless"
	}
	s := fmt.Sprintf("mtu %d, pool %d, %s, mode %s", o.MTU, o.Pool, kind, modeText(o.Mode))
	if o.History > 0 {
		s += fmt.Sprintf(", history %d", o.History)
	}
	if o.StallTimeout > 0 {
		s += fmt.Sprintf(", stall timeout %v", o.StallTimeout)
	}
	if n.Persistent {
		s += ", kept"
	}
	return s
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
