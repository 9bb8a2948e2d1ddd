package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/internal/netns/netnstest"
	"github.com/ipn-project/ipn/internal/probe"
)

// needNetAdmin skips a test that creates interfaces and namespaces, saying
// why, unless it runs as root with /dev/net/tun and the tools at hand
// (ping, and any more the test names).
func needNetAdmin(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates TAP interfaces and network namespaces")
	}
	for _, tool := range append([]string{"ping"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (from Debian's packages; .ci/run installs them)", tool)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
}

// nsTag is a prefix for the names of the namespaces and links a test makes,
// unique to this process and short enough for interface names (15 bytes).
func nsTag(kind string) string { return fmt.Sprintf("ipnt%d%s", os.Getpid()%10000, kind) }

var nodePort = regexp.MustCompile(` on .*, port (\d+)`)

// startNode starts an interface node (ipn tap, tun or grab with args),
// killed at the test's end, and waits until it has joined and opened its
// interface: it then prints "KIND NAME on PATH, port N". It returns N.
func startNode(t *testing.T, args ...string) int {
	t.Helper()
	_, _, port := startNodeCmd(t, args...)
	return port
}

// startNodeCmd is startNode that also returns the process and its output.
func startNodeCmd(t *testing.T, args ...string) (*exec.Cmd, *netns.Buffer, int) {
	t.Helper()
	return startNodeWith(t, ipnCmd(t, args...))
}

// startNodeWith is startNode for a command made ready to start: its
// output, and standard output unless already set, go to the buffer.
func startNodeWith(t *testing.T, cmd *exec.Cmd) (*exec.Cmd, *netns.Buffer, int) {
	t.Helper()
	out := startUntil(t, cmd, "said it joined", nodePort.MatchString)
	port, _ := strconv.Atoi(nodePort.FindStringSubmatch(out.String())[1])
	return cmd, out, port
}

// startUntil starts cmd, killed at the test's end, and waits until its
// output is what ready looks for (what, for a failure). Its output, and
// standard output unless already set, go to the buffer it returns.
func startUntil(t *testing.T, cmd *exec.Cmd, what string, ready func(out string) bool) *netns.Buffer {
	t.Helper()
	out := &netns.Buffer{}
	if cmd.Stdout == nil {
		cmd.Stdout = out
	}
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second // a child it left holding the output ends no test
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); !ready(out.String()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v never %s: %s", cmd.Args, what, out.String())
		}
	}
	return out
}

// hostOn is one namespace plugged into a network by an interface node.
type hostOn struct {
	ns   *netns.NS
	dev  string
	port int
}

// plugNS starts an interface node of kind ("tap" or "tun") called dev on
// the network at path, makes a namespace called name, moves the interface
// into it with the address cidr, and sets it up.
func plugNS(t *testing.T, path, kind, name, dev, cidr string) hostOn {
	t.Helper()
	port := startNode(t, kind, path, "--name", dev)
	ns := netnstest.New(t, name)
	if err := ns.Adopt(netnstest.Host(t), dev, cidr); err != nil {
		t.Fatal(err)
	}
	return hostOn{ns: ns, dev: dev, port: port}
}

// ping pings addr from ns a few times and reports whether every request
// was answered; it fails the test if ping could not run at all.
func ping(t *testing.T, from *netns.NS, addr string) (probe.PingResult, bool) {
	t.Helper()
	r, err := probe.Ping(from, addr, 3, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return r, !r.Lost()
}

// mustPing fails the test unless every ping from ns to addr is answered.
func mustPing(t *testing.T, from *netns.NS, addr, what string) {
	t.Helper()
	if r, ok := ping(t, from, addr); !ok {
		t.Fatalf("ping %s from %s %s: %d of %d answered\n%s", addr, from, what, r.Received, r.Sent, r.Output)
	}
}
