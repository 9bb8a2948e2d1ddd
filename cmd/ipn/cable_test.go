package main

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/internal/netns/netnstest"
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
	checkLoopEnds(t, a, b)
}

// checkLoopEnds sends an Ethernet frame on the network at a, in a cycle of
// cables with b, and checks that a receiver on b sees a bounded number of
// copies, whole. The frame goes from this process, so that it follows the
// receiver's start at once: the receiver stops once no copy came for 2 s.
func checkLoopEnds(t *testing.T, a, b string) {
	t.Helper()
	tx := ipn.NewNode(ipn.Any)
	if err := tx.Connect(a); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if err := tx.Shutdown(syscall.SHUT_RD); err != nil { // a sender only: copies do not queue to it
		t.Fatal(err)
	}
	f := ethFrame("round and round")
	r, out, errOut := startRecv(t, b, "rx", "--timeout", "2s")
	if err := tx.Send(f); err != nil {
		t.Fatal(err)
	}
	waitRecv(t, r, errOut)
	copies := bytes.Count(out.Bytes(), f)
	t.Logf("%d copies before the hop limit ended the loop", copies)
	// Two copies go round, one each way; b sees each at every other hop.
	if max := 2 * (dispatch.MaxHops/2 + 1); copies < 2 || copies > max || len(out.Bytes()) != copies*len(f) {
		t.Errorf("the receiver saw %d copies in %d bytes, want 2 to %d whole: the hop limit did not end the loop", copies, len(out.Bytes()), max)
	}
}

// freeUDPPort finds a UDP port free on loopback, for a VXLAN cable's
// dstport: two cables on 127.0.0.1 and 127.0.0.2 share it, as two hosts'
// VXLAN devices do.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

// vxlanCables joins the networks a and b by two VXLAN cables facing each
// other on loopback, with extra flags for both.
func vxlanCables(t *testing.T, a, b string, extra ...string) {
	t.Helper()
	port := freeUDPPort(t)
	startNode(t, append([]string{"cable", a, "--vxlan", "127.0.0.2", "--local", "127.0.0.1", "--vni", "4242", "--dstport", port}, extra...)...)
	startNode(t, append([]string{"cable", b, "--vxlan", "127.0.0.1", "--local", "127.0.0.2", "--vni", "4242", "--dstport", port}, extra...)...)
}

// sendFrameAcross sends an Ethernet frame on the network at from and
// checks that a receiver on the network at to gets it.
func sendFrameAcross(t *testing.T, from, to, text string) {
	t.Helper()
	f := ethFrame(text)
	r, out, errOut := startRecv(t, to, "rx", "--count", "1", "--timeout", "20s")
	mustIPN(t, f, "send", from, "--chunk", "1514")
	waitRecv(t, r, errOut)
	if !bytes.Equal(out.Bytes(), f) {
		t.Errorf("across the cable from %s: got %q, want %q", from, out.Bytes(), f)
	}
}

// TestCableVXLAN joins two networks through two VXLAN cables on loopback,
// as two hosts would be: frames go both ways.
func TestCableVXLAN(t *testing.T) {
	a, b := newNet(t, "--lossless"), newNet(t, "--lossless")
	vxlanCables(t, a, b)
	waitCable(t, a, 1)
	waitCable(t, b, 1)
	sendFrameAcross(t, a, b, "over vxlan")
	sendFrameAcross(t, b, a, "and back")
}

// TestCableLoopEndsVXLAN: a local cable and a pair of VXLAN cables carrying
// the hop depth (--hops) between the same two networks make a cycle; the
// hop limit ends it as for local cables alone.
func TestCableLoopEndsVXLAN(t *testing.T) {
	a, b := newNet(t), newNet(t)
	startNode(t, "cable", a, b)
	vxlanCables(t, a, b, "--hops")
	waitCable(t, a, 2)
	waitCable(t, b, 2)
	checkLoopEnds(t, a, b)
}

// TestCableVXLANKernel: a TAP on an ipn switch and the kernel's own vxlan
// device, each in a namespace of its own, ping each other through a VXLAN
// cable over a veth pair, both ways: with each the other's unicast peer,
// and with both members of a multicast group.
//
//	ns h: TAP 10.202.0.1 ── ipn switch ── cable ─┐ (socket in ns u, 10.201.0.1)
//	                                             │ veth, UDP 4789
//	ns k: vxlan device, VNI 42, 10.202.0.2 ──────┘ (over 10.201.0.2)
func TestCableVXLANKernel(t *testing.T) {
	needNetAdmin(t, "ip")
	for _, group := range []bool{false, true} {
		t.Run(map[bool]string{false: "peer", true: "group"}[group], func(t *testing.T) {
			path := newNet(t, "--policy", "switch")
			host := netnstest.Host(t)
			u, k := netnstest.New(t, nsTag("u")), netnstest.New(t, nsTag("k"))
			vu, vk := nsTag("vu"), nsTag("vk")
			if err := host.AddVeth(vu, vk); err != nil {
				t.Fatal(err)
			}
			if err := u.Adopt(host, vu, "10.201.0.1/24"); err != nil {
				t.Fatal(err)
			}
			if err := k.Adopt(host, vk, "10.201.0.2/24"); err != nil {
				t.Fatal(err)
			}
			// The kernel's device and the cable, each the other's peer or
			// members of one group.
			kernelSide, ipnSide := []string{"remote", "10.201.0.1"}, []string{"10.201.0.2", "--local", "10.201.0.1"}
			if group {
				kernelSide, ipnSide = []string{"group", "239.1.1.1"}, []string{"239.1.1.1", "--dev", vu}
			}
			dev := append([]string{"ip", "link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789", "dev", vk}, kernelSide...)
			cable := append([]string{"cable", path, "--vni", "42", "--netns", u.Name, "--vxlan"}, ipnSide...)
			if out, err := k.Output(dev[0], dev[1:]...); err != nil {
				t.Fatalf("%v: %v: %s", dev, err, out)
			}
			if err := k.AddAddr("vx0", "10.202.0.2/24"); err != nil {
				t.Fatal(err)
			}
			if err := k.Up("vx0"); err != nil {
				t.Fatal(err)
			}
			startNode(t, cable...)
			h := plugNS(t, path, "tap", nsTag("h"), nsTag("t"), "10.202.0.1/24")
			mustPing(t, h.ns, "10.202.0.2", "to the kernel's vxlan device through the cable")
			mustPing(t, k, "10.202.0.1", "from the kernel's vxlan device to the TAP through the cable")
		})
	}
}
