package vxlan

import (
	"encoding/binary"
	"syscall"

	"github.com/ipn-project/ipn/internal/errno"
)

// HeaderLen is the length of a VXLAN header, before every frame in a UDP
// datagram.
const HeaderLen = 8

// DefaultPort is the UDP port IANA assigned to VXLAN. The kernel's vxlan
// device uses it when told dstport 4789; without dstport, it uses Linux's
// older 8472.
const DefaultPort = 4789

// MaxVNI is the largest VXLAN network identifier (24 bits).
const MaxVNI = 1<<24 - 1

// flagVNI is the I flag: the VNI field is valid. RFC 7348 asks every other
// flag bit and the reserved fields to be zero when sent and ignored when
// received.
const flagVNI = 0x08

// ethHeaderLen is the shortest frame carried: an Ethernet header.
const ethHeaderLen = 14

// Errors of the decoder, matching both the sentinel and the errno with
// errors.Is.
var (
	// ErrShort is a datagram too short for a VXLAN header and an Ethernet
	// header.
	ErrShort = errno.New("vxlan: datagram shorter than a VXLAN and an Ethernet header", syscall.EPROTO)
	// ErrNoVNI is a header without the I flag, whose VNI is not valid.
	ErrNoVNI = errno.New("vxlan: header without the VNI flag", syscall.EPROTO)
)

// Header is what a VXLAN header carries for ipn.
type Header struct {
	VNI uint32 // 24 bits
	// Hop is ipn's hop depth in the last reserved byte: 0 when the sender
	// is not an ipn cable carrying it (Config.Hops).
	Hop uint8
}

// Put writes h into b[:HeaderLen].
func (h Header) Put(b []byte) {
	_ = b[HeaderLen-1]
	b[0], b[1], b[2], b[3] = flagVNI, 0, 0, 0
	binary.BigEndian.PutUint32(b[4:], h.VNI<<8|uint32(h.Hop))
}

// Decode reads the header of the datagram d and returns it with the frame
// that follows. It refuses a datagram too short to carry an Ethernet
// header (ErrShort) or without the VNI flag (ErrNoVNI); other flags and
// reserved bits are ignored, as RFC 7348 asks.
func Decode(d []byte) (Header, []byte, error) {
	if len(d) < HeaderLen+ethHeaderLen {
		return Header{}, nil, ErrShort
	}
	if d[0]&flagVNI == 0 {
		return Header{}, nil, ErrNoVNI
	}
	w := binary.BigEndian.Uint32(d[4:])
	return Header{VNI: w >> 8, Hop: uint8(w)}, d[HeaderLen:], nil
}
