package dispatch_test

import (
	"testing"
)

// FuzzSwitch feeds arbitrary frames from arbitrary ports to a switch with
// access ports, a trunk and a mirror: nothing may panic, runts are never
// delivered, no port gets more than one copy of a frame, and every slot
// is back in the pool once the ports have read.
func FuzzSwitch(f *testing.F) {
	f.Add(uint8(0), frame(bcast, mac(1), 0, "hello"))
	f.Add(uint8(3), frame(mac(2), mac(1), 10, "tagged"))
	f.Add(uint8(1), []byte{0x81, 0x00})
	f.Add(uint8(2), frame(bcast, bcast, 4095, ""))
	f.Fuzz(func(t *testing.T, from uint8, fr []byte) {
		r := newSwitch(t, 5)
		r.sw.SetAccess(r.dn, 0, 10)
		r.sw.SetAccess(r.dn, 1, 10)
		r.sw.SetAccess(r.dn, 2, 20)
		r.sw.SetTrunk(r.dn, 3, 10, []int{10, 20, 4094})
		r.sw.SetMirror(r.dn, 4, true)
		if len(fr) > 1518 {
			fr = fr[:1518]
		}
		r.send(int(from%5), fr)
		r.send(int(from%5), fr) // a second time, with addresses learned
		for p, frames := range r.got() {
			if len(frames) > 2 {
				t.Fatalf("port %d got %d copies of 2 frames", p, len(frames))
			}
			for _, g := range frames {
				if len(g) < 14 {
					t.Fatalf("port %d got a runt of %d bytes", p, len(g))
				}
			}
		}
		if free, all := r.n.N.FreeSlots(), r.n.Seg.Geometry.Slots; free != all {
			t.Fatalf("%d of %d slots free", free, all)
		}
	})
}
