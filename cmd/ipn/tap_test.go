package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// needNetAdmin skips a test that creates interfaces and namespaces, saying
// why, unless it runs as root with ip and ping at hand.
func needNetAdmin(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates TAP interfaces and network namespaces")
	}
	for _, tool := range []string{"ip", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian's iproute2 and iputils-ping; .ci/run installs them)", tool)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestTapPing joins two network namespaces through an ipn switch network,
// each by a TAP node, and pings across. Traffic stays inside the
// namespaces the test makes.
func TestTapPing(t *testing.T) {
	needNetAdmin(t)
	path := newNet(t, "--policy", "switch", "--lossless", "--pool", "64")
	pingAcross(t, path, "tap", 213)
	st := mustIPN(t, nil, "stat", path)
	if !strings.Contains(st, "MAC table (2)") {
		t.Errorf("the switch did not learn both hosts:\n%s", st)
	}
}

// TestTunPing does the same with TUN nodes on a layer-3 network.
func TestTunPing(t *testing.T) {
	needNetAdmin(t)
	path := newNet(t, "--policy", "l3", "--lossless", "--pool", "64")
	pingAcross(t, path, "tun", 214)
	st := mustIPN(t, nil, "stat", path)
	if !strings.Contains(st, "10.214.0.1 port") || !strings.Contains(st, "10.214.0.2 port") {
		t.Errorf("the l3 switch did not learn both hosts:\n%s", st)
	}
}

// pingAcross puts two interface nodes of kind on the network at path, each
// in a namespace of its own with an address in 10.<net>.0.0/24, and pings
// from the first to the second.
func pingAcross(t *testing.T, path, kind string, subnet int) {
	t.Helper()
	tag := fmt.Sprintf("%d%s", os.Getpid()%10000, kind[:2])
	for i := 0; i < 2; i++ {
		ns, dev := fmt.Sprintf("ipnt%s-%d", tag, i), fmt.Sprintf("ipnt%s%c", tag, 'a'+i)
		cmd := ipnCmd(t, kind, path, "--name", dev)
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitIface(t, dev, out)
		sh(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		sh(t, "ip", "link", "set", dev, "netns", ns)
		sh(t, "ip", "-n", ns, "addr", "add", fmt.Sprintf("10.%d.0.%d/24", subnet, i+1), "dev", dev)
		sh(t, "ip", "-n", ns, "link", "set", dev, "up")
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	out, err := exec.Command("ip", "netns", "exec", fmt.Sprintf("ipnt%s-0", tag),
		"ping", "-c", "3", "-W", "5", fmt.Sprintf("10.%d.0.2", subnet)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Fatalf("ping across the %s nodes: %v\n%s", kind, err, out)
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitIface(t *testing.T, name string, out *lockedBuffer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := net.InterfaceByName(name); err == nil {
			return
		}
	}
	t.Fatalf("interface %s never appeared: %s", name, out.String())
}

// TestGrabPing grabs one end of a veth pair whose other end is in a
// namespace, and pings from there to a TAP node in another namespace
// through an ipn switch.
func TestGrabPing(t *testing.T) {
	needNetAdmin(t)
	path := newNet(t, "--policy", "switch", "--lossless", "--pool", "64")
	tag := fmt.Sprintf("%dgr", os.Getpid()%10000)
	nsA, nsB := "ipnt"+tag+"-0", "ipnt"+tag+"-1"
	vethHost, vethNS, tapDev := "ipnt"+tag+"h", "ipnt"+tag+"n", "ipnt"+tag+"t"
	for _, ns := range []string{nsA, nsB} {
		sh(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	sh(t, "ip", "link", "add", vethHost, "type", "veth", "peer", "name", vethNS)
	t.Cleanup(func() { exec.Command("ip", "link", "del", vethHost).Run() })
	sh(t, "ip", "link", "set", vethNS, "netns", nsA)
	sh(t, "ip", "-n", nsA, "addr", "add", "10.215.0.1/24", "dev", vethNS)
	sh(t, "ip", "-n", nsA, "link", "set", vethNS, "up")
	sh(t, "ip", "link", "set", vethHost, "up")

	start := func(args ...string) *lockedBuffer {
		cmd := ipnCmd(t, args...)
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return out
	}
	gout := start("grab", path, vethHost)
	tout := start("tap", path, "--name", tapDev)
	waitIface(t, tapDev, tout)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(gout.String(), "grab "); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("grab never started: %s", gout.String())
		}
	}
	sh(t, "ip", "link", "set", tapDev, "netns", nsB)
	sh(t, "ip", "-n", nsB, "addr", "add", "10.215.0.2/24", "dev", tapDev)
	sh(t, "ip", "-n", nsB, "link", "set", tapDev, "up")
	out, err := exec.Command("ip", "netns", "exec", nsA, "ping", "-c", "3", "-W", "5", "10.215.0.2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Fatalf("ping from behind the grabbed interface: %v\n%s\ngrab: %s", err, out, gout.String())
	}
}
