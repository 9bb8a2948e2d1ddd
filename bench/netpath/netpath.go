package netpath

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/netdev"
	"github.com/ipn-project/ipn/wire"

	"github.com/ipn-project/ipn/bench/harness"
)

// A NetPath joins two network namespaces on one Ethernet segment: the
// network-path benchmark (RunNetPaths) sends real TCP and ICMP traffic
// through each, side by side.
type NetPath interface {
	// Name names the path in tables.
	Name() string
	// Describe says how the path is made, for the results.
	Describe() string
	// Join puts a and b on one segment, a with the address addrs[0] and b
	// with addrs[1] (CIDR), and returns what undoes it.
	Join(host *netns.NS, a, b *netns.NS, tag string, addrs [2]string) (cleanup func(), err error)
}

// undo collects cleanups and runs them last first.
type undo []func()

func (u *undo) add(f func()) { *u = append(*u, f) }

func (u undo) run() {
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
}

// adoptBoth moves the interfaces devs[0] and devs[1] from the host into a
// and b with their addresses, and sets them up.
func adoptBoth(host, a, b *netns.NS, devs, addrs [2]string) error {
	for i, ns := range []*netns.NS{a, b} {
		if err := ns.Adopt(host, devs[i], addrs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Bridge is the Linux bridge with a veth pair per namespace: the kernel's
// own software switch, the path to approach.
type Bridge struct{}

// Name implements NetPath.
func (Bridge) Name() string { return "linux-bridge" }

// Describe implements NetPath.
func (Bridge) Describe() string {
	return "a Linux bridge in the host namespace, one veth pair per namespace (one end enslaved to the bridge)"
}

// Join implements NetPath.
func (Bridge) Join(host, a, b *netns.NS, tag string, addrs [2]string) (func(), error) {
	var u undo
	ok := false
	defer func() {
		if !ok {
			u.run()
		}
	}()
	br := tag + "br"
	if err := host.AddBridge(br); err != nil {
		return nil, err
	}
	u.add(func() { host.DelLink(br) })
	var nsEnds [2]string
	for i := range nsEnds {
		hostEnd := fmt.Sprintf("%sh%d", tag, i)
		nsEnds[i] = fmt.Sprintf("%sn%d", tag, i)
		if err := host.AddVeth(hostEnd, nsEnds[i]); err != nil {
			return nil, err
		}
		u.add(func() { host.DelLink(hostEnd) })
		if err := host.SetMaster(hostEnd, br); err != nil {
			return nil, err
		}
		if err := host.Up(hostEnd); err != nil {
			return nil, err
		}
	}
	if err := host.Up(br); err != nil {
		return nil, err
	}
	if err := adoptBoth(host, a, b, nsEnds, addrs); err != nil {
		return nil, err
	}
	ok = true
	return u.run, nil
}

// VDETaps is vde_switch (Debian's vde2) with one TAP port per namespace: the
// user-space switch that ipn's switch policy stands in for.
type VDETaps struct{}

// Name implements NetPath.
func (VDETaps) Name() string { return "vde_switch" }

// Describe implements NetPath.
func (VDETaps) Describe() string {
	return "one vde_switch process with two TAP ports (vde_switch -t A -t B), each TAP moved into its namespace"
}

// Join implements NetPath.
func (VDETaps) Join(host, a, b *netns.NS, tag string, addrs [2]string) (func(), error) {
	dir, err := os.MkdirTemp("", "ipn-bench-vde-")
	if err != nil {
		return nil, err
	}
	taps := [2]string{tag + "v0", tag + "v1"}
	cmd := exec.Command("vde_switch", "-s", filepath.Join(dir, "sock"), "-t", taps[0], "-t", taps[1])
	// Without -d, vde_switch reads commands from stdin and stops at its
	// end: the pipe keeps it running until cleanup closes it.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	out := &netns.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("vde_switch: %w", err)
	}
	cleanup := func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	if err := adoptWhenThere(host, a, b, taps, addrs, func() string { return "vde_switch: " + out.String() }); err != nil {
		cleanup()
		return nil, err
	}
	return cleanup, nil
}

// adoptWhenThere waits for a program to make the interfaces devs in the
// host, then moves them into a and b (adoptBoth).
func adoptWhenThere(host, a, b *netns.NS, devs, addrs [2]string, says func() string) error {
	for deadline := time.Now().Add(10 * time.Second); !host.Has(devs[0]) || !host.Has(devs[1]); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("interfaces %s and %s never appeared: %s", devs[0], devs[1], says())
		}
	}
	return adoptBoth(host, a, b, devs, addrs)
}

// IPNSwitch is an ipn network with the switch policy and one `ipn tap` node
// per namespace, each its own process, as a user would run them.
type IPNSwitch struct {
	// Bin is the ipn command (see BuildIPN).
	Bin string
	// Create holds the ipn create options after PATH --policy switch.
	Create []string
}

// Name implements NetPath.
func (IPNSwitch) Name() string { return "ipn" }

// Describe implements NetPath.
func (p IPNSwitch) Describe() string {
	return fmt.Sprintf("an ipn network (ipn create PATH --policy switch %s), one ipn tap process per namespace, each TAP moved into its namespace",
		strings.Join(p.Create, " "))
}

// Join implements NetPath.
func (p IPNSwitch) Join(host, a, b *netns.NS, tag string, addrs [2]string) (func(), error) {
	sock, err := harness.CoordinatorSocket()
	if err != nil {
		return nil, err
	}
	var u undo
	ok := false
	defer func() {
		if !ok {
			u.run()
		}
	}()
	env := append(os.Environ(), wire.EnvSocket+"="+sock, "IPN_NO_AUTOSTART=1")
	run := func(args ...string) *exec.Cmd {
		cmd := exec.Command(p.Bin, args...)
		cmd.Env = env
		return cmd
	}
	path := filepath.Join(filepath.Dir(sock), tag+"-lan")
	if out, err := run(append([]string{"create", path, "--policy", "switch"}, p.Create...)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ipn create: %v\n%s", err, out)
	}
	u.add(func() { run("destroy", path).Run() })
	taps := [2]string{tag + "i0", tag + "i1"}
	var outs [2]*netns.Buffer
	for i, name := range taps {
		cmd := run("tap", path, "--name", name)
		outs[i] = &netns.Buffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("ipn tap: %w", err)
		}
		u.add(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	if err := adoptWhenThere(host, a, b, taps, addrs, func() string { return "ipn tap: " + outs[0].String() + outs[1].String() }); err != nil {
		return nil, err
	}
	ok = true
	return u.run, nil
}

// BuildIPN builds the ipn command into dir and returns its path. It runs
// the go command on the PATH, where go test puts its own.
func BuildIPN(dir string) (string, error) {
	bin := filepath.Join(dir, "ipn")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ipn-project/ipn/cmd/ipn").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build github.com/ipn-project/ipn/cmd/ipn: %v\n%s", err, out)
	}
	return bin, nil
}

// NetPathsReady says why the network-path benchmark cannot run here: it
// needs root (namespaces, bridges, TAP interfaces), /dev/net/tun, and
// iperf3, ping and vde_switch (Debian's iperf3, iputils-ping and vde2).
func NetPathsReady() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root: makes network namespaces, bridges and TAP interfaces")
	}
	for _, tool := range []string{"iperf3", "ping", "vde_switch"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("needs %s (Debian's iperf3, iputils-ping and vde2)", tool)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("needs /dev/net/tun: %w", err)
	}
	return nil
}

// NetPaths are the paths RunNetPaths compares: ipn first (the subject),
// with the ipn command at bin, then its baselines. The ipn network's MTU
// carries 64 KiB TCP segments, so its TAP nodes use segmentation offload,
// as veth pairs on a bridge do; vde_switch has no such mode.
func NetPaths(bin string) []NetPath {
	return []NetPath{IPNSwitch{Bin: bin, Create: []string{"--lossless", "--pool", "256", "--mtu", strconv.Itoa(netdev.OffloadMTU)}}, Bridge{}, VDETaps{}}
}
