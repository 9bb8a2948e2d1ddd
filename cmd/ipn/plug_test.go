package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn/internal/netns/netnstest"
	"github.com/ipn-project/ipn/wire"
)

// TestPlugStream: ipn plug carries frames between its network and vde_plug's
// stream on standard input and output, each way, and leaves when its input
// ends.
func TestPlugStream(t *testing.T) {
	path := newNet(t, "--lossless")
	cmd := ipnCmd(t, "plug", path)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd.Stdout = w
	startNodeWith(t, cmd)
	w.Close()

	toNet := ethFrame("from the stream to ipn")
	rx, got, errOut := startRecv(t, path, "rx", "--count", "2", "--timeout", "20s")
	plugWrite(t, in, nil) // a frame of length 0 is skipped
	plugWrite(t, in, toNet)
	plugWrite(t, in, toNet[:20])
	waitRecv(t, rx, errOut)
	if want := append(append([]byte{}, toNet...), toNet[:20]...); !bytes.Equal(got.Bytes(), want) {
		t.Errorf("ipn got %q, want the two frames from the stream, %q", got.Bytes(), want)
	}

	toPlug := ethFrame("from ipn to the stream")
	mustIPN(t, toPlug, "send", path, "--chunk", "1514")
	if f := plugRead(t, r); !bytes.Equal(f, toPlug) {
		t.Errorf("the stream got %q, want %q", f, toPlug)
	}

	in.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ipn plug, its input ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ipn plug did not leave when its input ended")
	}
}

// TestPlugVDESwitch: dpipe joins an ipn switch to a real vde_switch through
// ipn plug and vde_plug; a TAP on each, in namespaces of their own, ping
// each other across.
func TestPlugVDESwitch(t *testing.T) {
	needNetAdmin(t, "dpipe", "vde_plug")
	path := newNet(t, "--policy", "switch")
	vtap := nsTag("vt")
	sw := startVDESwitch(t, "--tap", vtap)
	// Debian's vde2 names the switch by its directory; vdeplug4's vde_plug
	// also takes vde://DIR.
	dp := ipnCmd(t, "plug", path)
	dpipe, err := exec.LookPath("dpipe")
	if err != nil {
		t.Fatal(err)
	}
	dp.Path, dp.Args = dpipe, append([]string{"dpipe"}, append(dp.Args, "=", "vde_plug", sw)...)
	// dpipe and the two it runs, in a process group to stop as one.
	dp.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	startNodeWith(t, dp)
	t.Cleanup(func() { syscall.Kill(-dp.Process.Pid, syscall.SIGKILL) })

	host := netnstest.Host(t)
	v := netnstest.New(t, nsTag("v"))
	if err := v.Adopt(host, vtap, "10.203.0.1/24"); err != nil {
		t.Fatal(err)
	}
	h := plugNS(t, path, "tap", nsTag("h"), nsTag("t"), "10.203.0.2/24")
	mustPing(t, h.ns, "10.203.0.1", "from ipn to vde_switch's TAP")
	mustPing(t, v, "10.203.0.2", "from vde_switch's TAP to ipn")
}

// TestPlugTwoCoordinators: two ipn networks, each of its own coordinator
// (as on two hosts), joined by two ipn plugs over a pipe pair, as ssh
// would carry them; TAPs on each, in namespaces of their own, ping each
// other across.
func TestPlugTwoCoordinators(t *testing.T) {
	needNetAdmin(t)
	// The second coordinator: a process of its own, at a socket of its own.
	dir, err := os.MkdirTemp("", "ipn-plug-") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "ipnd.sock")
	at2 := func(args ...string) *exec.Cmd {
		cmd := ipnCmd(t, args...)
		cmd.Env = append(cmd.Env, wire.EnvSocket+"="+sock)
		return cmd
	}
	d := at2("daemon", "--socket", sock)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Signal(os.Interrupt); d.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second coordinator never served")
		}
	}
	one := newNet(t, "--policy", "switch")
	two := filepath.Join(t.TempDir(), "net")
	if out, err := at2("create", two, "--policy", "switch").CombinedOutput(); err != nil {
		t.Fatalf("ipn create on the second coordinator: %v: %s", err, out)
	}

	// plug one's output is plug two's input, and back.
	p1, p2 := ipnCmd(t, "plug", one), at2("plug", two)
	r1, w1, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p1.Stdin, p1.Stdout, p2.Stdin, p2.Stdout = r2, w1, r1, w2
	startNodeWith(t, p1)
	startNodeWith(t, p2)
	for _, f := range []*os.File{r1, w1, r2, w2} {
		f.Close()
	}

	a := plugNS(t, one, "tap", nsTag("a"), nsTag("ta"), "10.204.0.1/24")
	b := netnstest.New(t, nsTag("b"))
	startNodeWith(t, at2("tap", two, "--name", nsTag("tb"), "--netns", b.Name, "--addr", "10.204.0.2/24"))
	mustPing(t, a.ns, "10.204.0.2", "from one coordinator's network to the other's")
	mustPing(t, b, "10.204.0.1", "and back")
}
