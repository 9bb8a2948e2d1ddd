package probe

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
)

// TestARPFrames builds requests, turns each into the reply a host would
// send, and reads that back, tagged inline, tagged by the kernel's
// metadata, and untagged.
func TestARPFrames(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	peer := net.HardwareAddr{2, 0, 0, 0, 0, 2}
	me, them := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for _, c := range []struct{ vlan, aux, want int }{{0, 0, 0}, {100, 0, 100}, {0, 100, 100}} {
		req := arpRequest(mac, c.vlan, me, them)
		rep := bytes.Clone(req)
		arp := rep[len(rep)-28:]
		arp[7] = 2 // reply
		copy(arp[8:], peer)
		copy(arp[14:], them.AsSlice())
		if _, ok := parseARPReply(req, c.aux, them); ok {
			t.Errorf("vlan %d: the request read as a reply", c.vlan)
		}
		got, ok := parseARPReply(rep, c.aux, them)
		if !ok || got.VLAN != c.want || !bytes.Equal(got.MAC, peer) {
			t.Errorf("vlan %d, aux %d: got %+v, %v; want VLAN %d, MAC %s", c.vlan, c.aux, got, ok, c.want, peer)
		}
		if _, ok := parseARPReply(rep, c.aux, me); ok {
			t.Errorf("vlan %d: a reply for %s read as one for %s", c.vlan, them, me)
		}
	}
}

func FuzzParseARPReply(f *testing.F) {
	f.Add(arpRequest(net.HardwareAddr{2, 0, 0, 0, 0, 1}, 100, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")))
	f.Fuzz(func(t *testing.T, frame []byte) {
		parseARPReply(frame, 0, netip.MustParseAddr("10.0.0.2"))
	})
}
