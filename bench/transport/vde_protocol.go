package transport

import "encoding/binary"

// The benchmark speaks vde_switch's client protocol (package internal/vde)
// and sends Ethernet frames.
const (
	// vdeEthHeader is the Ethernet header every frame starts with: the
	// switch reads destination, source and EtherType, and drops shorter
	// frames.
	vdeEthHeader = 14
	// VdeMaxData is the most a frame carries after its header (VDE_MTU in
	// the switch's struct packet: 1500 bytes and a trailer). The switch
	// receives into a buffer of header + VDE_MTU, so a longer frame would be
	// cut short.
	VdeMaxData = 1504
	// vdeEtherType is IEEE's local experimental EtherType: no VLAN tag, no
	// protocol the switch would look into.
	vdeEtherType = 0x88b5
)

// vdeHeader is the Ethernet header of every frame the benchmark sends:
// broadcast destination, a locally administered source, vdeEtherType.
func vdeHeader() [vdeEthHeader]byte {
	h := [vdeEthHeader]byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	}
	binary.BigEndian.PutUint16(h[12:], vdeEtherType)
	return h
}
