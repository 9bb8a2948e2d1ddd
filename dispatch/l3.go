package dispatch

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ipn-project/ipn/ring"
)

// The layer-3 switch (policy 3), for IP packets without an Ethernet header
// (TUN-style nodes). What it does:
//
//   - a packet's IPv4 or IPv6 source address is learned as behind the port
//     that sent it, and trusted for the aging time;
//   - a port may own addresses set as a policy option ("addr"), which never
//     age and win over learned ones;
//   - a packet to an address owned or learned behind another port goes to
//     that port alone;
//   - broadcast (255.255.255.255), multicast (224.0.0.0/4, ff00::/8) and
//     unknown unicast destinations go to every other port, so two hosts
//     find each other before either has been learned;
//   - a port set to mirror ("mirror" option, on or off) gets a copy of
//     every packet forwarded, as on the Ethernet switch (ipn capture sets
//     its port so);
//   - anything that is not an IPv4 or IPv6 header of the length it claims
//     is dropped and counted.
//
// What it does not: routing between subnets, TTL or hop-limit handling,
// ARP or neighbour discovery answers, fragmentation, checksums, filtering.
// It is a switch that reads IP addresses, not a router.
type L3Switch struct {
	now func() int64
}

// NewL3Switch returns a layer-3 switch that reads time from now.
func NewL3Switch(now func() int64) *L3Switch { return &L3Switch{now: now} }

func init() {
	if err := Register(L3, NewL3Switch(func() int64 { return time.Now().Unix() })); err != nil {
		panic(err)
	}
}

// Layout of the area: a header line (drops, the mirror ports' bits), then addrEntries entries of
// four words: state (valid<<63 | static<<62 | v6<<61 | busy<<60 |
// generation), the
// address's high and low 64 bits (IPv4 in the low word), and port<<56 |
// last seen. A writer clears state, writes the address, then sets state;
// a reader checks state before and after, so a torn entry reads as absent.
const (
	l3Drops     = 0
	l3Mirrors   = 8
	l3Entries   = 64
	addrEntries = 4096
	addrProbe   = 8
	stValid     = 1 << 63
	stStatic    = 1 << 62
	stV6        = 1 << 61
	stBusy      = 1 << 60 // a writer is filling the entry
	stGen       = 1<<60 - 1
)

// Name implements Policy.
func (*L3Switch) Name() string { return "l3" }

// AreaSize implements AreaSizer.
func (*L3Switch) AreaSize(int) int { return l3Entries + addrEntries*32 }

// NewPort implements Policy.
func (*L3Switch) NewPort(_ Net, want int, free uint64) (int, error) { return LowestFree(want, free) }

type l3Area struct {
	hdr, e []atomic.Uint64
}

func l3area(n Net) (l3Area, error) {
	a := n.Area()
	hdr, err := a.Uint64s(0, 8)
	if err != nil {
		return l3Area{}, err
	}
	e, err := a.Uint64s(l3Entries, 4*addrEntries)
	if err != nil {
		return l3Area{}, err
	}
	return l3Area{hdr, e}, nil
}

// ipKey is an address as the table keeps it.
type ipKey struct {
	v6     bool
	hi, lo uint64
}

func (k ipKey) hash() int {
	x := k.hi*0x9e3779b97f4a7c15 ^ k.lo
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	return int(x>>32) & (addrEntries - 1)
}

func (k ipKey) kind() uint64 {
	if k.v6 {
		return stV6
	}
	return 0
}

// parseIP returns a packet's source and destination, and whether they are
// broadcast or multicast.
func parseIP(p []byte) (src, dst ipKey, group, ok bool) {
	if len(p) < 1 {
		return
	}
	switch p[0] >> 4 {
	case 4:
		ihl := int(p[0]&0x0f) * 4
		if ihl < 20 || len(p) < ihl || int(binary.BigEndian.Uint16(p[2:])) > len(p) {
			return
		}
		src = ipKey{lo: uint64(binary.BigEndian.Uint32(p[12:]))}
		dst = ipKey{lo: uint64(binary.BigEndian.Uint32(p[16:]))}
		group = dst.lo == 0xffffffff || dst.lo>>28 == 0xe
		return src, dst, group, true
	case 6:
		if len(p) < 40 || 40+int(binary.BigEndian.Uint16(p[4:])) > len(p) {
			return
		}
		src = ipKey{true, binary.BigEndian.Uint64(p[8:]), binary.BigEndian.Uint64(p[16:])}
		dst = ipKey{true, binary.BigEndian.Uint64(p[24:]), binary.BigEndian.Uint64(p[32:])}
		group = dst.hi>>56 == 0xff
		return src, dst, group, true
	}
	return
}

func (a l3Area) find(k ipKey) (i int, seen uint64, static, ok bool) {
	h := k.hash()
	for j := 0; j < addrProbe; j++ {
		i = (h + j) & (addrEntries - 1)
		st := a.e[4*i].Load()
		if st&stValid == 0 || st&stV6 != k.kind() {
			continue
		}
		hi, lo, seen := a.e[4*i+1].Load(), a.e[4*i+2].Load(), a.e[4*i+3].Load()
		if hi == k.hi && lo == k.lo && a.e[4*i].Load() == st {
			return i, seen, st&stStatic != 0, true
		}
	}
	return 0, 0, false, false
}

// put records k behind port; a learned entry never replaces a static one.
func (a l3Area) put(k ipKey, port int, now, aging int64, static bool) bool {
	seen := uint64(port)<<56 | uint64(now)&(1<<56-1)
	if i, old, st, ok := a.find(k); ok {
		if st && !static {
			return true
		}
		if old != seen {
			a.e[4*i+3].Store(seen)
		}
		if static && !st {
			a.e[4*i].Or(stStatic)
		}
		return true
	}
	h := k.hash()
	for j := 0; j < addrProbe; j++ {
		i := (h + j) & (addrEntries - 1)
		st := a.e[4*i].Load()
		free := st&stBusy == 0 &&
			(st&stValid == 0 || st&stStatic == 0 && now-int64(a.e[4*i+3].Load()&(1<<56-1)) > aging)
		if !free || !a.e[4*i].CompareAndSwap(st, st&stGen|stBusy) { // ours to fill
			continue
		}
		a.e[4*i+1].Store(k.hi)
		a.e[4*i+2].Store(k.lo)
		a.e[4*i+3].Store(seen)
		nst := (st+1)&stGen | stValid | k.kind()
		if static {
			nst |= stStatic
		}
		a.e[4*i].Store(nst)
		return true
	}
	return false
}

// Dispatch implements Policy.
func (l *L3Switch) Dispatch(n Net, d *ring.Delivery) {
	a, err := l3area(n)
	if err != nil {
		return
	}
	src, dst, group, ok := parseIP(d.Data())
	if !ok {
		a.hdr[l3Drops/8].Add(1)
		return
	}
	now, aging := l.now(), int64(DefaultAging/time.Second)
	if _, _, static, known := a.find(src); !known || !static {
		a.put(src, d.From(), now, aging, false)
	}
	if !group {
		if _, seen, static, known := a.find(dst); known && (static || now-int64(seen&(1<<56-1)) <= aging) {
			d.To(1<<(seen>>56) | a.hdr[l3Mirrors/8].Load()) // To leaves the sender out
			return
		}
	}
	d.To(d.Readers())
}

// OptAddr is the layer-3 switch's option: addresses a port owns, as a
// comma-separated list ("10.0.0.1,fd00::1"). It also takes OptMirror.
const OptAddr = "addr"

// SetOption implements Optioner.
func (l *L3Switch) SetOption(n Net, port int, name string, value []byte) error {
	if name != OptAddr && name != OptMirror {
		return fmt.Errorf("dispatch: l3 switch has no option %q: %w", name, syscall.ENOPROTOOPT)
	}
	a, err := l3area(n)
	if err != nil {
		return err
	}
	if name == OptMirror {
		return a.setMirror(port, string(value))
	}
	for _, f := range strings.Split(string(value), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		ip, err := netip.ParseAddr(f)
		if err != nil {
			return fmt.Errorf("dispatch: address %q: %w", f, syscall.EINVAL)
		}
		if !a.put(keyOf(ip), port, l.now(), 0, true) {
			return fmt.Errorf("dispatch: address table full: %w", syscall.ENOSPC)
		}
	}
	return nil
}

// Option implements Optioner: the addresses port owns, or whether it
// mirrors.
func (l *L3Switch) Option(n Net, port int, name string) ([]byte, error) {
	if name != OptAddr && name != OptMirror {
		return nil, fmt.Errorf("dispatch: l3 switch has no option %q: %w", name, syscall.ENOPROTOOPT)
	}
	a, err := l3area(n)
	if err != nil {
		return nil, err
	}
	if name == OptMirror {
		if port < 0 || port >= 64 {
			return nil, fmt.Errorf("dispatch: port %d: %w", port, syscall.EINVAL)
		}
		if a.hdr[l3Mirrors/8].Load()&(1<<port) != 0 {
			return []byte("on"), nil
		}
		return []byte("off"), nil
	}
	var out []string
	for i := 0; i < addrEntries; i++ {
		st := a.e[4*i].Load()
		if st&(stValid|stStatic) == stValid|stStatic && int(a.e[4*i+3].Load()>>56) == port {
			out = append(out, addrOf(st&stV6 != 0, a.e[4*i+1].Load(), a.e[4*i+2].Load()).String())
		}
	}
	return []byte(strings.Join(out, ",")), nil
}

// setMirror sets port to get a copy of every packet forwarded, or not.
func (a l3Area) setMirror(port int, v string) error {
	if port < 0 || port >= 64 {
		return fmt.Errorf("dispatch: port %d: %w", port, syscall.EINVAL)
	}
	m := &a.hdr[l3Mirrors/8]
	switch v {
	case "on":
		m.Or(1 << port)
	case "off":
		m.And(^(uint64(1) << port))
	default:
		return fmt.Errorf("dispatch: mirror %q: want on or off: %w", v, syscall.EINVAL)
	}
	return nil
}

func keyOf(ip netip.Addr) ipKey {
	if ip.Is4() || ip.Is4In6() {
		b := ip.Unmap().As4()
		return ipKey{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := ip.As16()
	return ipKey{true, binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func addrOf(v6 bool, hi, lo uint64) netip.Addr {
	if !v6 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// Describe implements Describer: the address table.
func (l *L3Switch) Describe(n Net) string {
	a, err := l3area(n)
	if err != nil {
		return ""
	}
	var b strings.Builder
	now := l.now()
	k := 0
	for i := 0; i < addrEntries; i++ {
		st := a.e[4*i].Load()
		if st&stValid == 0 {
			continue
		}
		seen := a.e[4*i+3].Load()
		kind := "learned"
		if st&stStatic != 0 {
			kind = "owned"
		} else if now-int64(seen&(1<<56-1)) > int64(DefaultAging/time.Second) {
			continue
		}
		fmt.Fprintf(&b, "  %s port %d (%s)\n", addrOf(st&stV6 != 0, a.e[4*i+1].Load(), a.e[4*i+2].Load()), seen>>56, kind)
		k++
	}
	return fmt.Sprintf("address table (%d):\n%sdropped: %d not IP\n", k, b.String(), a.hdr[l3Drops/8].Load())
}
