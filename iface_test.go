package ipn_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/netdev"
)

// TestAttachInterfaceChecksDescriptor: the coordinator asks the kernel what
// a descriptor handed to it is, and refuses one that is no interface.
func TestAttachInterfaceChecksDescriptor(t *testing.T) {
	path := netPath(t)
	creator(t, path)
	n := joiner(t, path)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := n.AttachInterface(int(r.Fd()), true); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("AttachInterface(pipe) = %v, want EINVAL", err)
	}
	if _, err := ipn.NewNode(ipn.Any).AttachInterface(int(r.Fd()), false); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("AttachInterface on an unconnected node = %v, want ENOTCONN", err)
	}
}

// TestInterfaceUnknown: take-over and persistence of a name that is no
// interface node fail with ENODEV, and leave the node free to connect.
func TestInterfaceUnknown(t *testing.T) {
	path := netPath(t)
	creator(t, path)
	n := ipn.NewNode(ipn.Any)
	defer n.Close()
	if _, _, err := n.TakeOver(path, "ipn-no-such"); !errors.Is(err, syscall.ENODEV) {
		t.Fatalf("TakeOver(unknown) = %v, want ENODEV", err)
	}
	if err := n.Connect(path); err != nil {
		t.Fatalf("Connect after a refused take-over: %v", err)
	}
	if _, err := ipn.SetPersist("ipn-no-such", true); !errors.Is(err, syscall.ENODEV) {
		t.Fatalf("SetPersist(unknown) = %v, want ENODEV", err)
	}
}

// TestPersistentTAP walks an interface node through D3: it outlives its
// process, the coordinator pumps it, a process takes it over (a second is
// refused with EADDRNOTAVAIL), and clearing persistence while nobody
// controls it removes the interface and ends the network, whose last node
// it was.
func TestPersistentTAP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a TAP interface")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
	path := netPath(t)
	b := creator(t, path) // makes the network; not kept without nodes
	a := joiner(t, path)
	dev, err := netdev.NewTAP("")
	if err != nil {
		t.Fatal(err)
	}
	name := dev.Name()
	info, err := a.AttachInterface(dev.FD(), true)
	if err != nil {
		dev.Close()
		t.Fatal(err)
	}
	if info.Name != name || info.Kind != netdev.KindTAP || !info.Persist || info.Port != a.Port() {
		t.Fatalf("AttachInterface = %+v, want a persistent tap %s on port %d", info, name, a.Port())
	}
	// The same interface cannot be a node twice.
	c := joiner(t, path)
	if _, err := c.AttachInterface(dev.FD(), false); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second AttachInterface = %v, want EADDRINUSE", err)
	}
	c.Close()
	b.Close()
	port := a.Port()
	a.Close()
	dev.Close() // the process's own copy: only the coordinator's is left
	p := waitIfacePort(t, path, name, func(f *ipn.IfaceInfo) bool { return f.Pumped })
	if p.Port != port {
		t.Errorf("pumped on port %d, want the node's port %d", p.Port, port)
	}
	if _, err := net.InterfaceByName(name); err != nil {
		t.Fatalf("the interface did not outlive its process: %v", err)
	}

	d := ipn.NewNode(ipn.Any)
	defer d.Close()
	fd, info, err := d.TakeOver(path, name)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pumped || d.Port() != port {
		t.Errorf("after take-over: %+v on port %d, want not pumped, port %d", info, d.Port(), port)
	}
	if kind, got, err := netdev.Identify(fd); err != nil || kind != netdev.KindTAP || got.Name != name {
		t.Errorf("take-over handed over %s %q (%v), want the tap %s", kind, got, err, name)
	}
	e := ipn.NewNode(ipn.Any)
	defer e.Close()
	if _, _, err := e.TakeOver(path, name); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("take-over of a controlled interface = %v, want EADDRNOTAVAIL", err)
	}
	idx, _ := net.InterfaceByName(name)
	d.Close()
	unix.Close(fd)
	waitIfacePort(t, path, name, func(f *ipn.IfaceInfo) bool { return f.Pumped })
	// By index, this time, and the node goes with its persistence.
	off, err := ipn.SetPersist(strconv.Itoa(idx.Index), false)
	if err != nil {
		t.Fatal(err)
	}
	if off.Persist || off.Pumped {
		t.Errorf("after unpersist: %+v", off)
	}
	waitFor(t, "the interface to go", func() bool { _, err := net.InterfaceByName(name); return err != nil })
	waitGone(t, path) // the network, whose last node it was
}

// waitIfacePort waits until the network's port for interface name is in
// the state ok accepts, and returns it. The coordinator handles a node's
// departure after the node's Close returns.
func waitIfacePort(t *testing.T, path, name string, ok func(*ipn.IfaceInfo) bool) ipn.IfaceInfo {
	t.Helper()
	var got ipn.IfaceInfo
	waitFor(t, "interface "+name+" to change state", func() bool {
		_, ports, err := ipn.Stat(path)
		for _, p := range ports {
			if err == nil && p.Iface != nil && p.Iface.Name == name && ok(p.Iface) {
				got = *p.Iface
				return true
			}
		}
		return false
	})
	return got
}

// TestPersistentGrab: a grabbed interface kept by the coordinator after its
// process let go, and given back, not removed, when its persistence is
// cleared.
func TestPersistentGrab(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes a veth pair and grabs one end")
	}
	host, err := netns.Host()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	name := fmt.Sprintf("ipng%d", os.Getpid()%100000)
	if err := host.AddVeth(name, name+"p"); err != nil {
		t.Fatal(err)
	}
	defer host.DelLink(name)
	if err := host.Up(name, name+"p"); err != nil {
		t.Fatal(err)
	}
	path := netPath(t)
	creator(t, path) // keeps the network for the test
	a := joiner(t, path)
	dev, err := netdev.Grab(name)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := a.AttachInterface(dev.FD(), true); err != nil || info.Kind != netdev.KindGrab || info.Name != name {
		t.Fatalf("AttachInterface(grab %s) = %+v, %v", name, info, err)
	}
	a.Close()
	dev.Close()
	waitIfacePort(t, path, name, func(f *ipn.IfaceInfo) bool { return f.Pumped && f.Kind == netdev.KindGrab })
	if _, err := ipn.SetPersist(name, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the grabbed port to go", func() bool {
		_, ports, err := ipn.Stat(path)
		for _, p := range ports {
			if p.Iface != nil {
				return false
			}
		}
		return err == nil
	})
	if !host.Has(name) {
		t.Errorf("%s was removed; a grabbed interface is to be given back", name)
	}
}

func init() {
	// iface-control tries to change the interface node named by
	// IPN_TEST_IFACE and says what it got.
	roles["iface-control"] = func(path string) error {
		name := os.Getenv("IPN_TEST_IFACE")
		_, perr := ipn.SetPersist(name, false)
		n := ipn.NewNode(ipn.Any)
		defer n.Close()
		_, _, terr := n.TakeOver(path, name)
		fmt.Printf("persist %s takeover %s\n", errOrOK(perr), errOrOK(terr))
		return nil
	}
}

func errOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return errName(err)
}

// TestInterfaceControlNeedsOwner: another user may neither clear a
// persistent interface node's persistence nor take it over (EPERM), even on
// a network it may join.
func TestInterfaceControlNeedsOwner(t *testing.T) {
	e := newPermEnv(t)
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
	path := e.permNet(t, "ifnet", 0o777)
	a := joiner(t, path)
	dev, err := netdev.NewTAP("")
	if err != nil {
		t.Fatal(err)
	}
	name := dev.Name()
	if _, err := a.AttachInterface(dev.FD(), true); err != nil {
		dev.Close()
		t.Fatal(err)
	}
	a.Close()
	dev.Close()
	waitIfacePort(t, path, name, func(f *ipn.IfaceInfo) bool { return f.Pumped })
	t.Cleanup(func() { ipn.SetPersist(name, false) })

	m := launch(t, "iface-control", path, launchOpts{bin: e.bin, cred: &syscall.Credential{Uid: permUID, Gid: permGID},
		env: []string{"IPN_TEST_IFACE=" + name}})
	if out := strings.TrimSpace(waitExit(t, m, "iface-control as another user", 20*time.Second)); out != "persist EPERM takeover EPERM" {
		t.Errorf("another user on %s: %s, want persist EPERM takeover EPERM", name, out)
	}
	waitIfacePort(t, path, name, func(f *ipn.IfaceInfo) bool { return f.Pumped && f.Persist })
}
