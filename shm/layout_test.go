package shm

import "testing"

// TestLayoutPinned pins every offset: a change here is a layout change and
// must bump Version.
func TestLayoutPinned(t *testing.T) {
	if Version != 1 {
		t.Fatalf("Version = %d: update the pinned offsets below with the new layout", Version)
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"OffMagic", OffMagic, 0}, {"OffVersion", OffVersion, 8}, {"OffFlags", OffFlags, 12},
		{"OffMTU", OffMTU, 16}, {"OffSlots", OffSlots, 20}, {"OffPorts", OffPorts, 24},
		{"OffPool", OffPool, 28}, {"OffRingCap", OffRingCap, 32}, {"OffOOBCap", OffOOBCap, 36},
		{"OffViews", OffViews, 40}, {"OffTxHolds", OffTxHolds, 44}, {"OffPolicy", OffPolicy, 48},
		{"OffReserved", OffReserved, 52}, {"OffSize", OffSize, 56},
		{"OffReaders", OffReaders, 64}, {"OffWriters", OffWriters, 72},
		{"OffNetState", OffNetState, 80}, {"OffNetGen", OffNetGen, 84},
		{"OffTxWaiters", OffTxWaiters, 128}, {"HeaderSize", HeaderSize, 192},
		{"PortState", PortState, 0}, {"PortGen", PortGen, 4}, {"PortPID", PortPID, 8}, {"PortRoles", PortRoles, 12},
		{"PortDataBase", PortDataBase, 16}, {"PortOOBBase", PortOOBBase, 24},
		{"PortTxSeq", PortTxSeq, 64}, {"PortSentB", PortSentB, 80},
		{"PortBlocked", PortBlocked, 88}, {"PortNoSlot", PortNoSlot, 96},
		{"PortRxSeq", PortRxSeq, 128}, {"PortRecvB", PortRecvB, 144}, {"PortSleep", PortSleep, 192},
		{"PortDrops", PortDrops, 256}, {"PortOOBDrops", PortOOBDrops, 264}, {"PortHopDrops", PortHopDrops, 272},
		{"PortViews", PortViews, 320},
		{"RingHead", RingHead, 0}, {"RingTail", RingTail, 64}, {"RingCells", RingCells, 128},
		{"SlotHolders", SlotHolders, 0}, {"SlotMeta", SlotMeta, 8}, {"SlotPayload", SlotPayload, 64},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	// The default network's layout, region by region.
	l := LayoutOf(Derive(Options{}))
	want := Layout{Ports: 192, PortStride: 384, Rings: 192 + 32*384, RingStride: 128 + 64 + 128 + 64,
		OOBRing: 128 + 64, Policy: 192 + 32*384 + 32*384, Slots: 192 + 32*384 + 32*384,
		SlotStride: 64 + 1536}
	want.Size = want.Slots + 32*(8+8+8+2)*want.SlotStride
	if l != want {
		t.Errorf("default layout\n got %+v\nwant %+v", l, want)
	}
}

// TestWritersApart checks that words written by different parties never
// share a cache line.
func TestWritersApart(t *testing.T) {
	line := func(off int) int { return off / CacheLine }
	groups := map[string][]int{
		"header":      {OffMagic, OffSize},
		"coordinator": {OffReaders, OffWriters, OffNetState, OffNetGen},
		"waiters":     {OffTxWaiters},
	}
	seen := map[int]string{}
	for who, offs := range groups {
		for _, o := range offs {
			if other, ok := seen[line(o)]; ok && other != who {
				t.Errorf("header line %d shared by %s and %s", line(o), who, other)
			}
			seen[line(o)] = who
		}
	}
	port := map[string][]int{
		"coordinator": {PortState, PortGen, PortPID, PortRoles, PortDataBase, PortOOBBase},
		"sender":      {PortTxSeq, PortSentB, PortBlocked, PortNoSlot},
		"receiver":    {PortRxSeq, PortRecvB},
		"sleep":       {PortSleep},
		"others":      {PortDrops, PortOOBDrops, PortHopDrops},
		"views":       {PortViews},
	}
	seen = map[int]string{}
	for who, offs := range port {
		for _, o := range offs {
			if other, ok := seen[line(o)]; ok && other != who {
				t.Errorf("port line %d shared by %s and %s", line(o), who, other)
			}
			seen[line(o)] = who
		}
	}
	if line(RingHead) == line(RingTail) || line(RingTail) == line(RingCells) {
		t.Errorf("ring head, tail and cells share a line")
	}
	if line(SlotMeta) >= line(SlotPayload) {
		t.Errorf("slot header runs into the payload")
	}
	for _, g := range []Geometry{Derive(Options{}), Derive(Options{MTU: 9000, Ports: 64, Pool: 100, Lossless: true})} {
		l := LayoutOf(g)
		for _, o := range []int{l.Ports, l.PortStride, l.Rings, l.RingStride, l.OOBRing, l.Policy, l.Slots, l.SlotStride} {
			if o%CacheLine != 0 {
				t.Errorf("geometry %+v: region offset %d not on a cache line", g, o)
			}
		}
	}
}
