package main

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
)

// statOutput is what ipn stat --json prints.
type statOutput struct {
	Net    netJSON        `json:"net"`
	Ports  []ipn.PortInfo `json:"ports"`
	Policy string         `json:"policy,omitempty"` // the policy's own state: a switch's VLANs and MAC table
}

func statCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stat PATH",
		Short: "Show a network's ports, their processes and counters",
		Long: `stat shows the network at PATH and every port in use: the node's description,
its process and user, whether it reads and writes, and its counters: messages
sent and received, messages dropped (a lossy network's receiver was full),
times a sender was blocked (a lossless network was full), and messages queued
for it now.

With --json it prints an object with "net" (the fields of ipn ls --json) and
"ports", an array of objects with the fields port, descr, pid, uid, read,
write, sent, sent_bytes, received, received_bytes, dropped, blocked,
hop_drops and queued, and for an interface node (ipn tap, tun, grab) "iface": its kind,
name, index, whether it is persistent, and whether the coordinator pumps it
because no process controls it.`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			info, ports, err := ipn.Stat(args[0])
			if err != nil {
				return netPathError(args[0], err)
			}
			if ports == nil {
				ports = []ipn.PortInfo{}
			}
			pol, _ := ipn.StatPolicy(args[0])
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), statOutput{netToJSON(info), ports, pol})
			}
			if err := printStat(cmd.OutOrStdout(), info, ports); err != nil {
				return err
			}
			if pol != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "\n%s", pol)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printStat(out io.Writer, n ipn.NetInfo, ports []ipn.PortInfo) error {
	fmt.Fprintf(out, "%s: %s, %d nodes, %s\n", n.Path, n.Policy, n.Opts.NumNodes, optionsText(n))
	fmt.Fprintf(out, "ports in use %d, readers %d, writers %d, nodes bound %d\n", n.Ports, n.Readers, n.Writers, n.Bound)
	if len(ports) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tROLE\tPROCESS\tUSER\tDESCRIPTION\tSENT\tRECEIVED\tDROPPED\tBLOCKED\tQUEUED")
	for _, p := range ports {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", p.Port, roleText(p), processText(p.PID), userText(p.UID),
			descrText(p), p.Sent, p.Received, p.Dropped, p.Blocked, p.Queued)
	}
	return tw.Flush()
}

// descrText is a port's description, and for an interface node what it is.
func descrText(p ipn.PortInfo) string {
	f := p.Iface
	if f == nil {
		return p.Descr
	}
	s := fmt.Sprintf("%s %s (index %d", f.Kind, f.Name, f.Index)
	if f.Netns != "" {
		s += ", netns " + f.Netns
	}
	if f.Persist {
		s += ", persistent"
	}
	if f.Pumped {
		s += ", pumped by ipnd"
	}
	return s + ")"
}

func roleText(p ipn.PortInfo) string {
	if p.Lossy {
		return roleText(ipn.PortInfo{Read: p.Read, Write: p.Write}) + " lossy"
	}
	switch {
	case p.Read && p.Write:
		return "rw"
	case p.Read:
		return "r"
	case p.Write:
		return "w"
	}
	return "-"
}

// processText names a process by its pid and, when it can be read, its
// command name.
func processText(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return strconv.Itoa(pid)
	}
	return fmt.Sprintf("%d (%s)", pid, strings.TrimSpace(string(b)))
}

func userText(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return id
}
