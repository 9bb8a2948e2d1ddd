package netpath

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/wire"
)

// The cross-host paths stand two namespaces in for two hosts: each has
// its own switch, and the two switches are joined by VXLAN over a veth
// pair between the namespaces, the link between the hosts.
const (
	underlayMTU = 1600 // room for a VXLAN header around a 1500-byte frame
	crossVNI    = "42"
)

// underlay makes the veth pair between a and b, the link between the two
// "hosts", with the addresses 10.250.0.1 and .2, and returns the names of
// its ends.
func underlay(host, a, b *netns.NS, tag string) ([2]string, error) {
	ends := [2]string{tag + "u0", tag + "u1"}
	if err := host.AddVeth(ends[0], ends[1]); err != nil {
		return ends, err
	}
	for _, e := range ends {
		if err := host.SetMTU(e, underlayMTU); err != nil {
			return ends, err
		}
	}
	return ends, adoptBoth(host, a, b, ends, underlayAddrs)
}

var underlayAddrs = [2]string{"10.250.0.1/24", "10.250.0.2/24"}

// underlayIP is side i's underlay address, and the peer's is side 1-i's.
func underlayIP(i int) string { return strings.TrimSuffix(underlayAddrs[i], "/24") }

// KernelVXLAN is two Linux bridges, one per namespace, joined by the
// kernel's vxlan devices over the veth pair: the path a VXLAN cable is
// measured against.
type KernelVXLAN struct{}

// Name implements NetPath.
func (KernelVXLAN) Name() string { return "kernel-vxlan" }

// Describe implements NetPath.
func (KernelVXLAN) Describe() string {
	return "in each namespace a Linux bridge with the address and a vxlan device (VNI " + crossVNI +
		", MTU 1500) as its port, the two devices each other's remote over a veth pair (MTU 1600)"
}

// Join implements NetPath.
func (KernelVXLAN) Join(host, a, b *netns.NS, tag string, addrs [2]string) (func(), error) {
	ends, err := underlay(host, a, b, tag)
	if err != nil {
		return nil, err
	}
	for i, ns := range []*netns.NS{a, b} {
		if out, err := ns.Output("ip", "link", "add", "vx0", "mtu", "1500", "type", "vxlan", "id", crossVNI,
			"local", underlayIP(i), "remote", underlayIP(1-i), "dstport", "4789", "dev", ends[i]); err != nil {
			return nil, fmt.Errorf("ip link add vx0 type vxlan in %s: %v: %s", ns, err, out)
		}
		if err := ns.AddBridge("br0"); err != nil {
			return nil, err
		}
		if err := ns.SetMaster("vx0", "br0"); err != nil {
			return nil, err
		}
		if err := ns.AddAddr("br0", addrs[i]); err != nil {
			return nil, err
		}
		if err := ns.Up("vx0", "br0"); err != nil {
			return nil, err
		}
	}
	// Everything is inside the namespaces, and goes with them.
	return func() {}, nil
}

// IPNVXLAN is two ipn switch networks, one per namespace, each of a
// coordinator of its own, each with an ipn tap node in its namespace,
// joined by a VXLAN cable at each end over the veth pair.
type IPNVXLAN struct {
	// Bin is the ipn command (see BuildIPN).
	Bin string
}

// Name implements NetPath.
func (IPNVXLAN) Name() string { return "ipn-vxlan" }

// Describe implements NetPath.
func (IPNVXLAN) Describe() string {
	return "in each namespace an ipn switch network (ipn create PATH --policy switch --lossless --pool 256) of a coordinator " +
		"of its own, an ipn tap process with the address, and an ipn cable --vxlan process (VNI " + crossVNI +
		") whose socket is in the namespace, the two cables each other's peer over a veth pair (MTU 1600)"
}

// Join implements NetPath.
func (p IPNVXLAN) Join(host, a, b *netns.NS, tag string, addrs [2]string) (func(), error) {
	dir, err := os.MkdirTemp("", "ipn-bench-vxlan-")
	if err != nil {
		return nil, err
	}
	var u undo
	u.add(func() { os.RemoveAll(dir) })
	ok := false
	defer func() {
		if !ok {
			u.run()
		}
	}()
	if _, err := underlay(host, a, b, tag); err != nil {
		return nil, err
	}
	for i, ns := range []*netns.NS{a, b} {
		sock := filepath.Join(dir, fmt.Sprintf("ipnd%d.sock", i))
		env := append(os.Environ(), wire.EnvSocket+"="+sock, "IPN_NO_AUTOSTART=1")
		start := func(args ...string) (*netns.Buffer, error) {
			cmd := exec.Command(p.Bin, args...)
			cmd.Env = env
			out := &netns.Buffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				return nil, fmt.Errorf("ipn %s: %w", args[0], err)
			}
			u.add(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
			return out, nil
		}
		out, err := start("daemon", "--socket", sock)
		if err != nil {
			return nil, err
		}
		if err := waitUntil(func() bool { _, err := os.Stat(sock); return err == nil }, "the coordinator", out); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, fmt.Sprintf("lan%d", i))
		cmd := exec.Command(p.Bin, "create", path, "--policy", "switch", "--lossless", "--pool", "256")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ipn create: %v\n%s", err, out)
		}
		if out, err = start("tap", path, "--name", fmt.Sprintf("%si%d", tag, i), "--netns", ns.Name, "--addr", addrs[i]); err != nil {
			return nil, err
		}
		if err := waitUntil(func() bool { return strings.Contains(out.String(), ", port ") }, "ipn tap", out); err != nil {
			return nil, err
		}
		if out, err = start("cable", path, "--vxlan", underlayIP(1-i), "--local", underlayIP(i), "--vni", crossVNI, "--netns", ns.Name); err != nil {
			return nil, err
		}
		if err := waitUntil(func() bool { return strings.Contains(out.String(), "VXLAN") }, "ipn cable", out); err != nil {
			return nil, err
		}
	}
	ok = true
	return u.run, nil
}

// waitUntil waits for done, for at most 10 s, and says what did not come
// up, with its output, if it never is.
func waitUntil(done func() bool, what string, out *netns.Buffer) error {
	for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s never came up: %s", what, out.String())
		}
	}
	return nil
}

// CrossHostReady says why the cross-host paths cannot run here: besides
// what NetPathsReady asks, they need ip (Debian's iproute2), to make the
// kernel's vxlan devices.
func CrossHostReady() error {
	if err := NetPathsReady(); err != nil {
		return err
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("needs ip (Debian's iproute2)")
	}
	return nil
}

// CrossHostPaths are the paths of the cross-host comparison: a VXLAN cable
// between two ipn switches first (the subject), with the ipn command at
// bin, then two Linux bridges joined by the kernel's vxlan devices.
func CrossHostPaths(bin string) []NetPath {
	return []NetPath{IPNVXLAN{Bin: bin}, KernelVXLAN{}}
}
