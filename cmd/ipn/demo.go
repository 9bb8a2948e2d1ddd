package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"ipn/internal/member"
	"ipn/internal/stream"
	"ipn/shm"
)

// demoRole tells a member process started by the demo what to do.
type demoRole struct {
	Role  string `json:"role"` // "send" or "recv"
	Port  int    `json:"port"`
	Seed  int64  `json:"seed"`
	Count int    `json:"count"`
	Size  int    `json:"size"`
	View  bool   `json:"view"`
}

type demoResult struct {
	Stream  stream.Result    `json:"stream"`
	Send    stream.SendStats `json:"send"`
	Seconds float64          `json:"seconds"`
}

func demoCmd() *cobra.Command {
	var receivers, count, size, pool int
	var lossy bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run one sender and several receivers as separate processes on a new network",
		Long: `demo creates a network in shared memory, starts one sender and several receiver
processes on it, streams messages from the sender to all receivers, and prints
what each receiver got, checked byte for byte, and how fast.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.OutOrStdout(), receivers, count, size, pool, !lossy)
		},
	}
	cmd.Flags().IntVar(&receivers, "receivers", 3, "receiver processes")
	cmd.Flags().IntVar(&count, "count", 200000, "messages to send")
	cmd.Flags().IntVar(&size, "size", 1024, "bytes per message")
	cmd.Flags().IntVar(&pool, "pool", 256, "message pool size")
	cmd.Flags().BoolVar(&lossy, "lossy", false, "drop messages for slow receivers instead of slowing the sender")
	return cmd
}

func runDemo(out io.Writer, receivers, count, size, pool int, lossless bool) error {
	if receivers < 1 || receivers > shm.MaxPorts-1 {
		return fmt.Errorf("--receivers %d: want 1..%d", receivers, shm.MaxPorts-1)
	}
	g := shm.Derive(shm.Options{MTU: max(size, 64), Ports: receivers + 1, Pool: pool, Lossless: lossless})
	net, d, err := member.NewData(fmt.Sprintf("ipn-demo-%d", os.Getpid()), g)
	if err != nil {
		return err
	}
	defer d.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	mode := "lossy"
	if lossless {
		mode = "lossless"
	}
	fmt.Fprintf(out, "network: %d ports, MTU %d, pool %d, %s, segment %d KiB in /dev/shm\n",
		g.Ports, g.MTU, g.Pool, mode, g.Slots*d.Seg.Layout.SlotStride/1024)

	type proc struct {
		role demoRole
		cmd  *exec.Cmd
		out  bytes.Buffer
		errb bytes.Buffer
	}
	start := func(r demoRole, roles uint32) (*proc, error) {
		if err := net.OpenPort(r.Port, 0, roles); err != nil {
			return nil, err
		}
		p := &proc{role: r, cmd: exec.Command(self, "member")}
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
		return p, member.Start(p.cmd, d, r)
	}
	var procs []*proc
	for r := 1; r <= receivers; r++ {
		p, err := start(demoRole{Role: "recv", Port: r, Seed: 42, View: r%2 == 0}, shm.RoleRead)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	sender, err := start(demoRole{Role: "send", Port: 0, Seed: 42, Count: count, Size: size}, shm.RoleWrite)
	if err != nil {
		return err
	}
	procs = append(procs, sender)

	results := make([]demoResult, len(procs))
	var failed []string
	for i, p := range procs {
		err := p.cmd.Wait()
		if err == nil {
			err = json.Unmarshal(p.out.Bytes(), &results[i])
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("port %d: %v: %s", p.role.Port, err, strings.TrimSpace(p.errb.String())))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		net.Reclaim(ctx, p.role.Port, 0)
		cancel()
	}
	if len(failed) > 0 {
		return fmt.Errorf("members failed:\n  %s", strings.Join(failed, "\n  "))
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "port\trole\tread\tmessages\tMB\tmsgs/s\tMB/s\tdropped\tcorrupt\tout of order\t")
	bad := 0
	for i, p := range procs {
		r := results[i]
		if p.role.Role == "send" {
			fmt.Fprintf(tw, "%d\tsender\t\t%d\t\t%.0f\t\t\t\t\t\n", p.role.Port, r.Send.Sent, float64(r.Send.Sent)/r.Seconds)
			continue
		}
		read := "copy"
		if p.role.View {
			read = "in place"
		}
		st := r.Stream
		bad += st.Bad + st.OutOfOrder
		if lossless {
			bad += count - st.Received
		}
		fmt.Fprintf(tw, "%d\treceiver\t%s\t%d\t%.1f\t%.0f\t%.0f\t%d\t%d\t%d\t\n", p.role.Port, read, st.Received,
			float64(st.Bytes)/1e6, float64(st.Received)/r.Seconds, float64(st.Bytes)/1e6/r.Seconds,
			count-st.Received, st.Bad, st.OutOfOrder)
	}
	tw.Flush()
	free := net.FreeSlots()
	fmt.Fprintf(out, "slots free after all members left: %d of %d\n", free, g.Slots)
	if bad > 0 || free != g.Slots {
		return fmt.Errorf("delivery check failed")
	}
	fmt.Fprintln(out, "every message delivered was intact and in order")
	return nil
}

// memberCmd is what the demo runs in each member process.
func memberCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "member",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r demoRole
			net, err := member.Attach(&r)
			if err != nil {
				return err
			}
			p, err := net.Port(r.Port)
			if err != nil {
				return err
			}
			var res demoResult
			start := time.Now()
			switch r.Role {
			case "send":
				res.Send, err = stream.Send(p, stream.SendOptions{Seed: r.Seed, Count: r.Count, Size: r.Size})
			case "recv":
				res.Stream, err = stream.Receive(p, r.Seed, r.View)
			default:
				err = fmt.Errorf("unknown role %q", r.Role)
			}
			if err != nil {
				return err
			}
			res.Seconds = time.Since(start).Seconds()
			return json.NewEncoder(os.Stdout).Encode(res)
		},
	}
}
