package main

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/internal/netns"
)

// waitCable waits until the network at path has k cable ports.
func waitCable(t *testing.T, path string, k int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, ports, err := ipn.Stat(path)
		if err == nil && len(slices.DeleteFunc(ports, func(p ipn.PortInfo) bool { return !strings.HasPrefix(p.Descr, "cable") })) == k {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never had %d cable ports: %v", path, k, err)
		}
	}
}

// sendAcross sends lines on the network at from and checks that a
// receiver on the network at to gets them.
func sendAcross(t *testing.T, from, to string, lines ...string) {
	t.Helper()
	r, out, errOut := startRecv(t, to, "rx", "--lines", "--count", fmt.Sprint(len(lines)), "--timeout", "20s")
	mustIPN(t, []byte(strings.Join(lines, "\n")), "send", from, "--lines")
	waitRecv(t, r, errOut)
	if got, want := out.String(), strings.Join(lines, "\n")+"\n"; got != want {
		t.Errorf("across the cable from %s: got %q, want %q", from, got, want)
	}
}

// TestCableLocal joins two networks of this host by a cable: messages go
// both ways.
func TestCableLocal(t *testing.T) {
	a, b := newNet(t, "--lossless"), newNet(t, "--lossless")
	startNode(t, "cable", a, b)
	waitCable(t, a, 1)
	waitCable(t, b, 1)
	sendAcross(t, a, b, "one", "two", "three")
	sendAcross(t, b, a, "back")
}

// TestCableLoopEnds: two cables between the same two networks make a
// cycle; a message goes round it until its hop depth passes the limit, then
// stops (SPEC P3): a receiver sees a bounded number of copies.
func TestCableLoopEnds(t *testing.T) {
	a, b := newNet(t), newNet(t)
	startNode(t, "cable", a, b)
	startNode(t, "cable", a, b)
	waitCable(t, a, 2)
	waitCable(t, b, 2)
	r, out, errOut := startRecv(t, b, "rx", "--lines", "--timeout", "2s")
	mustIPN(t, []byte("round and round"), "send", a, "--lines")
	waitRecv(t, r, errOut)
	copies := strings.Count(out.String(), "round and round\n")
	t.Logf("%d copies before the hop limit ended the loop", copies)
	// Two copies go round, one each way; b sees each at every other hop.
	if copies < 2 || copies > 2*(dispatch.MaxHops/2+1) {
		t.Errorf("the receiver saw %d copies, want 2 to %d: the hop limit did not end the loop", copies, 2*(dispatch.MaxHops/2+1))
	}
}

var listening = regexp.MustCompile(`listening on (\S+)`)

// TestCableTCP joins two networks through cables at both ends of a TCP
// connection on loopback, as across two hosts; a peer that is no cable is
// refused and the cable keeps serving.
func TestCableTCP(t *testing.T) {
	a, b := newNet(t, "--lossless"), newNet(t, "--lossless")
	cmd := ipnCmd(t, "cable", a, "--listen", "127.0.0.1:0")
	out := &netns.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(5 * time.Millisecond) {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listening cable never said where: %s", out.String())
		}
	}

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.ReadAll(c) // the cable's hello, then its close
	c.Close()

	startNode(t, "cable", b, "--connect", addr)
	waitCable(t, a, 1)
	waitCable(t, b, 1)
	sendAcross(t, b, a, "over", "tcp")
	sendAcross(t, a, b, "and back")
	if !strings.Contains(out.String(), "not an ipn cable") {
		t.Errorf("the listening cable did not say it refused a stranger: %s", out.String())
	}
}
