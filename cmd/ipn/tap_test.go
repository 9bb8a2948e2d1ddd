package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/internal/netns/netnstest"
)

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
	tag := nsTag(kind[:2])
	var hosts []hostOn
	for i := 0; i < 2; i++ {
		hosts = append(hosts, plugNS(t, path, kind, fmt.Sprintf("%s-%d", tag, i), fmt.Sprintf("%s%c", tag, 'a'+i),
			fmt.Sprintf("10.%d.0.%d/24", subnet, i+1)))
	}
	mustPing(t, hosts[0].ns, fmt.Sprintf("10.%d.0.2", subnet), "across the "+kind+" nodes")
}

// TestGrabPing grabs one end of a veth pair whose other end is in a
// namespace, and pings from there to a TAP node in another namespace
// through an ipn switch.
func TestGrabPing(t *testing.T) {
	needNetAdmin(t)
	grabbed, _ := grabAndTap(t, "gr", 215)
	mustPing(t, grabbed.ns, "10.215.0.2", "behind the grabbed interface")
}

// TestGrabTCP: a TCP stream from behind a grabbed veth reaches a TAP node.
// The veth hands the packet socket TCP segments of up to 64 KiB, longer
// than the network's frames, with checksums left to offload: they must
// arrive cut to size and valid.
func TestGrabTCP(t *testing.T) {
	needNetAdmin(t, "iperf3")
	grabbed, tapped := grabAndTap(t, "gt", 224)
	mustPing(t, grabbed.ns, "10.224.0.2", "behind the grabbed interface")
	r := mustIperf(t, grabbed, tapped, "10.224.0.2", "from behind the grabbed interface")
	t.Logf("iperf3: %.0f Mbit/s, %d retransmits", r.ReceivedBps/1e6, r.Retransmits)
}

// grabAndTap makes an ipn switch network with two hosts on it: one in a
// namespace behind a veth whose host end ipn grab takes, at
// 10.<subnet>.0.1, and one behind a TAP node, at 10.<subnet>.0.2.
func grabAndTap(t *testing.T, kind string, subnet int) (grabbed, tapped hostOn) {
	t.Helper()
	path := newNet(t, "--policy", "switch", "--lossless", "--pool", "64")
	tag := nsTag(kind)
	vethHost, vethNS := tag+"h", tag+"n"
	host := netnstest.Host(t)
	ns := netnstest.New(t, tag+"-0")
	if err := host.AddVeth(vethHost, vethNS); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.DelLink(vethHost) })
	if err := ns.Adopt(host, vethNS, fmt.Sprintf("10.%d.0.1/24", subnet)); err != nil {
		t.Fatal(err)
	}
	if err := host.Up(vethHost); err != nil {
		t.Fatal(err)
	}
	port := startNode(t, "grab", path, vethHost)
	tapped = plugNS(t, path, "tap", tag+"-1", tag+"t", fmt.Sprintf("10.%d.0.2/24", subnet))
	return hostOn{ns: ns, dev: vethNS, port: port}, tapped
}

// TestTapNetnsDefaultNames: two TAP nodes made with --netns and no --name,
// in two namespaces, both join (each gets an ipnN of its own, made inside
// its namespace) and carry a ping between the namespaces; the same
// --name in two namespaces makes two nodes, which unpersist tells apart
// only with @NETNS.
func TestTapNetnsDefaultNames(t *testing.T) {
	needNetAdmin(t)
	path := newNet(t, "--policy", "switch", "--lossless", "--pool", "64")
	tag := nsTag("dn")
	ns := []*netns.NS{netnstest.New(t, tag+"-a"), netnstest.New(t, tag+"-b")}
	detached := regexp.MustCompile(`ipn unpersist (\S+)`)
	var names []string
	for i, at := range ns {
		out := mustIPN(t, nil, "tap", path, "--netns", at.Name, "--addr", fmt.Sprintf("10.226.0.%d/24", i+1), "--detach")
		m := detached.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("ipn tap --netns %s --detach said %q", at.Name, out)
		}
		key := m[1]
		t.Cleanup(func() { runIPN(t, nil, "unpersist", key) })
		name, where, _ := strings.Cut(key, "@")
		if where != at.Name || !regexp.MustCompile(`^ipn\d+$`).MatchString(name) {
			t.Errorf("node %q, want ipnN@%s", key, at.Name)
		}
		if !at.Has(name) {
			t.Errorf("%s is not in %s", name, at)
		}
		names = append(names, name)
	}
	if names[0] == names[1] {
		t.Errorf("both default names are %s: the second is already a node of the network", names[0])
	}
	waitStat(t, path, names[1]+" (index", "netns "+ns[1].Name, "pumped by ipnd")
	mustPing(t, ns[0], "10.226.0.2", "between the two default-named TAP nodes")
	mustPing(t, ns[1], "10.226.0.1", "between the two default-named TAP nodes")

	// One name in two namespaces: two nodes, and a name that needs its
	// namespace.
	same := tag + "s"
	for _, at := range ns {
		mustIPN(t, nil, "tap", path, "--netns", at.Name, "--name", same, "--detach")
		t.Cleanup(func() { runIPN(t, nil, "unpersist", same+"@"+at.Name) })
	}
	_, errOut, err := runIPN(t, nil, "unpersist", same)
	if err == nil || !strings.Contains(errOut, "NAME@NETNS") || !strings.Contains(errOut, same+"@"+ns[0].Name) {
		t.Errorf("unpersist of a name two namespaces have: %v, %q; want it refused as ambiguous (ENOTUNIQ)", err, errOut)
	}
	if out := mustIPN(t, nil, "unpersist", same+"@"+ns[0].Name); !strings.Contains(out, "removed") {
		t.Errorf("unpersist %s@%s said %q", same, ns[0].Name, out)
	}
	if ns[0].Has(same) || !ns[1].Has(same) {
		t.Errorf("after unpersist %s@%s: in %s %v, in %s %v; want only the second left", same, ns[0].Name,
			ns[0], ns[0].Has(same), ns[1], ns[1].Has(same))
	}
	// Now the name alone is unambiguous again.
	if out := mustIPN(t, nil, "unpersist", same); !strings.Contains(out, same+"@"+ns[1].Name) {
		t.Errorf("unpersist %s said %q, want the node in %s", same, out, ns[1])
	}
}
