package dispatch

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ipn-project/ipn/ring"
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
func (*EthSwitch) SetAccess(n Net, p, vlan int) error {
	return setPort(n, p, ModeAccess, vlan, nil, nil)
}

// SetTrunk makes port p a trunk carrying the VLANs in allowed tagged, and
// native (0: none) untagged.
func (*EthSwitch) SetTrunk(n Net, p, native int, allowed []int) error {
	return setPort(n, p, ModeTrunk, native, allowed, nil)
}

// SetMirror makes port p receive a copy of every frame the switch forwards.
func (*EthSwitch) SetMirror(n Net, p int, on bool) error { return setPort(n, p, -1, 0, nil, &on) }

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
func (*EthSwitch) Stats(n Net) (SwitchStats, error) {
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
func (*EthSwitch) SetAging(n Net, d time.Duration) error {
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

// Option names of the switch, for SetOption (values are text):
//
//	access  VLAN            the port becomes an access port of VLAN
//	trunk   native:v1,v2,…  the port becomes a trunk carrying v1, v2… tagged
//	                        and native (0: none) untagged
//	mirror  on | off        the port gets a copy of everything forwarded
//	aging   seconds         how long learned addresses are trusted (any port)
const (
	OptAccess = "access"
	OptTrunk  = "trunk"
	OptMirror = "mirror"
	OptAging  = "aging"
)

// SetOption implements Optioner.
func (sw *EthSwitch) SetOption(n Net, port int, name string, value []byte) error {
	v := strings.TrimSpace(string(value))
	switch name {
	case OptAccess:
		vlan, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("dispatch: access VLAN %q: %w", v, syscall.EINVAL)
		}
		return sw.SetAccess(n, port, vlan)
	case OptTrunk:
		nat, list, _ := strings.Cut(v, ":")
		native, err := strconv.Atoi(nat)
		if err != nil {
			return fmt.Errorf("dispatch: trunk %q: want native:v1,v2,…: %w", v, syscall.EINVAL)
		}
		var allowed []int
		for _, f := range strings.Split(list, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			a, err := strconv.Atoi(f)
			if err != nil {
				return fmt.Errorf("dispatch: trunk VLAN %q: %w", f, syscall.EINVAL)
			}
			allowed = append(allowed, a)
		}
		return sw.SetTrunk(n, port, native, allowed)
	case OptMirror:
		switch v {
		case "on", "1", "true":
			return sw.SetMirror(n, port, true)
		case "off", "0", "false":
			return sw.SetMirror(n, port, false)
		}
		return fmt.Errorf("dispatch: mirror %q: want on or off: %w", v, syscall.EINVAL)
	case OptAging:
		sec, err := strconv.Atoi(v)
		if err != nil || sec < 1 {
			return fmt.Errorf("dispatch: aging %q: want seconds: %w", v, syscall.EINVAL)
		}
		return sw.SetAging(n, time.Duration(sec)*time.Second)
	}
	return fmt.Errorf("dispatch: switch has no option %q: %w", name, syscall.ENOPROTOOPT)
}

// Option implements Optioner: the port's settings as SetOption takes them.
func (*EthSwitch) Option(n Net, port int, name string) ([]byte, error) {
	s, err := area(n)
	if err != nil {
		return nil, err
	}
	if port < 0 || port >= 64 {
		return nil, fmt.Errorf("dispatch: port %d: %w", port, syscall.EINVAL)
	}
	mode, vlan, mirror := portMode(s.portWord(port).Load())
	switch name {
	case OptAccess, OptTrunk:
		if mode == ModeAccess {
			return []byte("access " + strconv.Itoa(vlan)), nil
		}
		var vs []string
		for v := 1; v <= maxVLAN; v++ {
			if s.allowed(port, v) {
				vs = append(vs, strconv.Itoa(v))
			}
		}
		return []byte(fmt.Sprintf("trunk %d:%s", vlan, strings.Join(vs, ","))), nil
	case OptMirror:
		if mirror {
			return []byte("on"), nil
		}
		return []byte("off"), nil
	case OptAging:
		return []byte(strconv.Itoa(int(s.aging() / time.Second))), nil
	}
	return nil, fmt.Errorf("dispatch: switch has no option %q: %w", name, syscall.ENOPROTOOPT)
}

// Describe implements Describer: the ports' VLAN settings (those set
// apart from the default, access to VLAN 1, one a line) and the MAC table.
func (sw *EthSwitch) Describe(n Net) string {
	var b strings.Builder
	plain := 0
	for p := 0; p < n.Ports(); p++ {
		set, _ := sw.Option(n, p, OptTrunk)
		mir, _ := sw.Option(n, p, OptMirror)
		if string(set) == "access 1" && string(mir) != "on" {
			plain++
			continue
		}
		fmt.Fprintf(&b, "port %d: %s", p, set)
		if string(mir) == "on" {
			b.WriteString(", mirror")
		}
		b.WriteByte('\n')
	}
	switch {
	case plain == n.Ports():
		b.WriteString("every port: access 1\n")
	case plain > 0:
		fmt.Fprintf(&b, "%s: access 1\n", plural(plain, "the other port", fmt.Sprintf("the other %d ports", plain)))
	}
	macs, _ := sw.MACTable(n)
	fmt.Fprintf(&b, "MAC table (%d):\n", len(macs))
	for _, m := range macs {
		fmt.Fprintf(&b, "  vlan %d %02x:%02x:%02x:%02x:%02x:%02x port %d age %v\n",
			m.VLAN, m.MAC[0], m.MAC[1], m.MAC[2], m.MAC[3], m.MAC[4], m.MAC[5], m.Port, m.Age)
	}
	if st, err := sw.Stats(n); err == nil {
		fmt.Fprintf(&b, "dropped: %d runts, %d by VLAN rules\n", st.Runts, st.VLANDrops)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
