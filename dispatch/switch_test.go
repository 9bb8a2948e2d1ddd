package dispatch_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/ring/ringtest"
	"github.com/ipn-project/ipn/shm"
)

type switchRig struct {
	t     *testing.T
	n     *ringtest.Net
	dn    dispatch.Net
	sw    *dispatch.EthSwitch
	clock int64
	ports []*ring.Port
	fn    func(*ring.Delivery)
}

func newSwitch(t *testing.T, ports int) *switchRig {
	r := &switchRig{t: t, clock: 1000}
	r.sw = dispatch.NewSwitch(func() int64 { return r.clock })
	g := shm.Derive(shm.Options{MTU: 1518, Ports: ports, Pool: 16, Policy: r.sw.AreaSize(ports)})
	r.n = ringtest.NewNet(t, g)
	r.dn = dispatch.NetOf(r.n.N, func() int { return ports })
	r.fn = dispatch.Func(r.sw, r.dn)
	for p := 0; p < ports; p++ {
		r.ports = append(r.ports, r.n.Open(p, rw))
	}
	return r
}

func mac(b byte) []byte { return []byte{2, 0, 0, 0, 0, b} }

var bcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func frame(dst, src []byte, vlan int, payload string) []byte {
	f := append(append([]byte{}, dst...), src...)
	if vlan > 0 {
		f = binary.BigEndian.AppendUint16(f, 0x8100)
		f = binary.BigEndian.AppendUint16(f, uint16(vlan))
	}
	f = binary.BigEndian.AppendUint16(f, 0x0800)
	return append(f, payload...)
}

func (r *switchRig) send(from int, f []byte) {
	r.t.Helper()
	if _, err := dispatch.Send(r.ports[from], r.fn, f, 0, true, time.Time{}); err != nil {
		r.t.Fatal(err)
	}
}

// got returns, per port, the frames it received (as strings), draining.
func (r *switchRig) got() map[int][]string {
	out := map[int][]string{}
	for p, port := range r.ports {
		for _, f := range recvAll(r.t, port) {
			out[p] = append(out[p], f)
		}
	}
	return out
}

func (r *switchRig) expect(what string, want map[int][]byte) {
	r.t.Helper()
	got := r.got()
	for p := range r.ports {
		w, g := want[p], got[p]
		switch {
		case w == nil && len(g) != 0:
			r.t.Errorf("%s: port %d got %d frames, want none", what, p, len(g))
		case w != nil && (len(g) != 1 || g[0] != string(w)):
			r.t.Errorf("%s: port %d got %q, want [%q]", what, p, g, w)
		}
	}
}

func TestSwitchLearningAndFlooding(t *testing.T) {
	r := newSwitch(t, 4)
	// Unknown destination: flooded to every other port.
	f := frame(mac(2), mac(1), 0, "who is 2")
	r.send(1, f)
	r.expect("unknown unicast", map[int][]byte{0: f, 2: f, 3: f})
	// 2 answers: 1 was learned behind port 1, so only port 1 gets it.
	g := frame(mac(1), mac(2), 0, "here")
	r.send(2, g)
	r.expect("learned unicast", map[int][]byte{1: g})
	// Now 2 is known too.
	h := frame(mac(2), mac(1), 0, "again")
	r.send(1, h)
	r.expect("second unicast", map[int][]byte{2: h})
	// Broadcast: everyone but the source.
	b := frame(bcast, mac(1), 0, "all")
	r.send(1, b)
	r.expect("broadcast", map[int][]byte{0: b, 2: b, 3: b})
	// Never back to the source, even if learned there.
	r.send(1, frame(mac(1), mac(1), 0, "self"))
	r.expect("to itself", map[int][]byte{})
	// Aging: after the aging time, 2 is unknown again.
	r.clock += int64(dispatch.DefaultAging/time.Second) + 1
	i := frame(mac(2), mac(3), 0, "old news")
	r.send(3, i)
	r.expect("aged out", map[int][]byte{0: i, 1: i, 2: i})
	// Moving: 1 now speaks from port 0.
	r.send(0, frame(bcast, mac(1), 0, "moved"))
	r.got()
	j := frame(mac(1), mac(3), 0, "to the new place")
	r.send(3, j)
	r.expect("moved address", map[int][]byte{0: j})
	table, err := r.sw.MACTable(r.dn)
	if err != nil || len(table) < 2 {
		t.Errorf("MAC table = %v, %v; want the learned addresses", table, err)
	}
}

func TestSwitchVLANs(t *testing.T) {
	r := newSwitch(t, 5)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.sw.SetAccess(r.dn, 0, 10))
	must(r.sw.SetAccess(r.dn, 1, 10))
	must(r.sw.SetAccess(r.dn, 2, 20))
	must(r.sw.SetTrunk(r.dn, 3, 0, []int{10, 20}))
	must(r.sw.SetMirror(r.dn, 4, true))
	must(r.sw.SetAccess(r.dn, 4, 99))

	// Broadcast on VLAN 10 from an access port: port 1 untagged, the trunk
	// tagged, the mirror a copy as it came; VLAN 20 never sees it.
	f := frame(bcast, mac(1), 0, "vlan ten")
	r.send(0, f)
	r.expect("access broadcast", map[int][]byte{1: f, 3: frame(bcast, mac(1), 10, "vlan ten"), 4: f})

	// A tagged frame for VLAN 20 from the trunk: untagged to port 2 only.
	g := frame(bcast, mac(7), 20, "vlan twenty")
	r.send(3, g)
	r.expect("trunk to access", map[int][]byte{2: frame(bcast, mac(7), 0, "vlan twenty"), 4: g})

	// Untagged on a trunk without a native VLAN, tagged on an access port,
	// and a VLAN the trunk does not carry: dropped and counted.
	r.send(3, frame(bcast, mac(7), 0, "no native"))
	r.send(0, frame(bcast, mac(1), 10, "tag on access"))
	r.send(3, frame(bcast, mac(7), 30, "not allowed"))
	r.expect("refused", map[int][]byte{})
	st, _ := r.sw.Stats(r.dn)
	if st.VLANDrops != 3 {
		t.Errorf("VLAN drops = %d, want 3", st.VLANDrops)
	}
	// Learning is per VLAN: mac(7) was learned on VLAN 20 only.
	h := frame(mac(7), mac(1), 0, "to 7 on ten")
	r.send(0, h)
	r.expect("per-VLAN learning", map[int][]byte{1: h, 3: frame(mac(7), mac(1), 10, "to 7 on ten"), 4: h})
}

func TestSwitchRunts(t *testing.T) {
	r := newSwitch(t, 2)
	r.send(0, []byte("short"))
	r.send(0, append(frame(bcast, mac(1), 0, "")[:12], 0x81, 0x00, 0))
	r.expect("runts", map[int][]byte{})
	if st, _ := r.sw.Stats(r.dn); st.Runts != 2 {
		t.Errorf("runts = %d, want 2", st.Runts)
	}
}

func TestSwitchAllocs(t *testing.T) {
	r := newSwitch(t, 3)
	f := frame(mac(2), mac(1), 0, "x")
	r.send(2, frame(bcast, mac(2), 0, "learn"))
	r.got()
	buf := make([]byte, 2000)
	if n := testing.AllocsPerRun(1000, func() {
		dispatch.Send(r.ports[1], r.fn, f, 0, true, time.Time{})
		r.ports[2].TryRecv(buf)
	}); n != 0 {
		t.Errorf("%v allocations per switched frame, want 0", n)
	}
}

func BenchmarkSwitchDispatch(b *testing.B) {
	for _, known := range []bool{true, false} {
		b.Run(fmt.Sprintf("known=%v", known), func(b *testing.B) {
			r := newSwitch(&testing.T{}, 4)
			dst := mac(2)
			if known {
				r.send(2, frame(bcast, mac(2), 0, "learn"))
				r.got()
			} else {
				dst = mac(9)
			}
			f := frame(dst, mac(1), 0, string(make([]byte, 1486)))
			buf := make([]byte, 2000)
			b.ReportAllocs()
			b.SetBytes(int64(len(f)))
			for i := 0; i < b.N; i++ {
				dispatch.Send(r.ports[1], r.fn, f, 0, true, time.Time{})
				for p := 0; p < 4; p++ {
					r.ports[p].TryRecv(buf)
				}
			}
		})
	}
}

// TestSwitchJumbo carries 64 KiB frames end to end, tagged on the trunk
// and untagged at the access port.
func TestSwitchJumbo(t *testing.T) {
	r := &switchRig{t: t, clock: 1000}
	r.sw = dispatch.NewSwitch(func() int64 { return r.clock })
	g := shm.Derive(shm.Options{MTU: 64 << 10, Ports: 3, Pool: 4, Policy: r.sw.AreaSize(3)})
	r.n = ringtest.NewNet(t, g)
	r.dn = dispatch.NetOf(r.n.N, func() int { return 3 })
	r.fn = dispatch.Func(r.sw, r.dn)
	for p := 0; p < 3; p++ {
		r.ports = append(r.ports, r.n.Open(p, rw))
	}
	if err := r.sw.SetTrunk(r.dn, 2, 0, []int{1}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10-4-18)
	for i := range big {
		big[i] = byte(i * 7)
	}
	f := frame(bcast, mac(1), 0, string(big))
	r.send(0, f)
	buf := make([]byte, 64<<10)
	k, _, err := r.ports[1].TryRecv(buf)
	if err != nil || string(buf[:k]) != string(f) {
		t.Fatalf("access port: %d bytes, %v; want the %d-byte frame intact", k, err, len(f))
	}
	k, _, err = r.ports[2].TryRecv(buf)
	if want := frame(bcast, mac(1), 1, string(big)); err != nil || string(buf[:k]) != string(want) {
		t.Fatalf("trunk: %d bytes, %v; want the %d-byte frame tagged", k, err, len(want))
	}
}

// TestSwitchDescribe: ipn stat lists the ports set apart from the default,
// one a line, and sums up the rest in one.
func TestSwitchDescribe(t *testing.T) {
	r := newSwitch(t, 5)
	if d := r.sw.Describe(r.dn); !strings.Contains(d, "every port: access 1\n") || strings.Contains(d, "port 0:") {
		t.Errorf("a switch as made:\n%s", d)
	}
	if err := r.sw.SetAccess(r.dn, 2, 10); err != nil {
		t.Fatal(err)
	}
	if err := r.sw.SetMirror(r.dn, 3, true); err != nil {
		t.Fatal(err)
	}
	d := r.sw.Describe(r.dn)
	for _, want := range []string{"port 2: access 10\n", "port 3: access 1, mirror\n", "the other 3 ports: access 1\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe lacks %q:\n%s", want, d)
		}
	}
}
