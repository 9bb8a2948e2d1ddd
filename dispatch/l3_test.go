package dispatch_test

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/ring/ringtest"
	"github.com/ipn-project/ipn/shm"
)

type l3Rig struct {
	*switchRig
	l3 *dispatch.L3Switch
}

func newL3(t *testing.T, ports int) *l3Rig {
	r := &switchRig{t: t, clock: 1000}
	l3 := dispatch.NewL3Switch(func() int64 { return r.clock })
	g := shm.Derive(shm.Options{MTU: 1500, Ports: ports, Pool: 16, Policy: l3.AreaSize(ports)})
	r.n = ringtest.NewNet(t, g)
	r.dn = dispatch.NetOf(r.n.N, func() int { return ports })
	r.fn = dispatch.Func(l3, r.dn)
	for p := 0; p < ports; p++ {
		r.ports = append(r.ports, r.n.Open(p, rw))
	}
	return &l3Rig{r, l3}
}

func ip4(src, dst string, payload string) []byte {
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	p := make([]byte, 20, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(20+len(payload)))
	p[9] = 1
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	return append(p, payload...)
}

func ip6(src, dst string, payload string) []byte {
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	p := make([]byte, 40, 40+len(payload))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(payload)))
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	return append(p, payload...)
}

func TestL3Switch(t *testing.T) {
	r := newL3(t, 4)
	// Unknown destination: every other port; the source is learned.
	a := ip4("10.0.0.1", "10.0.0.2", "ping")
	r.send(1, a)
	r.expect("unknown unicast", map[int][]byte{0: a, 2: a, 3: a})
	b := ip4("10.0.0.2", "10.0.0.1", "pong")
	r.send(2, b)
	r.expect("learned unicast", map[int][]byte{1: b})
	c := ip4("10.0.0.1", "10.0.0.2", "ping again")
	r.send(1, c)
	r.expect("both learned", map[int][]byte{2: c})
	// Broadcast and multicast: everyone else.
	for _, dst := range []string{"255.255.255.255", "224.0.0.251"} {
		m := ip4("10.0.0.1", dst, "all")
		r.send(1, m)
		r.expect(dst, map[int][]byte{0: m, 2: m, 3: m})
	}
	// IPv6, learned the same way; ff02::1 to everyone.
	v := ip6("fd00::1", "fd00::2", "six")
	r.send(3, v)
	r.expect("v6 unknown", map[int][]byte{0: v, 1: v, 2: v})
	w := ip6("fd00::2", "fd00::1", "back")
	r.send(0, w)
	r.expect("v6 learned", map[int][]byte{3: w})
	m6 := ip6("fd00::2", "ff02::1", "all six")
	r.send(0, m6)
	r.expect("v6 multicast", map[int][]byte{1: m6, 2: m6, 3: m6})
	// An owned address wins over a learned one, and does not age.
	if err := r.l3.SetOption(r.dn, 3, dispatch.OptAddr, []byte("10.0.0.2, fd00::9")); err != nil {
		t.Fatal(err)
	}
	r.clock += 10000
	d := ip4("10.0.0.1", "10.0.0.2", "to the owner")
	r.send(1, d)
	r.expect("owned address", map[int][]byte{3: d})
	if got, _ := r.l3.Option(r.dn, 3, dispatch.OptAddr); !strings.Contains(string(got), "10.0.0.2") || !strings.Contains(string(got), "fd00::9") {
		t.Errorf("owned addresses of port 3 = %q", got)
	}
	// Not IP, or shorter than it claims: dropped and counted.
	r.send(1, []byte{0x45, 0, 0, 99})
	r.send(1, []byte("not an ip packet at all, not at all"))
	r.send(1, ip6("fd00::1", "fd00::2", "")[:39])
	r.expect("bad packets", map[int][]byte{})
	if desc := r.l3.Describe(r.dn); !strings.Contains(desc, "dropped: 3 not IP") {
		t.Errorf("describe:\n%s", desc)
	}
}

func FuzzL3Switch(f *testing.F) {
	f.Add(uint8(1), ip4("10.0.0.1", "10.0.0.2", "x"))
	f.Add(uint8(2), ip6("fd00::1", "ff02::1", "y"))
	f.Add(uint8(0), []byte{0x4f})
	f.Fuzz(func(t *testing.T, from uint8, p []byte) {
		r := newL3(t, 3)
		if len(p) > 1500 {
			p = p[:1500]
		}
		r.send(int(from%3), p)
		r.send(int(from%3), p)
		for port, got := range r.got() {
			if len(got) > 2 {
				t.Fatalf("port %d got %d copies of 2 packets", port, len(got))
			}
		}
		if free, all := r.n.FreeSlots(), r.n.G.Slots; free != all {
			t.Fatalf("%d of %d slots free", free, all)
		}
	})
}

// TestL3Mirror: a mirror port gets a copy of unicast between others, and
// no longer once mirroring is off.
func TestL3Mirror(t *testing.T) {
	r := newL3(t, 4)
	b := ip4("10.0.0.2", "255.255.255.255", "hello")
	r.send(2, b)
	r.expect("broadcast", map[int][]byte{0: b, 1: b, 3: b})
	if err := r.l3.SetOption(r.dn, 0, dispatch.OptMirror, []byte("on")); err != nil {
		t.Fatal(err)
	}
	if got, err := r.l3.Option(r.dn, 0, dispatch.OptMirror); err != nil || string(got) != "on" {
		t.Errorf("mirror of port 0 = %q, %v; want on", got, err)
	}
	a := ip4("10.0.0.1", "10.0.0.2", "unicast")
	r.send(1, a)
	r.expect("learned unicast, mirrored", map[int][]byte{0: a, 2: a})
	if err := r.l3.SetOption(r.dn, 0, dispatch.OptMirror, []byte("off")); err != nil {
		t.Fatal(err)
	}
	r.send(1, a)
	r.expect("learned unicast, not mirrored", map[int][]byte{2: a})
	if err := r.l3.SetOption(r.dn, 0, dispatch.OptMirror, []byte("maybe")); err == nil {
		t.Error("mirror maybe: accepted")
	}
}
