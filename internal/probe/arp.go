package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/internal/netns"
)

// ARPReply is the answer to an ARP request, as it arrived.
type ARPReply struct {
	// VLAN is the 802.1Q VLAN the reply came tagged with, 0 untagged.
	VLAN int
	// MAC is the hardware address the reply gives for the asked address.
	MAC net.HardwareAddr
}

// ErrNoReply is returned by ARP when no answer came in time.
var ErrNoReply = errors.New("no ARP reply")

// ARP asks who has target on the link dev in ns, as sender (an address of
// the link's subnet; the link needs none of its own), in a frame tagged
// with vlan (0: untagged), through a raw AF_PACKET socket, so that it works
// without the kernel's 802.1Q support. It returns the first reply for
// target, tagged or not, or ErrNoReply after timeout.
func ARP(ns *netns.NS, dev string, vlan int, sender, target netip.Addr, timeout time.Duration) (ARPReply, error) {
	var fd int
	var mac net.HardwareAddr
	err := ns.Do(func() error { // the socket belongs to the namespace it is made in
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind to %s: %w", dev, err)
		}
		return nil
	})
	if err != nil {
		return ARPReply{}, fmt.Errorf("arp on %s in %s: %w", dev, ns, err)
	}
	defer unix.Close(fd)
	// The kernel moves a received frame's 802.1Q tag out of the frame into
	// the packet's metadata, which auxdata hands over.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return ARPReply{}, fmt.Errorf("PACKET_AUXDATA: %w", err)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000}); err != nil {
		return ARPReply{}, err
	}
	if _, err := unix.Write(fd, arpRequest(mac, vlan, sender, target)); err != nil {
		return ARPReply{}, fmt.Errorf("arp on %s in %s: send: %w", dev, ns, err)
	}
	buf, oob := make([]byte, 2048), make([]byte, 256)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return ARPReply{}, fmt.Errorf("arp on %s in %s: receive: %w", dev, ns, err)
		}
		if r, ok := parseARPReply(buf[:n], auxVLAN(oob[:oobn]), target); ok {
			return r, nil
		}
	}
	return ARPReply{}, ErrNoReply
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// arpRequest builds an Ethernet broadcast ARP request, with an 802.1Q tag
// when vlan is not 0.
func arpRequest(src net.HardwareAddr, vlan int, sender, target netip.Addr) []byte {
	f := make([]byte, 0, 64)
	f = append(f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	f = append(f, src...)
	if vlan != 0 {
		f = binary.BigEndian.AppendUint16(f, 0x8100)
		f = binary.BigEndian.AppendUint16(f, uint16(vlan))
	}
	f = binary.BigEndian.AppendUint16(f, 0x0806)
	f = append(f, 0, 1, 0x08, 0, 6, 4, 0, 1) // Ethernet, IPv4, request
	f = append(f, src...)
	f = append(f, sender.AsSlice()...)
	f = append(f, 0, 0, 0, 0, 0, 0)
	f = append(f, target.AsSlice()...)
	return f
}

// auxVLAN reads the VLAN of a received frame from its PACKET_AUXDATA
// control message (struct tpacket_auxdata), 0 if it had none.
func auxVLAN(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA || len(m.Data) < 20 {
			continue
		}
		// tp_status at 0, tp_vlan_tci at 16.
		if binary.NativeEndian.Uint32(m.Data[0:])&unix.TP_STATUS_VLAN_VALID != 0 {
			return int(binary.NativeEndian.Uint16(m.Data[16:]) & 0xfff)
		}
	}
	return 0
}

// parseARPReply reads frame as an ARP reply for target; vlan is the tag
// the kernel took out of it, if any (a tag still in the frame counts too).
func parseARPReply(frame []byte, vlan int, target netip.Addr) (ARPReply, bool) {
	if len(frame) < 14 {
		return ARPReply{}, false
	}
	etype, body := binary.BigEndian.Uint16(frame[12:]), frame[14:]
	if etype == 0x8100 && len(body) >= 4 {
		vlan = int(binary.BigEndian.Uint16(body) & 0xfff)
		etype, body = binary.BigEndian.Uint16(body[2:]), body[4:]
	}
	if etype != 0x0806 || len(body) < 28 || binary.BigEndian.Uint16(body[6:]) != 2 {
		return ARPReply{}, false
	}
	if spa, _ := netip.AddrFromSlice(body[14:18]); spa != target {
		return ARPReply{}, false
	}
	return ARPReply{VLAN: vlan, MAC: slices.Clone(net.HardwareAddr(body[8:14]))}, true
}
