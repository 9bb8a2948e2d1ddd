package netdev

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"

	"golang.org/x/sys/unix"
)

// Segmentation offload for TAP nodes. A TAP opened with a virtio-net header
// (IFF_VNET_HDR) and TSO enabled hands the pump TCP segments of up to 64 KiB
// with the checksum left for the device to fill, instead of 1514-byte
// frames: one read, one message and one write per 64 KiB, not per 1.5 KiB,
// which is what lets a TCP stream through ipn approach a bridge's rate.
//
// What travels on the network is still a plain Ethernet frame, valid for
// any node: the pump completes the checksum when it reads (complete), and a
// frame longer than the interface's own MTU is written to a TAP with a
// header that asks the kernel to segment it (segmentHeader). Such frames
// exist only on networks whose MTU takes them (OffloadMTU).

// OffloadMTU is the smallest network MTU that carries the largest offloaded
// frame: an IP packet of 65535 bytes, an Ethernet header and a VLAN tag.
const OffloadMTU = 14 + 4 + 65535

// vnetHdrLen is the size of struct virtio_net_hdr, which precedes every
// frame read from or written to a TAP opened with IFF_VNET_HDR.
const vnetHdrLen = 10

// virtio_net_hdr fields.
const (
	vnetNeedsCsum = 1    // flags: the checksum at csum_start+csum_offset is to be filled
	gsoNone       = 0    // gso_type
	gsoTCPv4      = 1    //
	gsoTCPv6      = 4    //
	gsoECN        = 0x80 // the segments carry ECN's CWR
)

// tun offload flags (TUNSETOFFLOAD).
const (
	tunCsum   = 0x01
	tunTSO4   = 0x02
	tunTSO6   = 0x04
	tunTSOECN = 0x08
)

// defaultLinkMTU is the MTU assumed for a TAP whose own cannot be read (it
// may be in another network namespace by now): segments written to it are
// cut for it.
const defaultLinkMTU = 1500

// NewTAPOffload creates a TAP interface, like NewTAP, that moves TCP
// segments of up to 64 KiB with their checksums left to the device: for
// networks whose MTU is at least OffloadMTU.
func NewTAPOffload(name string) (Device, error) {
	return newOffload(KindTAP, "ipn", name, unix.IFF_TAP)
}

// NewTUNOffload is NewTAPOffload for a TUN interface, on layer-3 networks.
func NewTUNOffload(name string) (Device, error) {
	return newOffload(KindTUN, "ipntun", name, unix.IFF_TUN)
}

func newOffload(kind, prefix, name string, typ uint16) (Device, error) {
	if name == "" {
		name = freeName(prefix)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netdev: %s %s: %w", kind, name, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(typ | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err == nil {
		err = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunCsum|tunTSO4|tunTSO6|tunTSOECN)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netdev: %s %s: %w", kind, name, err)
	}
	return newCharDev(kind, ifr.Name(), os.NewFile(uintptr(fd), kind))
}

// hasVnetHdr reports whether a TUN/TAP descriptor was opened with
// IFF_VNET_HDR, as a descriptor handed over may have been.
func hasVnetHdr(fd int) bool {
	ifr, err := unix.NewIfreq("")
	if err != nil || unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr) != nil {
		return false
	}
	return ifr.Uint16()&unix.IFF_VNET_HDR != 0
}

// complete fills in a checksum the kernel left to the device: the field
// holds the pseudo-header's sum, and the checksum covers everything from
// start on, the field included.
func complete(frame []byte, hdr []byte) {
	if hdr[0]&vnetNeedsCsum == 0 {
		return
	}
	start := int(binary.LittleEndian.Uint16(hdr[6:]))
	at := start + int(binary.LittleEndian.Uint16(hdr[8:]))
	if at+2 > len(frame) {
		return // malformed: leave it; the receiver's check drops it
	}
	binary.BigEndian.PutUint16(frame[at:], checksum(frame[start:], 0))
}

// segmentHeader writes into hdr the virtio-net header for frame, to be
// written to a TAP whose link MTU is mtu, and patches frame to match: see
// segmentPlan. It reports false for a frame too long to send and not
// segmentable.
func segmentHeader(hdr, frame []byte, mtu int, ether bool) bool {
	at, sum, ok := segmentPlan(hdr, frame, mtu, ether)
	if ok && at > 0 {
		binary.BigEndian.PutUint16(frame[at:], sum)
	}
	return ok
}

// segmentPlan writes into hdr the virtio-net header for frame, to be
// written to a TAP (ether: an Ethernet frame) or a TUN (an IP packet) whose
// link MTU is mtu: a frame that fits goes as it is;
// a longer TCP segment (one read from an offloading TAP) is marked for the
// kernel to cut into segments that fit. Then its TCP checksum, at offset
// at, must be replaced by sum, the pseudo-header's sum, as the kernel
// expects; at is 0 when nothing is to be patched. The frame itself is left
// alone: it may be a slot of shared memory that other nodes read. ok is
// false for a frame too long to send and not segmentable.
func segmentPlan(hdr, frame []byte, mtu int, ether bool) (at int, sum uint16, ok bool) {
	clear(hdr)
	l2, typ := 0, uint16(0)
	switch {
	case ether && len(frame) <= 14+mtu, !ether && len(frame) <= mtu:
		return 0, 0, true
	case ether:
		l2, typ = 14, binary.BigEndian.Uint16(frame[12:])
		if typ == 0x8100 && len(frame) >= 18 { // a tagged frame on a trunk
			l2, typ = 18, binary.BigEndian.Uint16(frame[16:])
		}
	case frame[0]>>4 == 4:
		typ = 0x0800
	case frame[0]>>4 == 6:
		typ = 0x86dd
	}
	var ipLen, tcpLen, gso int
	var pseudo uint16
	switch {
	case typ == 0x0800 && len(frame) >= l2+20 && frame[l2+9] == 6:
		ipLen, gso = int(frame[l2]&0x0f)*4, gsoTCPv4
		tcpLen = int(binary.BigEndian.Uint16(frame[l2+2:])) - ipLen
		pseudo = pseudoSum(frame[l2+12:l2+20], 6, tcpLen)
	case typ == 0x86dd && len(frame) >= l2+40 && frame[l2+6] == 6:
		ipLen, gso = 40, gsoTCPv6
		tcpLen = int(binary.BigEndian.Uint16(frame[l2+4:]))
		pseudo = pseudoSum(frame[l2+8:l2+40], 6, tcpLen)
	default:
		return 0, 0, false
	}
	th := l2 + ipLen
	if ipLen < 20 || len(frame) < th+20 || th+tcpLen != len(frame) {
		return 0, 0, false
	}
	thLen := int(frame[th+12]>>4) * 4
	mss := mtu - ipLen - thLen
	if thLen < 20 || mss <= 0 {
		return 0, 0, false
	}
	if frame[th+13]&0x80 != 0 { // CWR
		gso |= gsoECN
	}
	hdr[0] = vnetNeedsCsum
	hdr[1] = byte(gso)
	binary.LittleEndian.PutUint16(hdr[2:], uint16(th+thLen))
	binary.LittleEndian.PutUint16(hdr[4:], uint16(mss))
	binary.LittleEndian.PutUint16(hdr[6:], uint16(th))
	binary.LittleEndian.PutUint16(hdr[8:], 16)
	return th + 16, pseudo, true
}

// pseudoSum is the folded sum of a TCP pseudo-header: addrs are the source
// and destination addresses as they sit in the IP header.
func pseudoSum(addrs []byte, proto, length int) uint16 {
	var tail [4]byte
	binary.BigEndian.PutUint16(tail[0:], uint16(proto))
	binary.BigEndian.PutUint16(tail[2:], uint16(length))
	return ^checksum(tail[:], checksum(addrs, 0))
}

// checksum is the Internet checksum (RFC 1071), the complement of the
// ones'-complement sum, of b following data whose checksum is initial (0
// for none). It adds the 32-bit halves of 8-byte words, in the machine's
// order, into four independent 64-bit sums, which cannot overflow for any
// frame and keep the adds from waiting on each other; then it folds and
// swaps the result, which the ones'-complement sum allows.
func checksum(b []byte, initial uint16) uint16 {
	var s0, s1, s2, s3 uint64
	for len(b) >= 32 {
		w0 := binary.LittleEndian.Uint64(b)
		w1 := binary.LittleEndian.Uint64(b[8:])
		w2 := binary.LittleEndian.Uint64(b[16:])
		w3 := binary.LittleEndian.Uint64(b[24:])
		s0 += w0&0xffffffff + w0>>32
		s1 += w1&0xffffffff + w1>>32
		s2 += w2&0xffffffff + w2>>32
		s3 += w3&0xffffffff + w3>>32
		b = b[32:]
	}
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		s0 += w&0xffffffff + w>>32
		b = b[8:]
	}
	for ; len(b) >= 2; b = b[2:] {
		s1 += uint64(binary.LittleEndian.Uint16(b))
	}
	if len(b) == 1 {
		s2 += uint64(b[0])
	}
	sum, carry := bits.Add64(s0+s1, s2+s3, 0)
	sum += carry
	s := sum>>32 + sum&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	folded := bits.ReverseBytes16(uint16(s))
	return ^addFolded(folded, ^initial)
}

func addFolded(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s>>16 + s&0xffff)
}
