package matrix

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/wire"

	"github.com/ipn-project/ipn/bench/harness"
	"github.com/ipn-project/ipn/bench/transport"
)

// Unicast between pairs: P sender processes each stream 1500-byte frames
// to their own receiver process, all on one network at once. On a switch
// each receiver gets only its own frames; on a hub every receiver gets
// every frame and drops the others' (what a switch saves); over AF_UNIX
// each pair has a socketpair of its own (no shared medium at all).

// PairKinds are the ways pairs can be joined.
var PairKinds = []string{"ipn-switch", "ipn-hub", "seqpacket"}

// EnvPairChild marks a pairs child process: kind/role/index/count/path.
const EnvPairChild = "IPNBENCH_PAIR"

// PairsResult is one run: each receiver's own frames per second.
type PairsResult struct {
	Kind   string    `json:"kind"`
	Pairs  int       `json:"pairs"`
	PerRcv []float64 `json:"msgs_per_s_per_receiver"`
}

// Median is the median per-receiver rate.
func (r PairsResult) Median() float64 {
	v := append([]float64(nil), r.PerRcv...)
	sort.Float64s(v)
	return v[len(v)/2]
}

func pairMAC(role byte, i int) []byte { return []byte{2, 0, 0, 0, role, byte(i)} }

func pairFrame(dst, src []byte, size int) []byte {
	f := append(append(make([]byte, 0, size), dst...), src...)
	f = append(f, 0x88, 0xb5)
	return f[:size]
}

// RunPairs runs pairs sender/receiver pairs of kind, count frames each.
func RunPairs(kind string, pairs, count int) (PairsResult, error) {
	res := PairsResult{Kind: kind, Pairs: pairs}
	var path string
	var socks [][2]*os.File
	switch kind {
	case "ipn-switch", "ipn-hub":
		sock, err := harness.CoordinatorSocket()
		if err != nil {
			return res, err
		}
		os.Setenv(wire.EnvSocket, sock)
		os.Setenv(ipn.EnvNoAutostart, "1")
		path = filepath.Join(filepath.Dir(sock), fmt.Sprintf("pairs-%d", transport.ApiSeq.Add(1)))
		pol := ipn.Switch
		if kind == "ipn-hub" {
			pol = ipn.Hub
		}
		if err := ipn.Create(path, pol, ipn.Options{NumNodes: 2 * pairs, Pool: 256, Lossless: true}); err != nil {
			return res, err
		}
		defer ipn.Destroy(path)
	case "seqpacket":
		for i := 0; i < pairs; i++ {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return res, err
			}
			socks = append(socks, [2]*os.File{os.NewFile(uintptr(fds[0]), "s"), os.NewFile(uintptr(fds[1]), "r")})
		}
		defer func() {
			for _, s := range socks {
				s[0].Close()
				s[1].Close()
			}
		}()
	default:
		return res, fmt.Errorf("bench: no pair kind %q", kind)
	}
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	type child struct {
		cmd   *exec.Cmd
		in    io.WriteCloser
		out   *bufio.Reader
		recvr bool
	}
	var kids []*child
	defer func() {
		for _, k := range kids {
			k.cmd.Process.Kill()
			k.cmd.Wait()
		}
	}()
	start := func(role string, i int) error {
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s/%s/%d/%d/%s", EnvPairChild, kind, role, i, count, path), "GORACE=atexit_sleep_ms=0")
		if socks != nil {
			end := socks[i][0]
			if role == "recv" {
				end = socks[i][1]
			}
			cmd.ExtraFiles = []*os.File{end}
		}
		in, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		k := &child{cmd, in, bufio.NewReader(out), role == "recv"}
		kids = append(kids, k)
		if line, err := k.out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
			return fmt.Errorf("bench: pair %s %d did not start: %q %v", role, i, line, err)
		}
		return nil
	}
	for i := 0; i < pairs; i++ { // receivers first: the switch learns them
		if err := start("recv", i); err != nil {
			return res, err
		}
	}
	for i := 0; i < pairs; i++ {
		if err := start("send", i); err != nil {
			return res, err
		}
	}
	for _, k := range kids {
		k.in.Close() // start
	}
	for _, k := range kids {
		line, err := k.out.ReadString('\n')
		if err != nil {
			return res, fmt.Errorf("bench: pair child: %w", err)
		}
		if k.recvr {
			v, err := strconv.ParseFloat(strings.TrimSpace(line), 64)
			if err != nil {
				return res, fmt.Errorf("bench: pair report %q", line)
			}
			res.PerRcv = append(res.PerRcv, v)
		}
	}
	return res, nil
}

// IsPairChild reports whether this process is a pairs child.
func IsPairChild() bool { return os.Getenv(EnvPairChild) != "" }

// RunPairChild plays a pairs child's role and returns the exit code.
func RunPairChild() int {
	if err := pairChild(os.Getenv(EnvPairChild)); err != nil {
		fmt.Fprintln(os.Stderr, "pair child:", err)
		return 1
	}
	return 0
}

func pairChild(spec string) error {
	f := strings.SplitN(spec, "/", 5)
	if len(f) != 5 {
		return fmt.Errorf("spec %q", spec)
	}
	kind, role, path := f[0], f[1], f[4]
	i, _ := strconv.Atoi(f[2])
	count, _ := strconv.Atoi(f[3])
	const size = 1500
	mine := pairMAC(0x10, i)
	var send func([]byte) error
	var recv func([]byte) (int, error)
	if kind == "seqpacket" {
		fd := 3
		send = func(b []byte) error { _, err := unix.Write(fd, b); return err }
		recv = func(b []byte) (int, error) { return unix.Read(fd, b) }
	} else {
		n := ipn.NewNode(ipn.Any)
		defer n.Close()
		if err := n.Connect(path); err != nil {
			return err
		}
		send, recv = n.Send, n.Recv
		if role == "send" { // a sender that never reads must not be a reader
			if err := n.Shutdown(unix.SHUT_RD); err != nil {
				return err
			}
		}
		if role == "recv" { // say hello, so a switch learns where this host is
			if err := n.Send(pairFrame([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mine, 60)); err != nil {
				return err
			}
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // the start signal: stdin closed
	t0 := time.Now()
	if role == "send" {
		fr := pairFrame(mine, pairMAC(0x20, i), size)
		for k := 0; k < count; k++ {
			if err := send(fr); err != nil {
				return err
			}
		}
		fmt.Println(0)
		return nil
	}
	buf := make([]byte, 2048)
	for got := 0; got < count; {
		k, err := recv(buf)
		if err != nil {
			return err
		}
		if k == size && string(buf[:6]) == string(mine) {
			got++
		} else if k == 0 {
			return errors.New("stream ended early")
		}
	}
	fmt.Println(float64(count) / time.Since(t0).Seconds())
	return nil
}

// PairsTable is the pairs workload over rounds.
type PairsTable struct {
	Pairs, Count int
	// Rates[kind] is the median per-receiver rate of each round.
	Rates map[string][]float64 `json:"rates"`
}

// MeasurePairs runs every pair kind once per round, the order rotating.
func MeasurePairs(rounds, pairs, count int) (*PairsTable, error) {
	t := &PairsTable{Pairs: pairs, Count: count, Rates: map[string][]float64{}}
	for r := 0; r < rounds; r++ {
		for j := range PairKinds {
			kind := PairKinds[(j+r)%len(PairKinds)]
			res, err := RunPairs(kind, pairs, count)
			if err != nil {
				return nil, err
			}
			t.Rates[kind] = append(t.Rates[kind], res.Median())
		}
	}
	return t, nil
}

func pairMedian(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// ratio is the median over rounds of a[r]/b[r].
func pairRatio(a, b []float64) float64 {
	var q []float64
	for r := range a {
		if r < len(b) && b[r] > 0 {
			q = append(q, a[r]/b[r])
		}
	}
	if len(q) == 0 {
		return 0
	}
	return pairMedian(q)
}

func WritePairs(b *strings.Builder, t *PairsTable) {
	if t == nil {
		return
	}
	fmt.Fprintf(b, "## Unicast between pairs\n\n")
	fmt.Fprintf(b, "%d sender processes each stream %d frames of 1500 bytes to their own receiver process, all at once: on one ipn "+
		"switch network (each receiver gets its own frames), on one ipn hub network (each receiver gets every frame and drops the "+
		"others'), and over a socketpair per pair (no shared medium). Lossless, pool 256. Median per-receiver frames per second "+
		"over the rounds; ratios round by round.\n\n", t.Pairs, t.Count)
	fmt.Fprintf(b, "| ipn-switch | ipn-hub | seqpacket | switch ÷ hub | switch ÷ seqpacket |\n|--:|--:|--:|--:|--:|\n")
	sw, hub, sp := t.Rates["ipn-switch"], t.Rates["ipn-hub"], t.Rates["seqpacket"]
	fmt.Fprintf(b, "| %.0f k | %.0f k | %.0f k | %.2f× | %.2f× |\n\n", pairMedian(sw)/1e3, pairMedian(hub)/1e3, pairMedian(sp)/1e3,
		pairRatio(sw, hub), pairRatio(sw, sp))
}
