package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/netdev"
)

// TestTapOffload: on a network whose MTU carries 64 KiB TCP segments, TAP
// nodes take them whole from the kernel (segmentation offload): an iperf3
// transfer completes, and the sender's port sent messages longer than any
// Ethernet frame, which is what offload is for.
func TestTapOffload(t *testing.T) {
	needNetAdmin(t, "iperf3")
	offloadAcross(t, "tap", "switch", 221)
}

// TestTunOffload is TestTapOffload with TUN nodes on a layer-3 network.
func TestTunOffload(t *testing.T) {
	needNetAdmin(t, "iperf3")
	offloadAcross(t, "tun", "l3", 223)
}

func offloadAcross(t *testing.T, kind, policy string, subnet int) {
	path := newNet(t, "--policy", policy, "--pool", "64", "--mtu", fmt.Sprint(netdev.OffloadMTU))
	hosts := plugHostsOf(t, kind, path, nsTag("o"+kind[:1]), subnet, 1, 2)
	peer := fmt.Sprintf("10.%d.0.2", subnet)
	mustPing(t, hosts[0].ns, peer, "on the offloading network")
	r := mustIperf(t, hosts[0], hosts[1], peer, "across the offloading network")
	var st statOutput
	if err := json.Unmarshal([]byte(mustIPN(t, nil, "stat", path, "--json")), &st); err != nil {
		t.Fatal(err)
	}
	var sender *ipn.PortInfo
	for i := range st.Ports {
		if st.Ports[i].Port == hosts[0].port {
			sender = &st.Ports[i]
		}
	}
	if sender == nil || sender.Sent == 0 {
		t.Fatalf("no counters for the sender's port %d: %+v", hosts[0].port, st.Ports)
	}
	if avg := sender.SentBytes / sender.Sent; avg <= 1514 {
		t.Errorf("the sender's messages average %d bytes: no segment was longer than an Ethernet frame", avg)
	}
	t.Logf("iperf3: %.0f Mbit/s, %d retransmits; sender's messages average %d bytes",
		r.ReceivedBps/1e6, r.Retransmits, sender.SentBytes/sender.Sent)
}
