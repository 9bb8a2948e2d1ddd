package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/dispatch"
)

func captureCmd() *cobra.Command {
	var (
		file    string
		count   int
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "capture PATH -w FILE|-",
		Short: "Write a network's traffic to a pcap file, for tcpdump and wireshark",
		Long: `capture joins the network at PATH as a node that only receives, and writes
every message it gets to FILE (- for standard output) as a record of a pcap
file, stamped with the time it arrived. Read it with tcpdump -r or wireshark.

The link type follows the network's policy: Ethernet on hub and switch
networks, raw IP on l3 networks, and DLT_USER0 (147) on networks of other
policies, whose messages are whatever their senders make them.

On a switch or an l3 network, capture sets its own port to mirror, so it sees
unicast between other ports too, not only what is flooded, and sets it back
when it ends; that needs execute permission on the network, as ipn port
does. Without it, capture warns and sees only what reaches its port. Capture
never sends, so the network's hosts never learn of it.

It runs until it has written --count messages, or until no message came for
--timeout, or until interrupted (SIGINT, SIGTERM). The file is flushed
whenever the network is idle, so a reader at the other end of a pipe sees
each packet at once.`,
		Example: `  ipn capture ./lan -w lan.pcap --count 100
  ipn capture ./lan -w - | tcpdump -r - -nn`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageError(errors.New("capture wants -w FILE, or -w - for standard output"))
			}
			if count < 0 {
				return usageError(fmt.Errorf("--count %d: want 0 (no limit) or more", count))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			path := args[0]
			info, _, err := ipn.Stat(path)
			if err != nil {
				return netPathError(path, err)
			}
			mirror := info.Policy == ipn.Switch || info.Policy == ipn.L3
			n, restore, err := joinToCapture(path, mirror)
			if err != nil {
				return err
			}
			defer n.Close()
			if restore != nil {
				defer restore()
			}
			if mirror && restore == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "ipn capture: warning: %s: no permission to set port %d to mirror: only frames flooded or sent to it are captured\n", path, n.Port())
			}
			var out io.Writer = cmd.OutOrStdout()
			dest := "standard output"
			if file != "-" {
				f, err := os.Create(file)
				if err != nil {
					return err
				}
				defer f.Close()
				out, dest = f, file
			}
			w := bufio.NewWriterSize(out, 64<<10)
			pw := pcapgo.NewWriter(w)
			if err := pw.WriteFileHeader(uint32(info.Opts.MTU), linkType(info.Policy)); err != nil {
				return fmt.Errorf("writing %s: %w", dest, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "capturing on %s, port %d (%s)\n", path, n.Port(), info.Policy)
			return receive(ctx, n, w, recvOptions{mtu: info.Opts.MTU, dest: dest, count: count, timeout: timeout}, func(b []byte) error {
				ci := gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: len(b), Length: len(b)}
				return pw.WritePacket(ci, b)
			})
		}),
	}
	cmd.Flags().StringVarP(&file, "write", "w", "", "pcap file to write, - for standard output")
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many messages (default: no limit)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop when no message comes for this long (default: wait forever)")
	cmd.MarkFlagFilename("write", "pcap")
	return cmd
}

// joinToCapture connects to the network at path as a node that only
// receives. With mirror, it also binds the network to set its own port to
// mirror, and returns a function that puts the port's setting back as it
// was (a switch keeps a port's settings for the next node on it), or nil
// when it had no permission to.
func joinToCapture(path string, mirror bool) (*ipn.Node, func(), error) {
	n := ipn.NewNode(ipn.Any)
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	if err := n.SetDescr("ipn capture"); err != nil {
		return nil, nil, err
	}
	bound := false
	if mirror {
		err := n.Bind(path)
		switch {
		case err == nil:
			bound = true
		case !errors.Is(err, syscall.EACCES):
			return nil, nil, netPathError(path, err)
		}
	}
	if err := n.Connect(path); err != nil {
		return nil, nil, netPathError(path, err)
	}
	if !n.CanRead() {
		return nil, nil, fmt.Errorf("%s: no permission to receive on this network (its file is not readable by you)", path)
	}
	if n.CanWrite() {
		if err := n.Shutdown(syscall.SHUT_WR); err != nil {
			return nil, nil, err
		}
	}
	var restore func()
	if bound {
		port := n.Port()
		was, err := n.PolicyOption(port, dispatch.OptMirror)
		if err != nil {
			return nil, nil, err
		}
		if err := n.SetPolicyOption(port, dispatch.OptMirror, "on"); err != nil {
			return nil, nil, err
		}
		restore = func() { n.SetPolicyOption(port, dispatch.OptMirror, was) }
	}
	ok = true
	return n, restore, nil
}

// linkType is the pcap link type of a network's messages.
func linkType(policy ipn.Policy) layers.LinkType {
	switch policy {
	case ipn.Hub, ipn.Switch:
		return layers.LinkTypeEthernet
	case ipn.L3:
		return layers.LinkTypeRaw
	}
	return linkTypeUser0
}

// linkTypeUser0 is DLT_USER0, a link type pcap leaves to private use.
const linkTypeUser0 layers.LinkType = 147
