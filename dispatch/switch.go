package dispatch

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"ipn/ring"
)

// The Ethernet switch (policy 2), like a VDE switch: it learns which port
// each source address sits behind, per VLAN, forwards known unicast to that
// one port, and floods broadcast, multicast and unknown destinations to
// the other ports of the VLAN. Ports are access ports (untagged frames, one
// VLAN) or trunks (802.1Q tagged frames of a set of VLANs, and untagged
// frames of their native VLAN); tags are added and removed on the way out
// as each port needs. A mirror port gets a copy of everything forwarded.
//
// State lives in the policy area, in atomic words, shared by every sender:
//
//	0      header: frames dropped as runts, by VLAN rules, aging seconds
//	64     port table: Ports records of switchPortStride bytes:
//	         word 0: mode | native or access VLAN << 8 | mirror << 20 | configured << 21
//	         words 1..64: the trunk's allowed VLANs, one bit each
//	...    MAC table: macEntries entries of two words:
//	         key:  valid << 63 | VLAN << 48 | address
//	         seen: port << 56 | last seen, Unix seconds

const (
	swHdrRunts    = 0
	swHdrVLANDrop = 8
	swHdrAging    = 16
	swPorts       = 64
	swPortStride  = 8 + 512 + 56 // mode word, 4096 VLAN bits, padding to lines
	macEntries    = 4096         // a power of two
	macProbe      = 8
	maxVLAN       = 4094

	// DefaultAging is how long a learned address is trusted.
	DefaultAging = 300 * time.Second
)

// Port modes.
const (
	ModeAccess = 0
	ModeTrunk  = 1
)

const (
	tpid8021Q = 0x8100
	ethHdr    = 14
	tagLen    = 4
)

// errBadVLAN reports a VLAN number out of range.
var errBadVLAN = fmt.Errorf("dispatch: VLAN out of 1..%d: %w", maxVLAN, syscall.EINVAL)

// EthSwitch is the Ethernet switch policy. The registered one reads the
// system clock; tests make their own with NewSwitch.
type EthSwitch struct {
	now func() int64 // Unix seconds
}

// NewSwitch returns a switch that reads time from now.
func NewSwitch(now func() int64) *EthSwitch { return &EthSwitch{now: now} }

func init() {
	if err := Register(Switch, NewSwitch(func() int64 { return time.Now().Unix() })); err != nil {
		panic(err)
	}
}

// Name implements Policy.
func (*EthSwitch) Name() string { return "switch" }

// AreaSize implements AreaSizer.
func (*EthSwitch) AreaSize(int) int { return swPorts + 64*swPortStride + macEntries*16 }

// NewPort implements Policy: the port asked for, else the lowest free.
func (*EthSwitch) NewPort(_ Net, want int, free uint64) (int, error) { return LowestFree(want, free) }

// switchArea is a typed view of the switch's state.
type switchArea struct {
	hdr   []atomic.Uint64
	ports []atomic.Uint64
	macs  []atomic.Uint64
}

func area(n Net) (switchArea, error) {
	a := n.Area()
	hdr, err := a.Uint64s(0, 8)
	if err != nil {
		return switchArea{}, err
	}
	ports, err := a.Uint64s(swPorts, 64*swPortStride/8)
	if err != nil {
		return switchArea{}, err
	}
	macs, err := a.Uint64s(swPorts+64*swPortStride, 2*macEntries)
	if err != nil {
		return switchArea{}, err
	}
	return switchArea{hdr, ports, macs}, nil
}

func (s switchArea) portWord(p int) *atomic.Uint64 { return &s.ports[p*swPortStride/8] }

func (s switchArea) allowed(p, vlan int) bool {
	return s.ports[p*swPortStride/8+1+vlan/64].Load()&(1<<(vlan%64)) != 0
}

// portMode decodes a port's mode word. A port never configured is an
// access port of VLAN 1, so a switch works out of the box.
func portMode(w uint64) (mode, vlan int, mirror bool) {
	if w&(1<<21) == 0 {
		return ModeAccess, 1, false
	}
	return int(w & 0xff), int(w >> 8 & 0xfff), w&(1<<20) != 0
}

// SetAccess makes port p an access port of vlan.
func SetAccess(n Net, p, vlan int) error { return setPort(n, p, ModeAccess, vlan, nil, nil) }

// SetTrunk makes port p a trunk carrying the VLANs in allowed tagged, and
// native (0: none) untagged.
func SetTrunk(n Net, p, native int, allowed []int) error {
	return setPort(n, p, ModeTrunk, native, allowed, nil)
}

// SetMirror makes port p receive a copy of every frame the switch forwards.
func SetMirror(n Net, p int, on bool) error { return setPort(n, p, -1, 0, nil, &on) }

func setPort(n Net, p, mode, vlan int, allowed []int, mirror *bool) error {
	s, err := area(n)
	if err != nil {
		return err
	}
	if p < 0 || p >= 64 {
		return fmt.Errorf("dispatch: port %d: %w", p, syscall.EINVAL)
	}
	w := s.portWord(p)
	old := w.Load()
	m, v, mir := portMode(old)
	if mirror != nil {
		mir = *mirror
	} else {
		if (vlan < 1 && mode == ModeAccess) || vlan < 0 || vlan > maxVLAN {
			return errBadVLAN
		}
		m, v = mode, vlan
		for i := 0; i < 64; i++ {
			s.ports[p*swPortStride/8+1+i].Store(0)
		}
		for _, a := range allowed {
			if a < 1 || a > maxVLAN {
				return errBadVLAN
			}
			s.ports[p*swPortStride/8+1+a/64].Or(1 << (a % 64))
		}
	}
	nw := uint64(m) | uint64(v)<<8 | 1<<21
	if mir {
		nw |= 1 << 20
	}
	w.Store(nw)
	return nil
}

// Stats of the switch as a whole.
type SwitchStats struct{ Runts, VLANDrops uint64 }

// Stats reads the switch's counters.
func Stats(n Net) (SwitchStats, error) {
	s, err := area(n)
	if err != nil {
		return SwitchStats{}, err
	}
	return SwitchStats{s.hdr[swHdrRunts/8].Load(), s.hdr[swHdrVLANDrop/8].Load()}, nil
}

// MACEntry is one learned address.
type MACEntry struct {
	VLAN int
	MAC  [6]byte
	Port int
	Age  time.Duration
}

// MACTable lists the addresses learned and not yet aged out.
func (sw *EthSwitch) MACTable(n Net) ([]MACEntry, error) {
	s, err := area(n)
	if err != nil {
		return nil, err
	}
	now := sw.now()
	var out []MACEntry
	for i := 0; i < macEntries; i++ {
		k, seen := s.macs[2*i].Load(), s.macs[2*i+1].Load()
		if k>>63 == 0 || now-int64(seen&(1<<56-1)) > int64(s.aging().Seconds()) {
			continue
		}
		var e MACEntry
		e.VLAN = int(k >> 48 & 0xfff)
		binary.BigEndian.PutUint16(e.MAC[:2], uint16(k>>32))
		binary.BigEndian.PutUint32(e.MAC[2:], uint32(k))
		e.Port = int(seen >> 56)
		e.Age = time.Duration(now-int64(seen&(1<<56-1))) * time.Second
		out = append(out, e)
	}
	return out, nil
}

func (s switchArea) aging() time.Duration {
	if a := s.hdr[swHdrAging/8].Load(); a != 0 {
		return time.Duration(a) * time.Second
	}
	return DefaultAging
}

// SetAging sets how long learned addresses are trusted.
func SetAging(n Net, d time.Duration) error {
	s, err := area(n)
	if err != nil {
		return err
	}
	s.hdr[swHdrAging/8].Store(uint64(d / time.Second))
	return nil
}

func macKey(vlan int, mac []byte) uint64 {
	return 1<<63 | uint64(vlan)<<48 | uint64(binary.BigEndian.Uint16(mac))<<32 | uint64(binary.BigEndian.Uint32(mac[2:]))
}

func macHash(k uint64) int {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return int(k & (macEntries - 1))
}

// learn records that key was seen behind port now.
func (s switchArea) learn(key uint64, port int, now int64, aging int64) {
	seen := uint64(port)<<56 | uint64(now)&(1<<56-1)
	h := macHash(key)
	victim := -1
	for i := 0; i < macProbe; i++ {
		e := (h + i) & (macEntries - 1)
		k := s.macs[2*e].Load()
		if k == key {
			if s.macs[2*e+1].Load() != seen { // write only on change: fewer shared lines dirtied
				s.macs[2*e+1].Store(seen)
			}
			return
		}
		if k == 0 {
			if s.macs[2*e].CompareAndSwap(0, key) {
				s.macs[2*e+1].Store(seen)
				return
			}
			continue
		}
		if victim < 0 && now-int64(s.macs[2*e+1].Load()&(1<<56-1)) > aging {
			victim = e
		}
	}
	if victim >= 0 {
		if old := s.macs[2*victim].Load(); s.macs[2*victim].CompareAndSwap(old, key) {
			s.macs[2*victim+1].Store(seen)
		}
	}
}

// lookup returns the port behind key, if learned and not aged out.
func (s switchArea) lookup(key uint64, now, aging int64) (int, bool) {
	h := macHash(key)
	for i := 0; i < macProbe; i++ {
		e := (h + i) & (macEntries - 1)
		if s.macs[2*e].Load() == key {
			seen := s.macs[2*e+1].Load()
			if now-int64(seen&(1<<56-1)) > aging {
				return 0, false
			}
			return int(seen >> 56), true
		}
	}
	return 0, false
}

// Dispatch implements Policy.
func (sw *EthSwitch) Dispatch(n Net, d *ring.Delivery) {
	s, err := area(n)
	if err != nil {
		return
	}
	f := d.Data()
	if len(f) < ethHdr {
		s.hdr[swHdrRunts/8].Add(1)
		return
	}
	from := d.From()
	mode, pvlan, _ := portMode(s.portWord(from).Load())
	tagged := binary.BigEndian.Uint16(f[12:]) == tpid8021Q
	vlan := pvlan
	switch {
	case tagged && len(f) < ethHdr+tagLen:
		s.hdr[swHdrRunts/8].Add(1)
		return
	case tagged && mode == ModeTrunk:
		vlan = int(binary.BigEndian.Uint16(f[14:]) & 0xfff)
		if vlan == 0 || !s.allowed(from, vlan) {
			s.hdr[swHdrVLANDrop/8].Add(1)
			return
		}
	case tagged, mode == ModeTrunk && pvlan == 0:
		// Tagged frames on an access port, untagged ones on a trunk
		// without a native VLAN: not ours to carry.
		s.hdr[swHdrVLANDrop/8].Add(1)
		return
	}
	now, aging := sw.now(), int64(s.aging()/time.Second)
	if f[6]&1 == 0 { // a unicast source: learn it
		s.learn(macKey(vlan, f[6:12]), from, now, aging)
	}

	// The ports of this VLAN, apart by how they want the frame.
	var untaggedTo, taggedTo, mirrors uint64
	readers := d.Readers()
	for w := readers &^ (1 << from); w != 0; w &= w - 1 {
		p := trailingZeros(w)
		m, v, mir := portMode(s.portWord(p).Load())
		if mir {
			mirrors |= 1 << p
		}
		switch {
		case m == ModeAccess && v == vlan, m == ModeTrunk && v == vlan:
			untaggedTo |= 1 << p
		case m == ModeTrunk && s.allowed(p, vlan):
			taggedTo |= 1 << p
		}
	}
	if f[0]&1 == 0 { // unicast: to the one port it was learned behind, if known
		if p, ok := s.lookup(macKey(vlan, f[0:6]), now, aging); ok {
			// Behind the source's own port it is already where it goes:
			// filtered, as a bridge does.
			untaggedTo &= 1 << p &^ (1 << from)
			taggedTo &= 1 << p &^ (1 << from)
		}
	}
	// The frame as it came goes to ports that want it so; the others get a
	// variant with the tag added or removed, written once for all of them.
	same, other := untaggedTo, taggedTo
	if tagged {
		same, other = taggedTo, untaggedTo
	}
	d.To(same | mirrors&^other)
	if other != 0 {
		var buf [maxFrame]byte
		if len(f)+tagLen > len(buf) {
			return
		}
		d.Variant(other, retag(buf[:0], f, tagged, vlan))
	}
}

// maxFrame bounds a frame the switch re-tags on the stack.
const maxFrame = 64<<10 + 64

// retag appends f to b with its 802.1Q tag removed (tagged) or added.
func retag(b, f []byte, tagged bool, vlan int) []byte {
	b = append(b, f[:12]...)
	if tagged {
		return append(b, f[16:]...)
	}
	b = binary.BigEndian.AppendUint16(b, tpid8021Q)
	b = binary.BigEndian.AppendUint16(b, uint16(vlan))
	return append(b, f[12:]...)
}
