package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/stream"
)

// demoRole tells a member process started by the demo what to do.
type demoRole struct {
	Role  string `json:"role"` // "send" or "recv"
	Path  string `json:"path"`
	Seed  int64  `json:"seed"`
	Count int    `json:"count"`
	Size  int    `json:"size"`
	View  bool   `json:"view"`
}

type demoResult struct {
	Port    int           `json:"port"`
	Stream  stream.Result `json:"stream"`
	Sent    int           `json:"sent"`
	Seconds float64       `json:"seconds"`
}

// envDemoRole carries a member's role (JSON) to the re-executed program.
const envDemoRole = "IPN_DEMO_ROLE"

// idleEnd is how long a receiver of a lossy demo waits for a message before
// it takes the stream for over: the end marker may have been dropped.
const idleEnd = time.Second

func demoCmd() *cobra.Command {
	var receivers, count, size, pool int
	var lossy bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run one sender and several receivers as separate processes on a new network",
		Long: `demo creates a network, starts one sender and several receiver processes on
it, streams messages from the sender to all receivers, and prints what each
receiver got, checked byte for byte, and how fast. It goes through the
coordinator like any program (starting one if none runs) and removes the
network at the end.`,
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

// proc is a member process of the demo.
type proc struct {
	role demoRole
	cmd  *exec.Cmd
	out  *bufio.Reader
	errb strings.Builder
}

func startMember(self string, r demoRole) (*proc, error) {
	b, _ := json.Marshal(r)
	p := &proc{role: r, cmd: exec.Command(self, "member")}
	p.cmd.Env = append(os.Environ(), envDemoRole+"="+string(b))
	p.cmd.Stderr = &p.errb
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewReader(out)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	// A member says "ready" once connected.
	if line, err := p.out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		return nil, fmt.Errorf("%s member did not connect: %s", r.Role, strings.TrimSpace(p.errb.String()))
	}
	return p, nil
}

func runDemo(out io.Writer, receivers, count, size, pool int, lossless bool) error {
	if receivers < 1 || receivers > 62 {
		return fmt.Errorf("--receivers %d: want 1..62", receivers)
	}
	if size < 8 {
		return fmt.Errorf("--size %d: want at least 8 (messages carry a sequence number)", size)
	}
	dir, err := os.MkdirTemp("", "ipn-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "net")
	o := ipn.Options{MTU: size, NumNodes: receivers + 1, Pool: pool, Lossless: lossless, Mode: 0o700}
	if err := ipn.Create(path, ipn.Hub, o); err != nil {
		return err
	}
	defer ipn.Destroy(path)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	mode := "lossy"
	if lossless {
		mode = "lossless"
	}
	fmt.Fprintf(out, "network %s: %d nodes, MTU %d, pool %d, %s\n", path, o.NumNodes, size, pool, mode)

	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	}()
	for r := 1; r <= receivers; r++ {
		p, err := startMember(self, demoRole{Role: "recv", Path: path, Seed: 42, View: r%2 == 0})
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	sender, err := startMember(self, demoRole{Role: "send", Path: path, Seed: 42, Count: count, Size: size})
	if err != nil {
		return err
	}
	procs = append(procs, sender)

	results := make([]demoResult, len(procs))
	var failed []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := json.NewDecoder(p.out).Decode(&results[i])
			if werr := p.cmd.Wait(); err == nil {
				err = werr
			}
			if err != nil {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%s member: %v: %s", p.role.Role, err, strings.TrimSpace(p.errb.String())))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	procs = nil
	if len(failed) > 0 {
		return fmt.Errorf("members failed:\n  %s", strings.Join(failed, "\n  "))
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "port\trole\tread\tmessages\tMB\tmsgs/s\tMB/s\tlost\tcorrupt\tout of order\t")
	bad := 0
	for i, r := range results {
		role := procs0(i, receivers)
		if role == "sender" {
			fmt.Fprintf(tw, "%d\tsender\t\t%d\t\t%.0f\t\t\t\t\t\n", r.Port, r.Sent, float64(r.Sent)/r.Seconds)
			continue
		}
		read := "copy"
		if i%2 == 1 {
			read = "in place"
		}
		st := r.Stream
		bad += st.Bad + st.OutOfOrder
		if lossless {
			bad += count - st.Received
		}
		fmt.Fprintf(tw, "%d\treceiver\t%s\t%d\t%.1f\t%.0f\t%.0f\t%d\t%d\t%d\t\n", r.Port, read, st.Received,
			float64(st.Bytes)/1e6, float64(st.Received)/r.Seconds, float64(st.Bytes)/1e6/r.Seconds,
			count-st.Received, st.Bad, st.OutOfOrder)
	}
	tw.Flush()
	if bad > 0 {
		return errors.New("delivery check failed")
	}
	if lossless {
		fmt.Fprintln(out, "every message reached every receiver, intact and in order")
	} else {
		fmt.Fprintln(out, "every message delivered was intact and in order; the lost ones were dropped for slow receivers, as a lossy network does")
	}
	return nil
}

// procs0 names the role of member i: receivers first, then the sender.
func procs0(i, receivers int) string {
	if i < receivers {
		return "receiver"
	}
	return "sender"
}

// memberCmd is what the demo runs in each member process.
func memberCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "member",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r demoRole
			if err := json.Unmarshal([]byte(os.Getenv(envDemoRole)), &r); err != nil {
				return fmt.Errorf("member: role: %w", err)
			}
			n := ipn.NewNode(ipn.Hub)
			defer n.Close()
			if err := n.Connect(r.Path); err != nil {
				return err
			}
			fmt.Println("ready")
			var res demoResult
			var err error
			res.Port = n.Port()
			start := time.Now()
			switch r.Role {
			case "send":
				res.Sent, err = demoSend(n, r)
			case "recv":
				res.Stream, err = demoRecv(n, r)
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

// demoSend sends the stream, then an empty message that ends it.
func demoSend(n *ipn.Node, r demoRole) (int, error) {
	buf := make([]byte, r.Size)
	for seq := uint64(0); seq < uint64(r.Count); seq++ {
		stream.Fill(buf, r.Seed, seq)
		if err := n.Send(buf); err != nil {
			return int(seq), err
		}
	}
	return r.Count, n.Send(nil)
}

// demoRecv checks the stream until its empty end message, or, in a lossy
// network that may drop it, until no message came for idleEnd.
func demoRecv(n *ipn.Node, r demoRole) (stream.Result, error) {
	opts, err := n.Options()
	if err != nil {
		return stream.Result{}, err
	}
	c := stream.NewChecker(r.Seed, opts.MTU)
	buf := make([]byte, opts.MTU)
	for i := 0; ; i++ {
		if i%1024 == 0 {
			wait := time.Hour
			if !opts.Lossless {
				wait = idleEnd
			}
			n.SetReadDeadline(time.Now().Add(wait))
		}
		var data []byte
		var v ipn.View
		if r.View {
			v, err = n.RecvView()
			data = v.Data
		} else {
			var k int
			k, err = n.Recv(buf)
			data = buf[:k]
		}
		if errors.Is(err, ipn.ErrTimeout) && !opts.Lossless {
			return c.Result(), nil
		}
		if err != nil {
			return c.Result(), err
		}
		end := len(data) == 0
		if !end {
			c.Check(data)
		}
		if r.View {
			n.Release(v)
		}
		if end {
			return c.Result(), nil
		}
	}
}
