package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ipn-project/ipn"
)

// nodeFlags are the flags ipn send and ipn recv share.
type nodeFlags struct {
	lossy bool // recv --lossy
	lines bool
	descr string
	port  int
	flags *pflag.FlagSet
}

func (f *nodeFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVar(&f.lines, "lines", false, what)
	cmd.Flags().StringVar(&f.descr, "descr", "", "description of this node, shown by ipn stat")
	cmd.Flags().IntVar(&f.port, "port", 0, "port to take (default: any free port)")
	f.flags = cmd.Flags()
}

// connect joins the network at path, keeping only the role the command
// needs: a sender that could also read would otherwise be a receiver that
// never reads, and in a lossless network it would hold up every other
// sender.
func (f *nodeFlags) connect(path string, send bool) (*ipn.Node, int, error) {
	n := ipn.NewNode(ipn.Any)
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	if f.descr != "" {
		if err := n.SetDescr(f.descr); err != nil {
			return nil, 0, err
		}
	}
	if f.lossy {
		if err := n.SetDropWhenBehind(true); err != nil {
			return nil, 0, err
		}
	}
	if f.flags.Changed("port") {
		if err := n.SetPort(f.port); err != nil {
			return nil, 0, err
		}
	}
	if err := n.Connect(path); err != nil {
		return nil, 0, netPathError(path, err)
	}
	drop := syscall.SHUT_WR
	if send {
		if !n.CanWrite() {
			return nil, 0, fmt.Errorf("%s: no permission to send on this network (its file is not writable by you)", path)
		}
		drop = syscall.SHUT_RD
	} else if !n.CanRead() {
		return nil, 0, fmt.Errorf("%s: no permission to receive on this network (its file is not readable by you)", path)
	}
	if err := n.Shutdown(drop); err != nil {
		return nil, 0, err
	}
	o, err := n.Options()
	if err != nil {
		return nil, 0, err
	}
	ok = true
	return n, o.MTU, nil
}

func sendCmd() *cobra.Command {
	var (
		nf    nodeFlags
		chunk int
		rateS string
		stats bool
	)
	cmd := &cobra.Command{
		Use:   "send PATH",
		Short: "Send standard input to a network as messages",
		Long: `send joins the network at PATH, reads standard input to its end, and sends it
as messages: each of --chunk bytes (by default the network's MTU) but the last,
or with --lines one message per line, without its newline. It then leaves the
network.

In a lossy network, messages that a slow receiver has no room for are lost;
in a lossless one (ipn create --lossless) send waits for room, so a receiver
gets the input exactly.

--rate paces the input, for a file streamed at the speed of its content:
bytes per second (2M, 512KiB/s) or messages per second (500msg/s). --stats
prints at the end, on standard error, the messages and bytes sent, the drops
(lossy) and the time spent waiting for room (lossless).`,
		Example: `  tar c dir | ipn send ./lan --descr backup
  echo hello | ipn send ./lan --lines
  ipn send ./live --chunk 1316 --rate 1M --stats < movie.ts`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			var pace *pacer
			if rateS != "" {
				r, err := parseRate(rateS)
				if err != nil {
					return err
				}
				pace = newPacer(r)
			}
			n, mtu, err := nf.connect(args[0], true)
			if err != nil {
				return err
			}
			defer n.Close()
			start := time.Now()
			if stats {
				defer func() { printSendStats(cmd.ErrOrStderr(), n, time.Since(start)) }()
			}
			if nf.lines {
				return sendLines(n, cmd.InOrStdin(), mtu, pace)
			}
			if chunk == 0 {
				chunk = mtu
			}
			if chunk < 1 || chunk > mtu {
				return fmt.Errorf("--chunk %d: want 1..%d, the network's MTU", chunk, mtu)
			}
			return sendChunks(n, cmd.InOrStdin(), chunk, pace)
		}),
	}
	nf.add(cmd, "send one message per line of input, without its newline")
	cmd.Flags().IntVar(&chunk, "chunk", 0, "bytes per message (default: the network's MTU)")
	cmd.Flags().StringVar(&rateS, "rate", "", "pace: bytes per second (2M, 512KiB/s) or messages per second (500msg/s)")
	cmd.Flags().BoolVar(&stats, "stats", false, "print messages, bytes, drops and time blocked at the end, on standard error")
	return cmd
}

// sendChunks sends in as messages of size bytes, the last one shorter.
func sendChunks(n *ipn.Node, in io.Reader, size int, pace *pacer) error {
	buf := make([]byte, size)
	for {
		k, err := io.ReadFull(in, buf)
		if k > 0 {
			if err := n.Send(buf[:k]); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			pace.sent(k)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return nil
		case err != nil:
			return fmt.Errorf("reading standard input: %w", err)
		}
	}
}

// sendLines sends each line of in as a message; a last line without a
// newline is sent too.
func sendLines(n *ipn.Node, in io.Reader, mtu int, pace *pacer) error {
	r := bufio.NewReaderSize(in, mtu+1) // room for the longest line and its newline
	for line := 1; ; line++ {
		b, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return fmt.Errorf("line %d is longer than the network's MTU of %d bytes", line, mtu)
		case err == io.EOF && len(b) == 0:
			return nil
		case err != nil && err != io.EOF:
			return fmt.Errorf("reading standard input: %w", err)
		}
		if len(b) > 0 && b[len(b)-1] == '\n' {
			b = b[:len(b)-1]
		}
		if len(b) > mtu { // the reader's buffer is at least 16 bytes
			return fmt.Errorf("line %d is longer than the network's MTU of %d bytes", line, mtu)
		}
		if err := n.Send(b); err != nil {
			return fmt.Errorf("send line %d: %w", line, err)
		}
		pace.sent(len(b))
		if err == io.EOF {
			return nil
		}
	}
}

func recvCmd() *cobra.Command {
	var (
		nf      nodeFlags
		count   int
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "recv PATH",
		Short: "Write the messages of a network to standard output",
		Long: `recv joins the network at PATH and writes the bytes of every message it
receives to standard output, with --lines followed by a newline each. Through
a lossless network it reproduces what ipn send read, byte for byte.

It runs until it has received --count messages, or until no message came for
--timeout, or until interrupted (SIGINT, SIGTERM). Running out of time or being
interrupted ends it with status 0 when no --count was given, and with an error
when fewer than --count messages came.

Start recv before the sender: a network delivers only to the nodes connected
when a message is sent (or create the network with --history to replay the
senders' last messages to a receiver that joins).

--lossy makes this receiver lossy for itself on a lossless network: senders
do not wait for it, and it loses what it has no room for, while every other
receiver stays lossless.`,
		Example: `  ipn recv ./lan > copy.tar
  ipn recv ./lan --lines --count 1 --timeout 5s`,
		Args: onePath,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if count < 0 {
				return fmt.Errorf("--count %d: want 0 (no limit) or more", count)
			}
			if timeout < 0 {
				return fmt.Errorf("--timeout %v: want a positive duration", timeout)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			n, mtu, err := nf.connect(args[0], false)
			if err != nil {
				return err
			}
			defer n.Close()
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			return receive(ctx, n, w, recvOptions{mtu: mtu, count: count, timeout: timeout}, func(b []byte) error {
				if _, err := w.Write(b); err != nil || !nf.lines {
					return err
				}
				return w.WriteByte('\n')
			})
		}),
	}
	nf.add(cmd, "write a newline after each message")
	cmd.Flags().BoolVar(&nf.lossy, "lossy", false, "lossless network: senders drop for this receiver instead of waiting for it")
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many messages (default: no limit)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop when no message comes for this long (default: wait forever)")
	return cmd
}

type recvOptions struct {
	mtu     int
	dest    string        // what w writes to, for errors: standard output when empty
	count   int           // 0: no limit
	timeout time.Duration // 0: none
}

// receive hands every message to emit, which writes it to w, until the
// count is reached, a wait for one times out, or ctx is done. w is flushed
// whenever no message is waiting, so a pipeline sees data as soon as the
// network is idle, and at the end.
func receive(ctx context.Context, n *ipn.Node, w *bufio.Writer, o recvOptions, emit func(msg []byte) error) (err error) {
	dest := o.dest
	if dest == "" {
		dest = "standard output"
	}
	defer func() {
		if ferr := w.Flush(); err == nil && ferr != nil {
			err = fmt.Errorf("writing %s: %w", dest, ferr)
		}
	}()
	buf := make([]byte, o.mtu)
	var oob [64]byte
	for got := 0; o.count == 0 || got < o.count; got++ {
		n.SetNonblock(true)
		k, err := n.Recv(buf)
		n.SetNonblock(false)
		if errors.Is(err, ipn.ErrAgain) {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("writing %s: %w", dest, err)
			}
			if o.timeout > 0 {
				n.SetReadDeadline(time.Now().Add(o.timeout))
			}
			k, err = n.RecvContext(ctx, buf)
		}
		if ob, ok := n.RecvOOB(oob[:]); ok {
			if msg := stalledNotice(oob[:ob]); msg != "" {
				fmt.Fprintln(os.Stderr, msg)
			}
		}
		if err != nil {
			var why string
			switch {
			case errors.Is(err, ipn.ErrTimeout):
				why = fmt.Sprintf("none came for %v", o.timeout)
			case ctx.Err() != nil:
				why = "interrupted"
			default:
				return fmt.Errorf("receive: %w", err)
			}
			if o.count == 0 {
				return nil
			}
			return fmt.Errorf("received %d of %d messages: %s", got, o.count, why)
		}
		if err := emit(buf[:k]); err != nil {
			return fmt.Errorf("writing %s: %w", dest, err)
		}
	}
	return nil
}
