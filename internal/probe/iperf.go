package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ipn-project/ipn/internal/netns"
)

// IperfServer is an iperf3 server for one test, running in a namespace.
type IperfServer struct {
	cmd *exec.Cmd
	out *netns.Buffer
}

// StartIperfServer starts iperf3 -s -1 in ns and returns once it listens
// on its default port, 5201. Close it when done.
func StartIperfServer(ns *netns.NS) (*IperfServer, error) {
	// --forceflush: the listening line must reach the pipe at once.
	cmd := exec.Command("iperf3", "-s", "-1", "--forceflush")
	s := &IperfServer{cmd: cmd, out: &netns.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := ns.Start(cmd); err != nil {
		return nil, fmt.Errorf("iperf3 server in %s: %w", ns, err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.out.String(), "Server listening"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("iperf3 server in %s never listened:\n%s", ns, s.out)
		}
	}
	return s, nil
}

// Close stops the server if it still runs and returns its output.
func (s *IperfServer) Close() string {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	return s.out.String()
}

// IperfResult is what an iperf3 client reported at the end of its test.
type IperfResult struct {
	// SentBytes and ReceivedBytes are the payload bytes the client sent
	// and the server received.
	SentBytes, ReceivedBytes int64
	// ReceivedBps is the receiver's throughput in bits per second.
	ReceivedBps float64
	// Retransmits counts TCP retransmissions at the sender.
	Retransmits int
}

// iperfJSON is the part of iperf3 --json's report that IperfResult reads.
type iperfJSON struct {
	End struct {
		SumSent struct {
			Bytes       int64 `json:"bytes"`
			Retransmits int   `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived struct {
			Bytes         int64   `json:"bytes"`
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

// Iperf runs an iperf3 TCP test of length d from ns to the server at addr
// and returns the client's report. It fails when iperf3 reports an error
// or exits with one.
func Iperf(ns *netns.NS, addr string, d time.Duration) (IperfResult, error) {
	secs := strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "iperf3", "-c", addr, "-t", secs, "--connect-timeout", "5000", "--json")
	var out, errOut netns.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := ns.Start(cmd); err != nil {
		return IperfResult{}, fmt.Errorf("iperf3 client in %s: %w", ns, err)
	}
	runErr := cmd.Wait()
	var rep iperfJSON
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return IperfResult{}, fmt.Errorf("iperf3 -c %s from %s: %v; report unreadable: %w\n%s%s", addr, ns, runErr, err, out.Bytes(), errOut.Bytes())
	}
	r := IperfResult{
		SentBytes:     rep.End.SumSent.Bytes,
		ReceivedBytes: rep.End.SumReceived.Bytes,
		ReceivedBps:   rep.End.SumReceived.BitsPerSecond,
		Retransmits:   rep.End.SumSent.Retransmits,
	}
	if rep.Error != "" || runErr != nil {
		return r, fmt.Errorf("iperf3 -c %s from %s: %v: %s%s", addr, ns, runErr, rep.Error, errOut.Bytes())
	}
	return r, nil
}
