package netns_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn/internal/netns"
	"github.com/ipn-project/ipn/internal/netns/netnstest"
	"github.com/ipn-project/ipn/internal/probe"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes network namespaces and links")
	}
}

func threadNS(t *testing.T) string {
	t.Helper()
	s, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestVethVLANBridge links two namespaces by a veth pair and a VLAN on it,
// and a third through a bridge, all made by netlink, and pings across each;
// the test's own threads stay in the host namespace throughout.
func TestVethVLANBridge(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping (Debian's iputils-ping)")
	}
	before := threadNS(t)
	host := netnstest.Host(t)
	tag := fmt.Sprintf("nst%d", os.Getpid()%10000)
	a, b := netnstest.New(t, tag+"a"), netnstest.New(t, tag+"b")
	if err := a.AddVeth("va", "vb"); err != nil {
		t.Fatal(err)
	}
	if err := b.Adopt(a, "vb", "10.216.0.2/24"); err != nil {
		t.Fatal(err)
	}
	if err := a.AddAddr("va", "10.216.0.1/24"); err != nil {
		t.Fatal(err)
	}
	if err := a.Up("va"); err != nil {
		t.Fatal(err)
	}
	vlan := true
	for _, ns := range []*netns.NS{a, b} {
		v, err := ns.AddVLAN(map[*netns.NS]string{a: "va", b: "vb"}[ns], 100)
		if errors.Is(err, syscall.EOPNOTSUPP) {
			t.Logf("no VLAN subinterfaces: the kernel lacks 802.1Q (CONFIG_VLAN_8021Q): %v", err)
			vlan = false
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := ns.AddAddr(v, map[*netns.NS]string{a: "10.217.0.1/24", b: "10.217.0.2/24"}[ns]); err != nil {
			t.Fatal(err)
		}
		if err := ns.Up(v); err != nil {
			t.Fatal(err)
		}
	}

	// A bridge in the host with one veth end of c and one of b.
	c := netnstest.New(t, tag+"c")
	br := tag + "br"
	if err := host.AddBridge(br); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.DelLink(br) })
	for i, ns := range []*netns.NS{b, c} {
		hostEnd, nsEnd := fmt.Sprintf("%sh%d", tag, i), fmt.Sprintf("%sn%d", tag, i)
		if err := host.AddVeth(hostEnd, nsEnd); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { host.DelLink(hostEnd) })
		if err := host.SetMaster(hostEnd, br); err != nil {
			t.Fatal(err)
		}
		if err := host.Up(hostEnd); err != nil {
			t.Fatal(err)
		}
		if err := ns.Adopt(host, nsEnd, fmt.Sprintf("10.218.0.%d/24", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := host.Up(br); err != nil {
		t.Fatal(err)
	}

	for _, p := range []struct {
		from *netns.NS
		addr string
	}{{a, "10.216.0.2"}, {a, "10.217.0.2"}, {c, "10.218.0.1"}} {
		if p.addr == "10.217.0.2" && !vlan {
			continue
		}
		r, err := probe.Ping(p.from, p.addr, 2, 200*time.Millisecond)
		if err != nil || r.Lost() {
			t.Errorf("ping %s from %s: %v, %d of %d replies\n%s", p.addr, p.from, err, r.Received, r.Sent, r.Output)
		}
	}
	if after := threadNS(t); after != before {
		t.Errorf("the test's thread changed namespace: was %s, now %s", before, after)
	}
}
