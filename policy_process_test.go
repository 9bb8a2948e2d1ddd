package ipn_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ipn-project/ipn"
)

// TestSwitchProcesses runs the Ethernet switch between member processes:
// broadcasts reach every other host, learned unicast only its target, and
// a port moved to another VLAN hears nothing of VLAN 1.
func TestSwitchProcesses(t *testing.T) {
	path := netPath(t)
	admin := ipn.NewNode(ipn.Switch)
	defer admin.Close()
	if err := admin.Bind(path); err != nil {
		t.Fatal(err)
	}
	hosts := []*member{newMember(t, path), newMember(t, path), newMember(t, path)}
	ports := make([]int, 3)
	for i, h := range hosts {
		r := h.ok(t, "connect policy=0")
		if _, err := fmt.Sscanf(strings.TrimSpace(r), "port=%d", &ports[i]); err != nil {
			t.Fatalf("connect reply %q", r)
		}
	}
	for i, h := range hosts { // hello from each: the switch learns them
		h.ok(t, "eth ff %x hello%d", i+1, i+1)
	}
	for i, h := range hosts {
		if got := strings.Fields(h.ok(t, "texts")); len(got) != 2 {
			t.Errorf("host %d got %q, want the 2 others' hellos", i+1, got)
		}
	}
	hosts[0].ok(t, "eth 2 1 private")
	if got := strings.TrimSpace(hosts[1].ok(t, "texts")); got != "private" {
		t.Errorf("target got %q, want private", got)
	}
	if got := strings.TrimSpace(hosts[2].ok(t, "texts")); got != "" {
		t.Errorf("bystander got %q, want nothing", got)
	}
	if err := admin.SetPolicyOption(ports[2], "access", "10"); err != nil {
		t.Fatal(err)
	}
	hosts[0].ok(t, "eth ff 1 vlan1")
	if got := strings.TrimSpace(hosts[2].ok(t, "texts")); got != "" {
		t.Errorf("a VLAN 10 port got %q from VLAN 1", got)
	}
	if got := strings.TrimSpace(hosts[1].ok(t, "texts")); got != "vlan1" {
		t.Errorf("a VLAN 1 port got %q, want vlan1", got)
	}
}

// TestL3Processes runs the layer-3 switch between member processes.
func TestL3Processes(t *testing.T) {
	path := netPath(t)
	if err := ipn.Create(path, ipn.L3, ipn.Options{}); err != nil {
		t.Fatal(err)
	}
	defer ipn.Destroy(path)
	hosts := []*member{newMember(t, path), newMember(t, path), newMember(t, path)}
	for _, h := range hosts {
		h.ok(t, "connect policy=0")
	}
	hosts[0].ok(t, "ip4 10.0.0.1 10.0.0.2 who")
	hosts[1].ok(t, "texts")
	hosts[2].ok(t, "texts")
	hosts[1].ok(t, "ip4 10.0.0.2 10.0.0.1 me")
	if got := strings.TrimSpace(hosts[0].ok(t, "texts")); got != "me" {
		t.Errorf("learned address got %q, want me", got)
	}
	if got := strings.TrimSpace(hosts[2].ok(t, "texts")); got != "" {
		t.Errorf("bystander got %q", got)
	}
	hosts[0].ok(t, "ip4 10.0.0.1 255.255.255.255 all")
	for i := 1; i < 3; i++ {
		if got := strings.TrimSpace(hosts[i].ok(t, "texts")); got != "all" {
			t.Errorf("host %d got %q of a broadcast", i+1, got)
		}
	}
}
