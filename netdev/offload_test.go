package netdev

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// refChecksum is RFC 1071 written the plain way, word by word.
func refChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

func TestChecksumMatchesRFC1071(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if n%7 == 0 { // runs of 0xff stress the carries
			for i := range b {
				b[i] = 0xff
			}
		}
		if got, want := checksum(b, 0), refChecksum(b); got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
			t.Fatalf("%d bytes: checksum %#04x, want %#04x", n, got, want)
		}
	}
}

// tcp4Frame builds an Ethernet frame with an IPv4 TCP segment of payload
// bytes and a correct TCP checksum.
func tcp4Frame(payload int) []byte {
	f := make([]byte, 14+20+32+payload)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[9] = 0x45, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	tcp := ip[20:]
	tcp[12] = 8 << 4 // 32-byte header
	for i := range tcp[32:] {
		tcp[32+i] = byte(i * 7)
	}
	binary.BigEndian.PutUint16(tcp[16:], tcpChecksumRef(ip[12:20], tcp))
	return f
}

func tcpChecksumRef(addrs, tcp []byte) uint16 {
	p := append(append([]byte{}, addrs...), 0, 6, byte(len(tcp)>>8), byte(len(tcp)))
	c := append(p, tcp...)
	binary.BigEndian.PutUint16(c[len(p)+16:], 0)
	return refChecksum(c)
}

// TestCompleteFillsPartialChecksum: a frame whose TCP checksum field holds
// the pseudo-header sum, as an offloading TAP hands it over, leaves
// complete with the checksum a receiver verifies.
func TestCompleteFillsPartialChecksum(t *testing.T) {
	for _, payload := range []int{0, 1, 1000, 60000} {
		f := tcp4Frame(payload)
		want := binary.BigEndian.Uint16(f[14+20+16:])
		tcpLen := len(f) - 34
		binary.BigEndian.PutUint16(f[14+20+16:], pseudoSum(f[26:34], 6, tcpLen))
		hdr := make([]byte, vnetHdrLen)
		hdr[0] = vnetNeedsCsum
		binary.LittleEndian.PutUint16(hdr[6:], 34)
		binary.LittleEndian.PutUint16(hdr[8:], 16)
		complete(f, hdr)
		if got := binary.BigEndian.Uint16(f[14+20+16:]); got != want {
			t.Errorf("payload %d: completed checksum %#04x, want %#04x", payload, got, want)
		}
	}
}

// TestSegmentHeader: a frame that fits the link goes with an empty header;
// a longer TCP segment goes marked for the kernel to cut at the link's MSS,
// its checksum field holding the pseudo-header sum; a long frame that is
// not TCP is refused.
func TestSegmentHeader(t *testing.T) {
	hdr := make([]byte, vnetHdrLen)
	small := tcp4Frame(100)
	if !segmentHeader(hdr, small, 1500, true) || hdr[0] != 0 || hdr[1] != gsoNone {
		t.Fatalf("a frame that fits: ok=%v header %x", segmentHeader(hdr, small, 1500, true), hdr)
	}
	big := tcp4Frame(20000)
	tcpLen := len(big) - 34
	if !segmentHeader(hdr, big, 1500, true) {
		t.Fatal("a long TCP segment was refused")
	}
	if hdr[0] != vnetNeedsCsum || hdr[1] != gsoTCPv4 {
		t.Errorf("flags %#x gso type %#x, want needs-csum and TCPv4", hdr[0], hdr[1])
	}
	if mss := binary.LittleEndian.Uint16(hdr[4:]); mss != 1500-20-32 {
		t.Errorf("segment size %d, want %d", mss, 1500-20-32)
	}
	if hl, cs, co := binary.LittleEndian.Uint16(hdr[2:]), binary.LittleEndian.Uint16(hdr[6:]), binary.LittleEndian.Uint16(hdr[8:]); hl != 14+20+32 || cs != 34 || co != 16 {
		t.Errorf("header length %d, csum start %d offset %d", hl, cs, co)
	}
	if got, want := binary.BigEndian.Uint16(big[50:]), pseudoSum(big[26:34], 6, tcpLen); got != want {
		t.Errorf("checksum field %#04x, want the pseudo-header sum %#04x", got, want)
	}
	udp := tcp4Frame(20000)
	udp[14+9] = 17
	if segmentHeader(hdr, udp, 1500, true) {
		t.Error("a long UDP datagram was accepted for segmentation")
	}
}

func BenchmarkChecksum64K(b *testing.B) {
	buf := make([]byte, 65536)
	for i := range buf {
		buf[i] = byte(i * 13)
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		checksum(buf, 0)
	}
}

// TestSegmentHeaderTUN: a TUN carries IP packets with no Ethernet header;
// the plan reads the IP header at the start.
func TestSegmentHeaderTUN(t *testing.T) {
	hdr := make([]byte, vnetHdrLen)
	pkt := tcp4Frame(20000)[14:]
	if !segmentHeader(hdr, pkt, 1500, false) || hdr[1] != gsoTCPv4 {
		t.Fatalf("a long TCP packet on a TUN: header %x", hdr)
	}
	if cs := binary.LittleEndian.Uint16(hdr[6:]); cs != 20 {
		t.Errorf("csum start %d, want 20 (no Ethernet header)", cs)
	}
	if !segmentHeader(hdr, pkt[:1400], 1500, false) || hdr[1] != gsoNone {
		t.Errorf("a packet that fits was marked for segmentation: %x", hdr)
	}
}

// TestSegmentTCP: a 5000-byte TCP segment cut for a 1514-byte network
// comes out as frames that fit, whose payloads put back together are the
// original, with sequence numbers, lengths, identifications, flags and
// both checksums right.
func TestSegmentTCP(t *testing.T) {
	big := tcp4Frame(5000)
	const flags = tcpFIN | tcpPSH | tcpCWR | 0x10 // and ACK
	big[14+20+13] = flags
	binary.BigEndian.PutUint32(big[14+20+4:], 1000)
	binary.BigEndian.PutUint16(big[14+4:], 77)
	var payload []byte
	var segs [][]byte
	out := make([]byte, 1514)
	err := SegmentTCP(big, 0, 1514, out, func(seg []byte) error {
		segs = append(segs, append([]byte(nil), seg...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 4 { // 5000 bytes of payload, 1448 a segment
		t.Fatalf("%d segments, want 4", len(segs))
	}
	for k, seg := range segs {
		ip, tcp := seg[14:34], seg[34:]
		if len(seg) > 1514 {
			t.Errorf("segment %d is %d bytes", k, len(seg))
		}
		if got := int(binary.BigEndian.Uint16(ip[2:])); got != len(seg)-14 {
			t.Errorf("segment %d: IP length %d, want %d", k, got, len(seg)-14)
		}
		if id := binary.BigEndian.Uint16(ip[4:]); id != 77+uint16(k) {
			t.Errorf("segment %d: IP id %d", k, id)
		}
		if c := refChecksum(ip); c != 0 && c != 0xffff {
			t.Errorf("segment %d: IP header checksum does not verify (%#x)", k, c)
		}
		if got, want := binary.BigEndian.Uint16(tcp[16:]), tcpChecksumRef(ip[12:20], tcp); got != want {
			t.Errorf("segment %d: TCP checksum %#x, want %#x", k, got, want)
		}
		if seq := binary.BigEndian.Uint32(tcp[4:]); seq != 1000+uint32(len(payload)) {
			t.Errorf("segment %d: seq %d, want %d", k, seq, 1000+len(payload))
		}
		last := k == len(segs)-1
		if f := tcp[13]; (f&tcpFIN != 0) != last || (f&tcpPSH != 0) != last || (f&tcpCWR != 0) != (k == 0) || f&0x10 == 0 {
			t.Errorf("segment %d: flags %#x", k, f)
		}
		payload = append(payload, tcp[32:]...)
	}
	if !bytes.Equal(payload, big[66:]) {
		t.Error("the segments' payloads are not the original's")
	}
	udp := tcp4Frame(3000)
	udp[14+9] = 17
	if err := SegmentTCP(udp, 0, 1514, out, func([]byte) error { return nil }); err == nil {
		t.Error("a long UDP datagram was cut as if it were TCP")
	}
}
