package ipn_test

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipn-project/ipn"
)

// TestSwitchNetwork runs the Ethernet switch policy through the public
// API: broadcast reaches everyone, then learned unicast only its target.
func TestSwitchNetwork(t *testing.T) {
	path := netPath(t)
	if err := ipn.Create(path, ipn.Switch, ipn.Options{}); err != nil {
		t.Fatal(err)
	}
	defer ipn.Destroy(path)
	nodes := make([]*ipn.Node, 3)
	for i := range nodes {
		nodes[i] = ipn.NewNode(ipn.Any)
		defer nodes[i].Close()
		if err := nodes[i].Connect(path); err != nil {
			t.Fatal(err)
		}
		nodes[i].SetNonblock(true)
	}
	macOf := func(i int) []byte { return []byte{2, 0, 0, 0, 0, byte(i)} }
	frame := func(dst, src []byte) []byte {
		return append(append(append([]byte{}, dst...), src...), 0x08, 0x00, 'h', 'i')
	}
	recv := func(i int) int {
		buf := make([]byte, 1514)
		k := 0
		for {
			if _, err := nodes[i].Recv(buf); errors.Is(err, syscall.EAGAIN) {
				return k
			} else if err != nil {
				t.Fatal(err)
			}
			k++
		}
	}
	bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for i := range nodes { // everyone says hello: the switch learns them all
		if err := nodes[i].Send(frame(bcast, macOf(i))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	for i := range nodes {
		if k := recv(i); k != 2 {
			t.Errorf("node %d got %d broadcasts, want 2", i, k)
		}
	}
	if err := nodes[0].Send(frame(macOf(2), macOf(0))); err != nil {
		t.Fatal(err)
	}
	if k1, k2 := recv(1), recv(2); k1 != 0 || k2 != 1 {
		t.Errorf("unicast to node 2: node 1 got %d, node 2 got %d; want 0 and 1", k1, k2)
	}
	if err := nodes[0].Send([]byte("short")); err != nil {
		t.Fatal(err)
	}
	if k := recv(1) + recv(2); k != 0 {
		t.Errorf("a frame shorter than an Ethernet header was delivered %d times", k)
	}
}

// TestSwitchPortOptions configures VLANs through the coordinator: only a
// bound node may, and frames then stay within their VLAN.
func TestSwitchPortOptions(t *testing.T) {
	path := netPath(t)
	admin := ipn.NewNode(ipn.Switch)
	defer admin.Close()
	if err := admin.Bind(path); err != nil {
		t.Fatal(err)
	}
	a, b, c := ipn.NewNode(ipn.Any), ipn.NewNode(ipn.Any), ipn.NewNode(ipn.Any)
	for _, n := range []*ipn.Node{a, b, c} {
		defer n.Close()
		if err := n.Connect(path); err != nil {
			t.Fatal(err)
		}
		n.SetNonblock(true)
	}
	if err := a.SetPolicyOption(b.Port(), "access", "10"); !errors.Is(err, syscall.EPERM) {
		t.Errorf("a connected-only node set a policy option: %v, want EPERM", err)
	}
	if err := admin.SetPolicyOption(b.Port(), "access", "10"); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetPolicyOption(b.Port(), "access", "5000"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("VLAN 5000: %v, want EINVAL", err)
	}
	if v, err := admin.PolicyOption(b.Port(), "access"); err != nil || v != "access 10" {
		t.Errorf("read back: %q, %v", v, err)
	}
	bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 'v', '1'}
	if err := a.Send(bcast); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := b.Recv(buf); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("a frame of VLAN 1 reached a port of VLAN 10: %v", err)
	}
	if _, err := c.Recv(buf); err != nil {
		t.Errorf("a frame of VLAN 1 missed a port of VLAN 1: %v", err)
	}
	info, err := ipn.StatPolicy(path)
	if err != nil || !strings.Contains(info, "access 10") || !strings.Contains(info, "MAC table (1)") {
		t.Errorf("stat of the switch:\n%s\n%v", info, err)
	}
}
