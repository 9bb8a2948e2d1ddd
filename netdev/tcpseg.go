package netdev

import (
	"encoding/binary"
	"fmt"
	"syscall"
)

// TCP flags SegmentTCP adjusts.
const (
	tcpFIN = 0x01
	tcpPSH = 0x08
	tcpCWR = 0x80
)

// SegmentTCP cuts frame, an Ethernet frame carrying one TCP segment longer
// than mtu (the network's largest frame), into frames that fit, as a NIC's
// segmentation offload would: each gets the headers with its own IP length,
// IPv4 identification and checksum, TCP sequence number and checksum; FIN
// and PSH stay on the last, CWR on the first. mss, when positive, is the
// segment size the sender asked for (a virtio-net header's gso_size); the
// frames are no longer than mtu either way. It writes each into out (at
// least mtu bytes) and hands it to emit before the next.
func SegmentTCP(frame []byte, mss, mtu int, out []byte, emit func([]byte) error) error {
	l2, ipLen, v4, ok := tcpHeaders(frame)
	if !ok {
		return fmt.Errorf("netdev: a frame of %d bytes, longer than %d, is no TCP segment to cut: %w", len(frame), mtu, syscall.EMSGSIZE)
	}
	th := l2 + ipLen
	hl := th + int(frame[th+12]>>4)*4
	if hl > len(frame) || hl >= mtu {
		return fmt.Errorf("netdev: TCP headers of %d bytes in a frame of %d: %w", hl, len(frame), syscall.EMSGSIZE)
	}
	if mss <= 0 || hl+mss > mtu {
		mss = mtu - hl
	}
	payload := frame[hl:]
	seq := binary.BigEndian.Uint32(frame[th+4:])
	flags := frame[th+13]
	var id uint16
	if v4 {
		id = binary.BigEndian.Uint16(frame[l2+4:])
	}
	for k, off := 0, 0; off < len(payload); k, off = k+1, off+mss {
		end := min(off+mss, len(payload))
		seg := out[:hl+end-off]
		copy(seg, frame[:hl])
		copy(seg[hl:], payload[off:end])
		ip := seg[l2:]
		tcpLen := len(seg) - th
		if v4 {
			binary.BigEndian.PutUint16(ip[2:], uint16(ipLen+tcpLen))
			binary.BigEndian.PutUint16(ip[4:], id+uint16(k))
			ip[10], ip[11] = 0, 0
			binary.BigEndian.PutUint16(ip[10:], checksum(ip[:ipLen], 0))
		} else {
			binary.BigEndian.PutUint16(ip[4:], uint16(tcpLen))
		}
		tcp := seg[th:]
		binary.BigEndian.PutUint32(tcp[4:], seq+uint32(off))
		f := flags
		if end < len(payload) {
			f &^= tcpFIN | tcpPSH
		}
		if off > 0 {
			f &^= tcpCWR
		}
		tcp[13] = f
		tcp[16], tcp[17] = 0, 0
		addrs := ip[12:20]
		if !v4 {
			addrs = ip[8:40]
		}
		binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, ^pseudoSum(addrs, 6, tcpLen)))
		if err := emit(seg); err != nil {
			return err
		}
	}
	return nil
}

// tcpHeaders finds the IP header of an Ethernet frame carrying TCP: where
// it starts, its length, and whether it is IPv4.
func tcpHeaders(frame []byte) (l2, ipLen int, v4, ok bool) {
	if len(frame) < 14 {
		return 0, 0, false, false
	}
	l2, typ := 14, binary.BigEndian.Uint16(frame[12:])
	if typ == 0x8100 && len(frame) >= 18 {
		l2, typ = 18, binary.BigEndian.Uint16(frame[16:])
	}
	switch {
	case typ == 0x0800 && len(frame) >= l2+20 && frame[l2+9] == 6:
		ipLen = int(frame[l2]&0x0f) * 4
		return l2, ipLen, true, ipLen >= 20 && len(frame) >= l2+ipLen+20
	case typ == 0x86dd && len(frame) >= l2+60 && frame[l2+6] == 6:
		return l2, 40, false, true
	}
	return 0, 0, false, false
}
