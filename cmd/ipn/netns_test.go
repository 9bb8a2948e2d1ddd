package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/internal/netns/netnstest"
	"github.com/ipn-project/ipn/internal/probe"
)

// switchNet makes an ipn switch network with room for TCP's bursts.
func switchNet(t *testing.T) string {
	return newNet(t, "--policy", "switch", "--pool", "256")
}

// plugHosts puts one TAP node per address on the network at path, each in
// a namespace of its own; the addresses are 10.<subnet>.0.<host>/24.
func plugHosts(t *testing.T, path, tag string, subnet int, hosts ...int) []hostOn {
	t.Helper()
	return plugHostsOf(t, "tap", path, tag, subnet, hosts...)
}

// plugHostsOf is plugHosts with interface nodes of kind ("tap" or "tun").
func plugHostsOf(t *testing.T, kind, path, tag string, subnet int, hosts ...int) []hostOn {
	t.Helper()
	var on []hostOn
	for i, h := range hosts {
		on = append(on, plugNS(t, path, kind, fmt.Sprintf("%s-%d", tag, i), fmt.Sprintf("%s%c", tag, 'a'+i),
			fmt.Sprintf("10.%d.0.%d/24", subnet, h)))
	}
	return on
}

// setPort runs ipn port PATH PORT with the given settings.
func setPort(t *testing.T, path string, port int, settings ...string) {
	t.Helper()
	mustIPN(t, nil, append([]string{"port", path, fmt.Sprint(port)}, settings...)...)
}

// TestNetnsThreeTaps joins three namespaces, each by a TAP node, on one ipn
// switch network: every one pings every other, and an iperf3 TCP transfer
// from the first to the third completes.
func TestNetnsThreeTaps(t *testing.T) {
	needNetAdmin(t, "iperf3")
	path := switchNet(t)
	hosts := plugHosts(t, path, nsTag("3t"), 219, 1, 2, 3)
	for i, from := range hosts {
		for j := range hosts {
			if i != j {
				mustPing(t, from.ns, fmt.Sprintf("10.219.0.%d", j+1), "on the switch")
			}
		}
	}
	if st := mustIPN(t, nil, "stat", path); !strings.Contains(st, "MAC table (3)") {
		t.Errorf("the switch did not learn the three hosts:\n%s", st)
	}

	r := mustIperf(t, hosts[0], hosts[2], "10.219.0.3", "across the switch")
	t.Logf("iperf3: %d bytes sent, %d received, %.0f Mbit/s, %d retransmits",
		r.SentBytes, r.ReceivedBytes, r.ReceivedBps/1e6, r.Retransmits)
}

// mustIperf runs a 2-second iperf3 TCP test from one host to another, whose
// address is addr, and fails the test unless it ends without error with
// bytes received.
func mustIperf(t *testing.T, from, to hostOn, addr, what string) probe.IperfResult {
	t.Helper()
	srv, err := probe.StartIperfServer(to.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r, err := probe.Iperf(from.ns, addr, 2*time.Second)
	if err != nil {
		t.Fatalf("iperf3 %s: %v\nserver: %s", what, err, srv.Close())
	}
	if r.ReceivedBytes <= 0 {
		t.Fatalf("iperf3 %s: the server received %d bytes, want some", what, r.ReceivedBytes)
	}
	return r
}

// TestVlanIsolation puts two namespaces on access ports of VLAN 10 and a
// third on VLAN 20, all in one subnet: the two on VLAN 10 reach each
// other, and neither reaches the third.
func TestVlanIsolation(t *testing.T) {
	needNetAdmin(t)
	path := switchNet(t)
	hosts := plugHosts(t, path, nsTag("vl"), 220, 1, 2, 3)
	for i, vlan := range []int{10, 10, 20} {
		setPort(t, path, hosts[i].port, "--access", fmt.Sprint(vlan))
	}
	mustPing(t, hosts[0].ns, "10.220.0.2", "to the same VLAN")
	for _, p := range []struct {
		from int
		addr string
	}{{0, "10.220.0.3"}, {1, "10.220.0.3"}, {2, "10.220.0.1"}} {
		if r, ok := ping(t, hosts[p.from].ns, p.addr); r.Received > 0 || ok {
			t.Errorf("ping %s from %s crossed VLANs: %d of %d answered\n%s", p.addr, hosts[p.from].ns, r.Received, r.Sent, r.Output)
		}
	}
}

// trunkSetup plugs a namespace into a trunk port of VLAN 100 (no native
// VLAN) and two hosts into access ports, of VLAN 100 (10.<subnet>.0.2) and
// of VLAN 1 (10.<subnet>.0.3). The trunk's interface is up, without address.
func trunkSetup(t *testing.T, tag string, subnet int) (trunk hostOn, access []hostOn) {
	t.Helper()
	path := switchNet(t)
	trunk = plugNS(t, path, "tap", tag+"-t", tag+"t", "")
	setPort(t, path, trunk.port, "--trunk", "0:100")
	access = plugHosts(t, path, tag, subnet, 2, 3)
	setPort(t, path, access[0].port, "--access", "100")
	return trunk, access
}

// TestTrunkVLANSubinterface pings from a VLAN subinterface (TAP.100) in a
// namespace on a trunk port to a host on an access port of VLAN 100.
func TestTrunkVLANSubinterface(t *testing.T) {
	needNetAdmin(t)
	trunk, _ := trunkSetup(t, nsTag("ts"), 221)
	sub, err := trunk.ns.AddVLAN(trunk.dev, 100)
	if errors.Is(err, syscall.EOPNOTSUPP) {
		t.Skipf("needs VLAN subinterfaces, which this kernel lacks (CONFIG_VLAN_8021Q); TestTrunkTaggedFrames covers the trunk without them: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := trunk.ns.AddAddr(sub, "10.221.0.1/24"); err != nil {
		t.Fatal(err)
	}
	if err := trunk.ns.Up(sub); err != nil {
		t.Fatal(err)
	}
	mustPing(t, trunk.ns, "10.221.0.2", "from "+sub+" over the trunk")
}

// TestTrunkTaggedFrames sends ARP requests through a trunk port from a raw
// socket in its namespace, so that it needs no 802.1Q support in the
// kernel: one tagged for VLAN 100 is answered, tagged 100, by the host on
// VLAN 100 (and not by the one on VLAN 1); an untagged one is not answered,
// the trunk having no native VLAN.
func TestTrunkTaggedFrames(t *testing.T) {
	needNetAdmin(t)
	trunk, _ := trunkSetup(t, nsTag("tt"), 222)
	me := netip.MustParseAddr("10.222.0.1")
	for _, c := range []struct {
		vlan   int
		target string
		answer bool
	}{{100, "10.222.0.2", true}, {100, "10.222.0.3", false}, {0, "10.222.0.2", false}, {0, "10.222.0.3", false}} {
		r, err := probe.ARP(trunk.ns, trunk.dev, c.vlan, me, netip.MustParseAddr(c.target), 2*time.Second)
		switch {
		case c.answer && err != nil:
			t.Errorf("ARP for %s tagged %d over the trunk: %v", c.target, c.vlan, err)
		case c.answer && r.VLAN != c.vlan:
			t.Errorf("ARP for %s tagged %d: the reply came tagged %d, want %d", c.target, c.vlan, r.VLAN, c.vlan)
		case !c.answer && !errors.Is(err, probe.ErrNoReply):
			t.Errorf("ARP for %s tagged %d: got reply %+v, err %v; want no reply", c.target, c.vlan, r, err)
		}
	}
}

// TestTapConfigures: ipn tap moves its interface into a namespace, gives
// it an address and sets it up itself (--netns, --addr), and two such
// hosts ping each other.
func TestTapConfigures(t *testing.T) {
	needNetAdmin(t)
	path := switchNet(t)
	tag := nsTag("cf")
	var hosts []*netns.NS
	for i := 0; i < 2; i++ {
		ns := netnstest.New(t, fmt.Sprintf("%s-%d", tag, i))
		startNode(t, "tap", path, "--name", fmt.Sprintf("%s%c", tag, 'a'+i), "--netns", ns.Name,
			"--addr", fmt.Sprintf("10.222.0.%d/24", i+1))
		hosts = append(hosts, ns)
	}
	for i, ns := range hosts {
		if !ns.Has(fmt.Sprintf("%s%c", tag, 'a'+i)) {
			t.Fatalf("the interface is not in %s", ns)
		}
	}
	mustPing(t, hosts[0], "10.222.0.2", "between hosts ipn tap configured")
}

// TestTapFitsNetworkMTU: on a network of short frames, ipn tap gives its
// interface an MTU whose frames fit, so the kernel hands over none the
// network cannot carry.
func TestTapFitsNetworkMTU(t *testing.T) {
	needNetAdmin(t)
	path := newNet(t, "--policy", "switch", "--mtu", "1000")
	dev := nsTag("mt")
	startNode(t, "tap", path, "--name", dev)
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	if ifc.MTU != 1000-14 {
		t.Errorf("%s has MTU %d on a network of 1000-byte frames, want %d", dev, ifc.MTU, 1000-14)
	}
}

// TestTapBadNetns: a namespace that does not exist is an error that names
// it, and leaves neither a port nor an interface behind.
func TestTapBadNetns(t *testing.T) {
	needNetAdmin(t)
	path := switchNet(t)
	dev := nsTag("bn")
	_, errOut, err := runIPN(t, nil, "tap", path, "--name", dev, "--netns", dev+"-none")
	if err == nil || !strings.Contains(errOut, "namespace "+dev+"-none") {
		t.Fatalf("ipn tap --netns of no namespace: %v, %q; want an error naming it", err, errOut)
	}
	// The coordinator lets go of the node once the process's connection
	// ends, a moment after the process.
	for deadline := time.Now().Add(10 * time.Second); len(statJSON(t, path).Ports) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a port was left behind: %+v", statJSON(t, path).Ports)
		}
	}
	if _, err := net.InterfaceByName(dev); err == nil {
		t.Errorf("the interface %s was left behind", dev)
	}
}
