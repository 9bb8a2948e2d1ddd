package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTapPersist: a persistent TAP node and its traffic survive the
// process that made it (killed), the coordinator pumps it meanwhile, a
// later ipn tap takes it over while a second is refused, and ipn unpersist
// removes it. Traffic stays inside the namespaces the test makes.
func TestTapPersist(t *testing.T) {
	needNetAdmin(t)
	path := newNet(t, "--policy", "switch", "--lossless", "--pool", "64")
	tag := fmt.Sprintf("%dps", os.Getpid()%10000)
	nsA, nsB := "ipnt"+tag+"-0", "ipnt"+tag+"-1"
	devA, devB := "ipnt"+tag+"a", "ipnt"+tag+"b"
	start := func(args ...string) (*exec.Cmd, *lockedBuffer) {
		cmd := ipnCmd(t, args...)
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, out
	}
	maker, mout := start("tap", path, "--name", devA, "--persist")
	_, bout := start("tap", path, "--name", devB)
	waitIface(t, devA, mout)
	waitIface(t, devB, bout)
	t.Cleanup(func() { runIPN(t, nil, "unpersist", devA) })
	for i, ns := range []string{nsA, nsB} {
		dev := []string{devA, devB}[i]
		sh(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		sh(t, "ip", "link", "set", dev, "netns", ns)
		sh(t, "ip", "-n", ns, "addr", "add", fmt.Sprintf("10.216.0.%d/24", i+1), "dev", dev)
		sh(t, "ip", "-n", ns, "link", "set", dev, "up")
	}
	ping := func(when string) {
		t.Helper()
		out, err := exec.Command("ip", "netns", "exec", nsA, "ping", "-c", "3", "-W", "5", "10.216.0.2").CombinedOutput()
		if err != nil || !strings.Contains(string(out), " 0% packet loss") {
			t.Fatalf("ping %s: %v\n%s\nstat:\n%s", when, err, out, mustIPN(t, nil, "stat", path))
		}
	}
	ping("with both processes running")

	maker.Process.Signal(syscall.SIGKILL)
	maker.Wait()
	waitStat(t, path, devA+" (index", "pumped by ipnd")
	ping("after the process that made the interface was killed")

	taker, tout := start("tap", path, "--name", devA)
	waitOutput(t, tout, "tap "+devA+" on ")
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
	if out, err := exec.Command("ip", "-n", nsA, "link", "show", devA).CombinedOutput(); err == nil {
		t.Errorf("%s still exists after unpersist:\n%s", devA, out)
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

// waitOutput waits until a process has printed want.
func waitOutput(t *testing.T, out *lockedBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(out.String(), want) {
			return
		}
	}
	t.Fatalf("never printed %q: %s", want, out.String())
}
