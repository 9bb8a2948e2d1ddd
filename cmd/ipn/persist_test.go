package main

import (
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn/internal/netns/netnstest"
)

// TestTapPersist: a persistent TAP node and its traffic survive the
// process that made it (killed), the coordinator pumps it meanwhile, a
// later ipn tap takes it over while a second is refused, and ipn unpersist
// removes it. Traffic stays inside the namespaces the test makes.
func TestTapPersist(t *testing.T) {
	needNetAdmin(t)
	path := newNet(t, "--policy", "switch", "--lossless", "--pool", "64")
	tag := nsTag("ps")
	devA := tag + "a"
	maker, _, _ := startNodeCmd(t, "tap", path, "--name", devA, "--persist")
	t.Cleanup(func() { runIPN(t, nil, "unpersist", devA) })
	nsA := netnstest.New(t, tag+"-0")
	if err := nsA.Adopt(netnstest.Host(t), devA, "10.216.0.1/24"); err != nil {
		t.Fatal(err)
	}
	plugNS(t, path, "tap", tag+"-1", tag+"b", "10.216.0.2/24")
	ping := func(when string) {
		t.Helper()
		mustPing(t, nsA, "10.216.0.2", when+"\nstat:\n"+mustIPN(t, nil, "stat", path))
	}
	ping("with both processes running")

	maker.Process.Signal(syscall.SIGKILL)
	maker.Wait()
	waitStat(t, path, devA+" (index", "pumped by ipnd")
	ping("after the process that made the interface was killed")

	taker, tout, _ := startNodeCmd(t, "tap", path, "--name", devA)
	if !strings.Contains(tout.String(), "(persistent)") {
		t.Errorf("take-over did not say the interface is persistent: %q", tout.String())
	}
	waitStat(t, path, devA+" (index", "persistent)")
	ping("after the take-over")

	_, errOut, err := runIPN(t, nil, "tap", path, "--name", devA)
	if err == nil || !strings.Contains(errOut, "controlled by pid") {
		t.Errorf("a second take-over: %v, %q; want it refused (EADDRNOTAVAIL)", err, errOut)
	}

	if out := mustIPN(t, nil, "unpersist", devA); !strings.Contains(out, "goes with its process") {
		t.Errorf("unpersist of a controlled interface said %q", out)
	}
	mustIPN(t, nil, "persist", devA)
	// The controller ends; the coordinator pumps the interface again until
	// unpersist removes it.
	taker.Process.Signal(syscall.SIGTERM)
	taker.Wait()
	waitStat(t, path, devA+" (index", "pumped by ipnd")
	if out := mustIPN(t, nil, "unpersist", devA); !strings.Contains(out, "removed") {
		t.Errorf("unpersist of a pumped interface said %q", out)
	}
	if nsA.Has(devA) {
		t.Errorf("%s still exists in %s after unpersist", devA, nsA)
	}
	if st := mustIPN(t, nil, "stat", path); strings.Contains(st, devA) {
		t.Errorf("stat still shows %s:\n%s", devA, st)
	}
}

// waitStat waits until ipn stat shows a line with every one of parts.
func waitStat(t *testing.T, path string, parts ...string) {
	t.Helper()
	var st string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		st = mustIPN(t, nil, "stat", path)
		for _, l := range strings.Split(st, "\n") {
			if containsAll(l, parts) {
				return
			}
		}
	}
	t.Fatalf("ipn stat never showed %q:\n%s", parts, st)
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestTapDetach: ipn tap --detach returns at once and leaves its interface
// to the coordinator, until ipn unpersist removes it.
func TestTapDetach(t *testing.T) {
	needNetAdmin(t)
	path := newNet(t, "--policy", "switch")
	dev := nsTag("dt")
	out := mustIPN(t, nil, "tap", path, "--name", dev, "--detach")
	t.Cleanup(func() { runIPN(t, nil, "unpersist", dev) })
	if !strings.Contains(out, "detached") {
		t.Errorf("ipn tap --detach said %q", out)
	}
	waitStat(t, path, dev+" (index", "pumped by ipnd")
	if _, err := net.InterfaceByName(dev); err != nil {
		t.Fatalf("the detached interface is gone: %v", err)
	}
	mustIPN(t, nil, "unpersist", dev)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := net.InterfaceByName(dev); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists after unpersist", dev)
		}
	}
}
